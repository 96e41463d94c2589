#include "reconciler/PodActions.h"

#include <algorithm>

#include "cri/PodTranslator.h"

namespace podwarden {

namespace {

using Kind = ContainerStep::Kind;

std::vector<ContainerSpec> containerSpecs(const json::ObjectPtr& pod, const char* field) {
  std::vector<ContainerSpec> out;
  json::ArrayPtr arr = json::getArray(json::getObject(pod, "spec"), field);
  for (size_t i = 0; arr && i < arr->size(); ++i) {
    json::ObjectPtr c = arr->getObject(static_cast<unsigned>(i));
    if (!c.isNull()) out.push_back({json::getString(c, "name"), cri::containerHash(c), c});
  }
  return out;
}

RestartPolicy restartPolicyOf(const std::string& name) {
  if (name == "Never") return RestartPolicy::kNever;
  if (name == "OnFailure") return RestartPolicy::kOnFailure;
  return RestartPolicy::kAlways;
}

ContainerStep step(Kind kind, const std::string& name, const std::string& id = "") {
  ContainerStep s{};
  s.kind = kind;
  s.name = name;
  s.id = id;
  return s;
}

ContainerStep startStep(const ContainerSpec& spec, int64_t attempt, bool init, std::string verb) {
  ContainerStep s = step(Kind::kStart, spec.name);
  s.spec = &spec;
  s.attempt = attempt;
  s.init = init;
  s.verb = std::move(verb);
  return s;
}

ContainerStep stopStep(const ContainerInfo& c, std::string note, bool warn) {
  ContainerStep s = step(Kind::kStop, c.name, c.id);
  s.preStop = c.preStop;
  s.ports = c.ports;
  s.note = std::move(note);
  s.warn = warn;
  return s;
}

// Deciding one pod: the inputs, and the actions taken so far.
struct Decider {
  const PodIntent& pod;
  const PodObservation& observed;
  Backoff& backoff;
  const DecisionClock& clock;
  ContainerGroups groups;
  std::map<std::string, int64_t> nextAttempt;  // after a new sandbox: restart counts keep counting
  bool initDone = true;
  PodActions out;

  void sandbox();
  bool container(const ContainerSpec& spec, bool init);
  bool running(const ContainerSpec& spec, const ContainerInfo& latest, int64_t attempt, bool init);
  bool exited(const ContainerSpec& spec, const std::vector<ContainerInfo>& instances, ContainerState state,
              int64_t attempt, bool init);
  void initContainers();
  void removedFromSpec();

