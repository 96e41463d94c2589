#include "TestRuntime.h"

#include "DockerClient.h"
#include "E2eSupport.h"

#include <sstream>
#include <stdexcept>

namespace podwarden::e2e {

std::string TestRuntime::describe(const std::string& node) {
  std::ostringstream out;
  out << "--- " << kind() << " at " << endpoint() << ", containers of node " << node << ":\n";
  try {
    for (const auto& c : listPodContainers(node, true)) {
      out << "    " << c.id.substr(0, 12) << (c.running ? " running " : " stopped ") << c.name << "\n";
    }
  } catch (const std::exception& e) {
    out << "    " << e.what() << "\n";
  }
  return out.str();
}

std::optional<PodContainer> TestRuntime::containerNamed(const std::string& node, const std::string& name, bool all) {
  for (auto& c : listPodContainers(node, all)) {
    if (c.name == name) return c;
  }
  return std::nullopt;
}

namespace {

class DockerTestRuntime : public TestRuntime {
 public:
  explicit DockerTestRuntime(const std::string& endpoint) : docker_(endpoint) {}

  std::string kind() const override { return "docker"; }
  std::string endpoint() const override { return docker_.endpoint(); }

  void require() override {
    if (!docker_.ping()) {
      throw std::runtime_error("no Docker daemon answers at " + docker_.endpoint() +
                               "; start the test daemon with `tests/scripts/dockerd.sh start` (and export "
                               "PODWARDEN_DOCKER_HOST if you use another one)");
    }
    for (const char* image : {kPauseImage, kBusyboxImage}) {
      if (!docker_.imageExists(image)) {
        throw std::runtime_error(std::string("image ") + image + " is missing in the Docker daemon at " +
                                 docker_.endpoint() + "; build it with `DOCKER_HOST=" + docker_.endpoint() +
                                 " samples/images/build-images.sh`");
      }
    }
  }

  std::vector<PodContainer> listPodContainers(const std::string& node, bool all) override {
    std::vector<PodContainer> out;
    for (const auto& c : docker_.list({"io.podwarden.node=" + node}, all)) {
      PodContainer pc;
      pc.id = c.id;
      pc.name = c.name;
      pc.sandbox = c.label("io.kubernetes.docker.type") == "podsandbox" || c.name.rfind("k8s_POD_", 0) == 0;
      pc.running = c.state == "running";
      pc.podUid = c.label("io.kubernetes.pod.uid");
      out.push_back(pc);
    }
    return out;
  }

  std::string containerStartedAt(const std::string& id) override {
    json::ObjectPtr c = docker_.inspect(id);
    return c ? json::getString(json::getObject(c, "State"), "StartedAt") : "";
  }

  bool containerExists(const std::string& id) override { return static_cast<bool>(docker_.inspect(id)); }

  bool containerRunning(const std::string& id) override {
    json::ObjectPtr c = docker_.inspect(id);
    return c && json::getBool(json::getObject(c, "State"), "Running");
  }

  std::vector<std::string> containerArgv(const std::string& id) override {
    std::vector<std::string> out;
    json::ObjectPtr c = docker_.inspect(id);
    if (!c) return out;
    out.push_back(json::getString(c, "Path"));
    json::ArrayPtr args = json::getArray(c, "Args");
    for (size_t i = 0; args && i < args->size(); ++i) {
      out.push_back(args->getElement<std::string>(static_cast<unsigned>(i)));
    }
    return out;
  }

  void killContainer(const std::string& id) override { docker_.kill(id); }

  void removeNodeContainers(const std::string& node) override {
    try {
      docker_.removeAllWithLabel("io.podwarden.node=" + node);
    } catch (const std::exception&) {
    }
  }

  std::string sandboxName(const std::string& pod, const std::string& ns, const std::string& uid,
                          int attempt) const override {
    return sandboxContainerName(pod, ns, uid, attempt);
  }
  std::string appName(const std::string& container, const std::string& pod, const std::string& ns,
                      const std::string& uid, int attempt) const override {
    return appContainerName(container, pod, ns, uid, attempt);
  }

 private:
  DockerClient docker_;
};

}  // namespace

std::unique_ptr<TestRuntime> makeDockerTestRuntime(const std::string& endpoint) {
  return std::make_unique<DockerTestRuntime>(endpoint);
}

std::unique_ptr<TestRuntime> makeTestRuntime() {
  const std::string which = env("PODWARDEN_E2E_RUNTIME", "docker");
  if (which == "docker") {
    return makeDockerTestRuntime(env("PODWARDEN_DOCKER_HOST", "unix:///run/podwarden-test/docker.sock"));
  }
  if (which == "containerd") {
    return makeContainerdTestRuntime(
        env("PODWARDEN_CONTAINERD_ENDPOINT", "unix:///run/podwarden-test/containerd/containerd.sock"));
  }
  throw std::runtime_error("PODWARDEN_E2E_RUNTIME=" + which + ": expected docker or containerd");
}

}  // namespace podwarden::e2e
