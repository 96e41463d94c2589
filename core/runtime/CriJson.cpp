#include "runtime/CriJson.h"

#include <Poco/Base64Decoder.h>

#include <algorithm>
#include <limits>
#include <sstream>

namespace podwarden::runtime::crijson {

namespace {

using json::ArrayPtr;
using json::ObjectPtr;

ObjectPtr obj() {
  return new json::Object();
}

ArrayPtr strings(const std::vector<std::string>& items) {
  ArrayPtr out = new json::Array();
  for (const auto& s : items) out->add(s);
  return out;
}

ObjectPtr stringMap(const StringMap& m) {
  ObjectPtr out = obj();
  for (const auto& [k, v] : m) out->set(k, v);
  return out;
}

const char* modeName(NamespaceMode mode) {
  switch (mode) {
    case NamespaceMode::kPod:
      return "POD";
    case NamespaceMode::kContainer:
      return "CONTAINER";
    case NamespaceMode::kNode:
      return "NODE";
  }
  return "POD";
}

const char* protocolName(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kSctp:
      return "SCTP";
  }
  return "TCP";
}

const char* propagationName(MountPropagation p) {
  switch (p) {
    case MountPropagation::kPrivate:
      return "PROPAGATION_PRIVATE";
    case MountPropagation::kHostToContainer:
      return "PROPAGATION_HOST_TO_CONTAINER";
    case MountPropagation::kBidirectional:
      return "PROPAGATION_BIDIRECTIONAL";
  }
  return "PROPAGATION_PRIVATE";
}

ObjectPtr namespaceOptions(const NamespaceOption& ns) {
  ObjectPtr o = obj();
  o->set("network", modeName(ns.network));
  o->set("pid", modeName(ns.pid));
  o->set("ipc", modeName(ns.ipc));
  return o;
}

// Int64Value {"value": n}, set only when present.
void setInt64Value(ObjectPtr o, const char* key, const std::optional<int64_t>& v) {
  if (!v) return;
  ObjectPtr wrapped = obj();
  wrapped->set("value", *v);
  o->set(key, wrapped);
}

void setGroups(ObjectPtr o, const std::vector<int64_t>& groups) {
  if (groups.empty()) return;
  ArrayPtr a = new json::Array();
  for (int64_t g : groups) a->add(g);
  o->set("supplementalGroups", a);
}

ObjectPtr encodeSandboxSecurity(const LinuxSandboxSecurityContext& sc) {
  ObjectPtr o = obj();
  o->set("namespaceOptions", namespaceOptions(sc.namespaceOptions));
  o->set("privileged", sc.privileged);
  setInt64Value(o, "runAsUser", sc.runAsUser);
  setInt64Value(o, "runAsGroup", sc.runAsGroup);
  setGroups(o, sc.supplementalGroups);
  return o;
}

ObjectPtr encodeDns(const DnsConfig& dns) {
  ObjectPtr o = obj();
  o->set("servers", strings(dns.servers));
  o->set("searches", strings(dns.searches));
  o->set("options", strings(dns.options));
  return o;
}

ArrayPtr encodePorts(const std::vector<PortMapping>& ports) {
  ArrayPtr a = new json::Array();
  for (const auto& p : ports) {
    ObjectPtr m = obj();
    m->set("protocol", protocolName(p.protocol));
    m->set("containerPort", p.containerPort);
    m->set("hostPort", p.hostPort);
    m->set("hostIp", p.hostIp);
    a->add(m);
  }
  return a;
}

ObjectPtr encodeContainerSecurity(const LinuxContainerSecurityContext& sc) {
  ObjectPtr o = obj();
  o->set("namespaceOptions", namespaceOptions(sc.namespaceOptions));
  o->set("privileged", sc.privileged);
  if (sc.capabilities) {
    ObjectPtr caps = obj();
    caps->set("addCapabilities", strings(sc.capabilities->addCapabilities));
    caps->set("dropCapabilities", strings(sc.capabilities->dropCapabilities));
    o->set("capabilities", caps);
  }
  setInt64Value(o, "runAsUser", sc.runAsUser);
  setInt64Value(o, "runAsGroup", sc.runAsGroup);
  o->set("readonlyRootfs", sc.readonlyRootfs);
  if (sc.noNewPrivs) o->set("noNewPrivs", *sc.noNewPrivs);
  setGroups(o, sc.supplementalGroups);
  return o;
}

ObjectPtr encodeResources(const LinuxContainerResources& r) {
  ObjectPtr o = obj();
  o->set("cpuPeriod", r.cpuPeriod);
  o->set("cpuQuota", r.cpuQuota);
  o->set("cpuShares", r.cpuShares);
  o->set("memoryLimitInBytes", r.memoryLimitInBytes);
  o->set("oomScoreAdj", r.oomScoreAdj);
  return o;
}

ArrayPtr encodeMounts(const std::vector<Mount>& mounts) {
  ArrayPtr a = new json::Array();
  for (const auto& m : mounts) {
    ObjectPtr o = obj();
    o->set("containerPath", m.containerPath);
    o->set("hostPath", m.hostPath);
    o->set("readonly", m.readonly);
    o->set("propagation", propagationName(m.propagation));
    a->add(o);
  }
  return a;
}

ArrayPtr encodeEnvs(const std::vector<KeyValue>& envs) {
  ArrayPtr a = new json::Array();
  for (const auto& e : envs) {
    ObjectPtr kv = obj();
    kv->set("key", e.key);
    kv->set("value", e.value);
    a->add(kv);
  }
  return a;
}

// Decoding: a plugin's answer, read leniently.

int64_t int64At(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return 0;
  const Poco::Dynamic::Var v = o->get(key);
  try {
    if (v.isString()) return std::stoll(v.toString());
    if (v.isNumeric()) return v.convert<int64_t>();
  } catch (...) {
  }
  return 0;
}

std::string stringAt(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return "";
  const Poco::Dynamic::Var v = o->get(key);
  return v.isString() ? v.toString() : "";
}

// CRI attempts are uint32; anything else is clamped into that range, so attempt arithmetic cannot
// overflow.
uint32_t attemptAt(const ObjectPtr& metadata) {
  return static_cast<uint32_t>(
      std::clamp<int64_t>(int64At(metadata, "attempt"), 0, std::numeric_limits<uint32_t>::max()));
}

StringMap stringMapAt(const ObjectPtr& o, const std::string& key) {
  StringMap out;
  ObjectPtr m = json::getObject(o, key);
  if (m.isNull()) return out;
  for (const auto& [k, v] : *m) {
    if (v.isString()) out.emplace(k, v.toString());
  }
  return out;
}

std::vector<ObjectPtr> objectsAt(const ObjectPtr& o, const char* key) {
  std::vector<ObjectPtr> out;
  ArrayPtr items = json::getArray(o, key);
  for (size_t i = 0; items && i < items->size(); ++i) {
    ObjectPtr it = items->getObject(static_cast<unsigned>(i));
    if (!it.isNull()) out.push_back(it);
  }
  return out;
}

SandboxState sandboxState(const std::string& name) {
  return name == "SANDBOX_READY" ? SandboxState::kReady : SandboxState::kNotReady;
}

ContainerMetadata containerMetadata(const ObjectPtr& o) {
  ObjectPtr md = json::getObject(o, "metadata");
  return {stringAt(md, "name"), attemptAt(md)};
}

// Protobuf bytes: base64. What does not decode ends the value where it stops decoding.
std::string bytesAt(const ObjectPtr& o, const std::string& key) {
  std::istringstream in(stringAt(o, key));
  Poco::Base64Decoder decoder(in);
  std::string out;
  try {
    char c;
    while (decoder.get(c)) out += c;
  } catch (const Poco::Exception&) {
  }
  return out;
}

}  // namespace

