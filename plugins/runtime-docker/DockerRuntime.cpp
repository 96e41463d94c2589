#include "DockerRuntime.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "DockerNames.h"
#include "DockerReplies.h"

namespace podwarden::docker {
namespace {

constexpr const char* kDefaultEndpoint = "unix:///var/run/docker.sock";
constexpr const char* kDefaultSandboxImage = "podwarden.local/pause:3.9";
constexpr const char* kRuntimeName = "docker";
constexpr const char* kPluginApiVersion = "0.1.0";
// Socket timeouts when the host gave the call no deadline.
constexpr long kDefaultTimeoutMs = 60000;
constexpr long kPullTimeoutMs = 15 * 60 * 1000;
// dockershim's grace period for the sandbox container; the pause image exits at once on SIGTERM.
constexpr int kSandboxStopSeconds = 10;
// The kubelet refuses exec output above 16 MiB per stream.
constexpr size_t kMaxExecOutput = 16 * 1024 * 1024;

using Poco::JSON::Array;
using Poco::JSON::Object;

ObjectPtr newObject() {
  return new Object();
}

std::string requireString(const ObjectPtr& o, const std::string& key, const std::string& what) {
  std::string v = getString(o, key);
  if (v.empty()) throw pw::Error(PW_INVALID_ARGUMENT, what + ": " + key + " is missing or empty");
  return v;
}

// Label filters of a CRI labelSelector ({"k":"v"} means k=v).
void addSelector(std::vector<std::string>& filters, const ObjectPtr& filter) {
  for (const auto& [k, v] : getStringMap(filter, "labelSelector")) filters.push_back(k + "=" + v);
}

std::string mountPropagation(const std::string& cri, const std::string& what) {
  if (cri.empty() || cri == "PROPAGATION_PRIVATE") return "";
  if (cri == "PROPAGATION_HOST_TO_CONTAINER") return "rslave";
  if (cri == "PROPAGATION_BIDIRECTIONAL") return "rshared";
  throw pw::Error(PW_INVALID_ARGUMENT, what + ": unknown mount propagation \"" + cri + "\"");
}

// Int64Value is {"value": n} in CRI's JSON (value omitted when 0); a bare number is accepted too.
bool optionalInt64(const ObjectPtr& o, const std::string& key, int64_t& value) {
  if (o.isNull() || !o->has(key)) return false;
  Poco::Dynamic::Var v = o->get(key);
  if (v.type() == typeid(ObjectPtr)) {
    value = getInt(v.extract<ObjectPtr>(), "value", 0);
    return true;
  }
  if (v.isEmpty()) return false;
  value = getInt(o, key, 0);
  return true;
}

void writeJson(std::string& out, const ObjectPtr& o) {
  out = stringify(o);
}

// Splits "repo[:tag][@digest]" into Docker's fromImage/tag. The tag defaults to "latest" so that a
// bare name never means "every tag".
void splitReference(const std::string& ref, std::string& repo, std::string& tag) {
  const size_t at = ref.find('@');
  if (at != std::string::npos) {
    repo = ref.substr(0, at);
    tag = ref.substr(at + 1);
    return;
  }
  const size_t slash = ref.rfind('/');
  const size_t colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo = ref.substr(0, colon);
    tag = ref.substr(colon + 1);
  } else {
    repo = ref;
    tag = "latest";
  }
}

void mkdirs(const std::string& dir) {
  if (dir.empty() || dir == "/") return;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) return;
  const size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) mkdirs(dir.substr(0, slash));
  ::mkdir(dir.c_str(), 0755);
}

}  // namespace

// ---- Config -----------------------------------------------------------------------------------------