  const ContainerDetail* detail(const std::string& id) const {
    auto it = observed.details.find(id);
    return it == observed.details.end() ? nullptr : &it->second;
  }
};

void Decider::sandbox() {
  const SandboxInfo* ready = nullptr;
  for (const auto& s : observed.sandboxes) {
    if (s.ready && (!ready || s.attempt > ready->attempt)) ready = &s;
  }
  if (ready) {
    out.sandboxId = ready->id;
    out.sandboxAttempt = static_cast<uint32_t>(ready->attempt);
    groups = groupByName(observed.containers);
    return;
  }
  // A pod that must not restart and already ran keeps its (dead) containers for status, and gets no new
  // sandbox; nothing more is started.
  if (pod.policy == RestartPolicy::kNever && !observed.sandboxes.empty() && !observed.containers.empty()) {
    out.finished = true;
    return;
  }
  // No usable sandbox: kill whatever is left of the pod and start a new attempt.
  out.createSandbox = true;
  for (const auto& c : observed.containers) {
    nextAttempt[c.name] = std::max(nextAttempt[c.name], c.attempt + 1);
    out.containersToRemove.push_back(c.id);
  }
  int64_t maxAttempt = -1;
  for (const auto& s : observed.sandboxes) {
    maxAttempt = std::max(maxAttempt, s.attempt);
    out.sandboxesToRemove.push_back(s.id);
  }
  out.sandboxAttempt = static_cast<uint32_t>(maxAttempt + 1);
}

// Returns true when the container is running (app) or has succeeded (init).
bool Decider::container(const ContainerSpec& spec, bool init) {
  auto next = nextAttempt.find(spec.name);
  int64_t attempt = next == nextAttempt.end() ? 0 : next->second;
  auto it = groups.find(spec.name);
  if (it == groups.end() || it->second.empty()) {
    out.steps.push_back(startStep(spec, attempt, init, "created and started"));
    return false;
  }
  const ContainerInfo& latest = it->second.front();
  attempt = std::max(attempt, latest.attempt + 1);
  ContainerState state = latest.state;
  // A runtime's listing can lag its events (Docker lists a container as running for a moment after its
  // `die` event); ContainerStatus is authoritative.
  const ContainerDetail* d = detail(latest.id);
  if (state == ContainerState::kRunning) state = d ? d->state : ContainerState::kUnknown;
  if (state == ContainerState::kRunning) return running(spec, latest, attempt, init);
  if (state == ContainerState::kCreated) {
    out.steps.push_back(step(Kind::kStartCreated, spec.name, latest.id));
    return !init;
  }
  return exited(spec, it->second, state, attempt, init);
}

bool Decider::running(const ContainerSpec& spec, const ContainerInfo& latest, int64_t attempt, bool init) {
  auto probe = observed.probes.find(latest.id);
  if (latest.hash == spec.hash && probe != observed.probes.end() && probe->second.livenessFailed) {
    // The kubelet kills a container whose liveness (or startup) probe failed; the restart then follows
    // restartPolicy and the backoff like any other exit, on the next sync.
    ContainerStep s =
        stopStep(latest, "container " + spec.name + ": " + probe->second.message + "; killing it", true);
    s.exitReason = Waiting{"", probe->second.message};
    out.steps.push_back(s);
    out.requeue(std::chrono::milliseconds(0));
    return false;
  }
  if (latest.hash == spec.hash) {
    if (!observed.knownContainers.count(latest.id))
      out.steps.push_back(step(Kind::kAdopt, spec.name, latest.id));
    return !init;
  }
  // Only a pinned UID can change a container in place.
  out.steps.push_back(stopStep(latest, "container " + spec.name + " spec changed; restarting it", false));
  out.steps.push_back(startStep(spec, attempt, init, "restarted after a spec change"));
  return false;
}

bool Decider::exited(const ContainerSpec& spec, const std::vector<ContainerInfo>& instances,
                     ContainerState state, int64_t attempt, bool init) {
  const ContainerInfo& latest = instances.front();
  const ContainerDetail* d = detail(latest.id);
  const ContainerDetail none;
  if (!d) d = &none;
  const bool succeeded = d->exitCode == 0 && state == ContainerState::kExited;
  if (init && succeeded && latest.hash == spec.hash) return true;
  const RestartPolicy policy = pod.policy;
  bool restart = policy == RestartPolicy::kAlways || (policy == RestartPolicy::kOnFailure && !succeeded) ||
                 (init && !succeeded && policy != RestartPolicy::kNever);
  if (latest.hash != spec.hash) restart = true;
  if (!restart) return false;
  const std::string key = restartBackoffKey(pod.uid, spec);
  // Backoff is measured from when the container finished, in monotonic time.
  const int64_t finishedAgoNs = d->finishedAt > 0 ? std::max<int64_t>(0, clock.nowUnixNs - d->finishedAt) : 0;
  std::chrono::milliseconds left(0);
  if (backoff.inBackoff(key, clock.monotonicNs - finishedAgoNs, clock.monotonicNs, &left)) {
    out.waiting[spec.name] = {"CrashLoopBackOff",
                              "back-off " + std::to_string(backoff.delay(key).count() / 1000) +
                                  "s restarting failed container=" + spec.name + " pod=" + pod.name + "_" +
                                  pod.ns + "(" + pod.uid + ")"};
    out.requeue(left);
    return false;
  }
  // Keep the latest dead instance (its status is lastState), remove older ones.
  for (size_t i = 1; i < instances.size(); ++i)
    out.steps.push_back(step(Kind::kRemove, spec.name, instances[i].id));
  ContainerStep s = startStep(spec, attempt, init, "restarted");
  s.backoffKey = key;
  s.note = "container " + spec.name + " exited with code " + std::to_string(d->exitCode) +
           (d->reason.empty() ? "" : " (" + d->reason + ")") + "; restarting (restartPolicy " +
           restartPolicyName(policy) + ")";
  out.steps.push_back(s);
  return false;
}

void Decider::initContainers() {
  // Once an app container has run, the init containers are done.
  for (const auto& spec : pod.containers) {
    if (groups.count(spec.name)) return;
  }
  for (const auto& spec : pod.initContainers) {
    if (!container(spec, true)) {
      initDone = false;
      return;
    }
  }
}

void Decider::removedFromSpec() {
  std::set<std::string> names;
  for (const auto& s : pod.initContainers) names.insert(s.name);
  for (const auto& s : pod.containers) names.insert(s.name);
  for (const auto& [name, instances] : groups) {
    if (names.count(name)) continue;
    for (const auto& c : instances) {
      if (c.state == ContainerState::kRunning) out.steps.push_back(stopStep(c, "", false));
      ContainerStep s = step(Kind::kRemove, name, c.id);
      s.note = "container " + name + " removed (no longer in the manifest)";
      out.steps.push_back(s);
    }
  }
}

}  // namespace

void PodActions::requeue(std::chrono::milliseconds after) {
  if (!requeueAfter || after < *requeueAfter) requeueAfter = after;
}

PodIntent podIntent(const std::string& uid, const std::string& name, const std::string& ns,
                    const json::ObjectPtr& pod) {
  PodIntent p;
  p.uid = uid;
  p.name = name;
  p.ns = ns;
  json::ObjectPtr spec = json::getObject(pod, "spec");
  p.policy = restartPolicyOf(json::getString(spec, "restartPolicy", "Always"));
  p.graceSeconds = json::getInt(spec, "terminationGracePeriodSeconds", 30);
  p.hostNetwork = json::getBool(spec, "hostNetwork");
  p.initContainers = containerSpecs(pod, "initContainers");
  p.containers = containerSpecs(pod, "containers");
  p.pod = pod;
  return p;
}

const char* restartPolicyName(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::kNever:
      return "Never";
    case RestartPolicy::kOnFailure:
      return "OnFailure";
    case RestartPolicy::kAlways:
      break;
  }
  return "Always";
}

std::string restartBackoffKey(const std::string& uid, const ContainerSpec& spec) {
  return uid + "/" + spec.name + "/" + spec.hash;
}

PodActions computePodActions(const PodIntent& pod, const PodObservation& observed, Backoff& backoff,
                             const DecisionClock& clock) {
  Decider d{pod, observed, backoff, clock, {}, {}, true, {}};
  d.sandbox();
  if (d.out.finished) return std::move(d.out);
  d.initContainers();
  if (d.initDone) {
    for (const auto& spec : pod.containers) d.container(spec, false);
  }
  d.removedFromSpec();
  return std::move(d.out);
}

ImageStep imageStep(const std::string& pullPolicy, bool present, bool inPullBackoff) {
  if (pullPolicy == "Never") return present ? ImageStep::kUse : ImageStep::kNeverPull;
  if (pullPolicy != "Always" && present) return ImageStep::kUse;
  return inPullBackoff ? ImageStep::kPullBackOff : ImageStep::kPull;
}

}  // namespace podwarden
