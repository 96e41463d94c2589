#include "ObjectStore.h"

#include "util/Json.h"

#include <algorithm>

namespace podwarden::fakeapi {

std::string ObjectStore::key(const std::string& resource, const std::string& ns, const std::string& name) {
  return resource + "\x1f" + ns + "\x1f" + name;
}

Poco::JSON::Object::Ptr ObjectStore::get(const std::string& resource, const std::string& ns,
                                         const std::string& name) const {
  auto it = objects_.find(key(resource, ns, name));
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<Poco::JSON::Object::Ptr> ObjectStore::list(const std::string& resource, const std::string& ns) const {
  std::vector<Poco::JSON::Object::Ptr> out;
  std::string prefix = resource + "\x1f" + (ns.empty() ? "" : ns + "\x1f");
  for (auto it = objects_.lower_bound(prefix); it != objects_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.push_back(it->second);
  }
  return out;
}

Poco::JSON::Object::Ptr ObjectStore::put(const std::string& resource, Poco::JSON::Object::Ptr object) {
  auto meta = json::ensureObject(object, "metadata");
  std::string k = key(resource, json::getString(meta, "namespace"), json::getString(meta, "name"));
  meta->set("resourceVersion", std::to_string(++rv_));
  auto it = objects_.find(k);
  StoredEvent event;
  event.resourceVersion = rv_;
  event.resource = resource;
  event.object = object;
  if (it == objects_.end()) {
    event.type = "ADDED";
    objects_.emplace(k, object);
  } else {
    event.type = "MODIFIED";
    event.previous = it->second;
    it->second = object;
  }
  record(std::move(event));
  return object;
}

Poco::JSON::Object::Ptr ObjectStore::remove(const std::string& resource, const std::string& ns,
                                            const std::string& name, Poco::JSON::Object::Ptr lastState) {
  auto it = objects_.find(key(resource, ns, name));
  if (it == objects_.end()) return nullptr;
  Poco::JSON::Object::Ptr last = json::deepCopy(lastState.isNull() ? it->second : lastState);
  json::ensureObject(last, "metadata")->set("resourceVersion", std::to_string(++rv_));
  StoredEvent event;
  event.resourceVersion = rv_;
  event.type = "DELETED";
  event.resource = resource;
  event.object = last;
  event.previous = it->second;
  objects_.erase(it);
  record(std::move(event));
  return last;
}

void ObjectStore::record(StoredEvent event) {
  history_.push_back(std::move(event));
  while (history_.size() > historySize_) {
    horizon_ = history_.front().resourceVersion;
    history_.pop_front();
  }
}

bool ObjectStore::eventsAfter(uint64_t after, std::vector<StoredEvent>& out) const {
  if (after < horizon_) return false;
  auto first = std::find_if(history_.begin(), history_.end(),
                            [after](const StoredEvent& e) { return e.resourceVersion > after; });
  out.insert(out.end(), first, history_.end());
  return true;
}

void ObjectStore::expireHistory() {
  history_.clear();
  horizon_ = rv_;
}

}  // namespace podwarden::fakeapi
