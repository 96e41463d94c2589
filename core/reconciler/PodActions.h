// PodActions.h - the decision half of a pod sync, as the kubelet's computePodActions: from the pod's spec,
// what the runtime has of it, the restart backoff, probe results and the clock, the steps that bring it
// closer to its spec. No runtime calls and no logging here; PodSyncer carries the steps out.
//
// The rules (the kubelet's):
// - A pod needs one ready sandbox. Without one, everything left of the pod is removed and a new sandbox
//   attempt created, unless the pod must not restart (restartPolicy Never) and already ran: it is finished.
// - Init containers run one at a time, in order, each to success, until an app container has run.
// - App containers are each created when missing, started when created, restarted after an exit as
//   restartPolicy says (with CrashLoopBackOff), killed when their liveness probe failed, replaced when their
//   spec hash changed (a pinned UID), and adopted when running with the same hash.
// - Containers whose name is no longer in the spec are stopped and removed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "prober/ProbeManager.h"
#include "reconciler/Backoff.h"
#include "reconciler/RuntimeView.h"
#include "util/Json.h"

namespace podwarden {

enum class RestartPolicy { kAlways, kOnFailure, kNever };

// One container of the spec.
struct ContainerSpec {
  std::string name;
  std::string hash;  // cri::containerHash
  json::ObjectPtr spec;
};

// The desired state of a pod, read once from its manifest.
struct PodIntent {
  std::string uid;
  std::string name;
  std::string ns;
  RestartPolicy policy = RestartPolicy::kAlways;
  int64_t graceSeconds = 30;
  bool hostNetwork = false;
  std::vector<ContainerSpec> initContainers;
  std::vector<ContainerSpec> containers;
  json::ObjectPtr pod;  // the whole v1 Pod, for the CRI translation
};
// Throws nothing: a manifest that passed validation has every field it reads.
PodIntent podIntent(const std::string& uid, const std::string& name, const std::string& ns,
                    const json::ObjectPtr& pod);
const char* restartPolicyName(RestartPolicy policy);

// What the runtime had of the pod when the sync began.
struct PodObservation {
  std::vector<SandboxInfo> sandboxes;
  std::vector<ContainerInfo> containers;
  // ContainerStatus of the latest instance of each name, unless that one is only created.
  std::map<std::string, ContainerDetail> details;  // container ID -> status
  // Probe results of running containers; empty when the pod is not probed.
  std::map<std::string, prober::ProbeManager::Result> probes;  // container ID -> result
  std::set<std::string> knownContainers;  // container IDs this process has seen (adoption is logged once)
};

struct Waiting {
  std::string reason;  // CrashLoopBackOff, ...
  std::string message;
};

// One step on one container, carried out in order.
struct ContainerStep {
  enum class Kind {
    kStart,         // pull the image as its policy says, create and start `spec` as attempt `attempt`
    kStartCreated,  // start the created container `id`
    kStop,          // stop `id` gracefully (preStop hook, then the grace period)
    kRemove,        // remove `id`
    kAdopt,         // note `id` as seen (it already runs with the same spec)
  };
  Kind kind;
  std::string name;                     // the container's name
  std::string id;                       // kStartCreated, kStop, kRemove, kAdopt
  const ContainerSpec* spec = nullptr;  // kStart
  int64_t attempt = 0;                  // kStart
  bool init = false;                    // kStart: an init container
  json::ObjectPtr preStop;  // kStop: the preStop handler the container was created with (may be null)
  json::ArrayPtr ports;     // kStop: its ports, for a named httpGet port
  // Logged before the step ("container app spec changed; restarting it"), at warning level when `warn`.
  std::string note;
  bool warn = false;
  // kStart: how its success is logged ("created and started", "restarted", ...).
  std::string verb;
  // kStop: the reason and message the status shows for this exit ("" reason keeps the runtime's).
  std::optional<Waiting> exitReason;
  // kStart: record a restart of this backoff key before starting.
  std::string backoffKey;
};

struct PodActions {
  // restartPolicy Never, no ready sandbox, and the pod already ran: nothing more happens to it.
  bool finished = false;
  // No usable sandbox: remove these, then create sandbox attempt `sandboxAttempt`.
  bool createSandbox = false;
  std::vector<std::string> containersToRemove;
  std::vector<std::string> sandboxesToRemove;
  // Otherwise the ready sandbox to use.
  std::string sandboxId;
  uint32_t sandboxAttempt = 0;
  std::vector<ContainerStep> steps;
  std::map<std::string, Waiting> waiting;  // container name -> why it is not running
  std::optional<std::chrono::milliseconds> requeueAfter;

  void requeue(std::chrono::milliseconds after);
};

struct DecisionClock {
  int64_t nowUnixNs = 0;    // wall clock (container finish times are wall times)
  int64_t monotonicNs = 0;  // backoff times
};

// The steps for `pod` given `observed`. Reads `backoff` (the CrashLoopBackOff state), never changes it: a
// kStart step with a backoffKey says to record the restart. kStart steps point into `pod`, which must
// outlive the result.
PodActions computePodActions(const PodIntent& pod, const PodObservation& observed, Backoff& backoff,
                             const DecisionClock& clock);

// The backoff key of a container's restarts: a changed spec starts a fresh backoff.
std::string restartBackoffKey(const std::string& uid, const ContainerSpec& spec);

// Image pull policy, for a kStart step: what to do with the image first.
enum class ImageStep { kUse, kPull, kNeverPull, kPullBackOff };
// `pullPolicy` Always, IfNotPresent (the default) or Never; `present`: ImageStatus found it; `inPullBackoff`:
// the last pull of this container failed less than the backoff delay ago.
ImageStep imageStep(const std::string& pullPolicy, bool present, bool inPullBackoff);

}  // namespace podwarden
