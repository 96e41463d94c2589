// Cri.h - the CRI runtime.v1 messages the core sends and reads, as C++ values.
//
// Only the fields podwarden sets or reads are here, named as in the CRI's api.proto so that a reader can
// look each one up there. The core builds and reads these; CriJson.h turns them into the protobuf JSON
// the runtime plugins take over the ABI and back, in one place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace podwarden::runtime {

using StringMap = std::map<std::string, std::string>;

// NamespaceMode: POD (shared by the pod), CONTAINER (the container's own), NODE (the host's).
enum class NamespaceMode { kPod, kContainer, kNode };

struct NamespaceOption {
  NamespaceMode network = NamespaceMode::kPod;
  NamespaceMode pid = NamespaceMode::kContainer;
  NamespaceMode ipc = NamespaceMode::kPod;
};

struct DnsConfig {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};

enum class Protocol { kTcp, kUdp, kSctp };

struct PortMapping {
  Protocol protocol = Protocol::kTcp;
  int64_t containerPort = 0;
  int64_t hostPort = 0;
  std::string hostIp;
};

struct PodSandboxMetadata {
  std::string name;
  std::string uid;
  std::string ns;  // "namespace"
  uint32_t attempt = 0;
};

struct LinuxSandboxSecurityContext {
  NamespaceOption namespaceOptions;
  bool privileged = false;
  std::optional<int64_t> runAsUser;   // Int64Value
  std::optional<int64_t> runAsGroup;  // Int64Value
  std::vector<int64_t> supplementalGroups;
};

struct PodSandboxConfig {
  PodSandboxMetadata metadata;
  std::string hostname;
  std::string logDirectory;
  std::optional<DnsConfig> dnsConfig;  // none: the runtime gives the host's resolv.conf
  std::vector<PortMapping> portMappings;
  StringMap labels;
  StringMap annotations;
  struct Linux {
    std::string cgroupParent;
    LinuxSandboxSecurityContext securityContext;
    StringMap sysctls;
  } linuxConfig;  // "linux" (a predefined macro in GNU C++)
};

struct ContainerMetadata {
  std::string name;
  uint32_t attempt = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
};

enum class MountPropagation { kPrivate, kHostToContainer, kBidirectional };

struct Mount {
  std::string containerPath;
  std::string hostPath;
  bool readonly = false;
  MountPropagation propagation = MountPropagation::kPrivate;
};

struct Capability {
  std::vector<std::string> addCapabilities;
  std::vector<std::string> dropCapabilities;
};

struct LinuxContainerResources {
  int64_t cpuPeriod = 0;
  int64_t cpuQuota = 0;
  int64_t cpuShares = 0;
  int64_t memoryLimitInBytes = 0;
  int64_t oomScoreAdj = 0;
};

struct LinuxContainerSecurityContext {
  std::optional<Capability> capabilities;
  bool privileged = false;
  NamespaceOption namespaceOptions;
  std::optional<int64_t> runAsUser;
  std::optional<int64_t> runAsGroup;
  bool readonlyRootfs = false;
  std::optional<bool> noNewPrivs;  // set only when the pod says allowPrivilegeEscalation
  std::vector<int64_t> supplementalGroups;
};

struct ContainerConfig {
  ContainerMetadata metadata;
  std::string image;  // ImageSpec.image
  std::optional<std::vector<std::string>> command;
  std::optional<std::vector<std::string>> args;
  std::optional<std::string> workingDir;
  std::vector<KeyValue> envs;
  std::vector<Mount> mounts;
  StringMap labels;
  StringMap annotations;
  std::string logPath;     // relative to the sandbox's logDirectory
  bool stdinOpen = false;  // "stdin" (a macro of <cstdio>)
  bool stdinOnce = false;
  bool tty = false;
  struct Linux {
    LinuxContainerResources resources;
    LinuxContainerSecurityContext securityContext;
  } linuxConfig;  // "linux" (a predefined macro in GNU C++)
};

enum class SandboxState { kReady, kNotReady };

// An item of ListPodSandboxResponse.
struct PodSandbox {
  std::string id;
  PodSandboxMetadata metadata;
  SandboxState state = SandboxState::kNotReady;
  int64_t createdAt = 0;  // unix ns
  StringMap labels;
  StringMap annotations;
};

// PodSandboxStatusResponse.status, the parts the core reads.
struct PodSandboxStatus {
  std::string id;
  SandboxState state = SandboxState::kNotReady;
  std::string ip;  // network.ip; "" for none
};

// ContainerState; kUnknown also stands for a name this build does not know.
enum class ContainerState { kCreated, kRunning, kExited, kUnknown };

// An item of ListContainersResponse.
struct Container {
  std::string id;
  std::string podSandboxId;
  ContainerMetadata metadata;
  std::string image;
  std::string imageRef;
  ContainerState state = ContainerState::kUnknown;
  int64_t createdAt = 0;  // unix ns
  StringMap labels;
  StringMap annotations;
};

// ContainerStatusResponse.status.
struct ContainerStatus {
  std::string id;
  ContainerMetadata metadata;
  ContainerState state = ContainerState::kUnknown;
  int64_t createdAt = 0;   // unix ns; 0 unknown
  int64_t startedAt = 0;   // unix ns; 0 unknown
  int64_t finishedAt = 0;  // unix ns; 0 unknown
  int64_t exitCode = 0;
  std::string image;
  std::string imageRef;
  std::string reason;
  std::string message;
  StringMap labels;
  StringMap annotations;
};

// ExecSyncResponse, output as bytes (the JSON form carries them base64-encoded).
struct ExecSyncResult {
  std::string out;  // stdout
  std::string err;  // stderr
  int64_t exitCode = 0;
};

struct VersionInfo {
  std::string version;
  std::string runtimeName;
  std::string runtimeVersion;
  std::string runtimeApiVersion;
};

}  // namespace podwarden::runtime