Config parseConfig(std::string_view json) {
  ObjectPtr o = parseObject(json, "runtime-docker config");
  Config c;
  std::string endpoint = kDefaultEndpoint;
  c.sandboxImage = kDefaultSandboxImage;
  for (const auto& [key, value] : *o) {
    if (key != "endpoint" && key != "sandboxImage" && key != "apiVersion") {
      throw pw::Error(PW_INVALID_ARGUMENT, "runtime-docker config: unknown key \"" + key +
                                               "\" (known: endpoint, sandboxImage, apiVersion)");
    }
    if (!value.isString())
      throw pw::Error(PW_INVALID_ARGUMENT, "runtime-docker config: " + key + " must be a string");
  }
  endpoint = getString(o, "endpoint", endpoint);
  c.endpoint = parseEndpoint(endpoint, "runtime-docker config: endpoint");
  c.sandboxImage = getString(o, "sandboxImage", c.sandboxImage);
  if (c.sandboxImage.empty())
    throw pw::Error(PW_INVALID_ARGUMENT, "runtime-docker config: sandboxImage is empty");
  c.apiVersion = getString(o, "apiVersion");
  if (!c.apiVersion.empty() && c.apiVersion[0] == 'v') c.apiVersion.erase(0, 1);
  int major = 0, minor = 0;
  char extra = 0;
  if (!c.apiVersion.empty() && std::sscanf(c.apiVersion.c_str(), "%d.%d%c", &major, &minor, &extra) != 2) {
    throw pw::Error(PW_INVALID_ARGUMENT, "runtime-docker config: apiVersion \"" + getString(o, "apiVersion") +
                                             "\" is not of the form 1.41");
  }
  return c;
}

DockerRuntime::DockerRuntime(const pw::Host& host, std::string_view configJson, std::string_view /*nodeName*/)
    : host_(host),
      config_(parseConfig(configJson)),
      client_(std::make_shared<DockerClient>(config_.endpoint, config_.apiVersion)) {}

DockerRuntime::~DockerRuntime() {
  unwatchEvents();
}

// ---- Helpers ----------------------------------------------------------------------------------------

ObjectPtr DockerRuntime::inspect(long timeoutMs, const std::string& id) {
  HttpReply r = client_->request("GET", "/containers/" + urlEncode(id) + "/json", "", timeoutMs);
  if (r.status == 404) return {};
  if (!r.ok()) DockerClient::fail(r, "inspect container " + id);
  ObjectPtr o = asObject(parseReply(r.body, "inspect container " + id));
  if (o.isNull())
    throw pw::Error(PW_INTERNAL, "inspect container " + id + ": Docker's reply is not an object");
  return o;
}

ObjectPtr DockerRuntime::inspectAs(long timeoutMs, const std::string& id, const char* type, const std::string& noun,
                                   const std::string& mustBe) {
  ObjectPtr c = inspect(timeoutMs, id);
  if (c.isNull()) throw pw::Error(PW_NOT_FOUND, noun + " " + id + " not found in Docker at " + client_->url());
  if (getString(getObject(getObject(c, "Config"), "Labels"), kTypeLabel) != type) {
    throw pw::Error(PW_NOT_FOUND, noun + " " + id + " not found: that Docker container is not " + mustBe);
  }
  return c;
}

ArrayPtr DockerRuntime::listDocker(long timeoutMs, const std::vector<std::string>& labelFilters,
                                   const std::string& id, bool all) {
  ObjectPtr filters = newObject();
  filters->set("label", toArray(labelFilters));
  if (!id.empty()) filters->set("id", toArray({id}));
  HttpReply r = client_->request(
      "GET",
      std::string("/containers/json?all=") + (all ? "1" : "0") + "&filters=" + urlEncode(stringify(filters)),
      "", timeoutMs);
  if (!r.ok()) DockerClient::fail(r, "list containers");
  ArrayPtr a = asArray(parseReply(r.body, "list containers"));
  if (a.isNull()) throw pw::Error(PW_INTERNAL, "list containers: Docker's reply is not an array");
  return a;
}

std::string DockerRuntime::createNamed(long timeoutMs, const std::string& name, const ObjectPtr& body,
                                       const std::string& image, const std::string& what) {
  const std::string json = stringify(body);
  for (int attempt = 0;; ++attempt) {
    HttpReply r = client_->request("POST", "/containers/create?name=" + urlEncode(name), json, timeoutMs);
    if (r.ok()) {
      std::string id = getString(asObject(parseReply(r.body, what)), "Id");
      if (id.empty()) throw pw::Error(PW_INTERNAL, what + ": Docker returned no container id: " + r.body);
      return id;
    }
    if (r.status == 404) {
      throw pw::Error(PW_NOT_FOUND, what + ": image \"" + image +
                                        "\" is not present in the Docker daemon at " + client_->url() + ": " +
                                        DockerClient::message(r));
    }
    if (r.status == 409 && attempt == 0) {
      // A leftover of ours with the same name (an earlier attempt that was never cleaned up): the
      // kubelet's dockershim removed it and tried again.
      host_.info(what + ": removing leftover container " + name + " (" + DockerClient::message(r) + ")");
      HttpReply d =
          client_->request("DELETE", "/containers/" + urlEncode(name) + "?force=1&v=1", "", timeoutMs);
      if (!d.ok() && d.status != 404) DockerClient::fail(d, what + ": removing leftover " + name);
      continue;
    }
    DockerClient::fail(r, what);
  }
}

