// RuntimeView.h - what the runtime has of a pod, as the reconciler reads it: its sandboxes, its containers
// with what the host recorded in their labels and annotations, and their statuses.
//
// PodActions decides from these values and PodStatus reports them; neither calls the runtime.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/Runtime.h"
#include "util/Json.h"

namespace podwarden {

using runtime::ContainerState;

struct SandboxInfo {
  std::string id;
  int64_t attempt = 0;  // metadata.attempt, clamped into CRI's uint32
  bool ready = false;   // SANDBOX_READY
};

// One container of a ListContainers answer, with what the host put in its labels and annotations.
struct ContainerInfo {
  std::string id;
  std::string name;
  int64_t attempt = 0;  // metadata.attempt, clamped into CRI's uint32
  ContainerState state = ContainerState::kUnknown;
  std::string hash;           // the spec hash annotation
  int64_t graceSeconds = -1;  // the pod's termination grace period when it was created; -1 unknown
  json::ObjectPtr preStop;    // from the preStopHandler annotation, as the kubelet keeps it
  json::ArrayPtr ports;       // from the ports annotation (named httpGet ports)
};

// ContainerStatus of one container.
using ContainerDetail = runtime::ContainerStatus;

// The instances of one container name, the latest attempt first.
using ContainerGroups = std::map<std::string, std::vector<ContainerInfo>>;
ContainerGroups groupByName(const std::vector<ContainerInfo>& containers);

// Runtime calls, each one CRI call. All throw RuntimeError.
std::vector<SandboxInfo> listSandboxes(runtime::Runtime& runtime, const std::string& uid,
                                       const std::string& node);
std::vector<ContainerInfo> listContainers(runtime::Runtime& runtime, const std::string& uid,
                                          const std::string& node);
// Every pod UID with a sandbox or container of `node`, with the grace period its containers recorded (30 s
// when none did).
std::map<std::string, int64_t> listPodUids(runtime::Runtime& runtime, const std::string& node);

}  // namespace podwarden
