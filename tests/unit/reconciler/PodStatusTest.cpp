// PodStatusTest - buildPodStatus as tables: a pod (from a YAML manifest), what the runtime had after the
// sync and the sync's context go in; the v1 PodStatus comes out, checked field by field through short paths
// ("containerStatuses[app].state.waiting.reason"). Expected values follow the status the sync built before
// the split (PodSyncer::sync) and the kubelet: getPhase, container states with lastState and restartCount,
// readiness with the prober's initial results, conditions with stable transition times, IPs, times, QoS,
// SyncError, and the probe targets handed to the prober.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "manifest/Manifest.h"
#include "reconciler/PodActions.h"
#include "reconciler/PodStatus.h"

using namespace podwarden;

using Result = prober::ProbeManager::Result;

namespace {

constexpr int64_t kSecond = 1000000000LL;
constexpr int64_t kNow = 1767225600LL * kSecond;  // 2026-01-01T00:00:00Z
constexpr int64_t kMono = 5000 * kSecond;
constexpr const char* kImage = "podwarden.local/busybox:1.36";
constexpr const char* kHostIP = "192.0.2.10";
constexpr const char* kPodIP = "10.88.0.5";
constexpr const char* kAbsent = "<absent>";
constexpr const char* kPresent = "<present>";

// The times below, as RFC 3339.
constexpr const char* kNowText = "2026-01-01T00:00:00Z";
constexpr const char* kStartedText = "2025-12-31T23:59:00Z";    // kNow - 60 s
constexpr const char* kFinishedText = "2025-12-31T23:59:55Z";   // kNow - 5 s
constexpr const char* kStartTimeText = "2025-12-31T23:58:00Z";  // kNow - 120 s

constexpr const char* kReadinessProbe = "    readinessProbe:\n      exec:\n        command: [\"true\"]\n";
constexpr const char* kStartupProbe = "    startupProbe:\n      exec:\n        command: [\"true\"]\n";
constexpr const char* kGuaranteed =
    "    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n      limits: {cpu: 100m, memory: 64Mi}\n";
constexpr const char* kBurstable = "    resources:\n      requests: {cpu: 100m}\n";

// ---- The pod ----

std::string containerYaml(const std::string& name, const std::map<std::string, std::string>& extra) {
  auto it = extra.find(name);
  return "  - name: " + name + "\n    image: " + kImage + "\n    command: [\"sleep\", \"3600\"]\n" +
         (it == extra.end() ? "" : it->second);
}

std::string podYaml(const std::string& policy, const std::vector<std::string>& init,
                    const std::vector<std::string>& apps, const std::map<std::string, std::string>& extra) {
  std::string y =
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: kube-system\nspec:\n"
      "  restartPolicy: " +
      policy + "\n";
  if (!init.empty()) y += "  initContainers:\n";
  for (const auto& n : init) y += containerYaml(n, extra);
  y += "  containers:\n";
  for (const auto& n : apps) y += containerYaml(n, extra);
  return y;
}

PodIntent intentOf(const std::string& yaml) {
  manifest::ParseOptions po;
  po.nodeName = "node1";
  po.seenUnixNs = kNow;
  manifest::ParseResult r = manifest::parseManifest(yaml, {"file", "/etc/kubernetes/manifests/web.yaml"}, po);
  std::string problems;
  for (const auto& p : r.errors) problems += p.toString() + "\n";
  CPPUNIT_ASSERT_MESSAGE("manifest rejected:\n" + problems + yaml, r.pod.has_value());
  return podIntent(r.pod->uid, r.pod->name, r.pod->ns, r.pod->pod);
}

// ---- What the runtime had ----

ContainerInfo listed(const std::string& id, const std::string& name, int64_t attempt, ContainerState state) {
  ContainerInfo c;
  c.id = id;
  c.name = name;
  c.attempt = attempt;
  c.state = state;
  return c;
}

ContainerDetail running(int64_t startedAgoSec = 60) {
  ContainerDetail d;
  d.state = ContainerState::kRunning;
  d.startedAt = kNow - startedAgoSec * kSecond;
  d.imageRef = "sha256:1111";
  return d;
}

// Started 60 s and finished 5 s before kNow.
ContainerDetail exited(int64_t code, const std::string& reason = "", const std::string& message = "") {
  ContainerDetail d;
  d.state = ContainerState::kExited;
  d.exitCode = code;
  d.startedAt = kNow - 60 * kSecond;
  d.finishedAt = kNow - 5 * kSecond;
  d.reason = reason;
  d.message = message;
  d.imageRef = "sha256:1111";
  return d;
}

ContainerDetail withState(ContainerState s) {
  ContainerDetail d;
  d.state = s;
  return d;
}

Result probeResult(bool ready, bool started) {
  Result r;
  r.known = true;
  r.ready = ready;
  r.started = started;
  return r;
}

// One row. Defaults: restartPolicy Always, one app container "app", nothing listed, not probing, pod IP
// kPodIP. `expect` pairs a path in the status with its value (kAbsent: no such field; kPresent: any value).
struct Case {
  explicit Case(std::string n) : name(std::move(n)) {}
  Case& policy(std::string p) { return set(policy_, std::move(p)); }
  Case& init(std::vector<std::string> names) { return set(init_, std::move(names)); }
  Case& apps(std::vector<std::string> names) { return set(apps_, std::move(names)); }
  Case& yaml(const std::string& container, std::string lines) {
    extra_[container] += lines;
    return *this;
  }
  Case& has(const ContainerInfo& c) {
    containers_.push_back(c);
    return *this;
  }
  Case& has(const ContainerInfo& c, const ContainerDetail& d) {
    details_[c.id] = d;
    return has(c);
  }
  Case& probing() { return set(probing_, true); }
  Case& probe(const std::string& id, const Result& r) {
    probes_[id] = r;
    return probing();
  }
  Case& podIP(std::string ip) { return set(podIP_, std::move(ip)); }
  Case& waiting(const std::string& name, std::string reason, std::string message) {
    waiting_[name] = Waiting{std::move(reason), std::move(message)};
    return *this;
  }
  Case& exitReason(const std::string& id, std::string reason, std::string message) {
    exitReasons_[id] = {std::move(reason), std::move(message)};
    return *this;
  }
  Case& podError(std::string e) { return set(podError_, std::move(e)); }
  Case& runtimeName(std::string n) { return set(runtimeName_, std::move(n)); }
  Case& expect(std::string path, std::string value) {
    expect_.emplace_back(std::move(path), std::move(value));
    return *this;
  }
  // The probe targets, rendered by renderTarget, in order.
  Case& targets(std::vector<std::string> t) {
    return set(targets_, std::optional<std::vector<std::string>>(t));
  }

