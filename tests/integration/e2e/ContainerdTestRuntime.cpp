// The containerd side of TestRuntime: CRI calls through the runtime-containerd plugin, loaded here as a
// client of its own (separate from the daemon under test), and containerd's `ctr` for what CRI cannot do
// (argv of the OCI spec, killing a task behind the kubelet's back).
#include "E2eSupport.h"
#include "TestRuntime.h"
#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"

#include <map>
#include <stdexcept>

namespace podwarden::e2e {

namespace {

using plugin::CallResult;
using plugin::PluginLibrary;
using plugin::RuntimeCall;
using plugin::RuntimeInstance;

std::string jsonString(const std::string& s) { return json::stringify(Poco::Dynamic::Var(s)); }

class ContainerdTestRuntime : public TestRuntime {
 public:
  explicit ContainerdTestRuntime(const std::string& endpoint)
      : endpoint_(endpoint),
        socketPath_(endpoint.rfind("unix://", 0) == 0 ? endpoint.substr(7) : endpoint),
        library_(PluginLibrary::load(requireEnv("PODWARDEN_PLUGIN_DIR") + "/runtime-containerd.so")),
        cri_(library_, "containerd", "{\"endpoint\":" + jsonString(endpoint) + "}", "e2e-observer") {}

  std::string kind() const override { return "containerd"; }
  std::string endpoint() const override { return endpoint_; }

  void require() override {
    CallResult v = cri_.call(RuntimeCall::kVersion, R"({"version":"v1"})", std::chrono::seconds(10));
    if (!v.ok()) {
      throw std::runtime_error("the test containerd at " + endpoint_ + " does not answer (" + v.describe() +
                               "); run tests/scripts/containerd.sh start (or set PODWARDEN_CONTAINERD_ENDPOINT)");
    }
    for (const char* image : {kPauseImage, kBusyboxImage}) {
      json::ObjectPtr s = call(RuntimeCall::kImageStatus, std::string(R"({"image":{"image":")") + image + "\"}}");
      if (!json::getObject(s, "image")) {
        throw std::runtime_error(std::string("image ") + image + " is missing in " + endpoint_ +
                                 "; run samples/images/build-oci-images.sh with CONTAINERD_ADDRESS=" + socketPath_);
      }
    }
  }

  std::vector<PodContainer> listPodContainers(const std::string& node, bool all) override {
    const std::string selector = R"("labelSelector":{"io.podwarden.node":)" + jsonString(node) + "}";
    struct SandboxMeta {
      std::string name, ns, uid;
    };
    std::map<std::string, SandboxMeta> sandboxMeta;
    std::vector<PodContainer> out;
    json::ArrayPtr items = json::getArray(call(RuntimeCall::kListPodSandbox, "{\"filter\":{" + selector + "}}"), "items");
    for (size_t i = 0; items && i < items->size(); ++i) {
      json::ObjectPtr s = items->getObject(static_cast<unsigned>(i));
      json::ObjectPtr meta = json::getObject(s, "metadata");
      SandboxMeta m{json::getString(meta, "name"), json::getString(meta, "namespace"), json::getString(meta, "uid")};
      sandboxMeta[json::getString(s, "id")] = m;
      PodContainer pc;
      pc.id = json::getString(s, "id");
      pc.sandbox = true;
      pc.running = json::getString(s, "state") == "SANDBOX_READY";
      pc.attempt = static_cast<int>(json::getInt(meta, "attempt"));
      pc.name = sandboxName(m.name, m.ns, m.uid, pc.attempt);
      pc.podUid = json::getString(json::getObject(s, "labels"), "io.kubernetes.pod.uid");
      if (all || pc.running) out.push_back(pc);
    }
    json::ArrayPtr containers =
        json::getArray(call(RuntimeCall::kListContainers, "{\"filter\":{" + selector + "}}"), "containers");
    for (size_t i = 0; containers && i < containers->size(); ++i) {
      json::ObjectPtr c = containers->getObject(static_cast<unsigned>(i));
      json::ObjectPtr meta = json::getObject(c, "metadata");
      const SandboxMeta m = sandboxMeta[json::getString(c, "podSandboxId")];
      PodContainer pc;
      pc.id = json::getString(c, "id");
      pc.running = json::getString(c, "state") == "CONTAINER_RUNNING";
      pc.container = json::getString(meta, "name");
      pc.attempt = static_cast<int>(json::getInt(meta, "attempt"));
      pc.name = appName(pc.container, m.name, m.ns, m.uid, pc.attempt);
      pc.podUid = json::getString(json::getObject(c, "labels"), "io.kubernetes.pod.uid");
      if (all || pc.running) out.push_back(pc);
    }
    return out;
  }

  std::string containerStartedAt(const std::string& id) override {
    if (json::ObjectPtr c = status(RuntimeCall::kContainerStatus, "containerId", id)) {
      return json::getString(c, "startedAt");
    }
    if (json::ObjectPtr s = status(RuntimeCall::kPodSandboxStatus, "podSandboxId", id)) {
      return json::getString(s, "createdAt");
    }
    return "";
  }

  bool containerExists(const std::string& id) override {
    return status(RuntimeCall::kContainerStatus, "containerId", id) ||
           status(RuntimeCall::kPodSandboxStatus, "podSandboxId", id);
  }