void DockerRuntime::forceRemove(long timeoutMs, const std::string& id, const StringMap& dockerLabels) {
  HttpReply r = client_->request("DELETE", "/containers/" + urlEncode(id) + "?force=1&v=1", "", timeoutMs);
  if (!r.ok() && r.status != 404) DockerClient::fail(r, "remove container " + id);
  auto it = dockerLabels.find(kLogPathLabel);
  if (it != dockerLabels.end() && !it->second.empty()) {
    struct stat st {};
    if (::lstat(it->second.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) ::unlink(it->second.c_str());
  }
}

std::string DockerRuntime::podNetworkMode(long timeoutMs) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!podNetworkMode_.empty()) return podNetworkMode_;
  }
  HttpReply r = client_->request("GET", "/networks/bridge", "", timeoutMs);
  std::string mode;
  if (r.ok()) {
    mode = "bridge";
  } else if (r.status == 404) {
    mode = "none";  // dockerd --bridge=none
  } else {
    DockerClient::fail(r, "inspect network bridge");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  podNetworkMode_ = mode;
  return mode;
}

void DockerRuntime::linkLog(long timeoutMs, const std::string& id) {
  ObjectPtr c = inspect(timeoutMs, id);
  if (c.isNull()) return;
  const std::string link = getString(getObject(getObject(c, "Config"), "Labels"), kLogPathLabel);
  const std::string target = getString(c, "LogPath");
  if (link.empty() || target.empty()) return;
  const size_t slash = link.rfind('/');
  if (slash != std::string::npos) mkdirs(link.substr(0, slash));
  ::unlink(link.c_str());
  if (::symlink(target.c_str(), link.c_str()) != 0) {
    host_.warning("container " + id + ": cannot link log " + link + " -> " + target + ": " +
                  std::strerror(errno));
  }
}

// ---- Calls ------------------------------------------------------------------------------------------

