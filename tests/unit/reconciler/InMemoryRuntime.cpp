#include "InMemoryRuntime.h"

#include <algorithm>
#include <cstdio>

namespace podwarden::test {

using plugin::RuntimeCall;

namespace {

using runtime::ContainerState;

void require(const std::string& value, const std::string& what) {
  if (value.empty()) throw RuntimeError(PW_INVALID_ARGUMENT, what + " is required");
}

// Docker's label filters, as the plugin sends them: every selector pair must match exactly.
bool matches(const StringMap& labels, const StringMap& selector) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

// ---- Test controls ---------------------------------------------------------------------------------

void InMemoryRuntime::addImage(const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  images_.insert(ref);
}

void InMemoryRuntime::addRegistryImage(const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  registry_.insert(ref);
}

void InMemoryRuntime::removeImage(const std::string& ref) {
  std::lock_guard<std::mutex> lock(mutex_);
  images_.erase(ref);
}

bool InMemoryRuntime::hasImage(const std::string& ref) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return images_.count(ref) > 0;
}

void InMemoryRuntime::failNext(RuntimeCall which, pw_status status, const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_[which].emplace_back(status, message);
}

int InMemoryRuntime::calls(RuntimeCall which) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = calls_.find(which);
  return it == calls_.end() ? 0 : it->second;
}

void InMemoryRuntime::resetCalls() {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.clear();
}

void InMemoryRuntime::exitContainer(const std::string& id, int64_t exitCode, std::optional<int64_t> finishedAtNs,
                                    bool oomKilled) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = containers_.find(id);
  if (it == containers_.end()) throw std::logic_error("exitContainer: no container " + id);
  if (it->second.state != ContainerState::kRunning) {
    throw std::logic_error("exitContainer: container " + id + " is not running");
  }
  it->second.state = ContainerState::kExited;
  it->second.exitCode = exitCode;
  it->second.finishedAt = finishedAtNs.value_or(clock_.wallNs());
  it->second.oomKilled = oomKilled;
}

void InMemoryRuntime::setStopExitCode(int64_t code) {
  std::lock_guard<std::mutex> lock(mutex_);
  stopExitCode_ = code;
}

std::vector<std::pair<std::string, int64_t>> InMemoryRuntime::stopLog() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopLog_;
}

void InMemoryRuntime::killSandbox(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) throw std::logic_error("killSandbox: no sandbox " + id);
  it->second.ready = false;
}

void InMemoryRuntime::deleteSandboxOnly(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sandboxes_.erase(id)) throw std::logic_error("deleteSandboxOnly: no sandbox " + id);
}

std::string InMemoryRuntime::runSandbox(const runtime::PodSandboxConfig& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  return runSandboxLocked(config);
}

std::string InMemoryRuntime::createContainer(const std::string& sandboxId,
                                             const runtime::ContainerConfig& config,
                                             const runtime::PodSandboxConfig& sandboxConfig, bool start) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string id = createContainerLocked(sandboxId, config, sandboxConfig);
  if (start) startLocked(containers_.at(id));
  return id;
}

std::vector<SandboxRecord> InMemoryRuntime::sandboxes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SandboxRecord> out;
  for (const auto& kv : sandboxes_) out.push_back(kv.second);
  return out;
}

std::vector<ContainerRecord> InMemoryRuntime::containers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<ContainerRecord> out;
  for (const auto& kv : containers_) out.push_back(kv.second);
  return out;
}

std::optional<ContainerRecord> InMemoryRuntime::container(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

std::optional<SandboxRecord> InMemoryRuntime::sandbox(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) return std::nullopt;
  return it->second;
}

std::vector<ContainerRecord> InMemoryRuntime::containersOf(const std::string& uid, const std::string& name) const {
  std::vector<ContainerRecord> out;
  for (const auto& c : containers()) {
    auto u = c.labels.find("io.kubernetes.pod.uid");
    auto n = c.labels.find("io.kubernetes.container.name");
    if (u != c.labels.end() && u->second == uid && n != c.labels.end() && n->second == name) out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const ContainerRecord& a, const ContainerRecord& b) {
    return a.attempt > b.attempt;
  });
  return out;
}

