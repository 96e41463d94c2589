// ProbeManager.h - liveness, readiness and startup probes of running containers (kubelet prober).
//
// One scheduler thread keeps a time-ordered queue of probe ticks; a small fixed pool of worker threads
// runs the attempts (HTTP and TCP in-process, exec through the runtime's ExecSync). Probing many pods
// costs queue entries, not threads.
//
// Kubelet behaviour reproduced (pkg/kubelet/prober/worker.go, prober_manager.go):
//  - initial results: readiness Failure, liveness Success, startup Unknown (not started);
//  - each probe ticks every periodSeconds from registration, the first tick at once (or after a random
//    fraction of the period while the manager itself is younger than one period); ticks within
//    initialDelaySeconds of the container's start do nothing; a tick that finds the previous attempt
//    still running is dropped;
//  - liveness and readiness do nothing until the startup probe has succeeded; startup probing stops
//    after its success, and readiness is probed at once then;
//  - failureThreshold consecutive failures (successThreshold successes) flip a result; an attempt that
//    could not run (Unknown) changes nothing;
//  - after a liveness or startup failure the container's probes hold until a new container ID is
//    registered (the caller kills and restarts it).
//
// Threads: every public method is thread-safe. onChange runs on a worker thread, with no lock held;
// it may call any method except stop().
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "prober/Handlers.h"
#include "prober/ProbeSpec.h"
#include "runtime/Runtime.h"
#include "util/Json.h"

namespace podwarden::prober {

// One running container to probe.
struct ProbeTarget {
  std::string uid;      // pod UID
  std::string podName;  // for logs ("<namespace>/<name>" reads best)
  std::string containerName;
  std::string containerId;        // runtime ID; a new ID restarts the container's probe state
  json::ObjectPtr containerSpec;  // the v1.Container (read once, when the ID is first seen)
  json::ObjectPtr pod;            // the v1.Pod (not read today; kept for callers that log from it)
  // Host for httpGet/tcpSocket without an explicit host: the pod IP, or 127.0.0.1 / the host IP for
  // hostNetwork pods.
  std::string podIP;
  // When the container started, on the manager's monotonic clock (ns); 0 = when first registered.
  // (A runtime's wall-clock startedAt converts as monoNow - (wallNow - startedAt).)
  int64_t startedAtNs = 0;
};

class ProbeManager {
 public:
  struct Options {
    size_t workers = 4;
    // The kubelet's start-up jitter (see above). Tests with an injected clock turn it off.
    bool startupJitter = true;
    std::string userAgent = "kube-probe/1.30";
  };

  struct Result {
    // Started (startup probe succeeded, or none) and readiness Success (or no readiness probe).
    bool ready = true;
    // The startup probe has succeeded, or the container has none.
    bool started = true;
    // Liveness or startup probe failed failureThreshold times: kill the container and restart it per
    // restartPolicy.
    bool livenessFailed = false;
    // False for a container ID the manager has not been given yet; the other fields are then defaults and
    // callers apply the kubelet's initial results from the spec.
    bool known = false;
    // With livenessFailed, the kill reason ("Liveness probe failed: HTTP probe failed with statuscode:
    // 500", "Startup probe failed: ..."); otherwise the last readiness failure, if any.
    std::string message;
  };

  // `runtime` must outlive the manager. `monotonicNs` is the clock (nanoseconds, never going back).
  // `onChange(uid)` is called whenever a result of one of the pod's containers flips.
  ProbeManager(runtime::Runtime& runtime, std::function<int64_t()> monotonicNs,
               std::function<void(std::string uid)> onChange, Options options);
  ProbeManager(runtime::Runtime& runtime, std::function<int64_t()> monotonicNs,
               std::function<void(std::string uid)> onChange)
      : ProbeManager(runtime, std::move(monotonicNs), std::move(onChange), Options()) {}
  ~ProbeManager();
  ProbeManager(const ProbeManager&) = delete;
  ProbeManager& operator=(const ProbeManager&) = delete;

  // Starts the scheduler and the workers. Containers may be registered before.
  void start();
  // Stops and joins the threads; attempts in flight finish first (each is bounded by its timeout).
  // Idempotent. Not to be called from onChange.
  void stop();
  // Makes the scheduler re-read the clock now; for injected clocks that jump. (The scheduler also
  // re-reads it at least once a second.)
  void wake();

  // The running containers of pod `uid`, replacing the previous set: containers not listed stop being
  // probed, a container ID not seen before starts with the kubelet's initial results. Containers
  // without probes may be listed or left out; both read as ready and started.
  void setContainers(const std::string& uid, std::vector<ProbeTarget> targets);
  void removePod(const std::string& uid);

  // The current results of a container. An ID that is not registered reads as a container without
  // probes (ready, started, alive).
  Result result(const std::string& containerId) const;

  // Probe attempts finished so far (for tests and metrics).
  uint64_t attemptsFinished() const;

 private:
  struct Probe {
    uint64_t id = 0;
    ProbeSpec spec;
    std::string uid;
    std::string containerId;
    ProbeOutcome result = ProbeOutcome::kUnknown;  // the published result
    ProbeOutcome lastOutcome = ProbeOutcome::kUnknown;
    int run = 0;  // consecutive attempts with lastOutcome
    bool onHold = false;
    bool inFlight = false;
    int64_t dueNs = 0;      // the tick the queue holds for this probe
    std::string lastError;  // the last Unknown attempt's text, to log each distinct error once
  };
  struct Container {
    ProbeTarget target;
    std::array<uint64_t, kProbeKinds> probes{};  // Probe ids by ProbeKind; 0 = none
    std::string killMessage;
    std::string readinessMessage;
  };
  struct Tick {
    int64_t dueNs;
    uint64_t probeId;
    bool operator>(const Tick& o) const { return dueNs != o.dueNs ? dueNs > o.dueNs : probeId > o.probeId; }
  };
  struct Job {
    uint64_t probeId;
    ProbeSpec spec;
    std::string containerId;
  };

  void schedulerLoop();
  void workerLoop();
  // Under mutex_: decides what the tick of `probe` does and queues the next tick.
  void dispatchLocked(Probe& probe, int64_t nowNs);
  void scheduleLocked(Probe& probe, int64_t dueNs);
  // Under mutex_: true when the container's startup probe has succeeded or it has none.
  bool startedLocked(const Container& c) const;
  Probe* probeLocked(const std::string& containerId, ProbeKind kind);
  void addContainerLocked(ProbeTarget target, int64_t nowNs);
  void removeContainerLocked(const std::string& containerId);
  void finish(const Job& job, const AttemptResult& attempt);

  runtime::Runtime& runtime_;
  std::function<int64_t()> now_;
  std::function<void(std::string)> onChange_;
  Options options_;

  mutable std::mutex mutex_;
  std::condition_variable schedulerCv_;
  std::condition_variable workerCv_;
  bool running_ = false;
  bool stopping_ = false;
  bool wakeRequested_ = false;
  int64_t startedNs_ = 0;
  uint64_t nextId_ = 1;
  uint64_t attempts_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
  std::map<uint64_t, Probe> probes_;
  std::map<std::string, Container> containers_;        // by container ID
  std::map<std::string, std::set<std::string>> pods_;  // uid -> container IDs
  std::priority_queue<Tick, std::vector<Tick>, std::greater<Tick>> ticks_;
  std::deque<Job> jobs_;
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace podwarden::prober
