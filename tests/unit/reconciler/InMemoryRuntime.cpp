#include "InMemoryRuntime.h"

#include <algorithm>
#include <cstdio>

namespace podwarden::test {

using plugin::RuntimeCall;

namespace {

json::ObjectPtr obj() { return new json::Object(); }

// Like the plugin's readers: int64 as JSON number or string.
int64_t intOf(const json::ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return 0;
  Poco::Dynamic::Var v = o->get(key);
  try {
    if (v.isString()) return std::stoll(v.toString());
    if (v.isNumeric()) return v.convert<int64_t>();
  } catch (...) {
  }
  return 0;
}

std::string requireString(const json::ObjectPtr& o, const std::string& key, const std::string& what) {
  std::string v = json::getString(o, key);
  if (v.empty()) throw RuntimeError(PW_INVALID_ARGUMENT, what + ": " + key + " is required");
  return v;
}

StringMap stringMap(const json::ObjectPtr& o) {
  StringMap out;
  if (o.isNull()) return out;
  for (const auto& kv : *o) out[kv.first] = kv.second.isString() ? kv.second.extract<std::string>() : kv.second.toString();
  return out;
}

json::ObjectPtr toObject(const StringMap& m) {
  json::ObjectPtr o = obj();
  for (const auto& kv : m) o->set(kv.first, kv.second);
  return o;
}

// Docker's label filters, as the plugin sends them: every selector pair must match exactly.
bool matches(const StringMap& labels, const json::ObjectPtr& selector) {
  if (selector.isNull()) return true;
  for (const auto& kv : *selector) {
    auto it = labels.find(kv.first);
    if (it == labels.end() || it->second != kv.second.toString()) return false;
  }
  return true;
}

// Docker's id filter matches a prefix of the full id.
bool idMatches(const std::string& id, const std::string& want) {
  return want.empty() || id.compare(0, want.size(), want) == 0;
}

std::string ns(int64_t v) { return std::to_string(v); }

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
  if (it->second.state != "CONTAINER_RUNNING") {
    throw std::logic_error("exitContainer: container " + id + " is " + it->second.state + ", not running");
  }
  it->second.state = "CONTAINER_EXITED";
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

std::string InMemoryRuntime::runSandbox(const json::ObjectPtr& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  return runSandboxLocked(json::deepCopy(config));
}

std::string InMemoryRuntime::createContainer(const std::string& sandboxId, const json::ObjectPtr& config,
                                             const json::ObjectPtr& sandboxConfig, bool start) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string id = createContainerLocked(sandboxId, json::deepCopy(config), json::deepCopy(sandboxConfig));
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

json::ObjectPtr InMemoryRuntime::call(RuntimeCall which, const json::ObjectPtr& request,
                                      std::chrono::milliseconds /*timeout*/) {
  // Through text both ways, as over the ABI: the caller can neither share nor mutate our state, and
  // a request that is not plain JSON fails here as it would in the plugin.
  json::ObjectPtr req = json::parseObject(json::stringify(request.isNull() ? obj() : request));
  json::ObjectPtr resp;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++calls_[which];
    auto f = failures_.find(which);
    if (f != failures_.end() && !f->second.empty()) {
      auto failure = f->second.front();
      f->second.pop_front();
      throw RuntimeError(failure.first, failure.second);
    }
    resp = dispatch(which, req);
  }
  return json::parseObject(json::stringify(resp));
}

json::ObjectPtr InMemoryRuntime::dispatch(RuntimeCall which, const json::ObjectPtr& req) {
  switch (which) {
    case RuntimeCall::kVersion: return version(req);
    case RuntimeCall::kRunPodSandbox: return runPodSandbox(req);
    case RuntimeCall::kStopPodSandbox: return stopPodSandbox(req);
    case RuntimeCall::kRemovePodSandbox: return removePodSandbox(req);
    case RuntimeCall::kPodSandboxStatus: return podSandboxStatus(req);
    case RuntimeCall::kListPodSandbox: return listPodSandbox(req);
    case RuntimeCall::kCreateContainer: return createContainerCall(req);
    case RuntimeCall::kStartContainer: return startContainer(req);
    case RuntimeCall::kStopContainer: return stopContainer(req);
    case RuntimeCall::kRemoveContainer: return removeContainer(req);
    case RuntimeCall::kListContainers: return listContainers(req);
    case RuntimeCall::kContainerStatus: return containerStatus(req);
    case RuntimeCall::kImageStatus: return imageStatus(req);
    case RuntimeCall::kPullImage: return pullImage(req);
    case RuntimeCall::kExecSync: break;
  }
  // Nothing runs in these containers, so there is nothing to exec in.
  throw RuntimeError(PW_UNIMPLEMENTED, std::string("in-memory runtime: ") + plugin::runtimeCallName(which) +
                                           " is not implemented");
}

json::ObjectPtr InMemoryRuntime::version(const json::ObjectPtr&) {
  json::ObjectPtr o = obj();
  o->set("version", "0.1.0");
  o->set("runtimeName", "in-memory");
  o->set("runtimeVersion", "1.0");
  o->set("runtimeApiVersion", "v1");
  return o;
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
  std::string hex;
  uint64_t h = 1469598103934665603ULL;
  for (char c : ref) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string("sha256:") + buf + buf + buf + buf;
}

std::string InMemoryRuntime::runSandboxLocked(const json::ObjectPtr& config) {
  if (config.isNull()) throw RuntimeError(PW_INVALID_ARGUMENT, "RunPodSandboxRequest: config is missing");
  json::ObjectPtr meta = json::getObject(config, "metadata");
  const std::string what = "RunPodSandboxRequest config.metadata";
  SandboxRecord s;
  s.name = requireString(meta, "name", what);
  s.uid = requireString(meta, "uid", what);
  s.ns = requireString(meta, "namespace", what);
  s.attempt = intOf(meta, "attempt");
  s.dockerName = "k8s_POD_" + s.name + "_" + s.ns + "_" + s.uid + "_" + std::to_string(s.attempt);
  // The plugin removes a leftover with the same name and retries once.
  for (auto it = sandboxes_.begin(); it != sandboxes_.end(); ++it) {
    if (it->second.dockerName == s.dockerName) {
      const std::string old = it->first;
      sandboxes_.erase(it);
      std::vector<std::string> owned;
      for (const auto& kv : containers_) {
        if (kv.second.sandboxId == old) owned.push_back(kv.first);
      }
      for (const auto& id : owned) containers_.erase(id);
      break;
    }
  }
  s.id = newId();
  s.labels = stringMap(json::getObject(config, "labels"));
  s.annotations = stringMap(json::getObject(config, "annotations"));
  std::string network = json::getString(
      json::getObject(json::getObject(json::getObject(config, "linux"), "securityContext"), "namespaceOptions"),
      "network");
  s.hostNetwork = network == "NODE";
  if (!s.hostNetwork) s.ip = "10.88.0." + std::to_string(nextIp_++);
  s.createdAt = clock_.wallNs();
  s.ready = true;
  sandboxes_[s.id] = s;
  return s.id;
}

json::ObjectPtr InMemoryRuntime::runPodSandbox(const json::ObjectPtr& req) {
  json::ObjectPtr o = obj();
  o->set("podSandboxId", runSandboxLocked(json::getObject(req, "config")));
  return o;
}

json::ObjectPtr InMemoryRuntime::stopPodSandbox(const json::ObjectPtr& req) {
  const std::string id = requireString(req, "podSandboxId", "StopPodSandboxRequest");
  // CRI: whatever still runs in the sandbox is stopped forcibly (the plugin uses t=0: SIGKILL).
  for (auto& kv : containers_) {
    if (kv.second.sandboxId == id && kv.second.state == "CONTAINER_RUNNING") {
      kv.second.state = "CONTAINER_EXITED";
      kv.second.exitCode = 137;
      kv.second.finishedAt = clock_.wallNs();
    }
  }
  auto it = sandboxes_.find(id);
  if (it != sandboxes_.end()) it->second.ready = false;
  return obj();
}

json::ObjectPtr InMemoryRuntime::removePodSandbox(const json::ObjectPtr& req) {
  const std::string id = requireString(req, "podSandboxId", "RemovePodSandboxRequest");
  std::vector<std::string> owned;
  for (const auto& kv : containers_) {
    if (kv.second.sandboxId == id) owned.push_back(kv.first);
  }
  for (const auto& cid : owned) containers_.erase(cid);
  sandboxes_.erase(id);
  return obj();
}

namespace {

json::ObjectPtr sandboxMetadata(const SandboxRecord& s) {
  json::ObjectPtr m = obj();
  m->set("name", s.name);
  m->set("uid", s.uid);
  m->set("namespace", s.ns);
  m->set("attempt", s.attempt);
  return m;
}

json::ObjectPtr containerMetadata(const ContainerRecord& c) {
  json::ObjectPtr m = obj();
  m->set("name", c.name);
  m->set("attempt", c.attempt);
  return m;
}

}  // namespace

json::ObjectPtr InMemoryRuntime::podSandboxStatus(const json::ObjectPtr& req) {
  const std::string id = requireString(req, "podSandboxId", "PodSandboxStatusRequest");
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) throw RuntimeError(PW_NOT_FOUND, "pod sandbox " + id + " not found");
  const SandboxRecord& s = it->second;
  json::ObjectPtr st = obj();
  st->set("id", s.id);
  st->set("metadata", sandboxMetadata(s));
  st->set("state", s.ready ? "SANDBOX_READY" : "SANDBOX_NOTREADY");
  st->set("createdAt", ns(s.createdAt));
  json::ObjectPtr network = obj();
  network->set("ip", s.ready ? s.ip : std::string());
  st->set("network", network);
  json::ObjectPtr options = obj();
  options->set("network", s.hostNetwork ? "NODE" : "POD");
  options->set("pid", "POD");
  options->set("ipc", "POD");
  json::ObjectPtr namespaces = obj();
  namespaces->set("options", options);
  json::ObjectPtr linux = obj();
  linux->set("namespaces", namespaces);
  st->set("linux", linux);
  st->set("labels", toObject(s.labels));
  st->set("annotations", toObject(s.annotations));
  json::ObjectPtr o = obj();
  o->set("status", st);
  return o;
}

