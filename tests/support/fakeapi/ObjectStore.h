// ObjectStore.h - the fake's "etcd": objects by resource/namespace/name, one global resource version
// counter, and a bounded history of change events for watches. Not thread-safe: the server serializes
// every access under its own mutex.
#pragma once

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace podwarden::fakeapi {

struct StoredEvent {
  uint64_t resourceVersion = 0;
  std::string type;      // ADDED, MODIFIED, DELETED
  std::string resource;  // pods, nodes, events
  Poco::JSON::Object::Ptr object;    // the object after the change (for DELETED: its last state)
  Poco::JSON::Object::Ptr previous;  // before the change (MODIFIED, DELETED); null for ADDED
};

class ObjectStore {
 public:
  explicit ObjectStore(size_t historySize) : historySize_(historySize) {}

  uint64_t resourceVersion() const { return rv_; }

  // Stored objects are never modified in place: callers deep-copy before changing one and put() it back.
  Poco::JSON::Object::Ptr get(const std::string& resource, const std::string& ns, const std::string& name) const;
  // Sorted by namespace, then name. Empty `ns`: every namespace.
  std::vector<Poco::JSON::Object::Ptr> list(const std::string& resource, const std::string& ns) const;

  // Stores `object` (its metadata.namespace/name give the key) with the next resource version and records an
  // ADDED or MODIFIED event. Returns the stored object.
  Poco::JSON::Object::Ptr put(const std::string& resource, Poco::JSON::Object::Ptr object);
  // Removes the object and records a DELETED event carrying its last state (or `lastState`, e.g. with the
  // deletion timestamp set) at a new resource version. Returns that last state, or null when absent.
  Poco::JSON::Object::Ptr remove(const std::string& resource, const std::string& ns, const std::string& name,
                                 Poco::JSON::Object::Ptr lastState = nullptr);

  // Events with a resource version above `after`, oldest first. False when events after `after` have
  // already been dropped from the history (the watch must get 410 Expired).
  bool eventsAfter(uint64_t after, std::vector<StoredEvent>& out) const;
  // The oldest resource version a watch may start from.
  uint64_t oldestWatchable() const { return horizon_; }
  // Forgets the whole history: only watches from the current resource version stay valid.
  void expireHistory();

 private:
  void record(StoredEvent event);
  static std::string key(const std::string& resource, const std::string& ns, const std::string& name);

  size_t historySize_;
  uint64_t rv_ = 1;
  uint64_t horizon_ = 1;
  std::map<std::string, Poco::JSON::Object::Ptr> objects_;
  std::deque<StoredEvent> history_;
};

}  // namespace podwarden::fakeapi