json::ObjectPtr encode(const PodSandboxConfig& c) {
  ObjectPtr out = obj();
  ObjectPtr md = obj();
  md->set("name", c.metadata.name);
  md->set("uid", c.metadata.uid);
  md->set("namespace", c.metadata.ns);
  md->set("attempt", static_cast<int64_t>(c.metadata.attempt));
  out->set("metadata", md);
  out->set("hostname", c.hostname);
  out->set("logDirectory", c.logDirectory);
  if (c.dnsConfig) out->set("dnsConfig", encodeDns(*c.dnsConfig));
  out->set("portMappings", encodePorts(c.portMappings));
  out->set("labels", stringMap(c.labels));
  out->set("annotations", stringMap(c.annotations));
  ObjectPtr lx = obj();
  lx->set("cgroupParent", c.linuxConfig.cgroupParent);
  lx->set("securityContext", encodeSandboxSecurity(c.linuxConfig.securityContext));
  lx->set("sysctls", stringMap(c.linuxConfig.sysctls));
  out->set("linux", lx);
  return out;
}

json::ObjectPtr encode(const ContainerConfig& c) {
  ObjectPtr out = obj();
  ObjectPtr md = obj();
  md->set("name", c.metadata.name);
  md->set("attempt", static_cast<int64_t>(c.metadata.attempt));
  out->set("metadata", md);
  ObjectPtr image = obj();
  image->set("image", c.image);
  out->set("image", image);
  if (c.command) out->set("command", strings(*c.command));
  if (c.args) out->set("args", strings(*c.args));
  if (c.workingDir) out->set("workingDir", *c.workingDir);
  out->set("envs", encodeEnvs(c.envs));
  out->set("mounts", encodeMounts(c.mounts));
  out->set("labels", stringMap(c.labels));
  out->set("annotations", stringMap(c.annotations));
  out->set("logPath", c.logPath);
  out->set("stdin", c.stdinOpen);
  out->set("stdinOnce", c.stdinOnce);
  out->set("tty", c.tty);
  ObjectPtr lx = obj();
  lx->set("resources", encodeResources(c.linuxConfig.resources));
  lx->set("securityContext", encodeContainerSecurity(c.linuxConfig.securityContext));
  out->set("linux", lx);
  return out;
}