json::ObjectPtr InMemoryRuntime::listPodSandbox(const json::ObjectPtr& req) {
  json::ObjectPtr filter = json::getObject(req, "filter");
  const std::string wantId = json::getString(filter, "id");
  const std::string wantState = json::getString(json::getObject(filter, "state"), "state");
  json::ObjectPtr selector = json::getObject(filter, "labelSelector");
  json::ArrayPtr items = new json::Array();
  for (const auto& kv : sandboxes_) {
    const SandboxRecord& s = kv.second;
    const std::string state = s.ready ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
    if (!idMatches(s.id, wantId) || (!wantState.empty() && state != wantState) || !matches(s.labels, selector)) {
      continue;
    }
    json::ObjectPtr item = obj();
    item->set("id", s.id);
    item->set("metadata", sandboxMetadata(s));
    item->set("state", state);
    item->set("createdAt", ns(s.createdAt));
    item->set("labels", toObject(s.labels));
    item->set("annotations", toObject(s.annotations));
    items->add(item);
  }
  json::ObjectPtr o = obj();
  o->set("items", items);
  return o;
}

std::string InMemoryRuntime::createContainerLocked(const std::string& sandboxId, const json::ObjectPtr& config,
                                                   const json::ObjectPtr& sandboxConfig) {
  if (config.isNull()) throw RuntimeError(PW_INVALID_ARGUMENT, "CreateContainerRequest: config is missing");
  if (sandboxConfig.isNull()) {
    throw RuntimeError(PW_INVALID_ARGUMENT, "CreateContainerRequest: sandboxConfig is missing");
  }
  ContainerRecord c;
  json::ObjectPtr meta = json::getObject(config, "metadata");
  c.name = requireString(meta, "name", "CreateContainerRequest config.metadata");
  c.attempt = intOf(meta, "attempt");
  json::ObjectPtr podMeta = json::getObject(sandboxConfig, "metadata");
  const std::string podWhat = "CreateContainerRequest sandboxConfig.metadata";
  c.dockerName = "k8s_" + c.name + "_" + requireString(podMeta, "name", podWhat) + "_" +
                 requireString(podMeta, "namespace", podWhat) + "_" + requireString(podMeta, "uid", podWhat) + "_" +
                 std::to_string(c.attempt);
  c.image = requireString(json::getObject(config, "image"), "image", "CreateContainerRequest config.image");
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
  c.labels = stringMap(json::getObject(config, "labels"));
  c.annotations = stringMap(json::getObject(config, "annotations"));
  c.config = config;
  c.createdAt = clock_.wallNs();
  containers_[c.id] = c;
  return c.id;
}

