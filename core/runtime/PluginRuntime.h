// PluginRuntime.h - runtime::Runtime over a runtime plugin: each call one CRI request as JSON through
// the ABI (CriJson.h), its answer read back into the structs.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "plugin/Instances.h"
#include "runtime/Runtime.h"
#include "util/Json.h"

namespace podwarden::runtime {

// One ABI call: the request as JSON, the plugin's status and answer. PluginRuntime's only way out.
using Transport = std::function<plugin::CallResult(plugin::RuntimeCall which, const std::string& request,
                                                   std::chrono::milliseconds timeout)>;

class PluginRuntime : public Runtime {
 public:
  explicit PluginRuntime(plugin::RuntimeInstance& instance);
  explicit PluginRuntime(Transport transport) : transport_(std::move(transport)) {}

  VersionInfo version() override;
  std::string runPodSandbox(const PodSandboxConfig& config) override;
  void stopPodSandbox(const std::string& id) override;
  void removePodSandbox(const std::string& id) override;
  PodSandboxStatus podSandboxStatus(const std::string& id) override;
  std::vector<PodSandbox> listPodSandbox(const StringMap& labelSelector) override;
  std::string createContainer(const std::string& podSandboxId, const ContainerConfig& config,
                              const PodSandboxConfig& sandboxConfig) override;
  void startContainer(const std::string& id) override;
  void stopContainer(const std::string& id, int64_t timeoutSeconds) override;
  void removeContainer(const std::string& id) override;
  std::vector<Container> listContainers(const StringMap& labelSelector) override;
  ContainerStatus containerStatus(const std::string& id) override;
  ExecSyncResult execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                          std::chrono::seconds timeout) override;
  bool imagePresent(const std::string& image) override;
  void pullImage(const std::string& image) override;

 private:
  json::ObjectPtr call(plugin::RuntimeCall which, const json::ObjectPtr& request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

  Transport transport_;
};

// How the host reads a runtime plugin's answer to `which`: the response object. Throws RuntimeError with the
// plugin's status and its message (bytes that are not UTF-8 replaced by U+FFFD) when the call failed, and
// INTERNAL when the plugin wrote something that is not a JSON object. An empty answer reads as {}.
json::ObjectPtr parseRuntimeResult(plugin::RuntimeCall which, const plugin::CallResult& result);

}  // namespace podwarden::runtime
