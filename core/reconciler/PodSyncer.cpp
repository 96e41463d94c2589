#include "reconciler/PodSyncer.h"

#include <algorithm>
#include <future>

#include "reconciler/Hooks.h"
#include "reconciler/PodStatus.h"
#include "reconciler/RuntimeView.h"
#include "util/Log.h"

namespace podwarden {

namespace {

constexpr const char* kComponent = "pods";
constexpr std::chrono::seconds kRetryAfterError(10);

std::string shortId(const std::string& id) {
  return id.substr(0, 12);
}

bool anyReady(const std::vector<SandboxInfo>& sandboxes) {
  return std::any_of(sandboxes.begin(), sandboxes.end(), [](const SandboxInfo& s) { return s.ready; });
}

}  // namespace

struct PodSyncer::Run {
  const PodIntent& pod;
  PodRuntimeState& state;
  PodActions& actions;
  std::string who;
  std::optional<runtime::PodSandboxConfig> sandboxConfig;  // translated once per sync, when first needed
  std::map<std::string, std::future<bool>> images;  // image -> present (asked while the sandbox starts)
  std::optional<std::string> podIP;                 // for hooks: asked once, when first needed

  void wait(const std::string& name, std::string reason, std::string message,
            std::optional<std::chrono::milliseconds> requeue) {
    actions.waiting[name] = {std::move(reason), std::move(message)};
    if (requeue) actions.requeue(*requeue);
  }
};

PodSyncer::PodSyncer(runtime::Runtime& runtime, Backoff& backoff, SyncOptions options,
                     prober::ProbeManager* probes)
    : runtime_(runtime), backoff_(backoff), opts_(std::move(options)), probes_(probes) {}

SyncResult PodSyncer::sync(const manifest::StaticPod& manifestPod, PodRuntimeState& state) {
  const PodIntent pod = podIntent(manifestPod.uid, manifestPod.name, manifestPod.ns, manifestPod.pod);
  const int64_t now = opts_.nowUnixNs();
  if (state.startTimeNs == 0) state.startTimeNs = now;
  PodActions actions;
  std::string podError;
  try {
    const PodObservation observed = observe(pod, state);
    actions = computePodActions(pod, observed, backoff_, DecisionClock{now, opts_.monotonicNs()});
    Run run{pod, state, actions, pod.ns + "/" + pod.name, {}, {}, {}};
    execute(run);
  } catch (const cri::TranslateError& e) {
    podError = e.what();
    actions.requeue(std::chrono::seconds(30));
  } catch (const std::exception& e) {
    // Runtime errors, and anything else (filesystem errors while preparing volumes...): this pod's problem,
    // not the daemon's.
    podError = e.what();
    actions.requeue(kRetryAfterError);
  }
  if (podError != state.lastLoggedError) {
    if (!podError.empty()) Log::error(kComponent, pod.ns + "/" + pod.name + ": " + podError);
    state.lastLoggedError = podError;
  }
  state.lastError = podError;
  return report(pod, state, actions, podError);
}

PodObservation PodSyncer::observe(const PodIntent& pod, PodRuntimeState& state) {
  PodObservation o;
  o.knownContainers = state.knownContainers;
  if (state.knownAbsent) {
    // The last full relist saw nothing of this UID and nothing touched it since.
    state.knownAbsent = false;
    return o;
  }
  // The two listings are independent; overlapping them shortens manifest-to-running.
  auto sandboxes =
      std::async(std::launch::async, [&] { return listSandboxes(runtime_, pod.uid, opts_.nodeName); });
  o.containers = listContainers(runtime_, pod.uid, opts_.nodeName);
  o.sandboxes = sandboxes.get();
  // Without a ready sandbox every container goes (or, finished, stays as it is): no status is needed.
  if (!anyReady(o.sandboxes)) return o;
  const ContainerGroups groups = groupByName(o.containers);
  for (const auto* specs : {&pod.initContainers, &pod.containers}) {
    for (const auto& spec : *specs) {
      auto it = groups.find(spec.name);
      if (it == groups.end() || it->second.front().state == ContainerState::kCreated) continue;
      const ContainerInfo& latest = it->second.front();
      const ContainerDetail& d = o.details[latest.id] = runtime_.containerStatus(latest.id);
      if (probes_ && d.state == ContainerState::kRunning) o.probes[latest.id] = probes_->result(latest.id);
    }
  }
  return o;
}

void PodSyncer::execute(Run& run) {
  prepareSandbox(run);
  if (run.actions.finished) return;
  if (!run.sandboxConfig)
    run.sandboxConfig = cri::sandboxConfig(run.pod.pod, run.actions.sandboxAttempt, opts_.translate);
  for (const auto& step : run.actions.steps) runStep(run, step);
}

void PodSyncer::prepareSandbox(Run& run) {
  const PodActions& a = run.actions;
  PodRuntimeState& state = run.state;
  if (a.finished) {
    state.sandboxId.clear();
    return;
  }
  if (!a.createSandbox) {
    if (state.sandboxId != a.sandboxId && !state.sandboxId.empty()) {
      Log::info(kComponent, run.who + ": sandbox " + shortId(a.sandboxId) + " found");
    }
    state.sandboxId = a.sandboxId;
    return;
  }
  for (const auto& id : a.containersToRemove) runtime_.removeContainer(id);
  for (const auto& id : a.sandboxesToRemove) {
    runtime_.stopPodSandbox(id);
    runtime_.removePodSandbox(id);
  }
  // A new sandbox means every container will be created: ask for their images while the sandbox starts.
  for (const auto* specs : {&run.pod.initContainers, &run.pod.containers}) {
    for (const auto& spec : *specs) {
      std::string image = json::getString(spec.spec, "image");
      if (image.empty() || run.images.count(image)) continue;
      run.images.emplace(
          image, std::async(std::launch::async, [this, image] { return runtime_.imagePresent(image); }));
    }
  }
  std::string volumeErrors;
  for (const auto& p : cri::prepareVolumes(run.pod.pod, opts_.translate)) {
    if (p.warning) {
      Log::warning(kComponent, run.who + ": volume " + p.volume + ": " + p.message);
    } else {
      volumeErrors += (volumeErrors.empty() ? "" : "; ") + ("volume " + p.volume + ": " + p.message);
    }
  }
  if (!volumeErrors.empty()) throw RuntimeError(PW_FAILED_PRECONDITION, volumeErrors);
  run.sandboxConfig = cri::sandboxConfig(run.pod.pod, a.sandboxAttempt, opts_.translate);
  state.sandboxId = runtime_.runPodSandbox(*run.sandboxConfig);
  Log::info(kComponent, run.who + ": sandbox " + shortId(state.sandboxId) + " started (attempt " +
                            std::to_string(a.sandboxAttempt) + ")");
}

void PodSyncer::runStep(Run& run, const ContainerStep& step) {
  using Kind = ContainerStep::Kind;
  const std::string prefix = run.who + ": container " + step.name;
  if (!step.note.empty() && step.kind != Kind::kRemove) {
    Log::write(step.warn ? LogLevel::kWarning : LogLevel::kInfo, kComponent, run.who + ": " + step.note);
  }
  switch (step.kind) {
    case Kind::kStart:
      if (!step.backoffKey.empty()) backoff_.next(step.backoffKey, opts_.monotonicNs());
      startContainer(run, step);
      return;
    case Kind::kStartCreated:
      runtime_.startContainer(step.id);
      run.state.knownContainers.insert(step.id);
      Log::info(kComponent, prefix + " started (" + shortId(step.id) + ")");
      return;
    case Kind::kStop:
      if (step.exitReason)
        run.state.exitReasons[step.id] = {step.exitReason->reason, step.exitReason->message};
      if (!run.podIP) run.podIP = podIPOf(run.state.sandboxId, run.pod.hostNetwork);
      stopGracefully(step.id, step.name, step.preStop, step.ports, *run.podIP, run.pod.graceSeconds, run.who);
      return;
    case Kind::kRemove:
      runtime_.removeContainer(step.id);
      if (!step.note.empty()) Log::info(kComponent, run.who + ": " + step.note);
      return;
    case Kind::kAdopt:
      run.state.knownContainers.insert(step.id);
      Log::info(kComponent,
                prefix + " adopted (" + shortId(step.id) + ", already running with the same spec)");
      return;
  }
}

bool PodSyncer::pullImage(Run& run, const ContainerStep& step) {
  const std::string image = json::getString(step.spec->spec, "image");
  auto prefetched = run.images.find(image);
  const bool present = prefetched != run.images.end() && prefetched->second.valid()
                           ? prefetched->second.get()
                           : runtime_.imagePresent(image);
  const std::string pullKey = "pull/" + run.pod.uid + "/" + step.name;
  std::chrono::milliseconds left(0);
  const bool inBackoff = backoff_.inBackoffSinceLastFailure(pullKey, opts_.monotonicNs(), &left);
  switch (
      imageStep(json::getString(step.spec->spec, "imagePullPolicy", "IfNotPresent"), present, inBackoff)) {
    case ImageStep::kUse:
      return true;
    case ImageStep::kNeverPull:
      run.wait(step.name, "ErrImageNeverPull",
               "container image \"" + image + "\" is not present with pull policy of Never",
               std::chrono::seconds(10));
      return false;
    case ImageStep::kPullBackOff:
      run.wait(step.name, "ImagePullBackOff", "Back-off pulling image \"" + image + "\"", left);
      return false;
    case ImageStep::kPull:
      break;
  }
  try {
    runtime_.pullImage(image);
    Log::info(kComponent, run.who + ": pulled image " + image + " for container " + step.name);
    return true;
  } catch (const RuntimeError& e) {
    backoff_.next(pullKey, opts_.monotonicNs());
    Log::warning(kComponent,
                 run.who + ": container " + step.name + ": cannot pull image " + image + ": " + e.what());
    run.wait(step.name, "ErrImagePull", e.what(), backoff_.delay(pullKey));
    return false;
  }
}

bool PodSyncer::startContainer(Run& run, const ContainerStep& step) {
  const std::string prefix = run.who + ": container " + step.name;
  if (!pullImage(run, step)) return false;
  runtime::ContainerConfig config;
  try {
    config = cri::containerConfig(run.pod.pod, step.spec->spec, static_cast<uint32_t>(step.attempt),
                                  opts_.translate);
  } catch (const cri::TranslateError& e) {
    run.wait(step.name, "CreateContainerConfigError", e.what(), std::nullopt);
    return false;
  }
  // Create, then start; either failure is retried in 10 s.
  const char* failure = "CreateContainerError";
  std::string id;
  try {
    id = runtime_.createContainer(run.state.sandboxId, config, *run.sandboxConfig);
    run.state.knownContainers.insert(id);
    failure = "RunContainerError";
    runtime_.startContainer(id);
  } catch (const RuntimeError& e) {
    run.wait(step.name, failure, e.what(), kRetryAfterError);
    Log::warning(kComponent, prefix + ": " + e.what());
    return false;
  }
  Log::info(kComponent,
            prefix + " " + step.verb + " (" + shortId(id) +
                (step.attempt > 0 ? ", restart count " + std::to_string(step.attempt) : std::string()) + ")");
  json::ObjectPtr postStart = json::getObject(json::getObject(step.spec->spec, "lifecycle"), "postStart");
  if (postStart.isNull()) return true;
  if (!run.podIP) run.podIP = podIPOf(run.state.sandboxId, run.pod.hostNetwork);
  HookResult r = runLifecycleHandler(runtime_, id, postStart, json::getArray(step.spec->spec, "ports"),
                                     *run.podIP, std::chrono::seconds(30));
  if (r.ok) return true;
  // The kubelet kills a container whose postStart hook failed; restartPolicy decides what follows.
  Log::warning(kComponent, prefix + ": postStart hook failed: " + r.message + "; killing it");
  run.state.exitReasons[id] = {"FailedPostStartHook", "PostStartHookError: " + r.message};
  runtime_.stopContainer(id, run.pod.graceSeconds);
  return false;
}

SyncResult PodSyncer::report(const PodIntent& pod, PodRuntimeState& state, const PodActions& actions,
                             std::string podError) {
  SyncResult result;
  result.requeueAfter = actions.requeueAfter;
  auto requeue = [&](std::chrono::milliseconds after) {
    if (!result.requeueAfter || after < *result.requeueAfter) result.requeueAfter = after;
  };
  StatusObservation observed;
  std::vector<ContainerInfo> containers;
  try {
    containers = listContainers(runtime_, pod.uid, opts_.nodeName);
  } catch (const RuntimeError& e) {
    if (podError.empty()) podError = e.what();
    requeue(kRetryAfterError);
  }
  state.containerIds.clear();
  for (const auto& c : containers) state.containerIds.push_back(c.id);
  observed.groups = groupByName(containers);
  observed.probing = probes_ != nullptr;
  for (const auto* specs : {&pod.initContainers, &pod.containers}) {
    for (const auto& spec : *specs) {
      auto it = observed.groups.find(spec.name);
      if (it == observed.groups.end()) continue;
      // The latest instance, and while it runs the one before it (its lastState).
      for (size_t i = 0; i < it->second.size() && i < 2; ++i) {
        const std::string& id = it->second[i].id;
        try {
          observed.details[id] = runtime_.containerStatus(id);
        } catch (const RuntimeError&) {
          break;
        }
        if (observed.details[id].state != ContainerState::kRunning) break;
        if (probes_ && i == 0) observed.probes[id] = probes_->result(id);
      }
    }
  }
  if (pod.hostNetwork) {
    observed.podIP = opts_.hostIP;
  } else if (!state.sandboxId.empty()) {
    try {
      observed.podIP = runtime_.podSandboxStatus(state.sandboxId).ip;
    } catch (const RuntimeError&) {
    }
  }
  StatusContext ctx;
  ctx.hostIP = opts_.hostIP;
  ctx.runtimeName = opts_.runtimeName;
  ctx.nowUnixNs = opts_.nowUnixNs();
  ctx.monotonicNs = opts_.monotonicNs();
  ctx.startTimeNs = state.startTimeNs;
  ctx.podError = podError;
  ctx.waiting = &actions.waiting;
  ctx.exitReasons = &state.exitReasons;
  PodStatusResult built = buildPodStatus(pod, observed, ctx, state.conditions);
  if (probes_) probes_->setContainers(pod.uid, std::move(built.probeTargets));
  result.status = built.status;
  return result;
}

void PodSyncer::stopGracefully(const std::string& containerId, const std::string& name, const json::ObjectPtr& preStop,
                               const json::ArrayPtr& ports, const std::string& podIP, int64_t graceSeconds,
                               const std::string& who) {
  using namespace std::chrono;
  const auto start = steady_clock::now();
  if (!preStop.isNull()) {
    // The kubelet runs preStop inside the grace period, then signals with what is left of it.
    HookResult r = runLifecycleHandler(runtime_, containerId, preStop, ports, podIP, seconds(std::max<int64_t>(1, graceSeconds)));
    if (r.ok) {
      Log::info(kComponent, who + ": container " + name + ": preStop hook done");
    } else {
      Log::warning(kComponent, who + ": container " + name + ": preStop hook failed: " + r.message);
    }
  }
  int64_t spent = duration_cast<seconds>(steady_clock::now() - start).count();
  // The kubelet's minimum: the container always gets 2 s after preStop.
  int64_t left = std::max<int64_t>(graceSeconds - spent, preStop.isNull() ? 0 : 2);
  runtime_.stopContainer(containerId, left);
}

std::string PodSyncer::podIPOf(const std::string& sandboxId, bool hostNetwork) {
  if (hostNetwork || sandboxId.empty()) return opts_.hostIP;
  try {
    std::string ip = runtime_.podSandboxStatus(sandboxId).ip;
    return ip.empty() ? opts_.hostIP : ip;
  } catch (const RuntimeError&) {
    return opts_.hostIP;
  }
}

bool PodSyncer::terminate(const std::string& uid, const std::string& displayName, int64_t graceSeconds) {
  try {
    std::vector<ContainerInfo> containers = listContainers(runtime_, uid, opts_.nodeName);
    std::vector<SandboxInfo> sandboxes = listSandboxes(runtime_, uid, opts_.nodeName);
    std::string podIP = opts_.hostIP;
    for (const auto& s : sandboxes) {
      if (s.ready) podIP = podIPOf(s.id, false);
    }
    // Stop the running containers in parallel: they share one grace period, as in the kubelet. Each runs
    // its preStop hook first (from the container's annotation, so it works without the manifest).
    std::vector<std::future<void>> stops;
    for (const auto& c : containers) {
      if (c.state != ContainerState::kRunning) continue;
      stops.push_back(std::async(std::launch::async, [this, c, graceSeconds, podIP, &displayName] {
        try {
          stopGracefully(c.id, c.name, c.preStop, c.ports, podIP, graceSeconds, displayName);
          Log::info(kComponent, displayName + ": container " + c.name + " stopped (" + shortId(c.id) + ")");
        } catch (const RuntimeError& e) {
          Log::warning(kComponent, displayName + ": stopping container " + c.name + ": " + e.what());
        }
      }));
    }
    for (auto& f : stops) f.get();
    for (const auto& s : sandboxes) runtime_.stopPodSandbox(s.id);
    for (const auto& c : containers) runtime_.removeContainer(c.id);
    for (const auto& s : sandboxes) runtime_.removePodSandbox(s.id);
    try {
      cri::removePodDir(uid, opts_.translate);
    } catch (const std::exception& e) {
      Log::warning(kComponent, displayName + ": pod directory left in place: " + e.what());
    }
    Log::info(kComponent, displayName + ": pod removed (" + std::to_string(containers.size()) + " containers, " +
                              std::to_string(sandboxes.size()) + " sandboxes)");
  } catch (const std::exception& e) {
    Log::error(kComponent, displayName + ": removing the pod failed: " + e.what() + " (will retry)");
    return false;
  }
  return true;
}

std::map<std::string, int64_t> PodSyncer::listPodUids() {
  return podwarden::listPodUids(runtime_, opts_.nodeName);
}

}  // namespace podwarden