  std::string name;
  std::string policy_ = "Always";
  std::vector<std::string> init_;
  std::vector<std::string> apps_{"app"};
  std::map<std::string, std::string> extra_;  // container -> more YAML lines of its spec
  std::vector<ContainerInfo> containers_;
  std::map<std::string, ContainerDetail> details_;
  std::map<std::string, Result> probes_;
  bool probing_ = false;
  std::string podIP_ = kPodIP;
  std::map<std::string, Waiting> waiting_;
  std::map<std::string, std::pair<std::string, std::string>> exitReasons_;
  std::string podError_;
  std::string runtimeName_ = "docker";
  std::vector<std::pair<std::string, std::string>> expect_;
  std::optional<std::vector<std::string>> targets_;

 private:
  template <typename T, typename V>
  Case& set(T& field, V&& value) {
    field = std::forward<V>(value);
    return *this;
  }
};

// Grouped by name, the latest attempt first (as the sync hands them over).
ContainerGroups groupsOf(const std::vector<ContainerInfo>& containers) {
  ContainerGroups g;
  for (const auto& c : containers) g[c.name].push_back(c);
  for (auto& kv : g) {
    std::sort(kv.second.begin(), kv.second.end(),
              [](const ContainerInfo& a, const ContainerInfo& b) { return a.attempt > b.attempt; });
  }
  return g;
}

StatusObservation observationOf(const Case& c) {
  StatusObservation o;
  o.groups = groupsOf(c.containers_);
  o.details = c.details_;
  o.probes = c.probes_;
  o.probing = c.probing_;
  o.podIP = c.podIP_;
  return o;
}

StatusContext contextOf(const Case& c, int64_t nowNs = kNow) {
  StatusContext ctx;
  ctx.hostIP = kHostIP;
  ctx.runtimeName = c.runtimeName_;
  ctx.nowUnixNs = nowNs;
  ctx.monotonicNs = kMono + (nowNs - kNow);
  ctx.startTimeNs = kNow - 120 * kSecond;
  ctx.podError = c.podError_;
  ctx.waiting = c.waiting_.empty() ? nullptr : &c.waiting_;
  ctx.exitReasons = c.exitReasons_.empty() ? nullptr : &c.exitReasons_;
  return ctx;
}

// ---- Reading the status ----

// One path step: `key`, or `key[sel]` (the array element with name or type `sel`, or index `sel`).
bool descend(Poco::Dynamic::Var& cur, const std::string& key) {
  if (cur.type() != typeid(json::ObjectPtr)) return false;
  json::ObjectPtr o = cur.extract<json::ObjectPtr>();
  if (o.isNull() || !o->has(key)) return false;
  cur = o->get(key);
  return true;
}

bool select(Poco::Dynamic::Var& cur, const std::string& sel) {
  if (cur.type() != typeid(json::ArrayPtr)) return false;
  json::ArrayPtr a = cur.extract<json::ArrayPtr>();
  const bool index = !sel.empty() && std::all_of(sel.begin(), sel.end(),
                                                 [](unsigned char ch) { return std::isdigit(ch) != 0; });
  for (unsigned i = 0; !a.isNull() && i < a->size(); ++i) {
    json::ObjectPtr e = a->getObject(i);
    if ((index && std::to_string(i) == sel) ||
        (!index && (json::getString(e, "name") == sel || json::getString(e, "type") == sel))) {
      cur = a->get(i);
      return true;
    }
  }
  return false;
}

std::string text(const Poco::Dynamic::Var& v) {
  if (v.isEmpty()) return "null";
  if (v.type() == typeid(bool)) return v.extract<bool>() ? "true" : "false";
  if (v.isString()) return v.convert<std::string>();
  if (v.isInteger()) return std::to_string(v.convert<int64_t>());
  return json::stringify(v);
}

std::string valueAt(const json::ObjectPtr& status, const std::string& path) {
  Poco::Dynamic::Var cur = status;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    std::string sel;
    size_t bracket = part.find('[');
    if (bracket != std::string::npos) {
      sel = part.substr(bracket + 1, part.size() - bracket - 2);
      part = part.substr(0, bracket);
    }
    if (!descend(cur, part) || (bracket != std::string::npos && !select(cur, sel))) return kAbsent;
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return text(cur);
}

std::string offsetText(int64_t ns) {
  if (ns == 0) return "0";
  const int64_t d = ns - kMono;
  if (d % kSecond != 0) return std::to_string(ns);
  return "mono" + std::string(d < 0 ? "-" : "+") + std::to_string(d < 0 ? -d / kSecond : d / kSecond) + "s";
}

// "app c1 start=mono-60s at 10.88.0.5": where the prober reaches it is the pod IP, else the host IP.
std::string renderTarget(const prober::ProbeTarget& t) {
  return t.containerName + " " + t.containerId + " start=" + offsetText(t.startedAtNs) + " at " + t.podIP;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "[" + i + "]";
  return out;
}

std::string checkTargets(const Case& c, const PodStatusResult& r) {
  if (!c.targets_) return "";
  std::vector<std::string> got;
  for (const auto& t : r.probeTargets) got.push_back(renderTarget(t));
  if (got == *c.targets_) return "";
  return "  probe targets: expected " + join(*c.targets_) + ", got " + join(got) + "\n";
}

std::string runCase(const Case& c) {
  const PodIntent pod = intentOf(podYaml(c.policy_, c.init_, c.apps_, c.extra_));
  const StatusObservation observed = observationOf(c);
  std::map<std::string, std::pair<std::string, std::string>> conditions;
  PodStatusResult r;
  try {
    r = buildPodStatus(pod, observed, contextOf(c), conditions);
  } catch (const std::exception& e) {
    return "case \"" + c.name + "\": threw " + e.what() + "\n";
  }
  std::string problems;
  for (const auto& e : c.expect_) {
    const std::string got = valueAt(r.status, e.first);
    const bool ok = e.second == kPresent ? got != kAbsent : got == e.second;
    if (!ok) problems += "  " + e.first + ": expected " + e.second + ", got " + got + "\n";
  }
  problems += checkTargets(c, r);
  if (problems.empty()) return "";
  return "case \"" + c.name + "\":\n" + problems + "  status: " + json::stringify(r.status) + "\n";
}

void runTable(const std::vector<Case>& cases) {
  std::string failures;
  for (const auto& c : cases) failures += runCase(c);
  CPPUNIT_ASSERT_MESSAGE(std::to_string(cases.size()) + " cases, failures:\n" + failures, failures.empty());
}

constexpr auto kCreated = ContainerState::kCreated;
constexpr auto kRunning = ContainerState::kRunning;
constexpr auto kExited = ContainerState::kExited;
constexpr auto kUnknown = ContainerState::kUnknown;

// Paths used often.
std::string cs(const std::string& name, const std::string& rest) {
  return "containerStatuses[" + name + "]." + rest;
}
std::string ics(const std::string& name, const std::string& rest) {
  return "initContainerStatuses[" + name + "]." + rest;
}
std::string cond(const std::string& type) {
  return "conditions[" + type + "].status";
}

// ---- The tables ----

std::vector<Case> phaseCases() {
  return {
      Case("app never ran: Pending, waiting ContainerCreating")
          .expect("phase", "Pending")
          .expect(cs("app", "state.waiting.reason"), "ContainerCreating")
          .expect(cs("app", "state.waiting.message"), kAbsent)
          .expect(cs("app", "restartCount"), "0")
          .expect(cs("app", "ready"), "false")
          .expect(cs("app", "started"), "false")
          .expect(cs("app", "image"), kImage)
          .expect(cs("app", "imageID"), "")
          .expect(cs("app", "containerID"), kAbsent)
          .expect(cs("app", "lastState"), kAbsent)
          .expect(cond("Initialized"), "True")
          .expect(cond("Ready"), "False")
          .expect(cond("ContainersReady"), "False")
          .expect(cond("PodScheduled"), "True"),
      Case("app created, not started: Pending, waiting ContainerCreating")
          .has(listed("c1", "app", 0, kCreated))
          .expect("phase", "Pending")
          .expect(cs("app", "state.waiting.reason"), "ContainerCreating")
          .expect(cs("app", "containerID"), "docker://c1"),
      Case("app running: Running, everything ready")
          .has(listed("c1", "app", 0, kRunning), running())
          .expect("phase", "Running")
          .expect(cs("app", "state.running.startedAt"), kStartedText)
          .expect(cs("app", "ready"), "true")
          .expect(cs("app", "started"), "true")
          .expect(cs("app", "restartCount"), "0")
          .expect(cs("app", "containerID"), "docker://c1")
          .expect(cs("app", "imageID"), "sha256:1111")
          .expect(cs("app", "lastState"), kAbsent)
          .expect(cond("Initialized"), "True")
          .expect(cond("Ready"), "True")
          .expect(cond("ContainersReady"), "True")
          .expect(cond("PodScheduled"), "True"),
      Case("Always, exited 0: Running (it restarts)")
          .has(listed("c1", "app", 0, kExited), exited(0))
          .expect("phase", "Running")
          .expect(cs("app", "state.waiting.reason"), "CrashLoopBackOff")
          .expect(cs("app", "lastState.terminated.reason"), "Completed")
          .expect(cs("app", "lastState.terminated.exitCode"), "0")
          .expect(cs("app", "ready"), "false")
          .expect(cond("Ready"), "False"),
      Case("OnFailure, all exited 0: Succeeded")
          .policy("OnFailure")
          .has(listed("c1", "app", 0, kExited), exited(0))
          .expect("phase", "Succeeded")
          .expect(cs("app", "state.terminated.reason"), "Completed")
          .expect(cs("app", "state.terminated.exitCode"), "0")
          .expect(cs("app", "state.terminated.startedAt"), kStartedText)
          .expect(cs("app", "state.terminated.finishedAt"), kFinishedText)
          .expect(cs("app", "state.terminated.containerID"), "docker://c1")
          .expect(cs("app", "state.terminated.message"), kAbsent)
          .expect(cs("app", "lastState"), kAbsent)
          .expect(cs("app", "started"), "false")
          .expect(cond("Ready"), "False"),
      Case("Never, all exited 0: Succeeded")
          .policy("Never")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kExited), exited(0))
          .has(listed("cb", "b", 0, kExited), exited(0))
          .expect("phase", "Succeeded"),
      Case("Never, exited 1: Failed")
          .policy("Never")
          .has(listed("c1", "app", 0, kExited), exited(1))
          .expect("phase", "Failed")
          .expect(cs("app", "state.terminated.reason"), "Error")
          .expect(cs("app", "state.terminated.exitCode"), "1"),
      Case("OnFailure, exited 1: Running (it restarts)")
          .policy("OnFailure")
          .has(listed("c1", "app", 0, kExited), exited(1))
          .expect("phase", "Running")
          .expect(cs("app", "state.waiting.reason"), "CrashLoopBackOff")
          .expect(cs("app", "lastState.terminated.reason"), "Error"),
      Case("Never, one exited 0 and one 1: Failed")
          .policy("Never")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kExited), exited(0))
          .has(listed("cb", "b", 0, kExited), exited(1))
          .expect("phase", "Failed"),
      Case("OnFailure, one exited 0 and one 1: Running")
          .policy("OnFailure")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kExited), exited(0))
          .has(listed("cb", "b", 0, kExited), exited(1))
          .expect("phase", "Running")
          .expect(cs("a", "state.terminated.reason"), "Completed")
          .expect(cs("b", "state.waiting.reason"), "CrashLoopBackOff"),
      Case("one running, one never ran: Pending")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kRunning), running())
          .expect("phase", "Pending")
          .expect(cond("ContainersReady"), "False")
          .expect("containerStatuses[0].name", "a")
          .expect("containerStatuses[1].name", "b"),
      Case("Never, one running, one exited 1: Running")
          .policy("Never")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kRunning), running())
          .has(listed("cb", "b", 0, kExited), exited(1))
          .expect("phase", "Running")
          .expect(cond("ContainersReady"), "False"),
      Case("Always, the only container backing off: Running, the decision's message")
          .has(listed("c1", "app", 3, kExited), exited(1))
          .waiting("app", "CrashLoopBackOff",
                   "back-off 40s restarting failed container=app pod=web-node1_kube-system(u)")
          .expect("phase", "Running")
          .expect(cs("app", "state.waiting.reason"), "CrashLoopBackOff")
          .expect(cs("app", "state.waiting.message"),
                  "back-off 40s restarting failed container=app pod=web-node1_kube-system(u)")
          .expect(cs("app", "restartCount"), "3"),
      Case("state unknown: Pending, waiting ContainerCreating")
          .has(listed("c1", "app", 0, kUnknown), withState(kUnknown))
          .expect("phase", "Pending")
          .expect(cs("app", "state.waiting.reason"), "ContainerCreating"),
  };
}

