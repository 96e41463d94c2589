#include "reconciler/PodStatus.h"

#include "cri/PodTranslator.h"

namespace podwarden {

namespace {

json::ObjectPtr obj() {
  return new json::Object();
}

json::ObjectPtr wrap(const char* key, const json::ObjectPtr& inner) {
  json::ObjectPtr o = obj();
  o->set(key, inner);
  return o;
}

json::ArrayPtr ipList(const std::string& ip) {
  json::ArrayPtr a = new json::Array();
  json::ObjectPtr entry = obj();
  entry->set("ip", ip);
  a->add(entry);
  return a;
}

// Builds the container statuses of one pod and counts them as the kubelet's getPhase does: a waiting
// container with a previous termination counts as stopped, one that never ran as waiting.
struct StatusBuilder {
  const PodIntent& pod;
  const StatusObservation& observed;
  const StatusContext& ctx;
  int running = 0, waiting = 0, stopped = 0, succeeded = 0;
  bool allReady = true;
  std::vector<prober::ProbeTarget> probeTargets;

  json::ObjectPtr container(const ContainerSpec& spec, bool init, bool count);
  json::ObjectPtr runningState(const ContainerSpec& spec, const std::vector<ContainerInfo>& instances,
                               const ContainerDetail& d, bool init, json::ObjectPtr cs);
  json::ObjectPtr terminated(const std::string& id, const ContainerDetail& d) const;
  json::ObjectPtr waitingState(const std::string& name, const std::string& fallback) const;
  prober::ProbeManager::Result probeResult(const ContainerSpec& spec, const std::string& id) const;
  const ContainerDetail* detail(const std::string& id) const {
    auto it = observed.details.find(id);
    return it == observed.details.end() ? nullptr : &it->second;
  }
};

json::ObjectPtr StatusBuilder::terminated(const std::string& id, const ContainerDetail& d) const {
  json::ObjectPtr t = obj();
  t->set("exitCode", d.exitCode);
  const std::string runtimeReason = d.reason.empty() ? (d.exitCode == 0 ? "Completed" : "Error") : d.reason;
  const std::pair<std::string, std::string>* ours = nullptr;
  if (ctx.exitReasons) {
    auto it = ctx.exitReasons->find(id);
    if (it != ctx.exitReasons->end()) ours = &it->second;
  }
  if (ours) {
    // An empty reason keeps the runtime's (a liveness kill is an Error exit with the probe's message).
    t->set("reason", ours->first.empty() ? runtimeReason : ours->first);
    t->set("message", ours->second);
  } else {
    t->set("reason", runtimeReason);
    if (!d.message.empty()) t->set("message", d.message);
  }
  if (d.startedAt > 0) t->set("startedAt", json::rfc3339(d.startedAt));
  if (d.finishedAt > 0) t->set("finishedAt", json::rfc3339(d.finishedAt));
  t->set("containerID", ctx.runtimeName + "://" + id);
  return wrap("terminated", t);
}

json::ObjectPtr StatusBuilder::waitingState(const std::string& name, const std::string& fallback) const {
  json::ObjectPtr w = obj();
  const Waiting* why = nullptr;
  if (ctx.waiting) {
    auto it = ctx.waiting->find(name);
    if (it != ctx.waiting->end()) why = &it->second;
  }
  w->set("reason", why ? why->reason : fallback);
  if (why && !why->message.empty()) w->set("message", why->message);
  return wrap("waiting", w);
}

prober::ProbeManager::Result StatusBuilder::probeResult(const ContainerSpec& spec,
                                                        const std::string& id) const {
  auto it = observed.probes.find(id);
  prober::ProbeManager::Result probe =
      it == observed.probes.end() ? prober::ProbeManager::Result() : it->second;
  if (observed.probing && !probe.known) {
    // Not registered with the prober yet: the kubelet's initial results apply, so a container with a
    // readiness probe starts not ready and one with a startup probe not started.
    probe.started = !json::has(spec.spec, "startupProbe");
    probe.ready = !json::has(spec.spec, "readinessProbe");
  }
  return probe;
}

json::ObjectPtr StatusBuilder::runningState(const ContainerSpec& spec,
                                            const std::vector<ContainerInfo>& instances,
                                            const ContainerDetail& d, bool init, json::ObjectPtr cs) {
  const ContainerInfo& latest = instances.front();
  json::ObjectPtr r = obj();
  r->set("startedAt", json::rfc3339(d.startedAt));
  cs->set("state", wrap("running", r));
  const prober::ProbeManager::Result probe = probeResult(spec, latest.id);
  cs->set("started", probe.started);
  cs->set("ready", probe.ready && probe.started);
  if (!(probe.ready && probe.started)) allReady = false;
  if (!init) {
    prober::ProbeTarget target;
    target.uid = pod.uid;
    target.podName = pod.ns + "/" + pod.name;
    target.containerName = spec.name;
    target.containerId = latest.id;
    target.containerSpec = spec.spec;
    target.pod = pod.pod;
    // The prober's clock is monotonic; the runtime reports wall time.
    target.startedAtNs = d.startedAt > 0 ? ctx.monotonicNs - (ctx.nowUnixNs - d.startedAt) : 0;
    // Probes reach the pod at its IP; hostNetwork pods at the host's (probes usually name 127.0.0.1).
    target.podIP = observed.podIP.empty() ? ctx.hostIP : observed.podIP;
    probeTargets.push_back(std::move(target));
  }
  if (instances.size() > 1) {
    if (const ContainerDetail* previous = detail(instances[1].id)) {
      cs->set("lastState", terminated(instances[1].id, *previous));
    }
  }
  return cs;
}

json::ObjectPtr StatusBuilder::container(const ContainerSpec& spec, bool init, bool count) {
  json::ObjectPtr cs = obj();
  cs->set("name", spec.name);
  cs->set("image", json::getString(spec.spec, "image"));
  cs->set("imageID", "");
  cs->set("restartCount", 0);
  cs->set("ready", false);
  cs->set("started", false);
  auto group = observed.groups.find(spec.name);
  if (group == observed.groups.end() || group->second.empty()) {
    cs->set("state", waitingState(spec.name, "ContainerCreating"));
    if (count) ++waiting;
    allReady = false;
    return cs;
  }
  const ContainerInfo& latest = group->second.front();
  ContainerDetail d;
  if (const ContainerDetail* found = detail(latest.id)) {
    d = *found;
  } else {
    d.state = latest.state;
  }
  cs->set("restartCount", latest.attempt);
  cs->set("containerID", ctx.runtimeName + "://" + latest.id);
  cs->set("imageID", d.imageRef);
  if (d.state == ContainerState::kRunning) {
    if (count) ++running;
    return runningState(spec, group->second, d, init, cs);
  }
  allReady = false;
  if (d.state != ContainerState::kExited) {
    cs->set("state", waitingState(spec.name, "ContainerCreating"));
    if (count) ++waiting;
    return cs;
  }
  const bool ok = d.exitCode == 0;
  const RestartPolicy policy = pod.policy;
  const bool willRestart =
      (ctx.waiting && ctx.waiting->count(spec.name) > 0) ||
      (init ? (!ok && policy != RestartPolicy::kNever)
            : (policy == RestartPolicy::kAlways || (policy == RestartPolicy::kOnFailure && !ok)));
  if (willRestart) {
    cs->set("state", waitingState(spec.name, "CrashLoopBackOff"));
    cs->set("lastState", terminated(latest.id, d));
  } else {
    cs->set("state", terminated(latest.id, d));
    if (count && ok) ++succeeded;
  }
  if (count) ++stopped;
  return cs;
}

// The kubelet's getPhase.
std::string phaseOf(const StatusBuilder& b, RestartPolicy policy, bool initialized, bool initFailed) {
  if (!initialized) return initFailed ? "Failed" : "Pending";
  if (b.waiting > 0) return "Pending";
  if (b.running > 0) return "Running";
  if (b.stopped == 0) return "Pending";
  if (policy == RestartPolicy::kAlways) return "Running";
  if (b.stopped == b.succeeded) return "Succeeded";
  return policy == RestartPolicy::kOnFailure ? "Running" : "Failed";
}

json::ArrayPtr conditionsOf(bool initialized, bool containersReady, int64_t now,
                            std::map<std::string, std::pair<std::string, std::string>>& memory) {
  json::ArrayPtr out = new json::Array();
  auto add = [&](const std::string& type, bool value) {
    const std::string v = value ? "True" : "False";
    auto& entry = memory[type];
    if (entry.first != v) entry = {v, json::rfc3339(now)};
    json::ObjectPtr c = obj();
    c->set("type", type);
    c->set("status", v);
    c->set("lastProbeTime", Poco::Dynamic::Var());
    c->set("lastTransitionTime", entry.second);
    out->add(c);
  };
  add("Initialized", initialized);
  add("Ready", containersReady);
  add("ContainersReady", containersReady);
  add("PodScheduled", true);
  return out;
}

}  // namespace

PodStatusResult buildPodStatus(const PodIntent& pod, const StatusObservation& observed,
                               const StatusContext& ctx,
                               std::map<std::string, std::pair<std::string, std::string>>& conditions) {
  StatusBuilder b{pod, observed, ctx, 0, 0, 0, 0, true, {}};
  bool appRan = false;
  for (const auto& spec : pod.containers) appRan = appRan || observed.groups.count(spec.name) > 0;
  json::ArrayPtr initStatuses = new json::Array();
  bool initialized = true;
  bool initFailed = false;
  for (const auto& spec : pod.initContainers) {
    json::ObjectPtr cs = b.container(spec, true, false);
    json::ObjectPtr term = json::getObject(json::getObject(cs, "state"), "terminated");
    const bool ok = !term.isNull() && json::getInt(term, "exitCode", 1) == 0;
    if (ok) cs->set("ready", true);
    if (!term.isNull() && !ok) initFailed = true;
    if (!ok && !appRan) initialized = false;
    initStatuses->add(cs);
  }
  b.allReady = true;  // readiness is the app containers'
  json::ArrayPtr statuses = new json::Array();
  for (const auto& spec : pod.containers) statuses->add(b.container(spec, false, true));

  const int total = static_cast<int>(pod.containers.size());
  const bool containersReady = b.allReady && total > 0 && b.running == total;
  json::ObjectPtr status = obj();
  status->set("phase", phaseOf(b, pod.policy, initialized, initFailed));
  status->set("conditions", conditionsOf(initialized, containersReady, ctx.nowUnixNs, conditions));
  status->set("hostIP", ctx.hostIP);
  status->set("hostIPs", ipList(ctx.hostIP));
  if (!observed.podIP.empty()) {
    status->set("podIP", observed.podIP);
    status->set("podIPs", ipList(observed.podIP));
  }
  status->set("startTime", json::rfc3339(ctx.startTimeNs));
  status->set("qosClass", cri::qosClass(pod.pod));
  if (initStatuses->size() > 0) status->set("initContainerStatuses", initStatuses);
  status->set("containerStatuses", statuses);
  if (!ctx.podError.empty()) {
    status->set("reason", "SyncError");
    status->set("message", ctx.podError);
  }
  return {status, std::move(b.probeTargets)};
}

}  // namespace podwarden
