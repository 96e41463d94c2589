#include "reconciler/PodSyncer.h"

#include "reconciler/Hooks.h"

#include "util/Log.h"

#include <algorithm>
#include <cstdint>
#include <future>
#include <limits>

namespace podwarden {

using plugin::RuntimeCall;

namespace {

constexpr const char* kComponent = "pods";

struct SandboxInfo {
  std::string id;
  int64_t attempt = 0;
  bool ready = false;
};

struct ContainerInfo {
  std::string id;
  std::string name;
  int64_t attempt = 0;
  std::string state;  // CONTAINER_CREATED | CONTAINER_RUNNING | CONTAINER_EXITED | CONTAINER_UNKNOWN
  std::string hash;
  int64_t graceSeconds = -1;
  json::ObjectPtr preStop;  // from the preStopHandler annotation, as the kubelet keeps it
  json::ArrayPtr ports;     // from the ports annotation (named httpGet ports)
};

struct ContainerDetail {
  std::string state;
  int64_t startedAt = 0;
  int64_t finishedAt = 0;
  int64_t exitCode = 0;
  std::string reason;
  std::string message;
  std::string imageRef;
};

// A container's waiting state decided during the sync (image pull failure, backoff...).
struct Waiting {
  std::string reason;
  std::string message;
};

json::ObjectPtr obj() { return new json::Object(); }

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
// something else gets it clamped into that range, so that the attempt arithmetic below cannot overflow.
int64_t getAttempt(const json::ObjectPtr& metadata) {
  return std::clamp<int64_t>(getInt64(metadata, "attempt"), 0, std::numeric_limits<uint32_t>::max());
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

json::ObjectPtr idRequest(const char* key, const std::string& id) {
  json::ObjectPtr r = obj();
  r->set(key, id);
  return r;
}

std::string shortId(const std::string& id) { return id.substr(0, 12); }

}  // namespace

PodSyncer::PodSyncer(RuntimeClient& runtime, Backoff& backoff, SyncOptions options, prober::ProbeManager* probes)
    : runtime_(runtime), backoff_(backoff), opts_(std::move(options)), probes_(probes) {}

namespace {

std::vector<SandboxInfo> listSandboxes(RuntimeClient& rt, const std::string& uid, const std::string& node) {
  std::vector<SandboxInfo> out;
  json::ObjectPtr resp = rt.call(RuntimeCall::kListPodSandbox, labelSelector(uid, node));
  json::ArrayPtr items = json::getArray(resp, "items");
  if (items.isNull()) return out;
  for (size_t i = 0; i < items->size(); ++i) {
    json::ObjectPtr it = items->getObject(static_cast<unsigned>(i));
    if (it.isNull()) continue;
    SandboxInfo s;
    s.id = json::getString(it, "id");
    s.attempt = getAttempt(json::getObject(it, "metadata"));
    s.ready = json::getString(it, "state") == "SANDBOX_READY";
    out.push_back(s);
  }
  return out;
}

std::vector<ContainerInfo> listContainers(RuntimeClient& rt, const std::string& uid, const std::string& node) {
  std::vector<ContainerInfo> out;
  json::ObjectPtr resp = rt.call(RuntimeCall::kListContainers, labelSelector(uid, node));
  json::ArrayPtr items = json::getArray(resp, "containers");
  if (items.isNull()) return out;
  for (size_t i = 0; i < items->size(); ++i) {
    json::ObjectPtr it = items->getObject(static_cast<unsigned>(i));
    if (it.isNull()) continue;
    ContainerInfo c;
    c.id = json::getString(it, "id");
    json::ObjectPtr meta = json::getObject(it, "metadata");
    json::ObjectPtr labels = json::getObject(it, "labels");
    json::ObjectPtr annotations = json::getObject(it, "annotations");
    c.name = json::getString(labels, cri::kContainerNameLabel, json::getString(meta, "name"));
    c.attempt = getAttempt(meta);
    c.state = json::getString(it, "state");
    c.hash = json::getString(annotations, cri::kContainerHashAnnotation);
    std::string grace = json::getString(annotations, cri::kPodTerminationGracePeriodAnnotation);
    if (!grace.empty()) {
      try {
        c.graceSeconds = std::stoll(grace);
      } catch (...) {
      }
    }
    try {
      std::string preStop = json::getString(annotations, cri::kContainerPreStopHandlerAnnotation);
      if (!preStop.empty()) c.preStop = json::parseObject(preStop);
      std::string ports = json::getString(annotations, cri::kContainerPortsAnnotation);
      if (!ports.empty()) {
        Poco::Dynamic::Var v = json::parse(ports);
        if (v.type() == typeid(json::ArrayPtr)) c.ports = v.extract<json::ArrayPtr>();
      }
    } catch (const std::exception&) {
      // A container whose annotations we cannot read still stops; it just gets no preStop hook.
    }
    out.push_back(c);
  }
  return out;
}

ContainerDetail containerDetail(RuntimeClient& rt, const std::string& id) {
  ContainerDetail d;
  json::ObjectPtr st = json::getObject(rt.call(RuntimeCall::kContainerStatus, idRequest("containerId", id)), "status");
  d.state = json::getString(st, "state");
  d.startedAt = getInt64(st, "startedAt");
  d.finishedAt = getInt64(st, "finishedAt");
  d.exitCode = getInt64(st, "exitCode");
  d.reason = json::getString(st, "reason");
  d.message = json::getString(st, "message");
  d.imageRef = json::getString(st, "imageRef");
  return d;
}

// The latest attempt first.
std::map<std::string, std::vector<ContainerInfo>> byName(const std::vector<ContainerInfo>& all) {
  std::map<std::string, std::vector<ContainerInfo>> m;
  for (const auto& c : all) m[c.name].push_back(c);
  for (auto& kv : m) {
    std::sort(kv.second.begin(), kv.second.end(),
              [](const ContainerInfo& a, const ContainerInfo& b) { return a.attempt > b.attempt; });
  }
  return m;
}

std::vector<json::ObjectPtr> specContainers(const json::ObjectPtr& pod, const char* field) {
  std::vector<json::ObjectPtr> out;
  json::ArrayPtr arr = json::getArray(json::getObject(pod, "spec"), field);
  if (arr.isNull()) return out;
  for (size_t i = 0; i < arr->size(); ++i) {
    json::ObjectPtr c = arr->getObject(static_cast<unsigned>(i));
    if (!c.isNull()) out.push_back(c);
  }
  return out;
}

}  // namespace

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
  json::ObjectPtr req = idRequest("containerId", containerId);
  req->set("timeout", left);
  runtime_.call(RuntimeCall::kStopContainer, req, seconds(left + 60));
}

std::string PodSyncer::podIPOf(const std::string& sandboxId, bool hostNetwork) {
  if (hostNetwork || sandboxId.empty()) return opts_.hostIP;
  try {
    json::ObjectPtr st = json::getObject(
        runtime_.call(RuntimeCall::kPodSandboxStatus, idRequest("podSandboxId", sandboxId)), "status");
    std::string ip = json::getString(json::getObject(st, "network"), "ip");
    return ip.empty() ? opts_.hostIP : ip;
  } catch (const RuntimeError&) {
    return opts_.hostIP;
  }
}

bool PodSyncer::imagePresent(const std::string& image) {
  json::ObjectPtr req = obj();
  json::ObjectPtr spec = obj();
  spec->set("image", image);
  req->set("image", spec);
  json::ObjectPtr present = json::getObject(runtime_.call(RuntimeCall::kImageStatus, req), "image");
  return !present.isNull() && !json::getString(present, "id").empty();
}

SyncResult PodSyncer::sync(const manifest::StaticPod& pod, PodRuntimeState& state) {
  SyncResult result;
  const std::string& uid = pod.uid;
  const std::string who = pod.ns + "/" + pod.name;
  const std::string policy = json::getString(json::getObject(pod.pod, "spec"), "restartPolicy", "Always");
  const int64_t grace = json::getInt(json::getObject(pod.pod, "spec"), "terminationGracePeriodSeconds", 30);
  const int64_t now = opts_.nowUnixNs();
  if (state.startTimeNs == 0) state.startTimeNs = now;

  std::map<std::string, Waiting> waiting;  // container name -> why it is not running
  std::string podError;
  auto requeue = [&](std::chrono::milliseconds after) {
    if (!result.requeueAfter || after < *result.requeueAfter) result.requeueAfter = after;
  };

  std::vector<json::ObjectPtr> initSpecs = specContainers(pod.pod, "initContainers");
  std::vector<json::ObjectPtr> appSpecs = specContainers(pod.pod, "containers");

  try {
    // 1. The sandbox.
    std::vector<ContainerInfo> containers;
    std::vector<SandboxInfo> sandboxes;
    if (state.knownAbsent) {
      state.knownAbsent = false;
    } else {
      // The two listings are independent; overlapping them shortens manifest-to-running.
      auto sandboxesFuture =
          std::async(std::launch::async, [&] { return listSandboxes(runtime_, uid, opts_.nodeName); });
      containers = listContainers(runtime_, uid, opts_.nodeName);
      sandboxes = sandboxesFuture.get();
    }
    const SandboxInfo* ready = nullptr;
    for (const auto& s : sandboxes) {
      if (s.ready && (!ready || s.attempt > ready->attempt)) ready = &s;
    }
    std::map<std::string, int64_t> nextAttempt;  // survives a sandbox change: restart counts keep counting
    std::map<std::string, std::future<bool>> imageStatus;  // image -> present (prefetched)
    uint32_t sandboxAttempt = 0;
    // The kubelet's computePodActions: a pod that must not restart and already ran keeps its (dead)
    // containers for status and gets no new sandbox; nothing more is started.
    const bool finished = ready == nullptr && policy == "Never" && !sandboxes.empty() && !containers.empty();
    if (finished) {
      state.sandboxId.clear();
    } else if (ready == nullptr) {
      // No usable sandbox: like the kubelet, kill whatever is left of the pod and start a new attempt.
      for (const auto& c : containers) {
        nextAttempt[c.name] = std::max(nextAttempt[c.name], c.attempt + 1);
        runtime_.call(RuntimeCall::kRemoveContainer, idRequest("containerId", c.id));
      }
      int64_t maxAttempt = -1;
      for (const auto& s : sandboxes) {
        maxAttempt = std::max(maxAttempt, s.attempt);
        runtime_.call(RuntimeCall::kStopPodSandbox, idRequest("podSandboxId", s.id));
        runtime_.call(RuntimeCall::kRemovePodSandbox, idRequest("podSandboxId", s.id));
      }
      containers.clear();
      // A new sandbox means every container will be created: ask for their images while the sandbox starts.
      for (const char* field : {"initContainers", "containers"}) {
        for (const auto& spec : specContainers(pod.pod, field)) {
          std::string image = json::getString(spec, "image");
          if (image.empty() || imageStatus.count(image)) continue;
          imageStatus.emplace(image, std::async(std::launch::async, [this, image] { return imagePresent(image); }));
        }
      }
      std::vector<cri::VolumeProblem> problems = cri::prepareVolumes(pod.pod, opts_.translate);
      std::string volumeErrors;
      for (const auto& p : problems) {
        if (p.warning) {
          Log::warning(kComponent, who + ": volume " + p.volume + ": " + p.message);
        } else {
          volumeErrors += (volumeErrors.empty() ? "" : "; ") + ("volume " + p.volume + ": " + p.message);
        }
      }
      if (!volumeErrors.empty()) throw RuntimeError(PW_FAILED_PRECONDITION, volumeErrors);
      sandboxAttempt = static_cast<uint32_t>(maxAttempt + 1);
      json::ObjectPtr req = obj();
      req->set("config", cri::sandboxConfig(pod.pod, sandboxAttempt, opts_.translate));
      req->set("runtimeHandler", "");
      json::ObjectPtr resp = runtime_.call(RuntimeCall::kRunPodSandbox, req);
      state.sandboxId = json::getString(resp, "podSandboxId");
      Log::info(kComponent, who + ": sandbox " + shortId(state.sandboxId) + " started (attempt " +
                                std::to_string(sandboxAttempt) + ")");
    } else {
      if (state.sandboxId != ready->id && !state.sandboxId.empty()) {
        Log::info(kComponent, who + ": sandbox " + shortId(ready->id) + " found");
      }
      state.sandboxId = ready->id;
      sandboxAttempt = static_cast<uint32_t>(ready->attempt);
    }
    json::ObjectPtr sandboxCfg = cri::sandboxConfig(pod.pod, sandboxAttempt, opts_.translate);
    auto groups = byName(containers);

    // Starts container `spec` as attempt `attempt` (image first).
    auto startContainer = [&](const json::ObjectPtr& spec, int64_t attempt, const char* verb) -> bool {
      const std::string name = json::getString(spec, "name");
      const std::string image = json::getString(spec, "image");
      const std::string pullPolicy = json::getString(spec, "imagePullPolicy", "IfNotPresent");
      // Image: the kubelet's pull policy.
      json::ObjectPtr imageReq = obj();
      json::ObjectPtr imageSpec = obj();
      imageSpec->set("image", image);
      imageReq->set("image", imageSpec);
      auto prefetched = imageStatus.find(image);
      bool havePresent = prefetched != imageStatus.end() && prefetched->second.valid() ? prefetched->second.get()
                                                                                       : imagePresent(image);
      const std::string pullKey = "pull/" + uid + "/" + name;
      if (pullPolicy == "Never" && !havePresent) {
        waiting[name] = {"ErrImageNeverPull",
                         "container image \"" + image + "\" is not present with pull policy of Never"};
        requeue(std::chrono::seconds(10));
        return false;
      }
      if (pullPolicy == "Always" || !havePresent) {
        std::chrono::milliseconds left(0);
        if (backoff_.inBackoffSinceLastFailure(pullKey, opts_.monotonicNs(), &left)) {
          waiting[name] = {"ImagePullBackOff", "Back-off pulling image \"" + image + "\""};
          requeue(left);
          return false;
        }
        try {
          runtime_.call(RuntimeCall::kPullImage, imageReq, std::chrono::minutes(5));
          Log::info(kComponent, who + ": pulled image " + image + " for container " + name);
        } catch (const RuntimeError& e) {
          backoff_.next(pullKey, opts_.monotonicNs());
          waiting[name] = {"ErrImagePull", e.what()};
          Log::warning(kComponent, who + ": container " + name + ": cannot pull image " + image + ": " + e.what());
          requeue(backoff_.delay(pullKey));
          return false;
        }
      }
      json::ObjectPtr cfg;
      try {
        cfg = cri::containerConfig(pod.pod, spec, static_cast<uint32_t>(attempt), opts_.translate);
      } catch (const cri::TranslateError& e) {
        waiting[name] = {"CreateContainerConfigError", e.what()};
        return false;
      }
      json::ObjectPtr req = obj();
      req->set("podSandboxId", state.sandboxId);
      req->set("config", cfg);
      req->set("sandboxConfig", sandboxCfg);
      std::string id;
      try {
        id = json::getString(runtime_.call(RuntimeCall::kCreateContainer, req), "containerId");
      } catch (const RuntimeError& e) {
        waiting[name] = {"CreateContainerError", e.what()};
        Log::warning(kComponent, who + ": container " + name + ": " + e.what());
        requeue(std::chrono::seconds(10));
        return false;
      }
      state.knownContainers.insert(id);
      try {
        runtime_.call(RuntimeCall::kStartContainer, idRequest("containerId", id));
      } catch (const RuntimeError& e) {
        waiting[name] = {"RunContainerError", e.what()};
        Log::warning(kComponent, who + ": container " + name + ": " + e.what());
        requeue(std::chrono::seconds(10));
        return false;
      }
      Log::info(kComponent, who + ": container " + name + " " + verb + " (" + shortId(id) +
                                (attempt > 0 ? ", restart count " + std::to_string(attempt) : std::string()) + ")");
      json::ObjectPtr postStart = json::getObject(json::getObject(spec, "lifecycle"), "postStart");
      if (!postStart.isNull()) {
        const bool hostNetwork = json::getBool(json::getObject(pod.pod, "spec"), "hostNetwork");
        HookResult r = runLifecycleHandler(runtime_, id, postStart, json::getArray(spec, "ports"),
                                           podIPOf(state.sandboxId, hostNetwork), std::chrono::seconds(30));
        if (!r.ok) {
          // The kubelet kills a container whose postStart hook failed; restartPolicy decides what follows.
          Log::warning(kComponent, who + ": container " + name + ": postStart hook failed: " + r.message +
                                       "; killing it");
          state.exitReasons[id] = {"FailedPostStartHook", "PostStartHookError: " + r.message};
          json::ObjectPtr stop = idRequest("containerId", id);
          stop->set("timeout", grace);
          runtime_.call(RuntimeCall::kStopContainer, stop, std::chrono::seconds(grace + 60));
          return false;
        }
      }
      return true;
    };

    // Decides what to do with the latest instance of `spec`. Returns true when the container is running
    // (or done, for init containers that succeeded).
    auto ensure = [&](const json::ObjectPtr& spec, bool isInit) -> bool {
      const std::string name = json::getString(spec, "name");
      const std::string hash = cri::containerHash(spec);
      auto it = groups.find(name);
      int64_t attempt = nextAttempt.count(name) ? nextAttempt[name] : 0;
      if (it != groups.end() && !it->second.empty()) {
        ContainerInfo& latest = it->second.front();
        if (latest.state == "CONTAINER_RUNNING") {
          // A runtime's listing can lag its events (Docker lists a container as running for a moment after
          // its `die` event); ContainerStatus is authoritative, and a sync woken by that event must see
          // the exit.
          latest.state = containerDetail(runtime_, latest.id).state;
        }
        attempt = std::max(attempt, latest.attempt + 1);
        if (latest.state == "CONTAINER_RUNNING") {
          prober::ProbeManager::Result probe = probes_ ? probes_->result(latest.id) : prober::ProbeManager::Result();
          if (latest.hash == hash && probe.livenessFailed) {
            // The kubelet kills a container whose liveness (or startup) probe failed; the restart then
            // follows restartPolicy and the backoff like any other exit, on the next sync.
            Log::warning(kComponent, who + ": container " + name + ": " + probe.message + "; killing it");
            state.exitReasons[latest.id] = {"", probe.message};
            stopGracefully(latest.id, name, latest.preStop, latest.ports,
                           podIPOf(state.sandboxId, json::getBool(json::getObject(pod.pod, "spec"), "hostNetwork")),
                           grace, who);
            requeue(std::chrono::milliseconds(0));
            return false;
          }
          if (latest.hash == hash) {
            if (!state.knownContainers.count(latest.id)) {
              state.knownContainers.insert(latest.id);
              Log::info(kComponent, who + ": container " + name + " adopted (" + shortId(latest.id) +
                                        ", already running with the same spec)");
            }
            return !isInit;
          }
          // Only a pinned UID can change a container in place.
          Log::info(kComponent, who + ": container " + name + " spec changed; restarting it");
          stopGracefully(latest.id, name, latest.preStop, latest.ports,
                         podIPOf(state.sandboxId, json::getBool(json::getObject(pod.pod, "spec"), "hostNetwork")),
                         grace, who);
          return startContainer(spec, attempt, "restarted after a spec change") && !isInit;
        }
        if (latest.state == "CONTAINER_CREATED") {
          runtime_.call(RuntimeCall::kStartContainer, idRequest("containerId", latest.id));
          state.knownContainers.insert(latest.id);
          Log::info(kComponent, who + ": container " + name + " started (" + shortId(latest.id) + ")");
          return !isInit;
        }
        // Exited (or unknown): restartPolicy decides.
        ContainerDetail d = containerDetail(runtime_, latest.id);
        bool succeeded = d.exitCode == 0 && latest.state == "CONTAINER_EXITED";
        if (isInit && succeeded && latest.hash == hash) return true;
        bool restart = policy == "Always" || (policy == "OnFailure" && !succeeded) || (isInit && !succeeded && policy != "Never");
        if (latest.hash != hash) restart = true;
        if (!restart) return false;
        const std::string key = uid + "/" + name + "/" + hash;
        std::chrono::milliseconds left(0);
        // Backoff is measured from when the container finished, in monotonic time.
        int64_t finishedAgoNs = d.finishedAt > 0 ? std::max<int64_t>(0, now - d.finishedAt) : 0;
        int64_t mono = opts_.monotonicNs();
        if (backoff_.inBackoff(key, mono - finishedAgoNs, mono, &left)) {
          waiting[name] = {"CrashLoopBackOff", "back-off " + std::to_string(backoff_.delay(key).count() / 1000) +
                                                   "s restarting failed container=" + name + " pod=" + pod.name +
                                                   "_" + pod.ns + "(" + uid + ")"};
          requeue(left);
          return false;
        }
        backoff_.next(key, mono);
        // Keep the latest dead instance (its status is lastState), remove older ones.
        for (size_t i = 1; i < it->second.size(); ++i) {
          runtime_.call(RuntimeCall::kRemoveContainer, idRequest("containerId", it->second[i].id));
        }
        Log::info(kComponent, who + ": container " + name + " exited with code " + std::to_string(d.exitCode) +
                                  (d.reason.empty() ? "" : " (" + d.reason + ")") + "; restarting (restartPolicy " +
                                  policy + ")");
        return startContainer(spec, attempt, "restarted") && !isInit;
      }
      return startContainer(spec, attempt, "created and started") && !isInit;
    };

    // 2. Init containers, in order, each to success. Once an app container has run, they are done.
    bool appStarted = false;
    for (const auto& spec : appSpecs) {
      if (groups.count(json::getString(spec, "name"))) appStarted = true;
    }
    bool initDone = !finished;
    if (!appStarted && !finished) {
      for (const auto& spec : initSpecs) {
        if (!ensure(spec, true)) {
          initDone = false;
          break;
        }
      }
    }
    // 3. App containers.
    if (initDone) {
      for (const auto& spec : appSpecs) ensure(spec, false);
    }
    // 4. Containers no longer in the spec (a pinned-UID edit removed them).
    std::set<std::string> specNames;
    for (const auto& s : initSpecs) specNames.insert(json::getString(s, "name"));
    for (const auto& s : appSpecs) specNames.insert(json::getString(s, "name"));
    for (const auto& c : containers) {
      if (finished || specNames.count(c.name)) continue;
      if (c.state == "CONTAINER_RUNNING") {
        stopGracefully(c.id, c.name, c.preStop, c.ports,
                       podIPOf(state.sandboxId, json::getBool(json::getObject(pod.pod, "spec"), "hostNetwork")),
                       grace, who);
      }
      runtime_.call(RuntimeCall::kRemoveContainer, idRequest("containerId", c.id));
      Log::info(kComponent, who + ": container " + c.name + " removed (no longer in the manifest)");
    }
  } catch (const RuntimeError& e) {
    podError = e.what();
    requeue(std::chrono::seconds(10));
  } catch (const cri::TranslateError& e) {
    podError = e.what();
    requeue(std::chrono::seconds(30));
  } catch (const std::exception& e) {
    // Anything else (filesystem errors while preparing volumes...) is this pod's problem, not the daemon's.
    podError = e.what();
    requeue(std::chrono::seconds(10));
  }
  if (podError != state.lastLoggedError) {
    if (!podError.empty()) Log::error(kComponent, who + ": " + podError);
    state.lastLoggedError = podError;
  }
  state.lastError = podError;

  // 5. Observe and build the status.
  json::ObjectPtr status = obj();
  std::vector<ContainerInfo> containers;
  try {
    containers = listContainers(runtime_, uid, opts_.nodeName);
  } catch (const RuntimeError& e) {
    if (podError.empty()) podError = e.what();
    requeue(std::chrono::seconds(10));
  }
  state.containerIds.clear();
  for (const auto& c : containers) state.containerIds.push_back(c.id);
  auto groups = byName(containers);

  // Per container: state, lastState, restartCount. Counters follow the kubelet's getPhase: a waiting
  // container with a previous termination counts as stopped, one that never ran as waiting.
  int running = 0, waitingCount = 0, stopped = 0, succeeded = 0;
  bool allReady = true;
  auto terminatedOf = [&](const std::string& id, const ContainerDetail& d) {
    json::ObjectPtr t = obj();
    t->set("exitCode", d.exitCode);
    auto override = state.exitReasons.find(id);
    if (override != state.exitReasons.end()) {
      // An empty reason keeps the runtime's (a liveness kill is an Error exit with the probe's message).
      const std::string runtimeReason = d.reason.empty() ? (d.exitCode == 0 ? "Completed" : "Error") : d.reason;
      t->set("reason", override->second.first.empty() ? runtimeReason : override->second.first);
      t->set("message", override->second.second);
    } else {
      t->set("reason", d.reason.empty() ? (d.exitCode == 0 ? "Completed" : "Error") : d.reason);
      if (!d.message.empty()) t->set("message", d.message);
    }
    if (d.startedAt > 0) t->set("startedAt", json::rfc3339(d.startedAt));
    if (d.finishedAt > 0) t->set("finishedAt", json::rfc3339(d.finishedAt));
    t->set("containerID", opts_.runtimeName + "://" + id);
    json::ObjectPtr wrap = obj();
    wrap->set("terminated", t);
    return wrap;
  };
  auto waitingState = [&](const std::string& name, const std::string& fallback) {
    json::ObjectPtr w = obj();
    auto wit = waiting.find(name);
    w->set("reason", wit != waiting.end() ? wit->second.reason : fallback);
    if (wit != waiting.end() && !wit->second.message.empty()) w->set("message", wit->second.message);
    json::ObjectPtr st = obj();
    st->set("waiting", w);
    return st;
  };
  std::vector<prober::ProbeTarget> probeTargets;  // running app containers, for the prober
  auto containerStatus = [&](const json::ObjectPtr& spec, bool isInit, bool count) -> json::ObjectPtr {
    const std::string name = json::getString(spec, "name");
    json::ObjectPtr cs = obj();
    cs->set("name", name);
    cs->set("image", json::getString(spec, "image"));
    cs->set("imageID", "");
    cs->set("restartCount", 0);
    cs->set("ready", false);
    cs->set("started", false);
    auto git = groups.find(name);
    if (git == groups.end() || git->second.empty()) {
      cs->set("state", waitingState(name, "ContainerCreating"));
      if (count) ++waitingCount;
      allReady = false;
      return cs;
    }
    const ContainerInfo& latest = git->second.front();
    ContainerDetail d;
    try {
      d = containerDetail(runtime_, latest.id);
    } catch (const RuntimeError&) {
      d.state = latest.state;
    }
    cs->set("restartCount", latest.attempt);
    cs->set("containerID", opts_.runtimeName + "://" + latest.id);
    cs->set("imageID", d.imageRef);
    if (d.state == "CONTAINER_RUNNING") {
      json::ObjectPtr r = obj();
      r->set("startedAt", json::rfc3339(d.startedAt));
      json::ObjectPtr st = obj();
      st->set("running", r);
      cs->set("state", st);
      prober::ProbeManager::Result probe = probes_ ? probes_->result(latest.id) : prober::ProbeManager::Result();
      if (probes_ && !probe.known) {
        // Not registered with the prober yet (it is, below): the kubelet's initial results apply, so a
        // container with a readiness probe starts not ready and one with a startup probe not started.
        probe.started = !json::has(spec, "startupProbe");
        probe.ready = !json::has(spec, "readinessProbe");
      }
      cs->set("started", probe.started);
      cs->set("ready", probe.ready && probe.started);
      if (!(probe.ready && probe.started)) allReady = false;
      if (!isInit) {
        prober::ProbeTarget target;
        target.uid = uid;
        target.podName = who;
        target.containerName = name;
        target.containerId = latest.id;
        target.containerSpec = spec;
        target.pod = pod.pod;
        // The prober's clock is monotonic; the runtime reports wall time.
        target.startedAtNs = d.startedAt > 0 ? opts_.monotonicNs() - (opts_.nowUnixNs() - d.startedAt) : 0;
        probeTargets.push_back(std::move(target));
      }
      if (git->second.size() > 1) {
        try {
          cs->set("lastState", terminatedOf(git->second[1].id, containerDetail(runtime_, git->second[1].id)));
        } catch (const RuntimeError&) {
        }
      }
      if (count) ++running;
      return cs;
    }
    allReady = false;
    if (d.state == "CONTAINER_EXITED") {
      const bool ok = d.exitCode == 0;
      const bool willRestart = waiting.count(name) > 0 ||
                               (isInit ? (!ok && policy != "Never")
                                       : (policy == "Always" || (policy == "OnFailure" && !ok)));
      if (willRestart) {
        cs->set("state", waitingState(name, "CrashLoopBackOff"));
        cs->set("lastState", terminatedOf(latest.id, d));
      } else {
        cs->set("state", terminatedOf(latest.id, d));
        if (count && ok) ++succeeded;
      }
      if (count) ++stopped;
      return cs;
    }
    cs->set("state", waitingState(name, "ContainerCreating"));
    if (count) ++waitingCount;
    return cs;
  };

  json::ArrayPtr initStatuses = new json::Array();
  bool initialized = true;
  bool initFailedForGood = false;
  bool appRan = false;
  for (const auto& spec : appSpecs) {
    if (groups.count(json::getString(spec, "name"))) appRan = true;
  }
  for (const auto& spec : initSpecs) {
    json::ObjectPtr cs = containerStatus(spec, true, false);
    json::ObjectPtr term = json::getObject(json::getObject(cs, "state"), "terminated");
    bool ok = !term.isNull() && json::getInt(term, "exitCode", 1) == 0;
    if (ok) cs->set("ready", true);
    if (!term.isNull() && !ok) initFailedForGood = true;
    if (!ok && !appRan) initialized = false;
    initStatuses->add(cs);
  }
  allReady = true;
  json::ArrayPtr statuses = new json::Array();
  for (const auto& spec : appSpecs) statuses->add(containerStatus(spec, false, true));

  // The kubelet's getPhase.
  std::string phase = "Pending";
  const int total = static_cast<int>(appSpecs.size());
  if (!initialized) {
    phase = initFailedForGood ? "Failed" : "Pending";
  } else if (waitingCount > 0) {
    phase = "Pending";
  } else if (running > 0) {
    phase = "Running";
  } else if (stopped > 0) {
    if (policy == "Always") phase = "Running";
    else if (stopped == succeeded) phase = "Succeeded";
    else if (policy == "OnFailure") phase = "Running";
    else phase = "Failed";
  }

  auto condition = [&](const std::string& type, bool value, json::ArrayPtr out) {
    std::string v = value ? "True" : "False";
    auto& entry = state.conditions[type];
    if (entry.first != v) entry = {v, json::rfc3339(now)};
    json::ObjectPtr c = obj();
    c->set("type", type);
    c->set("status", v);
    c->set("lastProbeTime", Poco::Dynamic::Var());
    c->set("lastTransitionTime", entry.second);
    out->add(c);
  };
  json::ArrayPtr conditions = new json::Array();
  const bool containersReady = allReady && total > 0 && running == total;
  condition("Initialized", initialized, conditions);
  condition("Ready", containersReady, conditions);
  condition("ContainersReady", containersReady, conditions);
  condition("PodScheduled", true, conditions);

  status->set("phase", phase);
  status->set("conditions", conditions);
  status->set("hostIP", opts_.hostIP);
  json::ArrayPtr hostIPs = new json::Array();
  json::ObjectPtr hip = obj();
  hip->set("ip", opts_.hostIP);
  hostIPs->add(hip);
  status->set("hostIPs", hostIPs);
  bool hostNetwork = json::getBool(json::getObject(pod.pod, "spec"), "hostNetwork");
  std::string podIP;
  if (hostNetwork) {
    podIP = opts_.hostIP;
  } else if (!state.sandboxId.empty()) {
    try {
      json::ObjectPtr sst = json::getObject(
          runtime_.call(RuntimeCall::kPodSandboxStatus, idRequest("podSandboxId", state.sandboxId)), "status");
      podIP = json::getString(json::getObject(sst, "network"), "ip");
    } catch (const RuntimeError&) {
    }
  }
  if (!podIP.empty()) {
    status->set("podIP", podIP);
    json::ArrayPtr podIPs = new json::Array();
    json::ObjectPtr pip = obj();
    pip->set("ip", podIP);
    podIPs->add(pip);
    status->set("podIPs", podIPs);
  }
  if (probes_) {
    // Probes reach the pod at its IP; hostNetwork pods at the host's (probes usually name 127.0.0.1).
    for (auto& t : probeTargets) t.podIP = podIP.empty() ? opts_.hostIP : podIP;
    probes_->setContainers(uid, std::move(probeTargets));
  }
  status->set("startTime", json::rfc3339(state.startTimeNs));
  status->set("qosClass", cri::qosClass(pod.pod));
  if (initStatuses->size() > 0) status->set("initContainerStatuses", initStatuses);
  status->set("containerStatuses", statuses);
  if (!podError.empty()) {
    status->set("reason", "SyncError");
    status->set("message", podError);
  }
  result.status = status;
  return result;
}

bool PodSyncer::terminate(const std::string& uid, const std::string& displayName, int64_t graceSeconds) {
  bool ok = true;
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
      if (c.state != "CONTAINER_RUNNING") continue;
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
    for (const auto& s : sandboxes) runtime_.call(RuntimeCall::kStopPodSandbox, idRequest("podSandboxId", s.id));
    for (const auto& c : containers) runtime_.call(RuntimeCall::kRemoveContainer, idRequest("containerId", c.id));
    for (const auto& s : sandboxes) runtime_.call(RuntimeCall::kRemovePodSandbox, idRequest("podSandboxId", s.id));
    try {
      cri::removePodDir(uid, opts_.translate);
    } catch (const std::exception& e) {
      Log::warning(kComponent, displayName + ": pod directory left in place: " + e.what());
    }
    Log::info(kComponent, displayName + ": pod removed (" + std::to_string(containers.size()) + " containers, " +
                              std::to_string(sandboxes.size()) + " sandboxes)");
  } catch (const std::exception& e) {
    Log::error(kComponent, displayName + ": removing the pod failed: " + e.what() + " (will retry)");
    ok = false;
  }
  return ok;
}