// ---- The CRI surface -------------------------------------------------------------------------------

std::unique_lock<std::mutex> InMemoryRuntime::enter(RuntimeCall which) {
  std::unique_lock<std::mutex> lock(mutex_);
  ++calls_[which];
  auto f = failures_.find(which);
  if (f != failures_.end() && !f->second.empty()) {
    auto failure = f->second.front();
    f->second.pop_front();
    throw RuntimeError(failure.first, failure.second);
  }
  return lock;
}

runtime::VersionInfo InMemoryRuntime::version() {
  auto lock = enter(RuntimeCall::kVersion);
  return {"0.1.0", "in-memory", "1.0", "v1"};
}

std::string InMemoryRuntime::newId() {
  // 64 hex digits like Docker's; distinct in the first 12 (the short id in logs).
  uint64_t x = nextId_++;
  std::string out;
  for (int part = 0; part < 4; ++part) {
    uint64_t z = (x + static_cast<uint64_t>(part) * 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
    z ^= z >> 31;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(z));
    out += buf;
  }
  return out;
}

std::string InMemoryRuntime::imageId(const std::string& ref) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : ref) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string("sha256:") + buf + buf + buf + buf;
}

std::string InMemoryRuntime::runSandboxLocked(const runtime::PodSandboxConfig& config) {
  const runtime::PodSandboxMetadata& md = config.metadata;
  require(md.name, "RunPodSandboxRequest config.metadata: name");
  require(md.uid, "RunPodSandboxRequest config.metadata: uid");
  require(md.ns, "RunPodSandboxRequest config.metadata: namespace");
  SandboxRecord s;
  s.name = md.name;
  s.uid = md.uid;
  s.ns = md.ns;
  s.attempt = md.attempt;
  s.dockerName = "k8s_POD_" + s.name + "_" + s.ns + "_" + s.uid + "_" + std::to_string(s.attempt);
  // The plugin removes a leftover with the same name and retries once.
  for (auto it = sandboxes_.begin(); it != sandboxes_.end(); ++it) {
    if (it->second.dockerName != s.dockerName) continue;
    const std::string old = it->first;
    sandboxes_.erase(it);
    for (auto c = containers_.begin(); c != containers_.end();)
      c = c->second.sandboxId == old ? containers_.erase(c) : ++c;
    break;
  }
  s.id = newId();
  s.labels = config.labels;
  s.annotations = config.annotations;
  s.hostNetwork =
      config.linuxConfig.securityContext.namespaceOptions.network == runtime::NamespaceMode::kNode;
  if (!s.hostNetwork) s.ip = "10.88.0." + std::to_string(nextIp_++);
  s.createdAt = clock_.wallNs();
  s.ready = true;
  sandboxes_[s.id] = s;
  return s.id;
}

std::string InMemoryRuntime::runPodSandbox(const runtime::PodSandboxConfig& config) {
  auto lock = enter(RuntimeCall::kRunPodSandbox);
  return runSandboxLocked(config);
}

void InMemoryRuntime::stopPodSandbox(const std::string& id) {
  auto lock = enter(RuntimeCall::kStopPodSandbox);
  require(id, "StopPodSandboxRequest: podSandboxId");
  // CRI: whatever still runs in the sandbox is stopped forcibly (the plugin uses t=0: SIGKILL).
  for (auto& [cid, c] : containers_) {
    if (c.sandboxId == id && c.state == ContainerState::kRunning) {
      c.state = ContainerState::kExited;
      c.exitCode = 137;
      c.finishedAt = clock_.wallNs();
    }
  }
  auto it = sandboxes_.find(id);
  if (it != sandboxes_.end()) it->second.ready = false;
}

void InMemoryRuntime::removePodSandbox(const std::string& id) {
  auto lock = enter(RuntimeCall::kRemovePodSandbox);
  require(id, "RemovePodSandboxRequest: podSandboxId");
  for (auto c = containers_.begin(); c != containers_.end();)
    c = c->second.sandboxId == id ? containers_.erase(c) : ++c;
  sandboxes_.erase(id);
}