json::ObjectPtr InMemoryRuntime::createContainerCall(const json::ObjectPtr& req) {
  const std::string sandboxId = requireString(req, "podSandboxId", "CreateContainerRequest");
  json::ObjectPtr o = obj();
  o->set("containerId",
         createContainerLocked(sandboxId, json::getObject(req, "config"), json::getObject(req, "sandboxConfig")));
  return o;
}

void InMemoryRuntime::startLocked(ContainerRecord& c) {
  if (c.state == "CONTAINER_RUNNING") return;  // Docker: 304, which the plugin accepts
  auto s = sandboxes_.find(c.sandboxId);
  if (s == sandboxes_.end() || !s->second.ready) {
    // Docker 409 "cannot join network of a non running container" -> ALREADY_EXISTS in the plugin.
    throw RuntimeError(PW_ALREADY_EXISTS, "start container " + c.id + ": cannot join network of a non running "
                                                                      "container: " + c.sandboxId);
  }
  // An exited container starts again under Docker (a new run of the same container).
  c.state = "CONTAINER_RUNNING";
  c.startedAt = clock_.wallNs();
  c.exitCode = 0;
  c.oomKilled = false;
}

json::ObjectPtr InMemoryRuntime::startContainer(const json::ObjectPtr& req) {
  const std::string id = requireString(req, "containerId", "StartContainerRequest");
  auto it = containers_.find(id);
  if (it == containers_.end()) throw RuntimeError(PW_NOT_FOUND, "start container " + id + ": no such container");
  startLocked(it->second);
  return obj();
}

