#include "TestRuntime.h"

#include "DockerClient.h"
#include "E2eSupport.h"

#include <time.h>

#include <cstdio>
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

int64_t parseRfc3339Ns(const std::string& text) {
  int year, month, day, hour, minute, second;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6 ||
      consumed != 19) {
    return 0;
  }
  if (year <= 1) return 0;
  size_t pos = 19;
  int64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    int64_t scale = 100000000;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
    }
  }
  if (pos + 1 != text.size() || text[pos] != 'Z') return 0;
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(::timegm(&tm)) * 1000000000 + fraction;
}

namespace {

// The restart attempt ending a kubelet-style name (..._<attempt>); -1 when there is none.
int trailingAttempt(const std::string& name) {
  const size_t underscore = name.rfind('_');
  if (underscore == std::string::npos || underscore + 1 >= name.size()) return -1;
  try {
    return std::stoi(name.substr(underscore + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

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
      // k8s_<container>_<pod>_<ns>_<uid>_<attempt>: no part contains '_' (DNS labels, UIDs).
      pc.attempt = trailingAttempt(c.name);
      if (!pc.sandbox && c.name.rfind("k8s_", 0) == 0) {
        pc.container = c.name.substr(4, c.name.find('_', 4) - 4);
      }
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

  ContainerRecord containerRecord(const std::string& id) override {
    ContainerRecord r;
    json::ObjectPtr c = docker_.inspect(id);
    if (!c) return r;
    json::ObjectPtr state = json::getObject(c, "State");
    r.exists = true;
    r.running = json::getBool(state, "Running");
    r.startedNs = parseRfc3339Ns(json::getString(state, "StartedAt"));
    r.finishedNs = r.running ? 0 : parseRfc3339Ns(json::getString(state, "FinishedAt"));
    r.exitCode = static_cast<int>(json::getInt(state, "ExitCode", -1));
    r.oomKilled = json::getBool(state, "OOMKilled");
    r.imageRef = json::getString(c, "Image");
    return r;
  }

  // NanoCpus (`docker run --cpus`) is the same limit as quota/period over Docker's 100 ms period.
  ResourceLimits containerResources(const std::string& id) override {
    json::ObjectPtr c = docker_.inspect(id);
    if (!c) throw std::runtime_error("Docker at " + docker_.endpoint() + " has no container " + id);
    json::ObjectPtr hc = json::getObject(c, "HostConfig");
    ResourceLimits l;
    l.cpuShares = json::getInt(hc, "CpuShares");
    l.cpuQuota = json::getInt(hc, "CpuQuota");
    l.cpuPeriod = json::getInt(hc, "CpuPeriod");
    const int64_t nano = json::getInt(hc, "NanoCpus");
    if (l.cpuQuota == 0 && nano != 0) {
      l.cpuPeriod = 100000;
      l.cpuQuota = nano / 10000;
    }
    l.memoryBytes = json::getInt(hc, "Memory");
    return l;
  }

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
