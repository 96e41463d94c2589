// Runtime.h - the core's view of a container runtime: the CRI calls it makes, with typed messages.
//
// The seam between the reconciler's logic and a runtime plugin (LevelDB's Env idea): the daemon uses
// PluginRuntime (CRI JSON over the plugin ABI); unit tests use an in-memory runtime on the same structs.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "podwarden/abi.h"
#include "runtime/Cri.h"

namespace podwarden {

// A runtime call failed. `status` is the plugin's pw_status.
class RuntimeError : public std::runtime_error {
 public:
  RuntimeError(pw_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  pw_status status() const { return status_; }

 private:
  pw_status status_;
};

namespace runtime {

// Every call throws RuntimeError; every implementation is thread-safe. List calls take a label selector
// (all labels must match; empty matches everything).
class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual VersionInfo version() = 0;

  // Returns the new sandbox's id.
  virtual std::string runPodSandbox(const PodSandboxConfig& config) = 0;
  // Both idempotent: an unknown id is not an error.
  virtual void stopPodSandbox(const std::string& id) = 0;
  virtual void removePodSandbox(const std::string& id) = 0;
  virtual PodSandboxStatus podSandboxStatus(const std::string& id) = 0;
  virtual std::vector<PodSandbox> listPodSandbox(const StringMap& labelSelector) = 0;

  // Returns the new container's id.
  virtual std::string createContainer(const std::string& podSandboxId, const ContainerConfig& config,
                                      const PodSandboxConfig& sandboxConfig) = 0;
  virtual void startContainer(const std::string& id) = 0;
  // Signals, waits up to `timeoutSeconds`, then kills.
  virtual void stopContainer(const std::string& id, int64_t timeoutSeconds) = 0;
  virtual void removeContainer(const std::string& id) = 0;
  virtual std::vector<Container> listContainers(const StringMap& labelSelector) = 0;
  virtual ContainerStatus containerStatus(const std::string& id) = 0;
  // The runtime ends the command after `timeout` (at least 1 s); DEADLINE_EXCEEDED then.
  virtual ExecSyncResult execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                                  std::chrono::seconds timeout) = 0;

  // ImageStatus: whether `image` is present.
  virtual bool imagePresent(const std::string& image) = 0;
  virtual void pullImage(const std::string& image) = 0;
};

}  // namespace runtime
}  // namespace podwarden