std::vector<Case> initCases() {
  return {
      Case("init failed under Never: Failed, not initialized")
          .policy("Never")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kExited), exited(1))
          .expect("phase", "Failed")
          .expect(cond("Initialized"), "False")
          .expect(ics("i1", "state.terminated.reason"), "Error")
          .expect(ics("i1", "state.terminated.exitCode"), "1")
          .expect(ics("i1", "ready"), "false")
          .expect(cs("app", "state.waiting.reason"), "ContainerCreating"),
      Case("init running: Pending, not initialized")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kRunning), running())
          .expect("phase", "Pending")
          .expect(cond("Initialized"), "False")
          .expect(ics("i1", "state.running.startedAt"), kStartedText)
          .expect(cond("Ready"), "False")
          .targets({}),
      Case("init failed under Always: Pending, backing off")
          .init({"i1"})
          .has(listed("c1", "i1", 1, kExited), exited(1))
          .expect("phase", "Pending")
          .expect(cond("Initialized"), "False")
          .expect(ics("i1", "state.waiting.reason"), "CrashLoopBackOff")
          .expect(ics("i1", "lastState.terminated.exitCode"), "1")
          .expect(ics("i1", "restartCount"), "1"),
      Case("init failed under OnFailure: Pending, backing off")
          .policy("OnFailure")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kExited), exited(2))
          .expect("phase", "Pending")
          .expect(ics("i1", "state.waiting.reason"), "CrashLoopBackOff"),
      Case("init succeeded, app running: initialized, Running, the init container ready")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kExited), exited(0))
          .has(listed("ca", "app", 0, kRunning), running())
          .expect("phase", "Running")
          .expect(cond("Initialized"), "True")
          .expect(cond("ContainersReady"), "True")
          .expect(ics("i1", "state.terminated.reason"), "Completed")
          .expect(ics("i1", "ready"), "true")
          .expect(ics("i1", "containerID"), "docker://c1"),
      Case("first init succeeded, second never ran: Pending, not initialized")
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kExited), exited(0))
          .expect("phase", "Pending")
          .expect(cond("Initialized"), "False")
          .expect(ics("i2", "state.waiting.reason"), "ContainerCreating")
          .expect("initContainerStatuses[0].name", "i1")
          .expect("initContainerStatuses[1].name", "i2"),
      Case("init containers gone after the app ran: initialized")
          .init({"i1"})
          .has(listed("ca", "app", 0, kRunning), running())
          .expect("phase", "Running")
          .expect(cond("Initialized"), "True"),
      Case("init succeeded under Never: initialized; the app waits: Pending")
          .policy("Never")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kExited), exited(0))
          .expect("phase", "Pending")
          .expect(cond("Initialized"), "True"),
      Case("no init containers: no initContainerStatuses")
          .has(listed("c1", "app", 0, kRunning), running())
          .expect("initContainerStatuses", kAbsent),
  };
}