pw_status DockerRuntime::version(const pw::Call& call, std::string_view, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  HttpReply r = client_->request("GET", "/version", "", t, false);
  if (!r.ok()) DockerClient::fail(r, "GET /version on " + client_->url());
  ObjectPtr v = asObject(parseReply(r.body, "GET /version"));
  ObjectPtr o = newObject();
  o->set("version", kPluginApiVersion);
  o->set("runtimeName", kRuntimeName);
  o->set("runtimeVersion", getString(v, "Version"));
  o->set("runtimeApiVersion", client_->apiVersion(t));
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::runPodSandbox(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "RunPodSandboxRequest");
  ObjectPtr config = getObject(req, "config");
  if (config.isNull()) throw pw::Error(PW_INVALID_ARGUMENT, "RunPodSandboxRequest: config is missing");
  ObjectPtr meta = getObject(config, "metadata");
  const std::string what = "RunPodSandboxRequest config.metadata";
  const std::string pod = requireString(meta, "name", what);
  const std::string ns = requireString(meta, "namespace", what);
  const std::string uid = requireString(meta, "uid", what);
  const std::string name = sandboxName(pod, ns, uid, getInt(meta, "attempt"));

  ObjectPtr linux = getObject(config, "linux");
  ObjectPtr security = getObject(linux, "securityContext");
  ObjectPtr nsOptions = getObject(security, "namespaceOptions");
  // CRI enums default to POD (0) when protobuf JSON omits them.
  const bool hostNetwork = getString(nsOptions, "network", "POD") == "NODE";
  const bool hostPid = getString(nsOptions, "pid", "POD") == "NODE";
  const bool hostIpc = getString(nsOptions, "ipc", "POD") == "NODE";

  ObjectPtr body = newObject();
  body->set("Image", config_.sandboxImage);
  body->set("Labels",
            toObject(toDockerLabels(getStringMap(config, "labels"), getStringMap(config, "annotations"),
                                    {{kTypeLabel, kTypeSandbox}})));
  ObjectPtr host = newObject();
  ObjectPtr restart = newObject();
  restart->set("Name", "no");
  host->set("RestartPolicy", restart);
  if (hostNetwork) {
    host->set("NetworkMode", "host");
  } else {
    host->set("NetworkMode", podNetworkMode(t));
    const std::string hostname = getString(config, "hostname");
    if (!hostname.empty()) body->set("Hostname", hostname);
    ObjectPtr exposed = newObject();
    ObjectPtr bindings = newObject();
    ArrayPtr ports = getArray(config, "portMappings");
    for (size_t i = 0; ports && i < ports->size(); ++i) {
      ObjectPtr pm = ports->getObject(static_cast<unsigned>(i));
      const int64_t containerPort = getInt(pm, "containerPort");
      if (containerPort <= 0) {
        throw pw::Error(PW_INVALID_ARGUMENT, "RunPodSandboxRequest config.portMappings[" + std::to_string(i) +
                                                 "].containerPort must be > 0");
      }
      std::string proto = getString(pm, "protocol", "TCP");
      std::transform(proto.begin(), proto.end(), proto.begin(), ::tolower);
      const std::string key = std::to_string(containerPort) + "/" + proto;
      exposed->set(key, newObject());
      const int64_t hostPort = getInt(pm, "hostPort");
      if (hostPort <= 0) continue;
      ArrayPtr list = bindings->has(key) ? bindings->getArray(key) : ArrayPtr(new Array());
      ObjectPtr b = newObject();
      b->set("HostIp", getString(pm, "hostIp"));
      b->set("HostPort", std::to_string(hostPort));
      list->add(b);
      bindings->set(key, list);
    }
    if (exposed->size() > 0) body->set("ExposedPorts", exposed);
    if (bindings->size() > 0) host->set("PortBindings", bindings);
  }
  host->set("IpcMode", hostIpc ? "host" : "shareable");
  if (hostPid) host->set("PidMode", "host");
  ObjectPtr dns = getObject(config, "dnsConfig");
  if (!dns.isNull()) {
    host->set("Dns", toArray(getStrings(dns, "servers")));
    host->set("DnsSearch", toArray(getStrings(dns, "searches")));
    host->set("DnsOptions", toArray(getStrings(dns, "options")));
  }
  const std::string cgroupParent = getString(linux, "cgroupParent");
  if (!cgroupParent.empty()) host->set("CgroupParent", cgroupParent);
  if (getBool(security, "privileged")) host->set("Privileged", true);
  StringMap sysctls = getStringMap(linux, "sysctls");
  if (!sysctls.empty()) host->set("Sysctls", toObject(sysctls));
  body->set("HostConfig", host);

  const std::string id = createNamed(t, name, body, config_.sandboxImage, "run pod sandbox " + name);
  HttpReply r = client_->request("POST", "/containers/" + id + "/start", "", t);
  if (!r.ok() && r.status != 304) {
    try {
      forceRemove(t, id, {});
    } catch (const pw::Error& e) {
      host_.warning(std::string("run pod sandbox ") + name + ": cleanup failed: " + e.what());
    }
    DockerClient::fail(r, "start pod sandbox " + name);
  }
  ObjectPtr o = newObject();
  o->set("podSandboxId", id);
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::stopPodSandbox(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "StopPodSandboxRequest");
  const std::string id = requireString(req, "podSandboxId", "StopPodSandboxRequest");
  // The kubelet has normally stopped the containers with their grace periods already; whatever still
  // runs is stopped forcibly (CRI StopPodSandbox).
  ArrayPtr running = listDocker(t, {std::string(kSandboxIdLabel) + "=" + id}, "", false);
  for (size_t i = 0; i < running->size(); ++i) {
    const std::string cid = getString(running->getObject(static_cast<unsigned>(i)), "Id");
    HttpReply r = client_->request("POST", "/containers/" + cid + "/stop?t=0", "", t);
    if (!r.ok() && r.status != 304 && r.status != 404)
      DockerClient::fail(r, "stop container " + cid + " of sandbox " + id);
  }
  HttpReply r = client_->request(
      "POST", "/containers/" + urlEncode(id) + "/stop?t=" + std::to_string(kSandboxStopSeconds), "", t);
  if (!r.ok() && r.status != 304 && r.status != 404) DockerClient::fail(r, "stop pod sandbox " + id);
  out = "{}";
  return PW_OK;
}

