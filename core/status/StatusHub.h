// StatusHub.h - fans pod status out to the sink plugins.
//
// Holds the latest full object of every static pod and, per sink, which pods changed since that sink
// last took them. Each sink is called from its own thread, so a slow or dead sink (an unreachable API
// server) never stalls reconciliation or the other sinks. Only the latest state per pod is ever sent; a
// retryable failure is retried with capped backoff. Thread-safe.
#pragma once

#include "plugin/Instances.h"
#include "util/Json.h"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace podwarden {

class StatusHub {
 public:
  // The sinks must outlive the hub.
  explicit StatusHub(std::vector<plugin::SinkInstance*> sinks);
  ~StatusHub();

  void start();
  // Delivers what is pending (bounded by a short deadline), then joins the sink threads.
  void stop();

  // Publishes the full pod object (metadata, spec, status, podwarden block). A no-op when it is
  // byte-identical to the last one published for `uid`.
  void publish(const std::string& uid, const json::ObjectPtr& pod);
  // The pod went away.
  void remove(const std::string& uid);
  // The complete current list of manifest errors (no-op when unchanged).
  void setErrors(const json::ArrayPtr& errors);

  // For tests and `podwarden` internals: the latest published object of `uid` (null if none).
  json::ObjectPtr latest(const std::string& uid) const;

 private:
  struct SinkQueue {
    plugin::SinkInstance* sink = nullptr;
    std::set<std::string> dirty;                    // uids to report
    std::map<std::string, std::string> removed;     // uid -> {"namespace","name","uid"} JSON
    bool errorsDirty = true;
    std::thread thread;
  };
  void sinkLoop(SinkQueue& q);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::string> pods_;  // uid -> canonical JSON
  std::map<std::string, std::string> identity_;  // uid -> removal JSON
  std::string errorsJson_ = "[]";
  std::vector<std::unique_ptr<SinkQueue>> queues_;
};

}  // namespace podwarden