std::vector<Case> containerCases() {
  return {
      Case("waiting reason and message from the decision")
          .waiting("app", "ErrImagePull", "pull failed: not found")
          .expect("phase", "Pending")
          .expect(cs("app", "state.waiting.reason"), "ErrImagePull")
          .expect(cs("app", "state.waiting.message"), "pull failed: not found"),
      Case("a waiting reason without message has no message")
          .waiting("app", "ImagePullBackOff", "")
          .expect(cs("app", "state.waiting.reason"), "ImagePullBackOff")
          .expect(cs("app", "state.waiting.message"), kAbsent),
      Case("the runtime's reason: OOMKilled")
          .policy("Never")
          .has(listed("c1", "app", 0, kExited), exited(137, "OOMKilled"))
          .expect("phase", "Failed")
          .expect(cs("app", "state.terminated.reason"), "OOMKilled")
          .expect(cs("app", "state.terminated.exitCode"), "137")
          .expect(cs("app", "state.terminated.message"), kAbsent),
      Case("the runtime's message is kept")
          .policy("Never")
          .has(listed("c1", "app", 0, kExited), exited(1, "", "boom"))
          .expect(cs("app", "state.terminated.reason"), "Error")
          .expect(cs("app", "state.terminated.message"), "boom"),
      Case("an exit podwarden caused: its reason and message")
          .policy("Never")
          .has(listed("c1", "app", 0, kExited), exited(137, "", "killed"))
          .exitReason("c1", "FailedPostStartHook", "PostStartHookError: exit 1")
          .expect(cs("app", "state.terminated.reason"), "FailedPostStartHook")
          .expect(cs("app", "state.terminated.message"), "PostStartHookError: exit 1"),
      Case("a liveness kill: the runtime's reason, the probe's message, in lastState while backing off")
          .has(listed("c1", "app", 0, kExited), exited(137))
          .exitReason("c1", "", "Liveness probe failed: HTTP probe failed with statuscode: 500")
          .expect(cs("app", "state.waiting.reason"), "CrashLoopBackOff")
          .expect(cs("app", "lastState.terminated.reason"), "Error")
          .expect(cs("app", "lastState.terminated.message"),
                  "Liveness probe failed: HTTP probe failed with statuscode: 500"),
      Case("an exit reason of another container changes nothing")
          .policy("Never")
          .has(listed("c1", "app", 0, kExited), exited(0))
          .exitReason("c0", "FailedPostStartHook", "x")
          .expect(cs("app", "state.terminated.reason"), "Completed")
          .expect(cs("app", "state.terminated.message"), kAbsent),
      Case("running after a restart: lastState is the previous instance")
          .has(listed("c1", "app", 0, kExited), exited(2))
          .has(listed("c2", "app", 1, kRunning), running(3))
          .expect(cs("app", "state.running.startedAt"), "2025-12-31T23:59:57Z")
          .expect(cs("app", "restartCount"), "1")
          .expect(cs("app", "containerID"), "docker://c2")
          .expect(cs("app", "lastState.terminated.exitCode"), "2")
          .expect(cs("app", "lastState.terminated.reason"), "Error")
          .expect(cs("app", "lastState.terminated.finishedAt"), kFinishedText)
          .expect(cs("app", "lastState.terminated.containerID"), "docker://c1"),
      Case("exited and restarting: lastState is the latest itself")
          .has(listed("c1", "app", 0, kExited), exited(3))
          .has(listed("c2", "app", 1, kExited), exited(1))
          .expect(cs("app", "state.waiting.reason"), "CrashLoopBackOff")
          .expect(cs("app", "restartCount"), "1")
          .expect(cs("app", "containerID"), "docker://c2")
          .expect(cs("app", "lastState.terminated.containerID"), "docker://c2")
          .expect(cs("app", "lastState.terminated.exitCode"), "1"),
      Case("terminated without times: no startedAt, no finishedAt")
          .policy("Never")
          .has(listed("c1", "app", 0, kExited),
               [] {
                 ContainerDetail d = exited(0);
                 d.startedAt = d.finishedAt = 0;
                 return d;
               }())
          .expect(cs("app", "state.terminated.reason"), "Completed")
          .expect(cs("app", "state.terminated.startedAt"), kAbsent)
          .expect(cs("app", "state.terminated.finishedAt"), kAbsent),
      Case("the runtime's name in container IDs")
          .runtimeName("containerd")
          .policy("Never")
          .has(listed("c1", "app", 0, kExited), exited(0))
          .expect(cs("app", "containerID"), "containerd://c1")
          .expect(cs("app", "state.terminated.containerID"), "containerd://c1"),
      Case("no ContainerStatus: the listed state stands in")
          .has(listed("c1", "app", 2, kRunning))
          .expect("phase", "Running")
          .expect(cs("app", "state.running"), kPresent)
          .expect(cs("app", "restartCount"), "2")
          .expect(cs("app", "containerID"), "docker://c1")
          .expect(cs("app", "imageID"), ""),
  };
}

