// RuntimeView.h - what the runtime has of a pod, as typed values: its sandboxes, its containers and their
// statuses, read through RuntimeClient (CRI JSON at the plugin boundary) in one place.
//
// PodActions decides from these values and PodStatus reports them; neither sees JSON from the runtime.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconciler/RuntimeClient.h"
#include "util/Json.h"

namespace podwarden {

enum class ContainerState { kCreated, kRunning, kExited, kUnknown };

// CRI's ContainerState names (CONTAINER_RUNNING, ...); anything else is kUnknown.
ContainerState containerStateFromCri(const std::string& name);

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
struct ContainerDetail {
  ContainerState state = ContainerState::kUnknown;
  int64_t startedAt = 0;   // unix ns; 0 unknown
  int64_t finishedAt = 0;  // unix ns; 0 unknown
  int64_t exitCode = 0;
  std::string reason;
  std::string message;
  std::string imageRef;
};

// The instances of one container name, the latest attempt first.
using ContainerGroups = std::map<std::string, std::vector<ContainerInfo>>;
ContainerGroups groupByName(const std::vector<ContainerInfo>& containers);

// Runtime calls, each one CRI call. All throw RuntimeError.
std::vector<SandboxInfo> listSandboxes(RuntimeClient& runtime, const std::string& uid,
                                       const std::string& node);
std::vector<ContainerInfo> listContainers(RuntimeClient& runtime, const std::string& uid,
                                          const std::string& node);
ContainerDetail containerDetail(RuntimeClient& runtime, const std::string& id);
// The sandbox's pod IP; "" when it has none.
std::string sandboxIP(RuntimeClient& runtime, const std::string& sandboxId);
// ImageStatus: whether `image` is present.
bool imagePresent(RuntimeClient& runtime, const std::string& image);
// Every pod UID with a sandbox or container of `node`, with the grace period its containers recorded (30 s
// when none did).
std::map<std::string, int64_t> listPodUids(RuntimeClient& runtime, const std::string& node);

// {"containerId": id} and the like.
json::ObjectPtr idRequest(const char* key, const std::string& id);

}  // namespace podwarden
