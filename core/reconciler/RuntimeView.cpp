#include "reconciler/RuntimeView.h"

#include <algorithm>

#include "cri/PodTranslator.h"

namespace podwarden {

namespace {

std::string valueOf(const runtime::StringMap& m, const char* key, const std::string& fallback = "") {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

// A grace period annotation; `fallback` when absent or not a number.
int64_t graceOf(const runtime::StringMap& annotations, int64_t fallback) {
  const std::string grace = valueOf(annotations, cri::kPodTerminationGracePeriodAnnotation);
  try {
    if (!grace.empty()) return std::stoll(grace);
  } catch (...) {
  }
  return fallback;
}

runtime::StringMap selector(const std::string& uid, const std::string& node) {
  runtime::StringMap sel{{cri::kNodeLabel, node}};
  if (!uid.empty()) sel[cri::kPodUidLabel] = uid;
  return sel;
}

// The preStop handler and ports the host recorded in a container's annotations. A container whose
// annotations cannot be read still stops; it just gets no preStop hook.
void readHookAnnotations(const runtime::StringMap& annotations, ContainerInfo& c) {
  try {
    const std::string preStop = valueOf(annotations, cri::kContainerPreStopHandlerAnnotation);
    if (!preStop.empty()) c.preStop = json::parseObject(preStop);
    const std::string ports = valueOf(annotations, cri::kContainerPortsAnnotation);
    if (!ports.empty()) {
      Poco::Dynamic::Var v = json::parse(ports);
      if (v.type() == typeid(json::ArrayPtr)) c.ports = v.extract<json::ArrayPtr>();
    }
  } catch (const std::exception&) {
  }
}

ContainerInfo containerInfo(const runtime::Container& listed) {
  ContainerInfo c;
  c.id = listed.id;
  c.name = valueOf(listed.labels, cri::kContainerNameLabel, listed.metadata.name);
  c.attempt = listed.metadata.attempt;
  c.state = listed.state;
  c.hash = valueOf(listed.annotations, cri::kContainerHashAnnotation);
  c.graceSeconds = graceOf(listed.annotations, -1);
  readHookAnnotations(listed.annotations, c);
  return c;
}

}  // namespace

ContainerGroups groupByName(const std::vector<ContainerInfo>& containers) {
  ContainerGroups m;
  for (const auto& c : containers) m[c.name].push_back(c);
  for (auto& kv : m) {
    std::stable_sort(kv.second.begin(), kv.second.end(),
                     [](const ContainerInfo& a, const ContainerInfo& b) { return a.attempt > b.attempt; });
  }
  return m;
}

std::vector<SandboxInfo> listSandboxes(runtime::Runtime& runtime, const std::string& uid,
                                       const std::string& node) {
  std::vector<SandboxInfo> out;
  for (const auto& s : runtime.listPodSandbox(selector(uid, node))) {
    out.push_back({s.id, s.metadata.attempt, s.state == runtime::SandboxState::kReady});
  }
  return out;
}

std::vector<ContainerInfo> listContainers(runtime::Runtime& runtime, const std::string& uid,
                                          const std::string& node) {
  std::vector<ContainerInfo> out;
  for (const auto& c : runtime.listContainers(selector(uid, node))) out.push_back(containerInfo(c));
  return out;
}

std::map<std::string, int64_t> listPodUids(runtime::Runtime& runtime, const std::string& node) {
  std::map<std::string, int64_t> out;
  const runtime::StringMap sel = selector("", node);
  for (const auto& s : runtime.listPodSandbox(sel)) {
    const std::string uid = valueOf(s.labels, cri::kPodUidLabel);
    if (!uid.empty()) out.emplace(uid, 30);
  }
  for (const auto& c : runtime.listContainers(sel)) {
    const std::string uid = valueOf(c.labels, cri::kPodUidLabel);
    if (!uid.empty()) out[uid] = graceOf(c.annotations, 30);
  }
  return out;
}

}  // namespace podwarden