std::map<std::string, int64_t> PodSyncer::listPodUids() {
  std::map<std::string, int64_t> out;
  json::ObjectPtr req = labelSelector("", opts_.nodeName);
  json::ArrayPtr items = json::getArray(runtime_.call(RuntimeCall::kListPodSandbox, req), "items");
  for (size_t i = 0; items && i < items->size(); ++i) {
    json::ObjectPtr labels = json::getObject(items->getObject(static_cast<unsigned>(i)), "labels");
    std::string uid = json::getString(labels, cri::kPodUidLabel);
    if (!uid.empty()) out.emplace(uid, 30);
  }
  json::ArrayPtr cs = json::getArray(runtime_.call(RuntimeCall::kListContainers, req), "containers");
  for (size_t i = 0; cs && i < cs->size(); ++i) {
    json::ObjectPtr it = cs->getObject(static_cast<unsigned>(i));
    std::string uid = json::getString(json::getObject(it, "labels"), cri::kPodUidLabel);
    std::string grace = json::getString(json::getObject(it, "annotations"), cri::kPodTerminationGracePeriodAnnotation);
    if (uid.empty()) continue;
    int64_t g = 30;
    try {
      if (!grace.empty()) g = std::stoll(grace);
    } catch (...) {
    }
    out[uid] = g;
  }
  return out;
}

}  // namespace podwarden