json::ObjectPtr InMemoryRuntime::stopContainer(const json::ObjectPtr& req) {
  const std::string id = requireString(req, "containerId", "StopContainerRequest");
  auto it = containers_.find(id);
  if (it == containers_.end()) throw RuntimeError(PW_NOT_FOUND, "stop container " + id + ": no such container");
  const int64_t timeout = std::max<int64_t>(0, intOf(req, "timeout"));
  it->second.stopTimeouts.push_back(timeout);
  stopLog_.emplace_back(id, timeout);
  if (it->second.state == "CONTAINER_RUNNING") {  // otherwise Docker's 304: nothing to do
    it->second.state = "CONTAINER_EXITED";
    it->second.exitCode = stopExitCode_;
    it->second.finishedAt = clock_.wallNs();
  }
  return obj();
}

json::ObjectPtr InMemoryRuntime::removeContainer(const json::ObjectPtr& req) {
  const std::string id = requireString(req, "containerId", "RemoveContainerRequest");
  containers_.erase(id);  // force; an unknown id is fine
  return obj();
}

json::ObjectPtr InMemoryRuntime::listContainers(const json::ObjectPtr& req) {
  json::ObjectPtr filter = json::getObject(req, "filter");
  const std::string wantId = json::getString(filter, "id");
  const std::string wantSandbox = json::getString(filter, "podSandboxId");
  const std::string wantState = json::getString(json::getObject(filter, "state"), "state");
  json::ObjectPtr selector = json::getObject(filter, "labelSelector");
  json::ArrayPtr items = new json::Array();
  for (const auto& kv : containers_) {
    const ContainerRecord& c = kv.second;
    if (!idMatches(c.id, wantId) || (!wantSandbox.empty() && c.sandboxId != wantSandbox) ||
        (!wantState.empty() && c.state != wantState) || !matches(c.labels, selector)) {
      continue;
    }
    json::ObjectPtr item = obj();
    item->set("id", c.id);
    item->set("podSandboxId", c.sandboxId);
    item->set("metadata", containerMetadata(c));
    json::ObjectPtr image = obj();
    image->set("image", c.image);
    item->set("image", image);
    item->set("imageRef", c.imageRef);
    item->set("state", c.state);
    item->set("createdAt", ns(c.createdAt));
    item->set("labels", toObject(c.labels));
    item->set("annotations", toObject(c.annotations));
    items->add(item);
  }
  json::ObjectPtr o = obj();
  o->set("containers", items);
  return o;
}