pw_status DockerRuntime::removePodSandbox(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "RemovePodSandboxRequest");
  const std::string id = requireString(req, "podSandboxId", "RemovePodSandboxRequest");
  ArrayPtr all = listDocker(t, {std::string(kSandboxIdLabel) + "=" + id}, "", true);
  for (size_t i = 0; i < all->size(); ++i) {
    ContainerView v = fromSummary(all->getObject(static_cast<unsigned>(i)));
    forceRemove(t, v.id, v.dockerLabels);
  }
  forceRemove(t, id, {});
  out = "{}";
  return PW_OK;
}

pw_status DockerRuntime::podSandboxStatus(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "PodSandboxStatusRequest");
  const std::string id = requireString(req, "podSandboxId", "PodSandboxStatusRequest");
  ObjectPtr c = inspectAs(t, id, kTypeSandbox, "pod sandbox", "a pod sandbox");
  ObjectPtr o = newObject();
  o->set("status", sandboxStatusFromInspect(c));
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::listPodSandbox(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "ListPodSandboxRequest");
  ObjectPtr filter = getObject(req, "filter");
  std::vector<std::string> labels{std::string(kTypeLabel) + "=" + kTypeSandbox};
  addSelector(labels, filter);
  const std::string wantState = getString(getObject(filter, "state"), "state");
  ArrayPtr items = sandboxesFromList(listDocker(t, labels, getString(filter, "id"), true), wantState);
  ObjectPtr o = newObject();
  o->set("items", items);
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::createContainer(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "CreateContainerRequest");
  const std::string sandboxId = requireString(req, "podSandboxId", "CreateContainerRequest");
  ObjectPtr config = getObject(req, "config");
  if (config.isNull()) throw pw::Error(PW_INVALID_ARGUMENT, "CreateContainerRequest: config is missing");
  ObjectPtr sandboxConfig = getObject(req, "sandboxConfig");
  if (sandboxConfig.isNull())
    throw pw::Error(PW_INVALID_ARGUMENT, "CreateContainerRequest: sandboxConfig is missing");
  const std::string cname =
      requireString(getObject(config, "metadata"), "name", "CreateContainerRequest config.metadata");
  ObjectPtr podMeta = getObject(sandboxConfig, "metadata");
  const std::string podWhat = "CreateContainerRequest sandboxConfig.metadata";
  const std::string name = containerName(
      cname, requireString(podMeta, "name", podWhat), requireString(podMeta, "namespace", podWhat),
      requireString(podMeta, "uid", podWhat), getInt(getObject(config, "metadata"), "attempt"));
  const std::string image =
      requireString(getObject(config, "image"), "image", "CreateContainerRequest config.image");
  const std::string what = "create container " + name;

  ObjectPtr sandboxNs =
      getObject(getObject(getObject(sandboxConfig, "linux"), "securityContext"), "namespaceOptions");
  ObjectPtr linux = getObject(config, "linux");
  ObjectPtr security = getObject(linux, "securityContext");
  ObjectPtr ownNs = getObject(security, "namespaceOptions");

  ObjectPtr body = newObject();
  body->set("Image", image);
  std::vector<std::string> command = getStrings(config, "command");
  std::vector<std::string> args = getStrings(config, "args");
  if (!command.empty()) body->set("Entrypoint", toArray(command));
  if (!args.empty()) body->set("Cmd", toArray(args));
  std::vector<std::string> env;
  ArrayPtr envs = getArray(config, "envs");
  for (size_t i = 0; envs && i < envs->size(); ++i) {
    ObjectPtr e = envs->getObject(static_cast<unsigned>(i));
    env.push_back(getString(e, "key") + "=" + getString(e, "value"));
  }
  if (!env.empty()) body->set("Env", toArray(env));
  const std::string workingDir = getString(config, "workingDir");
  if (!workingDir.empty()) body->set("WorkingDir", workingDir);
  StringMap extra{{kTypeLabel, kTypeContainer}, {kSandboxIdLabel, sandboxId}};
  const std::string logPath = getString(config, "logPath");
  if (!logPath.empty()) {
    const std::string dir = getString(sandboxConfig, "logDirectory");
    extra[kLogPathLabel] = dir.empty() || logPath[0] == '/' ? logPath : dir + "/" + logPath;
  }
  body->set("Labels", toObject(toDockerLabels(getStringMap(config, "labels"),
                                              getStringMap(config, "annotations"), extra)));
  if (getBool(config, "tty")) body->set("Tty", true);
  if (getBool(config, "stdin")) body->set("OpenStdin", true);

  ObjectPtr host = newObject();
  ObjectPtr restart = newObject();
  restart->set("Name", "no");
  host->set("RestartPolicy", restart);
  const std::string joined = "container:" + sandboxId;
  host->set("NetworkMode", getString(sandboxNs, "network", "POD") == "NODE" ? "host" : joined);
  host->set("IpcMode", getString(sandboxNs, "ipc", "POD") == "NODE" ? "host" : joined);
  const std::string pid = getString(ownNs.isNull() ? sandboxNs : ownNs, "pid", "POD");
  if (pid == "NODE") {
    host->set("PidMode", "host");
  } else if (pid == "POD") {
    host->set("PidMode", joined);
  }
  std::vector<std::string> binds;
  ArrayPtr mounts = getArray(config, "mounts");
  for (size_t i = 0; mounts && i < mounts->size(); ++i) {
    ObjectPtr m = mounts->getObject(static_cast<unsigned>(i));
    const std::string mwhat = "CreateContainerRequest config.mounts[" + std::to_string(i) + "]";
    std::string bind = requireString(m, "hostPath", mwhat) + ":" + requireString(m, "containerPath", mwhat);
    std::vector<std::string> attrs;
    if (getBool(m, "readonly")) attrs.push_back("ro");
    const std::string prop = mountPropagation(getString(m, "propagation"), mwhat);
    if (!prop.empty()) attrs.push_back(prop);
    for (size_t a = 0; a < attrs.size(); ++a) bind += (a == 0 ? ":" : ",") + attrs[a];
    binds.push_back(bind);
  }
  if (!binds.empty()) host->set("Binds", toArray(binds));
  ObjectPtr resources = getObject(linux, "resources");
  auto setPositive = [&](const char* cri, const char* docker) {
    const int64_t v = getInt(resources, cri);
    if (v > 0) host->set(docker, static_cast<Poco::Int64>(v));
  };
  setPositive("cpuShares", "CpuShares");
  setPositive("cpuQuota", "CpuQuota");
  setPositive("cpuPeriod", "CpuPeriod");
  setPositive("memoryLimitInBytes", "Memory");
  if (getBool(security, "privileged")) host->set("Privileged", true);
  ObjectPtr caps = getObject(security, "capabilities");
  std::vector<std::string> capAdd = getStrings(caps, "addCapabilities");
  std::vector<std::string> capDrop = getStrings(caps, "dropCapabilities");
  if (!capAdd.empty()) host->set("CapAdd", toArray(capAdd));
  if (!capDrop.empty()) host->set("CapDrop", toArray(capDrop));
  if (getBool(security, "readonlyRootfs")) host->set("ReadonlyRootfs", true);
  int64_t uid = 0, gid = 0;
  if (optionalInt64(security, "runAsUser", uid)) {
    std::string user = std::to_string(uid);
    if (optionalInt64(security, "runAsGroup", gid)) user += ":" + std::to_string(gid);
    body->set("User", user);
  }
  body->set("HostConfig", host);

  const std::string id = createNamed(t, name, body, image, what);
  ObjectPtr o = newObject();
  o->set("containerId", id);
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::startContainer(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "StartContainerRequest");
  const std::string id = requireString(req, "containerId", "StartContainerRequest");
  HttpReply r = client_->request("POST", "/containers/" + urlEncode(id) + "/start", "", t);
  if (!r.ok() && r.status != 304) DockerClient::fail(r, "start container " + id);
  linkLog(t, id);
  out = "{}";
  return PW_OK;
}