runtime::PodSandboxStatus InMemoryRuntime::podSandboxStatus(const std::string& id) {
  auto lock = enter(RuntimeCall::kPodSandboxStatus);
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) throw RuntimeError(PW_NOT_FOUND, "pod sandbox " + id + " not found");
  const SandboxRecord& s = it->second;
  return {s.id, s.ready ? runtime::SandboxState::kReady : runtime::SandboxState::kNotReady,
          s.ready ? s.ip : std::string()};
}

std::vector<runtime::PodSandbox> InMemoryRuntime::listPodSandbox(const StringMap& labelSelector) {
  auto lock = enter(RuntimeCall::kListPodSandbox);
  std::vector<runtime::PodSandbox> out;
  for (const auto& [id, s] : sandboxes_) {
    if (!matches(s.labels, labelSelector)) continue;
    out.push_back({s.id,
                   {s.name, s.uid, s.ns, static_cast<uint32_t>(s.attempt)},
                   s.ready ? runtime::SandboxState::kReady : runtime::SandboxState::kNotReady,
                   s.createdAt,
                   s.labels,
                   s.annotations});
  }
  return out;
}

std::string InMemoryRuntime::createContainerLocked(const std::string& sandboxId,
                                                   const runtime::ContainerConfig& config,
                                                   const runtime::PodSandboxConfig& sandboxConfig) {
  require(sandboxId, "CreateContainerRequest: podSandboxId");
  require(config.metadata.name, "CreateContainerRequest config.metadata: name");
  require(config.image, "CreateContainerRequest config.image: image");
  const runtime::PodSandboxMetadata& pod = sandboxConfig.metadata;
  require(pod.name, "CreateContainerRequest sandboxConfig.metadata: name");
  require(pod.ns, "CreateContainerRequest sandboxConfig.metadata: namespace");
  require(pod.uid, "CreateContainerRequest sandboxConfig.metadata: uid");
  ContainerRecord c;
  c.name = config.metadata.name;
  c.attempt = config.metadata.attempt;
  c.dockerName =
      "k8s_" + c.name + "_" + pod.name + "_" + pod.ns + "_" + pod.uid + "_" + std::to_string(c.attempt);
  c.image = config.image;
  // Docker: `--network container:<id>` naming a container that does not exist is a 404.
  if (!sandboxes_.count(sandboxId)) {
    throw RuntimeError(PW_NOT_FOUND, "create container " + c.dockerName + ": no such container: " + sandboxId);
  }
  if (!images_.count(c.image)) {
    throw RuntimeError(PW_NOT_FOUND,
                       "create container " + c.dockerName + ": image \"" + c.image + "\" is not present");
  }
  for (auto it = containers_.begin(); it != containers_.end(); ++it) {
    if (it->second.dockerName == c.dockerName) {
      containers_.erase(it);  // a leftover with our name: removed, then the create is retried
      break;
    }
  }
  c.id = newId();
  c.sandboxId = sandboxId;
  c.imageRef = imageId(c.image);
  c.labels = config.labels;
  c.annotations = config.annotations;
  c.config = config;
  c.createdAt = clock_.wallNs();
  containers_[c.id] = c;
  return c.id;
}

std::string InMemoryRuntime::createContainer(const std::string& podSandboxId,
                                             const runtime::ContainerConfig& config,
                                             const runtime::PodSandboxConfig& sandboxConfig) {
  auto lock = enter(RuntimeCall::kCreateContainer);
  return createContainerLocked(podSandboxId, config, sandboxConfig);
}

void InMemoryRuntime::startLocked(ContainerRecord& c) {
  if (c.state == ContainerState::kRunning) return;  // Docker: 304, which the plugin accepts
  auto s = sandboxes_.find(c.sandboxId);
  if (s == sandboxes_.end() || !s->second.ready) {
    // Docker 409 "cannot join network of a non running container" -> ALREADY_EXISTS in the plugin.
    throw RuntimeError(
        PW_ALREADY_EXISTS,
        "start container " + c.id + ": cannot join network of a non running container: " + c.sandboxId);
  }
  // An exited container starts again under Docker (a new run of the same container).
  c.state = ContainerState::kRunning;
  c.startedAt = clock_.wallNs();
  c.exitCode = 0;
  c.oomKilled = false;
}

