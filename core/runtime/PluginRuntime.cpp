#include "runtime/PluginRuntime.h"

#include "runtime/CriJson.h"
#include "util/Utf8.h"

namespace podwarden::runtime {

using plugin::RuntimeCall;
using namespace std::chrono_literals;

namespace {

// A call's deadline beyond the runtime's own: the runtime ends a stop or an exec itself; ours only guards
// against a stuck plugin.
constexpr std::chrono::seconds kDeadlineMargin = 60s;
constexpr std::chrono::seconds kExecMargin = 10s;
constexpr std::chrono::minutes kPullDeadline(5);
constexpr std::chrono::seconds kVersionDeadline = 10s;

}  // namespace

json::ObjectPtr parseRuntimeResult(RuntimeCall which, const plugin::CallResult& r) {
  // The messages end up in pod status JSON. abi.h promises UTF-8, but a misbehaving plugin may send
  // anything, and the JSON parser quotes the byte it stumbled over.
  auto error = [&](pw_status status, const std::string& message) {
    return RuntimeError(status, utf8::repaired(std::string(plugin::runtimeCallName(which)) + ": " + message));
  };
  if (!r.ok()) throw error(r.status, r.describe());
  if (r.out.empty()) return new json::Object();
  try {
    return json::parseObject(r.out);
  } catch (const std::exception& e) {
    throw error(PW_INTERNAL, std::string("the runtime plugin answered with ") + e.what());
  }
}

PluginRuntime::PluginRuntime(plugin::RuntimeInstance& instance)
    : transport_(
          [&instance](RuntimeCall which, const std::string& request, std::chrono::milliseconds timeout) {
            return instance.call(which, request, timeout);
          }) {}

json::ObjectPtr PluginRuntime::call(RuntimeCall which, const json::ObjectPtr& request,
                                    std::chrono::milliseconds timeout) {
  return parseRuntimeResult(which, transport_(which, json::stringify(request), timeout));
}

VersionInfo PluginRuntime::version() {
  json::ObjectPtr req = crijson::idRequest("version", "v1");
  return crijson::decodeVersion(call(RuntimeCall::kVersion, req, kVersionDeadline));
}

std::string PluginRuntime::runPodSandbox(const PodSandboxConfig& config) {
  json::ObjectPtr req = new json::Object();
  req->set("config", crijson::encode(config));
  req->set("runtimeHandler", "");
  return json::getString(call(RuntimeCall::kRunPodSandbox, req), "podSandboxId");
}

void PluginRuntime::stopPodSandbox(const std::string& id) {
  call(RuntimeCall::kStopPodSandbox, crijson::idRequest("podSandboxId", id));
}

void PluginRuntime::removePodSandbox(const std::string& id) {
  call(RuntimeCall::kRemovePodSandbox, crijson::idRequest("podSandboxId", id));
}

PodSandboxStatus PluginRuntime::podSandboxStatus(const std::string& id) {
  return crijson::decodeSandboxStatus(
      call(RuntimeCall::kPodSandboxStatus, crijson::idRequest("podSandboxId", id)));
}

std::vector<PodSandbox> PluginRuntime::listPodSandbox(const StringMap& labelSelector) {
  return crijson::decodeSandboxes(call(RuntimeCall::kListPodSandbox, crijson::listRequest(labelSelector)));
}

std::string PluginRuntime::createContainer(const std::string& podSandboxId, const ContainerConfig& config,
                                           const PodSandboxConfig& sandboxConfig) {
  json::ObjectPtr req = new json::Object();
  req->set("podSandboxId", podSandboxId);
  req->set("config", crijson::encode(config));
  req->set("sandboxConfig", crijson::encode(sandboxConfig));
  return json::getString(call(RuntimeCall::kCreateContainer, req), "containerId");
}

void PluginRuntime::startContainer(const std::string& id) {
  call(RuntimeCall::kStartContainer, crijson::idRequest("containerId", id));
}

void PluginRuntime::stopContainer(const std::string& id, int64_t timeoutSeconds) {
  json::ObjectPtr req = crijson::idRequest("containerId", id);
  req->set("timeout", timeoutSeconds);
  call(RuntimeCall::kStopContainer, req,
       std::chrono::seconds(std::max<int64_t>(timeoutSeconds, 0)) + kDeadlineMargin);
}

void PluginRuntime::removeContainer(const std::string& id) {
  call(RuntimeCall::kRemoveContainer, crijson::idRequest("containerId", id));
}

std::vector<Container> PluginRuntime::listContainers(const StringMap& labelSelector) {
  return crijson::decodeContainers(call(RuntimeCall::kListContainers, crijson::listRequest(labelSelector)));
}

ContainerStatus PluginRuntime::containerStatus(const std::string& id) {
  return crijson::decodeContainerStatus(
      call(RuntimeCall::kContainerStatus, crijson::idRequest("containerId", id)));
}

ExecSyncResult PluginRuntime::execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                                       std::chrono::seconds timeout) {
  const std::chrono::seconds limit = std::max(timeout, std::chrono::seconds(1));
  json::ObjectPtr req = crijson::idRequest("containerId", containerId);
  json::ArrayPtr args = new json::Array();
  for (const auto& a : cmd) args->add(a);
  req->set("cmd", args);
  req->set("timeout", static_cast<int64_t>(limit.count()));
  return crijson::decodeExecSync(call(RuntimeCall::kExecSync, req, limit + kExecMargin));
}

bool PluginRuntime::imagePresent(const std::string& image) {
  return crijson::decodeImagePresent(call(RuntimeCall::kImageStatus, crijson::imageRequest(image)));
}

void PluginRuntime::pullImage(const std::string& image) {
  call(RuntimeCall::kPullImage, crijson::imageRequest(image), kPullDeadline);
}

}  // namespace podwarden::runtime