  bool containerRunning(const std::string& id) override {
    if (json::ObjectPtr c = status(RuntimeCall::kContainerStatus, "containerId", id)) {
      return json::getString(c, "state") == "CONTAINER_RUNNING";
    }
    json::ObjectPtr s = status(RuntimeCall::kPodSandboxStatus, "podSandboxId", id);
    return s && json::getString(s, "state") == "SANDBOX_READY";
  }

  // containerd's record of the container: its OCI spec's process.args.
  std::vector<std::string> containerArgv(const std::string& id) override {
    std::vector<std::string> out;
    CommandResult r = ctr("containers info " + shellQuote(id));
    if (r.exitCode != 0) return out;
    json::ObjectPtr info = json::parseObject(r.output);
    json::ArrayPtr args = json::getArray(json::getObject(json::getObject(info, "Spec"), "process"), "args");
    for (size_t i = 0; args && i < args->size(); ++i) {
      out.push_back(args->getElement<std::string>(static_cast<unsigned>(i)));
    }
    return out;
  }

  // CRI times are unix ns (int64, rendered as JSON strings); an exit code of 0 is omitted on the wire.
  ContainerRecord containerRecord(const std::string& id) override {
    ContainerRecord r;
    json::ObjectPtr c = status(RuntimeCall::kContainerStatus, "containerId", id);
    if (!c) return r;
    r.exists = true;
    r.running = json::getString(c, "state") == "CONTAINER_RUNNING";
    r.startedNs = json::getInt(c, "startedAt");
    r.finishedNs = json::getInt(c, "finishedAt");
    r.exitCode = static_cast<int>(json::getInt(c, "exitCode"));
    r.oomKilled = json::getString(c, "reason") == "OOMKilled";
    r.imageRef = json::getString(c, "imageRef");
    return r;
  }

  // containerd's record of the container: its OCI spec's linux.resources (what runc writes to the cgroup).
  ResourceLimits containerResources(const std::string& id) override {
    CommandResult r = ctr("containers info " + shellQuote(id));
    if (r.exitCode != 0) throw std::runtime_error("ctr containers info " + id + " on " + endpoint_ + ": " + r.output);
    json::ObjectPtr resources =
        json::getObject(json::getObject(json::getObject(json::parseObject(r.output), "Spec"), "linux"), "resources");
    json::ObjectPtr cpu = json::getObject(resources, "cpu");
    ResourceLimits l;
    l.cpuShares = json::getInt(cpu, "shares");
    l.cpuQuota = json::getInt(cpu, "quota");
    l.cpuPeriod = json::getInt(cpu, "period");
    l.memoryBytes = json::getInt(json::getObject(resources, "memory"), "limit");
    return l;
  }

  void killContainer(const std::string& id) override {
    CommandResult r = ctr("tasks kill --signal SIGKILL " + shellQuote(id));
    if (r.exitCode != 0) throw std::runtime_error("ctr tasks kill " + id + ": " + r.output);
  }

  void removeNodeContainers(const std::string& node) override {
    try {
      for (const auto& c : listPodContainers(node, true)) {
        if (c.sandbox) continue;
        cri_.call(RuntimeCall::kStopContainer, R"({"timeout":0,"containerId":)" + jsonString(c.id) + "}");
        cri_.call(RuntimeCall::kRemoveContainer, R"({"containerId":)" + jsonString(c.id) + "}");
      }
      for (const auto& c : listPodContainers(node, true)) {
        cri_.call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":)" + jsonString(c.id) + "}");
        cri_.call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":)" + jsonString(c.id) + "}");
      }
    } catch (const std::exception&) {
    }
  }

  std::string sandboxName(const std::string& pod, const std::string& ns, const std::string& uid,
                          int attempt) const override {
    return pod + "_" + ns + "_" + uid + "_" + std::to_string(attempt);
  }
  std::string appName(const std::string& container, const std::string& pod, const std::string& ns,
                      const std::string& uid, int attempt) const override {
    return container + "_" + pod + "_" + ns + "_" + uid + "_" + std::to_string(attempt);
  }

 private:
  json::ObjectPtr call(RuntimeCall which, const std::string& request) {
    CallResult r = cri_.call(which, request, std::chrono::seconds(30));
    if (!r.ok()) {
      throw std::runtime_error(std::string("CRI ") + plugin::runtimeCallName(which) + " on " + endpoint_ + ": " +
                               r.describe());
    }
    return json::parseObject(r.out);
  }

  // The "status" object of a ContainerStatus / PodSandboxStatus answer; null when the runtime does not know
  // the id.
  json::ObjectPtr status(RuntimeCall which, const char* idField, const std::string& id) {
    CallResult r = cri_.call(which, std::string("{\"") + idField + "\":" + jsonString(id) + "}",
                             std::chrono::seconds(30));
    if (r.status == PW_NOT_FOUND) return nullptr;
    if (!r.ok()) {
      throw std::runtime_error(std::string("CRI ") + plugin::runtimeCallName(which) + " " + id + " on " +
                               endpoint_ + ": " + r.describe());
    }
    return json::getObject(json::parseObject(r.out), "status");
  }

  CommandResult ctr(const std::string& args) {
    return runCommand("ctr --address " + shellQuote(socketPath_) + " --namespace k8s.io " + args);
  }

  std::string endpoint_;
  std::string socketPath_;
  std::shared_ptr<PluginLibrary> library_;
  RuntimeInstance cri_;
};

}  // namespace

std::unique_ptr<TestRuntime> makeContainerdTestRuntime(const std::string& endpoint) {
  return std::make_unique<ContainerdTestRuntime>(endpoint);
}

}  // namespace podwarden::e2e
