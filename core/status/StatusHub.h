// StatusHub.h - fans pod status out to the sink plugins.
//
// Holds the latest full object of every static pod and, per sink, which pods changed since that sink
// last took them. Each sink is called from its own thread, so a slow or dead sink (an unreachable API
// server) never stalls reconciliation or the other sinks. Only the latest state per pod is ever sent; a
// retryable failure is retried with capped backoff. Thread-safe.
//
// Sink state (ABI minor 1): a sink may publish its own per-pod state (emit_sink_state). The hub keeps it
// next to the pod's published object and merges it into the pod as "podwarden":{"sinks":{"<key>":state}}
// whenever it hands the pod to a sink, so it survives every republish of the pod. Each sink receives the
// states of the OTHER sinks only, and a state change re-reports the pod to every sink but the emitting
// one: a sink never sees, and is never woken by, its own state.
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
  // The sinks must outlive the hub. Sink i's key (its name under podwarden.sinks) is its plugin's name;
  // the second sink of the same plugin gets "<name>#2", the third "<name>#3".
  explicit StatusHub(std::vector<plugin::SinkInstance*> sinks);
  ~StatusHub();

  // Starts one thread per sink. Start the sink plugins (SinkInstance::start) before: a sink's start()
  // comes before its first report.
  void start();
  // Delivers what is pending (bounded by a short deadline), then joins the sink threads. No report or
  // remove runs after it returns, so the sink plugins may be stopped then.
  void stop();

  // Publishes the full pod object (metadata, spec, status, podwarden block). A no-op when it is
  // byte-identical to the last one published for `uid`. The sinks' states of the pod stay attached.
  void publish(const std::string& uid, const json::ObjectPtr& pod);
  // The pod went away, and with it every sink's state of it.
  void remove(const std::string& uid);
  // The complete current list of manifest errors (no-op when unchanged).
  void setErrors(const json::ArrayPtr& errors);
  // Every source has delivered its first snapshot: from now on each report batch carries
  // "sourcesReady":true (and every sink gets one batch at once), so a sink may treat objects of its own
  // that no pod accounts for as orphans. Once set it stays set.
  void setSourcesReady();

  // Sink `sinkIndex`'s own state of pod `uid`: `stateJson` is a JSON object, or "null" to clear it. A change
  // marks the pod dirty for every other sink; an unchanged state changes nothing. A uid with no published
  // pod is ignored (returns false): a sink learns of pods from report(), so the pod was removed meanwhile,
  // and a state kept for it would outlive it. Throws std::invalid_argument when `stateJson` is neither an
  // object nor null, std::out_of_range for a bad index.
  bool setSinkState(size_t sinkIndex, const std::string& uid, const std::string& stateJson);
  // Several items at once (one emit_sink_state batch), all checked before any is applied.
  void setSinkStates(size_t sinkIndex, const std::vector<plugin::SinkStateItem>& items);
  // The callback to give SinkInstance::start for sink `sinkIndex`.
  plugin::SinkInstance::StateCallback stateCallback(size_t sinkIndex);
  // "sink-apiserver", "sink-apiserver#2", ...
  const std::string& sinkKey(size_t sinkIndex) const;

  // For tests and `podwarden` internals: the latest object of `uid` with every sink's state merged in (null
  // if none).
  json::ObjectPtr latest(const std::string& uid) const;
  // For tests: the current manifest error list as JSON text.
  std::string errorsJson() const;

 private:
  struct SinkQueue {
    plugin::SinkInstance* sink = nullptr;
    std::string key;                                // name under podwarden.sinks
    std::set<std::string> dirty;                    // uids to report
    std::map<std::string, std::string> removed;     // uid -> {"namespace","name","uid"} JSON
    bool errorsDirty = true;
    std::thread thread;
  };
  using States = std::map<std::string, std::string>;  // sink key -> canonical state JSON
  void sinkLoop(SinkQueue& q);
  // `pod` (canonical JSON) with `states` except `exceptKey` merged under podwarden.sinks.
  static std::string render(const std::string& pod, const States& states, const std::string& exceptKey);

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::string> pods_;      // uid -> canonical JSON as published (without sink states)
  std::map<std::string, States> sinkStates_;     // uid -> the sinks' states of that pod
  std::map<std::string, std::string> identity_;  // uid -> removal JSON
  std::string errorsJson_ = "[]";
  bool sourcesReady_ = false;
  std::vector<std::unique_ptr<SinkQueue>> queues_;
};

}  // namespace podwarden
