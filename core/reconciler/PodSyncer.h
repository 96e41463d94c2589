// PodSyncer.h - brings one static pod's runtime state to its desired state, and reports its status.
//
// Level-triggered and idempotent, like the kubelet's SyncPod: every call observes what the runtime has
// (sandboxes and containers labelled with the pod's UID and this node, RuntimeView), decides the next steps
// (computePodActions, PodActions.h: a ready sandbox, init containers in order, app containers restarted
// under restartPolicy with CrashLoopBackOff, adopted when already running with the same spec hash),
// carries them out, observes again and reports the status (buildPodStatus, PodStatus.h). It never waits for
// a container to finish; the caller calls it again on runtime events, relists and requeue times. One pod is
// synced by one thread at a time.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cri/PodTranslator.h"
#include "manifest/Manifest.h"
#include "prober/ProbeManager.h"
#include "reconciler/Backoff.h"
#include "reconciler/PodActions.h"
#include "runtime/Runtime.h"
#include "util/Json.h"

namespace podwarden {

struct SyncOptions {
  cri::TranslateOptions translate;
  std::string nodeName;
  std::string hostIP;
  std::string runtimeName = "docker";  // container ID scheme: "<runtimeName>://<id>"
  std::function<int64_t()> nowUnixNs;  // wall clock (status times)
  std::function<int64_t()> monotonicNs;
};

// What the reconciler keeps per pod between syncs. Owned by the reconciler; touched by one sync at a time.
struct PodRuntimeState {
  std::string sandboxId;
  int64_t startTimeNs = 0;  // status.startTime: set once
  std::map<std::string, std::pair<std::string, std::string>> conditions;  // type -> (status, lastTransitionTime)
  std::set<std::string> knownContainers;  // container IDs this process has seen (adoption logging)
  std::vector<std::string> containerIds;  // all container IDs of the pod after the sync (event routing)
  std::string lastError;                  // pod-level error of the last sync ("" = none)
  // Set by the reconciler for a UID that the last full relist did not see and that nothing has touched
  // since: the runtime cannot have anything of it, so the first sync skips listing (faster pod start).
  bool knownAbsent = false;
  std::string lastLoggedError;
  // Container ID -> (reason, message) for exits podwarden caused (FailedPostStartHook), shown in status.
  std::map<std::string, std::pair<std::string, std::string>> exitReasons;
};

struct SyncResult {
  // Sync again after this long even without an event (backoff expiry, retry after an error).
  std::optional<std::chrono::milliseconds> requeueAfter;
  json::ObjectPtr status;  // v1 PodStatus
};

class PodSyncer {
 public:
  // `probes` (may be null: no probing) gets every pod's running containers after each sync; its results
  // decide `ready`/`started` and liveness kills.
  PodSyncer(runtime::Runtime& runtime, Backoff& backoff, SyncOptions options,
            prober::ProbeManager* probes = nullptr);

  // Syncs `pod` (UID pod.uid) and returns its status. Never throws for runtime or volume failures: they
  // become the status (waiting reasons, pod message) and a requeue.
  SyncResult sync(const manifest::StaticPod& pod, PodRuntimeState& state);

  // Stops and removes everything of pod `uid` on this node: containers get `graceSeconds` (SIGTERM, then
  // SIGKILL at the deadline, by the runtime), then the sandbox goes. Returns false if something could not
  // be removed (the caller retries).
  bool terminate(const std::string& uid, const std::string& displayName, int64_t graceSeconds);

  // Every pod UID that has a sandbox or container of this node in the runtime, with the grace period the
  // containers recorded (for orphans after a restart).
  std::map<std::string, int64_t> listPodUids();

 private:
  struct Run;  // one sync: the pod, its state and the decided actions (PodSyncer.cpp)
  PodObservation observe(const PodIntent& pod, PodRuntimeState& state);
  void execute(Run& run);
  void prepareSandbox(Run& run);
  void runStep(Run& run, const ContainerStep& step);
  // Pulls (as the pull policy says), creates and starts a container, then runs its postStart hook. A failure
  // becomes the container's waiting reason and a requeue; returns false then.
  bool startContainer(Run& run, const ContainerStep& step);
  bool pullImage(Run& run, const ContainerStep& step);
  SyncResult report(const PodIntent& pod, PodRuntimeState& state, const PodActions& actions,
                    std::string podError);
  // Runs the container's preStop hook (if any) within `graceSeconds`, then stops it with what is left of
  // the grace period (at least 2 s after a hook). Throws RuntimeError if the stop fails.
  void stopGracefully(const std::string& containerId, const std::string& name, const json::ObjectPtr& preStop,
                      const json::ArrayPtr& ports, const std::string& podIP, int64_t graceSeconds,
                      const std::string& who);
  // The IP hooks and probes reach the pod at: the host's for hostNetwork, else the sandbox's.
  std::string podIPOf(const std::string& sandboxId, bool hostNetwork);
  runtime::Runtime& runtime_;
  Backoff& backoff_;
  SyncOptions opts_;
  prober::ProbeManager* probes_;
};

}  // namespace podwarden