std::vector<Case> readinessCases() {
  return {
      Case("not probing: running means ready and started, whatever the spec")
          .yaml("app", kReadinessProbe)
          .yaml("app", kStartupProbe)
          .has(listed("c1", "app", 0, kRunning), running())
          .expect(cs("app", "ready"), "true")
          .expect(cs("app", "started"), "true")
          .expect(cond("ContainersReady"), "True"),
      Case("probing, no result yet, readiness probe: not ready (the kubelet's initial result)")
          .yaml("app", kReadinessProbe)
          .has(listed("c1", "app", 0, kRunning), running())
          .probing()
          .expect("phase", "Running")
          .expect(cs("app", "ready"), "false")
          .expect(cs("app", "started"), "true")
          .expect(cond("Ready"), "False")
          .expect(cond("ContainersReady"), "False"),
      Case("probing, result not known yet, readiness probe: not ready")
          .yaml("app", kReadinessProbe)
          .has(listed("c1", "app", 0, kRunning), running())
          .probe("c1", Result())
          .expect(cs("app", "ready"), "false")
          .expect(cs("app", "started"), "true"),
      Case("probing, no result yet, startup probe: not started, not ready")
          .yaml("app", kStartupProbe)
          .has(listed("c1", "app", 0, kRunning), running())
          .probing()
          .expect(cs("app", "ready"), "false")
          .expect(cs("app", "started"), "false"),
      Case("probing, no result yet, no probes: ready")
          .has(listed("c1", "app", 0, kRunning), running())
          .probing()
          .expect(cs("app", "ready"), "true")
          .expect(cs("app", "started"), "true")
          .expect(cond("ContainersReady"), "True"),
      Case("probing, ready")
          .yaml("app", kReadinessProbe)
          .has(listed("c1", "app", 0, kRunning), running())
          .probe("c1", probeResult(true, true))
          .expect(cs("app", "ready"), "true")
          .expect(cond("Ready"), "True"),
      Case("probing, readiness failing")
          .yaml("app", kReadinessProbe)
          .has(listed("c1", "app", 0, kRunning), running())
          .probe("c1", probeResult(false, true))
          .expect(cs("app", "ready"), "false")
          .expect(cs("app", "started"), "true")
          .expect(cond("Ready"), "False"),
      Case("probing, not started: not ready either")
          .yaml("app", kStartupProbe)
          .has(listed("c1", "app", 0, kRunning), running())
          .probe("c1", probeResult(true, false))
          .expect(cs("app", "ready"), "false")
          .expect(cs("app", "started"), "false"),
      Case("two apps, one not ready: ContainersReady False")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kRunning), running())
          .has(listed("cb", "b", 0, kRunning), running())
          .probe("ca", probeResult(true, true))
          .probe("cb", probeResult(false, true))
          .expect(cs("a", "ready"), "true")
          .expect(cs("b", "ready"), "false")
          .expect(cond("ContainersReady"), "False"),
      Case("init containers do not count toward ContainersReady")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kExited), exited(0))
          .has(listed("ca", "app", 0, kRunning), running())
          .expect(cond("ContainersReady"), "True")
          .expect(cond("Ready"), "True"),
  };
}