pw_status DockerRuntime::stopContainer(const pw::Call& call, std::string_view request, std::string& out) {
  ObjectPtr req = parseObject(request, "StopContainerRequest");
  const std::string id = requireString(req, "containerId", "StopContainerRequest");
  const int64_t timeout = std::max<int64_t>(0, getInt(req, "timeout"));
  // Docker answers after the grace period (and the SIGKILL after it) at the latest.
  const long t = call.remainingMs(static_cast<long>(timeout) * 1000 + kDefaultTimeoutMs);
  HttpReply r =
      client_->request("POST", "/containers/" + urlEncode(id) + "/stop?t=" + std::to_string(timeout), "", t);
  if (!r.ok() && r.status != 304) DockerClient::fail(r, "stop container " + id);
  out = "{}";
  return PW_OK;
}

pw_status DockerRuntime::removeContainer(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "RemoveContainerRequest");
  const std::string id = requireString(req, "containerId", "RemoveContainerRequest");
  ObjectPtr c = inspect(t, id);
  if (!c.isNull()) forceRemove(t, id, fromInspect(c).dockerLabels);
  out = "{}";
  return PW_OK;
}

pw_status DockerRuntime::listContainers(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "ListContainersRequest");
  ObjectPtr filter = getObject(req, "filter");
  std::vector<std::string> labels{std::string(kTypeLabel) + "=" + kTypeContainer};
  const std::string sandboxId = getString(filter, "podSandboxId");
  if (!sandboxId.empty()) labels.push_back(std::string(kSandboxIdLabel) + "=" + sandboxId);
  addSelector(labels, filter);
  const std::string wantState = getString(getObject(filter, "state"), "state");
  ArrayPtr items = containersFromList(listDocker(t, labels, getString(filter, "id"), true), wantState);
  ObjectPtr o = newObject();
  o->set("containers", items);
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::containerStatus(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "ContainerStatusRequest");
  const std::string id = requireString(req, "containerId", "ContainerStatusRequest");
  ObjectPtr c = inspectAs(t, id, kTypeContainer, "container", "a CRI container");
  const std::string imageId = getString(c, "Image");
  HttpReply ir = client_->request("GET", "/images/" + urlEncode(imageId) + "/json", "", t);
  const std::string imageRef =
      imageRefOf(imageId, ir.ok() ? asObject(parseReply(ir.body, "inspect image")) : ObjectPtr());
  ObjectPtr o = newObject();
  o->set("status", containerStatusFromInspect(c, imageRef));
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::imageStatus(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kDefaultTimeoutMs);
  ObjectPtr req = parseObject(request, "ImageStatusRequest");
  const std::string ref = requireString(getObject(req, "image"), "image", "ImageStatusRequest image");
  HttpReply r = client_->request("GET", "/images/" + ref + "/json", "", t);
  if (r.status == 404) {
    out = "{}";
    return PW_OK;
  }
  if (!r.ok()) DockerClient::fail(r, "inspect image " + ref);
  ObjectPtr image = imageFromInspect(asObject(parseReply(r.body, "inspect image " + ref)));
  ObjectPtr o = newObject();
  o->set("image", image);
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::pullImage(const pw::Call& call, std::string_view request, std::string& out) {
  const long t = call.remainingMs(kPullTimeoutMs);
  ObjectPtr req = parseObject(request, "PullImageRequest");
  const std::string ref = requireString(getObject(req, "image"), "image", "PullImageRequest image");
  std::string repo, tag;
  splitReference(ref, repo, tag);
  const std::string what = "pull image " + ref;
  client_->stream("POST", "/images/create?fromImage=" + urlEncode(repo) + "&tag=" + urlEncode(tag), "", t, t,
                  [&](int status, std::istream& body) {
                    std::string text((std::istreambuf_iterator<char>(body)),
                                     std::istreambuf_iterator<char>());
                    if (status < 200 || status >= 300) DockerClient::fail(HttpReply{status, text}, what);
                    // The reply is 200 as soon as the pull starts; failures arrive as {"error": ...}
                    // progress messages.
                    const std::string error = pullError(text);
                    if (!error.empty()) throw pw::Error(PW_UNKNOWN, what + ": " + error);
                  });
  HttpReply r = client_->request("GET", "/images/" + ref + "/json", "", t);
  if (!r.ok()) DockerClient::fail(r, what + ": image not present after the pull");
  ObjectPtr o = newObject();
  o->set("imageRef", getString(asObject(parseReply(r.body, what)), "Id"));
  writeJson(out, o);
  return PW_OK;
}