json::ObjectPtr InMemoryRuntime::containerStatus(const json::ObjectPtr& req) {
  const std::string id = requireString(req, "containerId", "ContainerStatusRequest");
  auto it = containers_.find(id);
  if (it == containers_.end()) throw RuntimeError(PW_NOT_FOUND, "container " + id + " not found");
  const ContainerRecord& c = it->second;
  json::ObjectPtr st = obj();
  st->set("id", c.id);
  st->set("metadata", containerMetadata(c));
  st->set("state", c.state);
  st->set("createdAt", ns(c.createdAt));
  st->set("startedAt", ns(c.startedAt));
  st->set("finishedAt", ns(c.state == "CONTAINER_EXITED" ? c.finishedAt : 0));
  st->set("exitCode", c.exitCode);
  json::ObjectPtr image = obj();
  image->set("image", c.image);
  st->set("image", image);
  st->set("imageRef", c.imageRef);
  std::string reason;
  if (c.state == "CONTAINER_EXITED") reason = c.oomKilled ? "OOMKilled" : (c.exitCode == 0 ? "Completed" : "Error");
  st->set("reason", reason);
  st->set("message", "");
  st->set("labels", toObject(c.labels));
  st->set("annotations", toObject(c.annotations));
  json::ArrayPtr mounts = json::getArray(c.config, "mounts");
  st->set("mounts", mounts.isNull() ? json::ArrayPtr(new json::Array()) : mounts);
  st->set("logPath", json::getString(c.config, "logPath"));
  json::ObjectPtr o = obj();
  o->set("status", st);
  return o;
}

json::ObjectPtr InMemoryRuntime::imageStatus(const json::ObjectPtr& req) {
  const std::string ref = requireString(json::getObject(req, "image"), "image", "ImageStatusRequest image");
  json::ObjectPtr o = obj();
  if (!images_.count(ref)) return o;  // absent is not an error
  json::ObjectPtr image = obj();
  image->set("id", imageId(ref));
  json::ArrayPtr tags = new json::Array();
  tags->add(ref);
  image->set("repoTags", tags);
  image->set("repoDigests", json::ArrayPtr(new json::Array()));
  image->set("size", "1048576");
  o->set("image", image);
  return o;
}

json::ObjectPtr InMemoryRuntime::pullImage(const json::ObjectPtr& req) {
  const std::string ref = requireString(json::getObject(req, "image"), "image", "PullImageRequest image");
  if (!registry_.count(ref) && !images_.count(ref)) {
    throw RuntimeError(PW_NOT_FOUND, "pull image " + ref + ": pull access denied for " + ref +
                                         ", repository does not exist or may require 'docker login'");
  }
  images_.insert(ref);
  json::ObjectPtr o = obj();
  o->set("imageRef", imageId(ref));
  return o;
}

}  // namespace podwarden::test
