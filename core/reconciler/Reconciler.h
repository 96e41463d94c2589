// Reconciler.h - desired static pods (all sources merged) vs what the runtime has.
//
// One control thread (run()) owns all state. Sources and the runtime's event stream only enqueue
// (updateSource, runtimeEvent: thread-safe, never block on the runtime). Per pod, at most one worker
// thread at a time runs PodSyncer::sync or ::terminate; a pod that changes while its worker runs is
// marked dirty and synced again when the worker finishes. A new UID for a pod name that is still
// terminating waits for the old one (the kubelet's static-pod start ordering), so a hostNetwork pod never
// races its predecessor for a port. A relist every `relistPeriod` is the safety net for lost events.
#pragma once

#include "manifest/Manifest.h"
#include "plugin/Instances.h"
#include "reconciler/Backoff.h"
#include "reconciler/PodSyncer.h"
#include "status/StatusHub.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace podwarden {

struct ReconcilerOptions {
  SyncOptions sync;
  std::chrono::milliseconds relistPeriod{10000};
  std::chrono::milliseconds backoffInitial{10000};
  std::chrono::milliseconds backoffMax{300000};
};

class Reconciler {
 public:
  // `sourceKinds[i]` is the kubernetes.io/config.source value of source i ("file", "http", ...).
  // The runtime client and hub must outlive the reconciler.
  Reconciler(ReconcilerOptions options, RuntimeClient& runtime, StatusHub& hub, std::vector<std::string> sourceKinds);
  ~Reconciler();

  // A source's complete snapshot. Thread-safe; returns at once.
  void updateSource(size_t sourceIndex, std::vector<plugin::ManifestDoc> docs);
  // A runtime event (CRI ContainerEventResponse JSON). Thread-safe; returns at once.
  void runtimeEvent(const std::string& eventJson);
  // A probe result of pod `uid` changed (called from prober threads). Thread-safe; returns at once.
  void probeChanged(const std::string& uid);
  // The control loop; returns after stop(), once no worker runs. Pods keep running.
  void run();
  void stop();

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
  void dispatch(const std::string& uid);
  void finish(Completion c);
  void relist();
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
  std::map<std::string, std::thread> workers_;
  // Pod UIDs the runtime may have: those of the last successful relist plus every UID dispatched since.
  // Unset until the first relist.
  std::optional<std::set<std::string>> runtimeUids_;
  std::chrono::steady_clock::time_point nextRelist_;
};

}  // namespace podwarden
