// Reconciler.h - desired static pods (all sources merged) vs what the runtime has.
//
// One control thread (run()) owns all state. Sources and the runtime's event stream only enqueue
// (updateSource, runtimeEvent: thread-safe, never block on the runtime). Per pod, at most one task at a
// time runs PodSyncer::sync or ::terminate on the executor (a bounded pool of reused threads); a pod that
// changes while its task runs is marked dirty and synced again when the task finishes. A new UID for a pod
// name that is still terminating waits for the old one (the kubelet's static-pod start ordering), so a
// hostNetwork pod never races its predecessor for a port. A relist every `relistPeriod` is the safety net for
// lost events.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "manifest/Manifest.h"
#include "plugin/Instances.h"
#include "reconciler/Backoff.h"
#include "reconciler/Executor.h"
#include "reconciler/PodSyncer.h"
#include "status/StatusHub.h"

namespace podwarden {

struct ReconcilerOptions {
  SyncOptions sync;
  std::chrono::milliseconds relistPeriod{10000};
  std::chrono::milliseconds backoffInitial{10000};
  std::chrono::milliseconds backoffMax{300000};
  // Where syncs and terminations run; null: a pool of up to kDefaultWorkers threads owned by the reconciler.
  // An injected executor must outlive the reconciler.
  Executor* executor = nullptr;
  // The clock of requeue and relist times; null: steady_clock.
  std::function<std::chrono::steady_clock::time_point()> now;
  // Pods sync in parallel up to this many at a time; terminations hold a worker for their grace period.
  static constexpr size_t kDefaultWorkers = 64;
};

class Reconciler {
 public:
  // `sourceKinds[i]` is the kubernetes.io/config.source value of source i ("file", "http", ...).
  // The runtime client and hub must outlive the reconciler.
  Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusHub& hub,
             std::vector<std::string> sourceKinds);
  ~Reconciler();

  // A source's complete snapshot. Thread-safe; returns at once.
  void updateSource(size_t sourceIndex, std::vector<plugin::ManifestDoc> docs);
  // A runtime event (CRI ContainerEventResponse JSON). Thread-safe; returns at once.
  void runtimeEvent(const std::string& eventJson);
  // A probe result of pod `uid` changed (called from prober threads). Thread-safe; returns at once.
  void probeChanged(const std::string& uid);
  // The control loop; returns after stop(), once no sync or termination runs. Pods keep running.
  void run();
  void stop();

  // run() is begin(), then runOnce() whenever there is work or a requeue or relist time comes. Tests drive
  // the reconciler with these (an InlineExecutor and a manual clock) instead of run().
  void begin();
  // Handles everything pending: finished tasks, snapshots, events, probe changes, due requeues and the due
  // relist. Returns false once stop() was called and nothing runs any more.
  bool runOnce();
  // When runOnce() has something to do at the latest (the next requeue or relist).
  std::chrono::steady_clock::time_point nextWake() const;
  // For tests: the pods the reconciler tracks (UID -> "ns/name", terminating ones too).
  std::map<std::string, std::string> trackedPods() const;

 private:
  struct Origin {
    std::string data;
    bool parsed = false;
    // The pods of the last valid content: kept while the origin is broken or unreachable.
    std::vector<manifest::StaticPod> good;
    std::vector<manifest::Problem> errors;
    std::string warning;
  };
  struct PodEntry {
    manifest::StaticPod pod;
    bool desired = true;        // false: terminating
    bool dirty = false;         // changed while a worker ran
    bool inFlight = false;
    int64_t graceSeconds = 30;  // for termination
    PodRuntimeState state;
    std::optional<std::chrono::steady_clock::time_point> requeueAt;
  };
  struct Completion {
    std::string uid;
    bool terminate = false;
    bool ok = true;
    SyncResult result;
  };

  void applySnapshot(size_t source, std::vector<plugin::ManifestDoc> docs);
  void recomputeDesired();
  // Starts tracking `sp` (new), or takes its new content (a pinned UID changed, or it came back).
  void addOrUpdate(const manifest::StaticPod& sp);
  void dispatch(const std::string& uid);
  void finish(Completion c);
  void routeEvent(const std::string& containerId);
  void relist();
  std::chrono::steady_clock::time_point now() const;
  json::ObjectPtr podObject(const PodEntry& e, const json::ObjectPtr& status) const;
  void publishErrors();

  ReconcilerOptions opts_;
  StatusHub& hub_;
  std::vector<std::string> sourceKinds_;
  Backoff backoff_;
  std::unique_ptr<prober::ProbeManager> probes_;  // before syncer_, which uses it
  PodSyncer syncer_;

  // Shared with other threads, guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<size_t, std::vector<plugin::ManifestDoc>> pendingSnapshots_;
  std::set<std::string> pendingEvents_;  // container IDs
  std::set<std::string> pendingProbeChanges_;  // pod UIDs whose probe results flipped
  std::vector<Completion> completions_;

  // Control thread only.
  std::vector<std::map<std::string, Origin>> origins_;  // per source, by origin
  std::vector<bool> sourceSeen_;
  std::map<std::string, PodEntry> pods_;                // by UID
  std::map<std::string, int64_t> firstSeen_;            // UID -> kubernetes.io/config.seen
  std::map<std::string, std::string> containerOwner_;   // container ID -> UID
  std::vector<manifest::Problem> duplicateErrors_;
  std::vector<std::string> duplicateSources_;  // config.source of each duplicateErrors_ entry
  std::unique_ptr<WorkerPool> ownPool_;
  Executor* executor_;
  size_t inFlight_ = 0;  // tasks submitted and not finished
  // Pod UIDs the runtime may have: those of the last successful relist plus every UID dispatched since.
  // Unset until the first relist.
  std::optional<std::set<std::string>> runtimeUids_;
  std::chrono::steady_clock::time_point nextRelist_;
};

}  // namespace podwarden
