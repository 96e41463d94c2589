// MirrorSink.h - the `apiserver` sink: one mirror pod per static pod in a Kubernetes API server, kept
// there whatever happens to it, with the static pod's status.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <podwarden/plugin.hpp>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "ApiClient.h"
#include "MirrorPod.h"

namespace podwarden::sink_apiserver {

struct SinkConfig {
  std::string kubeconfig;                        // required
  std::string context;                           // "" = current-context
  bool registerNode = false;                     // create a tainted Node when it does not exist
  std::chrono::milliseconds statusResync{10000}; // periodic status batch (kubelet: 10 s)
  std::chrono::milliseconds relistPeriod{60000}; // full LIST of this node's pods behind the watch
  std::chrono::milliseconds requestTimeout{10000};
  std::chrono::milliseconds backoffInitial{500};
  std::chrono::milliseconds backoffMax{8000};
  static SinkConfig parse(std::string_view json);  // throws pw::Error(INVALID_ARGUMENT) naming the key
};

// How it works (docs/mirror-pods.md):
//  - report()/remove() only record the static pods the host wants mirrored and wake the worker; they
//    never wait for the API server, so a dead API server costs the host nothing.
//  - The worker thread makes the API server match: Node UID, create / replace / delete mirrors, PATCH
//    pods/status when a status differs from the last one sent, orphan cleanup. Failures back off per pod
//    (capped, jittered); the outcome per pod goes to the host with emit_sink_state, so other sinks (the
//    status file) show it.
//  - The watch thread is a reflector: LIST the pods bound to this node, WATCH from that resourceVersion,
//    LIST again on 410 Gone or every relistPeriod. It keeps mirrors_ current and wakes the worker, so a
//    `kubectl delete` of a mirror is repaired within about a second.
// Thread-safety: every member below mutex_ is guarded by it. The ApiClient is thread-safe.
class MirrorSink : public pw::Sink {
 public:
  MirrorSink(const pw::Host& host, std::string_view configJson, std::string_view nodeName);
  ~MirrorSink() override;

  void start(pw_emitter_host_ptr* emitter) override;
  void stop() noexcept override;
  pw_status report(const pw::Call& call, std::string_view batchJson) override;
  pw_status remove(const pw::Call& call, std::string_view batchJson) override;

 private:
  using Clock = std::chrono::steady_clock;

  // Per static pod: what is known of its mirror and the outcome of the last attempt.
  struct PodState {
    StaticPod pod;
    std::string sentStatusFor;  // mirror UID the status was last sent to
    std::string sentStatus;     // that status
    Clock::time_point retryAt{};
    std::chrono::milliseconds backoff{0};
    std::string state = "Pending";
    std::string lastError;
    std::string lastErrorTime;
    std::string emitted;  // state JSON last given to the host
  };

  void startThreads();
  void workerLoop();
  void watchLoop();
  // One pass of the worker over everything; returns when the next pass is due.
  Clock::time_point syncOnce();
  bool ensureNode();
  void syncPod(const std::string& uid);
  void deleteOrphans();
  bool deleteMirror(const MirrorInfo& m, std::string& error);
  bool relist();
  void applyWatchEvent(const std::string& line);
  void publishStates();

  // Failure bookkeeping of one pod; `transient` failures (no answer, 429, 5xx) and refusals both back off.
  void podFailed(PodState& p, const std::string& state, const std::string& error);
  void podSucceeded(PodState& p, const std::string& state);
  std::chrono::milliseconds nextBackoff(std::chrono::milliseconds current);
  void apiReachable(bool reachable, const std::string& error);
  // A failed LIST or WATCH: logged as a warning when it differs from the previous one, else at debug.
  void watchProblem(const std::string& message);
  std::string podsPath(const std::string& ns) const;
  std::string nowRfc3339() const;
  bool waitFor(std::unique_lock<std::mutex>& lock, Clock::time_point until);

  pw::Host host_;
  SinkConfig config_;
  std::string node_;
  std::unique_ptr<ApiClient> client_;
  pw_emitter_host_ptr* emitter_ = nullptr;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};  // also read without the lock, between API calls
  bool started_ = false;
  bool dirty_ = false;                       // the worker has something new to look at
  std::map<std::string, PodState> pods_;     // by static pod UID
  std::map<std::string, MirrorInfo> mirrors_;  // mirror pods of this node on the API server, by ns/name
  bool listed_ = false;                      // mirrors_ comes from a successful LIST
  bool relistWanted_ = false;
  std::set<std::string> deletedUids_;        // mirrors this sink deleted: late watch events are ignored
  std::set<std::string> removedNames_;       // ns/name of static pods the host removed: their mirrors go now
  Clock::time_point sourcesReadyAt_{};       // when a batch first said every source has reported
  std::string resourceVersion_;
  std::string lastWatchProblem_;  // watcher thread only
  std::string nodeUid_;
  std::string nodeError_;
  bool reachable_ = true;
  std::mt19937 random_;

  std::thread worker_;
  std::thread watcher_;
};

}  // namespace podwarden::sink_apiserver