std::vector<Case> podCases() {
  return {
      Case("pod and host addresses, start time, QoS, conditions")
          .has(listed("c1", "app", 0, kRunning), running())
          .expect("podIP", kPodIP)
          .expect("podIPs[0].ip", kPodIP)
          .expect("podIPs[1]", kAbsent)
          .expect("hostIP", kHostIP)
          .expect("hostIPs[0].ip", kHostIP)
          .expect("startTime", kStartTimeText)
          .expect("qosClass", "BestEffort")
          .expect("conditions[0].type", "Initialized")
          .expect("conditions[1].type", "Ready")
          .expect("conditions[2].type", "ContainersReady")
          .expect("conditions[3].type", "PodScheduled")
          .expect("conditions[Ready].lastTransitionTime", kNowText)
          .expect("conditions[PodScheduled].lastTransitionTime", kNowText)
          .expect("conditions[Ready].lastProbeTime", "null")
          .expect("reason", kAbsent)
          .expect("message", kAbsent),
      Case("no pod IP: no podIP, no podIPs")
          .podIP("")
          .expect("podIP", kAbsent)
          .expect("podIPs", kAbsent)
          .expect("hostIP", kHostIP),
      Case("a sync error: reason SyncError with its message")
          .podError("volume data: hostPath /srv/data is not a directory")
          .expect("reason", "SyncError")
          .expect("message", "volume data: hostPath /srv/data is not a directory"),
      Case("QoS Guaranteed").yaml("app", kGuaranteed).expect("qosClass", "Guaranteed"),
      Case("QoS Burstable").yaml("app", kBurstable).expect("qosClass", "Burstable"),
  };
}