json::ObjectPtr listRequest(const StringMap& labelSelector) {
  ObjectPtr filter = obj();
  filter->set("labelSelector", stringMap(labelSelector));
  ObjectPtr req = obj();
  req->set("filter", filter);
  return req;
}

json::ObjectPtr idRequest(const char* key, const std::string& id) {
  ObjectPtr r = obj();
  r->set(key, id);
  return r;
}

json::ObjectPtr imageRequest(const std::string& image) {
  ObjectPtr spec = obj();
  spec->set("image", image);
  ObjectPtr req = obj();
  req->set("image", spec);
  return req;
}

std::vector<PodSandbox> decodeSandboxes(const json::ObjectPtr& resp) {
  std::vector<PodSandbox> out;
  for (const auto& it : objectsAt(resp, "items")) {
    PodSandbox s;
    s.id = stringAt(it, "id");
    ObjectPtr md = json::getObject(it, "metadata");
    s.metadata = {stringAt(md, "name"), stringAt(md, "uid"), stringAt(md, "namespace"), attemptAt(md)};
    s.state = sandboxState(stringAt(it, "state"));
    s.createdAt = int64At(it, "createdAt");
    s.labels = stringMapAt(it, "labels");
    s.annotations = stringMapAt(it, "annotations");
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Container> decodeContainers(const json::ObjectPtr& resp) {
  std::vector<Container> out;
  for (const auto& it : objectsAt(resp, "containers")) {
    Container c;
    c.id = stringAt(it, "id");
    c.podSandboxId = stringAt(it, "podSandboxId");
    c.metadata = containerMetadata(it);
    c.image = stringAt(json::getObject(it, "image"), "image");
    c.imageRef = stringAt(it, "imageRef");
    c.state = containerState(stringAt(it, "state"));
    c.createdAt = int64At(it, "createdAt");
    c.labels = stringMapAt(it, "labels");
    c.annotations = stringMapAt(it, "annotations");
    out.push_back(std::move(c));
  }
  return out;
}

PodSandboxStatus decodeSandboxStatus(const json::ObjectPtr& resp) {
  ObjectPtr st = json::getObject(resp, "status");
  PodSandboxStatus s;
  s.id = stringAt(st, "id");
  s.state = sandboxState(stringAt(st, "state"));
  s.ip = stringAt(json::getObject(st, "network"), "ip");
  return s;
}

ContainerStatus decodeContainerStatus(const json::ObjectPtr& resp) {
  ObjectPtr st = json::getObject(resp, "status");
  ContainerStatus s;
  s.id = stringAt(st, "id");
  s.metadata = containerMetadata(st);
  s.state = containerState(stringAt(st, "state"));
  s.createdAt = int64At(st, "createdAt");
  s.startedAt = int64At(st, "startedAt");
  s.finishedAt = int64At(st, "finishedAt");
  s.exitCode = int64At(st, "exitCode");
  s.image = stringAt(json::getObject(st, "image"), "image");
  s.imageRef = stringAt(st, "imageRef");
  s.reason = stringAt(st, "reason");
  s.message = stringAt(st, "message");
  s.labels = stringMapAt(st, "labels");
  s.annotations = stringMapAt(st, "annotations");
  return s;
}

ExecSyncResult decodeExecSync(const json::ObjectPtr& resp) {
  return {bytesAt(resp, "stdout"), bytesAt(resp, "stderr"), int64At(resp, "exitCode")};
}

VersionInfo decodeVersion(const json::ObjectPtr& resp) {
  return {stringAt(resp, "version"), stringAt(resp, "runtimeName"), stringAt(resp, "runtimeVersion"),
          stringAt(resp, "runtimeApiVersion")};
}

bool decodeImagePresent(const json::ObjectPtr& resp) {
  return !stringAt(json::getObject(resp, "image"), "id").empty();
}

ContainerState containerState(const std::string& name) {
  if (name == "CONTAINER_RUNNING") return ContainerState::kRunning;
  if (name == "CONTAINER_CREATED") return ContainerState::kCreated;
  if (name == "CONTAINER_EXITED") return ContainerState::kExited;
  return ContainerState::kUnknown;
}

const char* containerStateName(ContainerState state) {
  switch (state) {
    case ContainerState::kCreated:
      return "CONTAINER_CREATED";
    case ContainerState::kRunning:
      return "CONTAINER_RUNNING";
    case ContainerState::kExited:
      return "CONTAINER_EXITED";
    case ContainerState::kUnknown:
      break;
  }
  return "CONTAINER_UNKNOWN";
}

}  // namespace podwarden::runtime::crijson