ContainerRecord& InMemoryRuntime::containerLocked(const std::string& id, const char* what) {
  auto it = containers_.find(id);
  if (it == containers_.end())
    throw RuntimeError(PW_NOT_FOUND, std::string(what) + " " + id + ": no such container");
  return it->second;
}

void InMemoryRuntime::startContainer(const std::string& id) {
  auto lock = enter(RuntimeCall::kStartContainer);
  startLocked(containerLocked(id, "start container"));
}

void InMemoryRuntime::stopContainer(const std::string& id, int64_t timeoutSeconds) {
  auto lock = enter(RuntimeCall::kStopContainer);
  ContainerRecord& c = containerLocked(id, "stop container");
  const int64_t timeout = std::max<int64_t>(0, timeoutSeconds);
  c.stopTimeouts.push_back(timeout);
  stopLog_.emplace_back(id, timeout);
  if (c.state == ContainerState::kRunning) {  // otherwise Docker's 304: nothing to do
    c.state = ContainerState::kExited;
    c.exitCode = stopExitCode_;
    c.finishedAt = clock_.wallNs();
  }
}

void InMemoryRuntime::removeContainer(const std::string& id) {
  auto lock = enter(RuntimeCall::kRemoveContainer);
  require(id, "RemoveContainerRequest: containerId");
  containers_.erase(id);  // force; an unknown id is fine
}

std::vector<runtime::Container> InMemoryRuntime::listContainers(const StringMap& labelSelector) {
  auto lock = enter(RuntimeCall::kListContainers);
  std::vector<runtime::Container> out;
  for (const auto& [id, c] : containers_) {
    if (!matches(c.labels, labelSelector)) continue;
    out.push_back({c.id,
                   c.sandboxId,
                   {c.name, static_cast<uint32_t>(c.attempt)},
                   c.image,
                   c.imageRef,
                   c.state,
                   c.createdAt,
                   c.labels,
                   c.annotations});
  }
  return out;
}

runtime::ContainerStatus InMemoryRuntime::containerStatus(const std::string& id) {
  auto lock = enter(RuntimeCall::kContainerStatus);
  auto it = containers_.find(id);
  if (it == containers_.end()) throw RuntimeError(PW_NOT_FOUND, "container " + id + " not found");
  const ContainerRecord& c = it->second;
  runtime::ContainerStatus st;
  st.id = c.id;
  st.metadata = {c.name, static_cast<uint32_t>(c.attempt)};
  st.state = c.state;
  st.createdAt = c.createdAt;
  st.startedAt = c.startedAt;
  st.finishedAt = c.state == ContainerState::kExited ? c.finishedAt : 0;
  st.exitCode = c.exitCode;
  st.image = c.image;
  st.imageRef = c.imageRef;
  if (c.state == ContainerState::kExited)
    st.reason = c.oomKilled ? "OOMKilled" : (c.exitCode == 0 ? "Completed" : "Error");
  st.labels = c.labels;
  st.annotations = c.annotations;
  return st;
}

runtime::ExecSyncResult InMemoryRuntime::execSync(const std::string&, const std::vector<std::string>&,
                                                  std::chrono::seconds) {
  auto lock = enter(RuntimeCall::kExecSync);
  throw RuntimeError(PW_UNIMPLEMENTED, "in-memory runtime: ExecSync is not implemented");
}

bool InMemoryRuntime::imagePresent(const std::string& image) {
  auto lock = enter(RuntimeCall::kImageStatus);
  require(image, "ImageStatusRequest image: image");
  return images_.count(image) > 0;  // absent is not an error
}

void InMemoryRuntime::pullImage(const std::string& image) {
  auto lock = enter(RuntimeCall::kPullImage);
  require(image, "PullImageRequest image: image");
  if (!registry_.count(image) && !images_.count(image)) {
    throw RuntimeError(PW_NOT_FOUND, "pull image " + image + ": pull access denied for " + image +
                                         ", repository does not exist or may require 'docker login'");
  }
  images_.insert(image);
}

}  // namespace podwarden::test