std::vector<Case> targetCases() {
  return {
      Case("running app containers are probe targets, init and exited ones not")
          .policy("Never")
          .init({"i1"})
          .apps({"a", "b", "c"})
          .has(listed("ci", "i1", 0, kRunning), running())
          .has(listed("ca", "a", 0, kRunning), running(60))
          .has(listed("cb", "b", 0, kExited), exited(0))
          .has(listed("cc", "c", 1, kRunning), running(7))
          .probing()
          .targets({std::string("a ca start=mono-60s at ") + kPodIP,
                    std::string("c cc start=mono-7s at ") + kPodIP}),
      Case("no pod IP (host network): the prober reaches it at the host IP")
          .podIP("")
          .has(listed("c1", "app", 0, kRunning), running())
          .probing()
          .targets({std::string("app c1 start=mono-60s at ") + kHostIP}),
      Case("start time unknown: 0 (the prober's first sight)")
          .has(listed("c1", "app", 0, kRunning))
          .probing()
          .targets({std::string("app c1 start=0 at ") + kPodIP}),
      Case("nothing running: no targets")
          .has(listed("c1", "app", 0, kExited), exited(1))
          .probing()
          .targets({}),
  };
}

}  // namespace

class PodStatusTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PodStatusTest);
  CPPUNIT_TEST(testPhase);
  CPPUNIT_TEST(testInitContainers);
  CPPUNIT_TEST(testContainerStates);
  CPPUNIT_TEST(testReadiness);
  CPPUNIT_TEST(testPodFields);
  CPPUNIT_TEST(testProbeTargets);
  CPPUNIT_TEST(testProbeTargetFields);
  CPPUNIT_TEST(testTransitionTimeChangesOnlyOnFlip);
  CPPUNIT_TEST(testRememberedTransitionTimeKept);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testPhase() { runTable(phaseCases()); }
  void testInitContainers() { runTable(initCases()); }
  void testContainerStates() { runTable(containerCases()); }
  void testReadiness() { runTable(readinessCases()); }
  void testPodFields() { runTable(podCases()); }
  void testProbeTargets() { runTable(targetCases()); }

  void testProbeTargetFields() {
    Case c = Case("fields").apps({"a", "b"}).has(listed("cb", "b", 0, kRunning), running()).probing();
    const PodIntent pod = intentOf(podYaml(c.policy_, c.init_, c.apps_, c.extra_));
    std::map<std::string, std::pair<std::string, std::string>> conditions;
    PodStatusResult r = buildPodStatus(pod, observationOf(c), contextOf(c), conditions);
    CPPUNIT_ASSERT_EQUAL(size_t(1), r.probeTargets.size());
    const prober::ProbeTarget& t = r.probeTargets[0];
    CPPUNIT_ASSERT_EQUAL(pod.uid, t.uid);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system/web-node1"), t.podName);
    CPPUNIT_ASSERT_EQUAL(std::string("b"), t.containerName);
    CPPUNIT_ASSERT_EQUAL(std::string("cb"), t.containerId);
    CPPUNIT_ASSERT_MESSAGE("containerSpec", !t.containerSpec.isNull());
    CPPUNIT_ASSERT_EQUAL(json::stringify(pod.containers[1].spec), json::stringify(t.containerSpec));
    CPPUNIT_ASSERT_MESSAGE("pod", !t.pod.isNull());
    CPPUNIT_ASSERT_EQUAL(json::stringify(pod.pod), json::stringify(t.pod));
  }

  // Ready flips at +20 s: only Ready and ContainersReady get a new transition time.
  void testTransitionTimeChangesOnlyOnFlip() {
    Case up = Case("up").has(listed("c1", "app", 0, kRunning), running());
    Case down = Case("down").has(listed("c1", "app", 0, kExited), exited(1));
    const PodIntent pod = intentOf(podYaml("Always", {}, {"app"}, {}));
    std::map<std::string, std::pair<std::string, std::string>> conditions;
    json::ObjectPtr s1 = buildPodStatus(pod, observationOf(up), contextOf(up, kNow), conditions).status;
    json::ObjectPtr s2 =
        buildPodStatus(pod, observationOf(up), contextOf(up, kNow + 10 * kSecond), conditions).status;
    json::ObjectPtr s3 =
        buildPodStatus(pod, observationOf(down), contextOf(down, kNow + 20 * kSecond), conditions).status;
    for (const char* type : {"Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
      const std::string path = std::string("conditions[") + type + "].lastTransitionTime";
      CPPUNIT_ASSERT_EQUAL_MESSAGE(path + " first", std::string(kNowText), valueAt(s1, path));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(path + " unchanged", std::string(kNowText), valueAt(s2, path));
    }
    CPPUNIT_ASSERT_EQUAL(std::string("True"), valueAt(s2, cond("Ready")));
    CPPUNIT_ASSERT_EQUAL(std::string("False"), valueAt(s3, cond("Ready")));
    const std::string flipped = "2026-01-01T00:00:20Z";
    CPPUNIT_ASSERT_EQUAL(flipped, valueAt(s3, "conditions[Ready].lastTransitionTime"));
    CPPUNIT_ASSERT_EQUAL(flipped, valueAt(s3, "conditions[ContainersReady].lastTransitionTime"));
    CPPUNIT_ASSERT_EQUAL(std::string(kNowText), valueAt(s3, "conditions[Initialized].lastTransitionTime"));
    CPPUNIT_ASSERT_EQUAL(std::string(kNowText), valueAt(s3, "conditions[PodScheduled].lastTransitionTime"));
    CPPUNIT_ASSERT_EQUAL(std::string("False"), conditions["Ready"].first);
    CPPUNIT_ASSERT_EQUAL(flipped, conditions["Ready"].second);
    CPPUNIT_ASSERT_EQUAL(std::string("True"), conditions["PodScheduled"].first);
    CPPUNIT_ASSERT_EQUAL(std::string(kNowText), conditions["PodScheduled"].second);
  }

  // The pod's memory from earlier syncs: an unchanged status keeps its time, a changed one gets now.
  void testRememberedTransitionTimeKept() {
    Case c = Case("running").has(listed("c1", "app", 0, kRunning), running());
    const PodIntent pod = intentOf(podYaml("Always", {}, {"app"}, {}));
    std::map<std::string, std::pair<std::string, std::string>> conditions = {
        {"PodScheduled", {"True", "2025-06-01T00:00:00Z"}},
        {"Ready", {"False", "2025-06-01T00:00:00Z"}},
    };
    json::ObjectPtr s = buildPodStatus(pod, observationOf(c), contextOf(c), conditions).status;
    CPPUNIT_ASSERT_EQUAL(std::string("2025-06-01T00:00:00Z"),
                         valueAt(s, "conditions[PodScheduled].lastTransitionTime"));
    CPPUNIT_ASSERT_EQUAL(std::string(kNowText), valueAt(s, "conditions[Ready].lastTransitionTime"));
    CPPUNIT_ASSERT_EQUAL(std::string("True"), conditions["Ready"].first);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PodStatusTest);
