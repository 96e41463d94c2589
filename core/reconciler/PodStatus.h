// PodStatus.h - a static pod's v1 PodStatus from what the runtime has after a sync: phase (the kubelet's
// getPhase), conditions, container statuses with state, lastState and restartCount, IPs and times. No
// runtime calls here: PodSyncer observes, this reports.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "prober/ProbeManager.h"
#include "reconciler/PodActions.h"
#include "reconciler/RuntimeView.h"
#include "util/Json.h"

namespace podwarden {

// What the runtime had of the pod after the sync.
struct StatusObservation {
  ContainerGroups groups;  // every container of the pod by name, the latest attempt first
  // ContainerStatus of the latest instance of each spec container, and of the one before it while the latest
  // runs (its lastState). Missing: the call failed, and the listed state stands in.
  std::map<std::string, ContainerDetail> details;              // container ID -> status
  std::map<std::string, prober::ProbeManager::Result> probes;  // container ID -> result, when probing
  bool probing = false;
  std::string podIP;  // "" none
};

struct StatusContext {
  std::string hostIP;
  std::string runtimeName = "docker";  // containerID scheme
  int64_t nowUnixNs = 0;
  int64_t monotonicNs = 0;  // for the prober's start times
  int64_t startTimeNs = 0;  // status.startTime
  std::string podError;     // "" none: else reason SyncError with this message
  const std::map<std::string, Waiting>* waiting = nullptr;  // from the sync's decision; null none
  // Container ID -> (reason, message) of exits podwarden caused; an empty reason keeps the runtime's.
  const std::map<std::string, std::pair<std::string, std::string>>* exitReasons = nullptr;
};

struct PodStatusResult {
  json::ObjectPtr status;  // v1 PodStatus
  // The running app containers, for the prober, at the pod IP (the host's when the pod has none).
  std::vector<prober::ProbeTarget> probeTargets;
};

// `conditions` (type -> (status, lastTransitionTime)) is the pod's memory of its conditions: a condition's
// transition time changes only when its status does.
PodStatusResult buildPodStatus(const PodIntent& pod, const StatusObservation& observed,
                               const StatusContext& ctx,
                               std::map<std::string, std::pair<std::string, std::string>>& conditions);

}  // namespace podwarden
