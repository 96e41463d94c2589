#include "reconciler/RuntimeView.h"

#include <algorithm>
#include <limits>

#include "cri/PodTranslator.h"

namespace podwarden {

using plugin::RuntimeCall;

namespace {

json::ObjectPtr obj() {
  return new json::Object();
}

int64_t parseInt64(const Poco::Dynamic::Var& v) {
  try {
    if (v.isString()) return std::stoll(v.toString());
    if (v.isNumeric()) return v.convert<int64_t>();
  } catch (...) {
  }
  return 0;
}

int64_t getInt64(const json::ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return 0;
  return parseInt64(o->get(key));
}

// metadata.attempt of a listed sandbox or container. CRI attempts are uint32; a runtime that reports
// something else gets it clamped into that range, so that attempt arithmetic cannot overflow.
int64_t getAttempt(const json::ObjectPtr& metadata) {
  return std::clamp<int64_t>(getInt64(metadata, "attempt"), 0, std::numeric_limits<uint32_t>::max());
}

// A grace period annotation; `fallback` when absent or not a number.
int64_t graceOf(const json::ObjectPtr& annotations, int64_t fallback) {
  std::string grace = json::getString(annotations, cri::kPodTerminationGracePeriodAnnotation);
  try {
    if (!grace.empty()) return std::stoll(grace);
  } catch (...) {
  }
  return fallback;
}

json::ObjectPtr labelSelector(const std::string& uid, const std::string& node) {
  json::ObjectPtr sel = obj();
  if (!uid.empty()) sel->set(cri::kPodUidLabel, uid);
  sel->set(cri::kNodeLabel, node);
  json::ObjectPtr filter = obj();
  filter->set("labelSelector", sel);
  json::ObjectPtr req = obj();
  req->set("filter", filter);
  return req;
}

// The items of `field` in a list answer that are objects.
std::vector<json::ObjectPtr> objectsOf(const json::ObjectPtr& resp, const char* field) {
  std::vector<json::ObjectPtr> out;
  json::ArrayPtr items = json::getArray(resp, field);
  for (size_t i = 0; items && i < items->size(); ++i) {
    json::ObjectPtr it = items->getObject(static_cast<unsigned>(i));
    if (!it.isNull()) out.push_back(it);
  }
  return out;
}

// The preStop handler and ports the host recorded in a container's annotations. A container whose
// annotations cannot be read still stops; it just gets no preStop hook.
void readHookAnnotations(const json::ObjectPtr& annotations, ContainerInfo& c) {
  try {
    std::string preStop = json::getString(annotations, cri::kContainerPreStopHandlerAnnotation);
    if (!preStop.empty()) c.preStop = json::parseObject(preStop);
    std::string ports = json::getString(annotations, cri::kContainerPortsAnnotation);
    if (!ports.empty()) {
      Poco::Dynamic::Var v = json::parse(ports);
      if (v.type() == typeid(json::ArrayPtr)) c.ports = v.extract<json::ArrayPtr>();
    }
  } catch (const std::exception&) {
  }
}

ContainerInfo containerFromList(const json::ObjectPtr& it) {
  ContainerInfo c;
  c.id = json::getString(it, "id");
  json::ObjectPtr meta = json::getObject(it, "metadata");
  json::ObjectPtr labels = json::getObject(it, "labels");
  json::ObjectPtr annotations = json::getObject(it, "annotations");
  c.name = json::getString(labels, cri::kContainerNameLabel, json::getString(meta, "name"));
  c.attempt = getAttempt(meta);
  c.state = containerStateFromCri(json::getString(it, "state"));
  c.hash = json::getString(annotations, cri::kContainerHashAnnotation);
  c.graceSeconds = graceOf(annotations, -1);
  readHookAnnotations(annotations, c);
  return c;
}

}  // namespace

ContainerState containerStateFromCri(const std::string& name) {
  if (name == "CONTAINER_RUNNING") return ContainerState::kRunning;
  if (name == "CONTAINER_CREATED") return ContainerState::kCreated;
  if (name == "CONTAINER_EXITED") return ContainerState::kExited;
  return ContainerState::kUnknown;
}

ContainerGroups groupByName(const std::vector<ContainerInfo>& containers) {
  ContainerGroups m;
  for (const auto& c : containers) m[c.name].push_back(c);
  for (auto& kv : m) {
    std::stable_sort(kv.second.begin(), kv.second.end(),
                     [](const ContainerInfo& a, const ContainerInfo& b) { return a.attempt > b.attempt; });
  }
  return m;
}

json::ObjectPtr idRequest(const char* key, const std::string& id) {
  json::ObjectPtr r = obj();
  r->set(key, id);
  return r;
}

std::vector<SandboxInfo> listSandboxes(RuntimeClient& runtime, const std::string& uid,
                                       const std::string& node) {
  std::vector<SandboxInfo> out;
  for (const auto& it :
       objectsOf(runtime.call(RuntimeCall::kListPodSandbox, labelSelector(uid, node)), "items")) {
    SandboxInfo s;
    s.id = json::getString(it, "id");
    s.attempt = getAttempt(json::getObject(it, "metadata"));
    s.ready = json::getString(it, "state") == "SANDBOX_READY";
    out.push_back(s);
  }
  return out;
}

std::vector<ContainerInfo> listContainers(RuntimeClient& runtime, const std::string& uid,
                                          const std::string& node) {
  std::vector<ContainerInfo> out;
  json::ObjectPtr resp = runtime.call(RuntimeCall::kListContainers, labelSelector(uid, node));
  for (const auto& it : objectsOf(resp, "containers")) out.push_back(containerFromList(it));
  return out;
}

ContainerDetail containerDetail(RuntimeClient& runtime, const std::string& id) {
  ContainerDetail d;
  json::ObjectPtr st =
      json::getObject(runtime.call(RuntimeCall::kContainerStatus, idRequest("containerId", id)), "status");
  d.state = containerStateFromCri(json::getString(st, "state"));
  d.startedAt = getInt64(st, "startedAt");
  d.finishedAt = getInt64(st, "finishedAt");
  d.exitCode = getInt64(st, "exitCode");
  d.reason = json::getString(st, "reason");
  d.message = json::getString(st, "message");
  d.imageRef = json::getString(st, "imageRef");
  return d;
}

std::string sandboxIP(RuntimeClient& runtime, const std::string& sandboxId) {
  json::ObjectPtr st = json::getObject(
      runtime.call(RuntimeCall::kPodSandboxStatus, idRequest("podSandboxId", sandboxId)), "status");
  return json::getString(json::getObject(st, "network"), "ip");
}

bool imagePresent(RuntimeClient& runtime, const std::string& image) {
  json::ObjectPtr req = obj();
  json::ObjectPtr spec = obj();
  spec->set("image", image);
  req->set("image", spec);
  json::ObjectPtr present = json::getObject(runtime.call(RuntimeCall::kImageStatus, req), "image");
  return !present.isNull() && !json::getString(present, "id").empty();
}

std::map<std::string, int64_t> listPodUids(RuntimeClient& runtime, const std::string& node) {
  std::map<std::string, int64_t> out;
  json::ObjectPtr req = labelSelector("", node);
  for (const auto& it : objectsOf(runtime.call(RuntimeCall::kListPodSandbox, req), "items")) {
    std::string uid = json::getString(json::getObject(it, "labels"), cri::kPodUidLabel);
    if (!uid.empty()) out.emplace(uid, 30);
  }
  for (const auto& it : objectsOf(runtime.call(RuntimeCall::kListContainers, req), "containers")) {
    std::string uid = json::getString(json::getObject(it, "labels"), cri::kPodUidLabel);
    if (!uid.empty()) out[uid] = graceOf(json::getObject(it, "annotations"), 30);
  }
  return out;
}

}  // namespace podwarden