pw_status DockerRuntime::execSync(const pw::Call& call, std::string_view request, std::string& out) {
  ObjectPtr req = parseObject(request, "ExecSyncRequest");
  const std::string id = requireString(req, "containerId", "ExecSyncRequest");
  std::vector<std::string> cmd = getStrings(req, "cmd");
  if (cmd.empty()) throw pw::Error(PW_INVALID_ARGUMENT, "ExecSyncRequest: cmd is empty");
  const int64_t timeoutS = getInt(req, "timeout");
  long t = call.remainingMs(timeoutS > 0 ? static_cast<long>(timeoutS) * 1000 : kDefaultTimeoutMs);
  if (timeoutS > 0) t = std::min<long>(t, static_cast<long>(timeoutS) * 1000);

  ObjectPtr create = newObject();
  create->set("AttachStdout", true);
  create->set("AttachStderr", true);
  create->set("Tty", false);
  create->set("Cmd", toArray(cmd));
  HttpReply r = client_->request("POST", "/containers/" + urlEncode(id) + "/exec", stringify(create), t);
  if (r.status == 409) {
    throw pw::Error(PW_FAILED_PRECONDITION, "exec in container " + id + ": " + DockerClient::message(r));
  }
  if (!r.ok()) DockerClient::fail(r, "exec in container " + id);
  const std::string execId = getString(asObject(parseReply(r.body, "exec create")), "Id");
  if (execId.empty())
    throw pw::Error(PW_INTERNAL, "exec in container " + id + ": Docker returned no exec id");

  std::string stdoutBytes, stderrBytes;
  ObjectPtr start = newObject();
  start->set("Detach", false);
  start->set("Tty", false);
  try {
    client_->stream(
        "POST", "/exec/" + execId + "/start", stringify(start), t, t, [&](int status, std::istream& body) {
          if (status < 200 || status >= 300) {
            std::string text((std::istreambuf_iterator<char>(body)), std::istreambuf_iterator<char>());
            DockerClient::fail(HttpReply{status, text}, "exec in container " + id);
          }
          demuxExecOutput(body, stdoutBytes, stderrBytes, kMaxExecOutput, "exec in container " + id);
        });
  } catch (const pw::Error& e) {
    if (e.code() == PW_DEADLINE_EXCEEDED) {
      throw pw::Error(PW_DEADLINE_EXCEEDED, "exec in container " + id + ": command did not finish within " +
                                                std::to_string(t) + " ms");
    }
    throw;
  }
  // The output stream ends when the process exits; Docker may record the exit code a moment later.
  ObjectPtr info;
  for (int i = 0;; ++i) {
    HttpReply ir = client_->request("GET", "/exec/" + execId + "/json", "", t);
    if (!ir.ok()) DockerClient::fail(ir, "inspect exec in container " + id);
    info = asObject(parseReply(ir.body, "inspect exec"));
    if (!getBool(info, "Running") || i >= 200) break;
    ::usleep(10000);
  }
  ObjectPtr o = newObject();
  o->set("stdout", base64(stdoutBytes));
  o->set("stderr", base64(stderrBytes));
  o->set("exitCode", static_cast<Poco::Int64>(getInt(info, "ExitCode")));
  writeJson(out, o);
  return PW_OK;
}

// ---- Events -----------------------------------------------------------------------------------------

void DockerRuntime::watchEvents(pw_emitter_host_ptr* emitter) {
  unwatchEvents();
  watcher_ = std::make_unique<EventWatcher>(host_, client_, emitter);
  watcher_->start();
}

void DockerRuntime::unwatchEvents() noexcept {
  if (watcher_) {
    watcher_->stop();
    watcher_.reset();
  }
}

}  // namespace podwarden::docker
