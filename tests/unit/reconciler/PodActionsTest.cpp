// PodActionsTest - computePodActions, the decision half of a pod sync, as tables: a pod's shape, what the
// runtime had of it, the restart backoff and the clock go in; the sandbox plan, the container steps, the
// waiting reasons and the requeue come out, rendered as short lines ("start app#1 restarted +backoff").
// Expected values follow the sync before the split (PodSyncer::sync) and the kubelet's computePodActions.
// Also imageStep for every input, podIntent, restartBackoffKey and PodActions::requeue.
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cri/PodTranslator.h"
#include "manifest/Manifest.h"
#include "reconciler/Backoff.h"
#include "reconciler/PodActions.h"

using namespace std::chrono_literals;
using namespace podwarden;

using Result = prober::ProbeManager::Result;
using Kind = ContainerStep::Kind;

namespace {

constexpr int64_t kSecond = 1000000000LL;
constexpr int64_t kNow = 1767225600LL * kSecond;  // wall clock: 2026-01-01T00:00:00Z
constexpr int64_t kMono = 5000 * kSecond;         // monotonic clock
constexpr const char* kUid = "0a1b2c3d-0000-4000-8000-00000000000a";
constexpr const char* kImage = "podwarden.local/busybox:1.36";
constexpr const char* kStaleHash = "0badc0de";  // the hash of an older spec of any container
constexpr const char* kLivenessMessage = "Liveness probe failed: HTTP probe failed with statuscode: 500";

// ---- Inputs ----

json::ObjectPtr containerJson(const std::string& name) {
  json::ObjectPtr c = new json::Object();
  c->set("name", name);
  c->set("image", kImage);
  c->set("imagePullPolicy", "IfNotPresent");
  return c;
}

ContainerSpec specOf(const std::string& name, bool stale = false) {
  json::ObjectPtr c = containerJson(name);
  return ContainerSpec{name, stale ? kStaleHash : cri::containerHash(c), c};
}

const char* policyText(RestartPolicy p) {
  return p == RestartPolicy::kAlways ? "Always" : p == RestartPolicy::kOnFailure ? "OnFailure" : "Never";
}

SandboxInfo sandbox(const std::string& id, int64_t attempt, bool ready) {
  SandboxInfo s;
  s.id = id;
  s.attempt = attempt;
  s.ready = ready;
  return s;
}

// A listed container of the current spec of `name`, or (stale) of an older one.
ContainerInfo listed(const std::string& id, const std::string& name, int64_t attempt, ContainerState state,
                     bool stale = false) {
  ContainerInfo c;
  c.id = id;
  c.name = name;
  c.attempt = attempt;
  c.state = state;
  c.hash = specOf(name, stale).hash;
  c.graceSeconds = 30;
  c.preStop = json::parseObject(R"({"exec": {"command": ["echo", ")" + id + R"("]}})");
  c.ports = new json::Array();
  json::ObjectPtr port = new json::Object();
  port->set("name", "http-" + id);
  port->set("containerPort", 8080);
  c.ports->add(port);
  return c;
}

ContainerDetail running() {
  ContainerDetail d;
  d.state = ContainerState::kRunning;
  d.startedAt = kNow - 60 * kSecond;
  return d;
}

// Exited with `code`, `agoSec` seconds before kNow (-1: the runtime did not say when).
ContainerDetail exited(int64_t code, int64_t agoSec) {
  ContainerDetail d;
  d.state = ContainerState::kExited;
  d.exitCode = code;
  d.startedAt = kNow - 900 * kSecond;
  d.finishedAt = agoSec < 0 ? 0 : kNow - agoSec * kSecond;
  return d;
}

ContainerDetail unknownState() {
  ContainerDetail d;
  d.state = ContainerState::kUnknown;
  return d;
}

Result probeResult(bool livenessFailed, bool ready = true) {
  Result r;
  r.known = true;
  r.ready = ready;
  r.livenessFailed = livenessFailed;
  r.message = livenessFailed ? kLivenessMessage : "";
  return r;
}

std::string crashLoop(const std::string& name, int seconds) {
  return name + " CrashLoopBackOff: back-off " + std::to_string(seconds) +
         "s restarting failed container=" + name + " pod=web-node1_kube-system(" + kUid + ")";
}

// `restarts` restarts of `container` recorded `agoSec` seconds before kMono (under its older spec: stale).
struct Seed {
  std::string container;
  int restarts;
  int64_t agoSec;
  bool stale;
};

// One row: the inputs, then the expected decision. Defaults: restartPolicy Always, one app container "app",
// one ready sandbox s1 (attempt 0) and nothing else.
struct Case {
  explicit Case(std::string n) : name(std::move(n)) {}
  Case& policy(RestartPolicy p) { return set(policy_, p); }
  Case& init(std::vector<std::string> names) { return set(init_, std::move(names)); }
  Case& apps(std::vector<std::string> names) { return set(apps_, std::move(names)); }
  Case& sandboxes(std::vector<SandboxInfo> s) { return set(sandboxes_, std::move(s)); }
  Case& has(const ContainerInfo& c) {
    containers_.push_back(c);
    return *this;
  }
  Case& has(const ContainerInfo& c, const ContainerDetail& d) {
    details_[c.id] = d;
    return has(c);
  }
  Case& known(const std::string& id) {
    known_.insert(id);
    return *this;
  }
  Case& probe(const std::string& id, const Result& r) {
    probes_[id] = r;
    return *this;
  }
  Case& seed(const std::string& container, int restarts, int64_t agoSec, bool stale = false) {
    seeds_.push_back({container, restarts, agoSec, stale});
    return *this;
  }
  Case& plan(std::string p) { return set(plan_, std::move(p)); }
  Case& steps(std::vector<std::string> s) { return set(steps_, std::move(s)); }
  Case& waiting(std::vector<std::string> w) { return set(waiting_, std::move(w)); }
  Case& requeue(int64_t ms) { return set(requeueMs_, std::optional<int64_t>(ms)); }
  Case& note(std::string n) {
    notes_.push_back(std::move(n));
    return *this;
  }

  std::string name;
  RestartPolicy policy_ = RestartPolicy::kAlways;
  std::vector<std::string> init_;
  std::vector<std::string> apps_{"app"};
  std::vector<SandboxInfo> sandboxes_{sandbox("s1", 0, true)};
  std::vector<ContainerInfo> containers_;
  std::map<std::string, ContainerDetail> details_;
  std::map<std::string, Result> probes_;
  std::set<std::string> known_;
  std::vector<Seed> seeds_;

  std::string plan_ = "use s1#0";
  std::vector<std::string> steps_;
  std::vector<std::string> waiting_;
  std::optional<int64_t> requeueMs_;
  std::vector<std::string> notes_;  // each in the note of some step

 private:
  template <typename T, typename V>
  Case& set(T& field, V&& value) {
    field = std::forward<V>(value);
    return *this;
  }
};

PodIntent intentOf(const Case& c) {
  PodIntent p;
  p.uid = kUid;
  p.name = "web-node1";
  p.ns = "kube-system";
  p.policy = c.policy_;
  json::ArrayPtr init = new json::Array();
  json::ArrayPtr apps = new json::Array();
  for (const auto& n : c.init_) p.initContainers.push_back(specOf(n));
  for (const auto& n : c.apps_) p.containers.push_back(specOf(n));
  for (const auto& s : p.initContainers) init->add(s.spec);
  for (const auto& s : p.containers) apps->add(s.spec);
  json::ObjectPtr spec = new json::Object();
  spec->set("restartPolicy", policyText(c.policy_));
  if (!c.init_.empty()) spec->set("initContainers", init);
  spec->set("containers", apps);
  p.pod = new json::Object();
  p.pod->set("spec", spec);
  return p;
}

PodObservation observationOf(const Case& c) {
  PodObservation o;
  o.sandboxes = c.sandboxes_;
  o.containers = c.containers_;
  o.details = c.details_;
  o.probes = c.probes_;
  o.knownContainers = c.known_;
  return o;
}

std::string keyOf(const Seed& s) {
  return restartBackoffKey(kUid, specOf(s.container, s.stale));
}

void seedBackoff(Backoff& backoff, const std::vector<Seed>& seeds) {
  for (const auto& s : seeds) {
    for (int i = 0; i < s.restarts; ++i) backoff.next(keyOf(s), kMono - s.agoSec * kSecond);
  }
}

// ---- Rendering ----

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::string renderPlan(const PodActions& a) {
  if (a.finished && !a.createSandbox && a.containersToRemove.empty() && a.sandboxesToRemove.empty() &&
      a.sandboxId.empty()) {
    return "finished";
  }
  std::string out = a.finished ? "finished " : "";
  if (!a.createSandbox) return out + "use " + a.sandboxId + "#" + std::to_string(a.sandboxAttempt);
  return out + "create#" + std::to_string(a.sandboxAttempt) + " rm-c[" + join(a.containersToRemove) +
         "] rm-s[" + join(a.sandboxesToRemove) + "]";
}

std::string renderStep(const ContainerStep& s) {
  std::string out;
  switch (s.kind) {
    case Kind::kStart:
      out = (s.init ? "start-init " : "start ") + s.name + "#" + std::to_string(s.attempt) + " " + s.verb +
            (s.backoffKey.empty() ? "" : " +backoff");
      break;
    case Kind::kStartCreated:
      out = "start-created " + s.id;
      break;
    case Kind::kStop:
      out = "stop " + s.id;
      break;
    case Kind::kRemove:
      out = "remove " + s.id;
      break;
    case Kind::kAdopt:
      out = "adopt " + s.id;
      break;
  }
  if (s.warn) out += " warn";
  if (s.exitReason) out += " exit(" + s.exitReason->reason + "|" + s.exitReason->message + ")";
  return out;
}

std::string render(const std::string& plan, const std::vector<std::string>& steps,
                   const std::vector<std::string>& waiting, const std::optional<int64_t>& requeueMs) {
  std::string out = "  plan: " + plan + "\n";
  for (const auto& s : steps) out += "  step: " + s + "\n";
  for (const auto& w : waiting) out += "  waiting: " + w + "\n";
  out += "  requeue: " + (requeueMs ? std::to_string(*requeueMs) + "ms" : std::string("none")) + "\n";
  return out;
}

std::string render(const PodActions& a) {
  std::vector<std::string> steps, waiting;
  for (const auto& s : a.steps) steps.push_back(renderStep(s));
  for (const auto& w : a.waiting)
    waiting.push_back(w.first + " " + w.second.reason + ": " + w.second.message);
  std::optional<int64_t> requeue;
  if (a.requeueAfter) requeue = a.requeueAfter->count();
  return render(renderPlan(a), steps, waiting, requeue);
}

std::string render(const Case& c) {
  return render(c.plan_, c.steps_, c.waiting_, c.requeueMs_);
}

// ---- Invariants every decision keeps ----

template <typename T>
bool pointsInto(const T* p, const std::vector<T>& v) {
  for (const auto& x : v) {
    if (&x == p) return true;
  }
  return false;
}

const ContainerInfo* listedInstance(const PodObservation& o, const std::string& id) {
  for (const auto& c : o.containers) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::string text(const json::ObjectPtr& o) {
  return o.isNull() ? "null" : json::stringify(o);
}
std::string text(const json::ArrayPtr& a) {
  return a.isNull() ? "null" : json::stringify(Poco::Dynamic::Var(a));
}

// kStart steps point at the intent's specs, with the spec's backoff key; kStop steps carry the stopped
// instance's preStop hook and ports.
std::string stepProblems(const PodIntent& pod, const PodObservation& o, const ContainerStep& s) {
  if (s.kind == Kind::kStart) {
    if (!s.spec) return "no spec";
    if (s.spec->name != s.name) return "spec of " + s.spec->name;
    if (!pointsInto(s.spec, s.init ? pod.initContainers : pod.containers)) return "spec not in the intent";
    if (!s.backoffKey.empty() && s.backoffKey != restartBackoffKey(pod.uid, *s.spec)) return "backoff key";
  }
  if (s.kind == Kind::kStop) {
    const ContainerInfo* c = listedInstance(o, s.id);
    if (!c) return "not a listed container";
    if (text(s.preStop) != text(c->preStop))
      return "preStop " + text(s.preStop) + ", listed " + text(c->preStop);
    if (text(s.ports) != text(c->ports)) return "ports " + text(s.ports) + ", listed " + text(c->ports);
  }
  return "";
}

std::string notesProblems(const Case& c, const PodActions& a) {
  std::string out;
  for (const auto& want : c.notes_) {
    bool found = false;
    for (const auto& s : a.steps) found = found || s.note.find(want) != std::string::npos;
    if (!found) out += "  no step note has \"" + want + "\"\n";
  }
  return out;
}

// The decision reads the backoff and never records anything itself: the delays of the pod's keys stay. (Seeds
// older than 2 x the cap are left out: the backoff forgets them when read.)
std::map<std::string, int64_t> delays(Backoff& backoff, const Case& c) {
  std::set<std::string> keys, forgotten;
  for (const auto& n : c.init_) keys.insert(restartBackoffKey(kUid, specOf(n)));
  for (const auto& n : c.apps_) keys.insert(restartBackoffKey(kUid, specOf(n)));
  for (const auto& s : c.seeds_) (s.agoSec > 600 ? forgotten : keys).insert(keyOf(s));
  std::map<std::string, int64_t> out;
  for (const auto& k : keys) {
    if (!forgotten.count(k)) out[k] = backoff.delay(k).count();
  }
  return out;
}

std::string runCase(const Case& c) {
  const PodIntent pod = intentOf(c);
  const PodObservation observed = observationOf(c);
  Backoff backoff(10s, 300s);
  seedBackoff(backoff, c.seeds_);
  const auto before = delays(backoff, c);
  PodActions a;
  try {
    a = computePodActions(pod, observed, backoff, DecisionClock{kNow, kMono});
  } catch (const std::exception& e) {
    return "case \"" + c.name + "\": threw " + e.what() + "\n";
  }
  std::string problems;
  const std::string want = render(c), got = render(a);
  if (want != got) problems += "  expected:\n" + want + "  actual:\n" + got;
  for (const auto& s : a.steps) {
    std::string p = stepProblems(pod, observed, s);
    if (!p.empty()) problems += "  step \"" + renderStep(s) + "\": " + p + "\n";
  }
  problems += notesProblems(c, a);
  if (delays(backoff, c) != before) problems += "  the decision changed the backoff\n";
  return problems.empty() ? "" : "case \"" + c.name + "\":\n" + problems;
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
constexpr auto kOnFailure = RestartPolicy::kOnFailure;
constexpr auto kNever = RestartPolicy::kNever;

// ---- The tables ----

std::vector<Case> sandboxCases() {
  return {
      Case("first sync: sandbox attempt 0, the app container created")
          .sandboxes({})
          .plan("create#0 rm-c[] rm-s[]")
          .steps({"start app#0 created and started"}),
      Case("first sync: every app container, in spec order")
          .sandboxes({})
          .apps({"b", "a"})
          .plan("create#0 rm-c[] rm-s[]")
          .steps({"start b#0 created and started", "start a#0 created and started"}),
      Case("first sync with init containers: only the first init container")
          .sandboxes({})
          .init({"i1", "i2"})
          .apps({"a", "b"})
          .plan("create#0 rm-c[] rm-s[]")
          .steps({"start-init i1#0 created and started"}),
      Case("sandbox not ready: everything removed, next sandbox attempt, container attempt + 1")
          .sandboxes({sandbox("s1", 0, false)})
          .has(listed("c1", "app", 0, kRunning))
          .plan("create#1 rm-c[c1] rm-s[s1]")
          .steps({"start app#1 created and started"}),
      Case("sandboxes not ready: attempt after the highest; orphans go with the rest")
          .sandboxes({sandbox("s1", 2, false), sandbox("s2", 0, false)})
          .has(listed("c0", "app", 0, kExited))
          .has(listed("c3", "app", 3, kExited))
          .has(listed("c9", "gone", 5, kRunning))
          .plan("create#3 rm-c[c0,c3,c9] rm-s[s1,s2]")
          .steps({"start app#4 created and started"}),
      Case("sandbox gone, containers left: sandbox attempt 0, container attempt + 1")
          .sandboxes({})
          .has(listed("c2", "app", 2, kExited))
          .plan("create#0 rm-c[c2] rm-s[]")
          .steps({"start app#3 created and started"}),
      Case("sandbox lost after the app ran: init containers run again")
          .sandboxes({sandbox("s1", 0, false)})
          .init({"i1"})
          .has(listed("ci", "i1", 0, kExited))
          .has(listed("ca", "app", 1, kRunning))
          .plan("create#1 rm-c[ci,ca] rm-s[s1]")
          .steps({"start-init i1#1 created and started"}),
      Case("Never pod that ran, sandbox not ready: finished, nothing touched")
          .policy(kNever)
          .sandboxes({sandbox("s1", 0, false)})
          .has(listed("c1", "app", 0, kExited))
          .has(listed("c9", "gone", 0, kRunning))
          .plan("finished"),
      Case("Never pod, sandbox not ready, no containers: a new sandbox")
          .policy(kNever)
          .sandboxes({sandbox("s1", 0, false)})
          .plan("create#1 rm-c[] rm-s[s1]")
          .steps({"start app#0 created and started"}),
      Case("Never pod, no sandbox listed, containers left: a new sandbox")
          .policy(kNever)
          .sandboxes({})
          .has(listed("c1", "app", 0, kExited))
          .plan("create#0 rm-c[c1] rm-s[]")
          .steps({"start app#1 created and started"}),
      Case("OnFailure pod, sandbox not ready: recreated (only Never finishes)")
          .policy(kOnFailure)
          .sandboxes({sandbox("s1", 1, false)})
          .has(listed("c1", "app", 0, kExited))
          .plan("create#2 rm-c[c1] rm-s[s1]")
          .steps({"start app#1 created and started"}),
      Case("the ready sandbox with the highest attempt is used; no containers: created")
          .sandboxes({sandbox("s1", 1, true), sandbox("s2", 2, true), sandbox("s3", 3, false)})
          .plan("use s2#2")
          .steps({"start app#0 created and started"}),
  };
}

std::vector<Case> runningCases() {
  return {
      Case("running with the same hash, not seen before: adopted")
          .has(listed("c1", "app", 0, kRunning), running())
          .steps({"adopt c1"}),
      Case("running with the same hash, seen: nothing")
          .has(listed("c1", "app", 0, kRunning), running())
          .known("c1"),
      Case("created: started").has(listed("c1", "app", 0, kCreated)).steps({"start-created c1"}),
      Case("the latest attempt decides, whatever the listing order")
          .has(listed("c0", "app", 0, kExited), exited(1, 100))
          .has(listed("c1", "app", 1, kRunning), running())
          .known("c1"),
      Case("two apps: one running, one missing: only the missing one created")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kRunning), running())
          .known("ca")
          .steps({"start b#0 created and started"}),
      Case("two apps: one running, one exited under Always: only the exited one restarted")
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kRunning), running())
          .has(listed("cb", "b", 0, kExited), exited(1, 5))
          .known("ca")
          .steps({"start b#1 restarted +backoff"}),
      Case("listed running but its status says exited (listing lag): restarted as an exit")
          .has(listed("c1", "app", 0, kRunning), exited(1, 1))
          .known("c1")
          .steps({"start app#1 restarted +backoff"}),
      Case("listed running but exited 0 under Never: left alone, not adopted")
          .policy(kNever)
          .has(listed("c1", "app", 0, kRunning), exited(0, 1)),
  };
}

std::vector<Case> exitCases() {
  return {
      Case("Always, exit 0: restarted at once")
          .has(listed("c1", "app", 0, kExited), exited(0, 5))
          .steps({"start app#1 restarted +backoff"}),
      Case("Always, exit 1: restarted at once")
          .has(listed("c1", "app", 0, kExited), exited(1, 5))
          .steps({"start app#1 restarted +backoff"}),
      Case("OnFailure, exit 0: done").policy(kOnFailure).has(listed("c1", "app", 0, kExited), exited(0, 5)),
      Case("OnFailure, exit 1: restarted")
          .policy(kOnFailure)
          .has(listed("c1", "app", 0, kExited), exited(1, 5))
          .steps({"start app#1 restarted +backoff"}),
      Case("OnFailure, state unknown: restarted (not a success)")
          .policy(kOnFailure)
          .has(listed("c1", "app", 0, kUnknown), unknownState())
          .steps({"start app#1 restarted +backoff"}),
      Case("Never, exit 0: done").policy(kNever).has(listed("c1", "app", 0, kExited), exited(0, 5)),
      Case("Never, exit 1: done").policy(kNever).has(listed("c1", "app", 2, kExited), exited(1, 5)),
      Case("restart in backoff: CrashLoopBackOff, requeued for the time left, nothing removed")
          .has(listed("c0", "app", 0, kExited), exited(1, 30))
          .has(listed("c1", "app", 1, kExited), exited(1, 3))
          .seed("app", 1, 8)
          .waiting({crashLoop("app", 10)})
          .requeue(7001),
      Case("OnFailure restart in backoff: CrashLoopBackOff")
          .policy(kOnFailure)
          .has(listed("c1", "app", 1, kExited), exited(2, 4))
          .seed("app", 1, 6)
          .waiting({crashLoop("app", 10)})
          .requeue(6001),
      Case("backoff over: older dead instances removed first, the latest kept, restarted")
          .has(listed("c1", "app", 1, kExited), exited(1, 40))
          .has(listed("c2", "app", 2, kExited), exited(1, 12))
          .has(listed("c0", "app", 0, kExited), exited(1, 60))
          .seed("app", 1, 20)
          .steps({"remove c1", "remove c0", "start app#3 restarted +backoff"}),
      Case("second restart: the delay doubled to 20 s")
          .has(listed("c2", "app", 2, kExited), exited(1, 5))
          .seed("app", 2, 30)
          .waiting({crashLoop("app", 20)})
          .requeue(15001),
      Case("finish time unknown: the backoff counts from now")
          .has(listed("c1", "app", 1, kExited), exited(1, -1))
          .seed("app", 1, 1)
          .waiting({crashLoop("app", 10)})
          .requeue(10001),
      Case("ran longer than 10 minutes since the last restart: backoff forgotten, restarted at once")
          .has(listed("c4", "app", 4, kExited), exited(1, 5))
          .seed("app", 4, 700)
          .steps({"start app#5 restarted +backoff"}),
      Case("two containers backing off: requeued for the shorter wait")
          .apps({"a", "b"})
          .has(listed("ca", "a", 1, kExited), exited(1, 3))
          .has(listed("cb", "b", 1, kExited), exited(1, 8))
          .seed("a", 1, 9)
          .seed("b", 1, 9)
          .waiting({crashLoop("a", 10), crashLoop("b", 10)})
          .requeue(2001),
      Case("exited with a changed hash under Never: restarted, with a fresh backoff")
          .policy(kNever)
          .has(listed("c1", "app", 0, kExited, true), exited(0, 1))
          .seed("app", 3, 2, true)
          .steps({"start app#1 restarted +backoff"}),
  };
}

std::vector<Case> initCases() {
  return {
      Case("no init container ran: the first one started")
          .init({"i1", "i2"})
          .steps({"start-init i1#0 created and started"}),
      Case("a succeeded init container is passed over: the next started")
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kExited), exited(0, 2))
          .steps({"start-init i2#0 created and started"}),
      Case("every init container succeeded: every app container started")
          .init({"i1", "i2"})
          .apps({"a", "b"})
          .has(listed("c1", "i1", 0, kExited), exited(0, 20))
          .has(listed("c2", "i2", 0, kExited), exited(0, 2))
          .steps({"start a#0 created and started", "start b#0 created and started"}),
      Case("a running init container blocks the next")
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kRunning), running())
          .known("c1"),
      Case("a running init container not seen before: adopted, and blocks the next")
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kRunning), running())
          .steps({"adopt c1"}),
      Case("a created init container: started, and blocks the next")
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kCreated))
          .steps({"start-created c1"}),
      Case("a failed init container under Always: restarted")
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kExited), exited(1, 2))
          .steps({"start-init i1#1 restarted +backoff"}),
      Case("a failed init container under OnFailure: restarted")
          .policy(kOnFailure)
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kExited), exited(1, 2))
          .steps({"start-init i1#1 restarted +backoff"}),
      Case("a failed init container under Never: the pod stops there")
          .policy(kNever)
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kExited), exited(1, 2)),
      Case("a succeeded init container under Never: the next started")
          .policy(kNever)
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kExited), exited(0, 2))
          .steps({"start-init i2#0 created and started"}),
      Case("a succeeded init container whose spec changed: run again")
          .policy(kNever)
          .init({"i1", "i2"})
          .has(listed("c1", "i1", 0, kExited, true), exited(0, 2))
          .steps({"start-init i1#1 restarted +backoff"}),
      Case("a failed init container in backoff: CrashLoopBackOff")
          .init({"i1"})
          .has(listed("c1", "i1", 1, kExited), exited(1, 3))
          .seed("i1", 1, 5)
          .waiting({crashLoop("i1", 10)})
          .requeue(7001),
      Case("an app container exists: failed init containers are not looked at")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kExited), exited(1, 50))
          .has(listed("ca", "app", 0, kRunning), running())
          .known("ca"),
      Case("an app container exists, the init containers are gone: the app still synced")
          .init({"i1"})
          .has(listed("ca", "app", 0, kExited), exited(1, 5))
          .steps({"start app#1 restarted +backoff"}),
      Case("one app container exists: the missing one created without the init containers")
          .init({"i1"})
          .apps({"a", "b"})
          .has(listed("ca", "a", 0, kRunning), running())
          .known("ca")
          .steps({"start b#0 created and started"}),
  };
}

std::vector<Case> changeCases() {
  return {
      Case("liveness failed: stopped with the probe's message, requeued at once")
          .has(listed("c1", "app", 0, kRunning), running())
          .known("c1")
          .probe("c1", probeResult(true))
          .steps({std::string("stop c1 warn exit(|") + kLivenessMessage + ")"})
          .requeue(0)
          .note(kLivenessMessage),
      Case("liveness failed on a container not seen before: stopped, not adopted")
          .has(listed("c1", "app", 0, kRunning), running())
          .probe("c1", probeResult(true))
          .steps({std::string("stop c1 warn exit(|") + kLivenessMessage + ")"})
          .requeue(0),
      Case("probed, not ready, liveness fine: adopted as usual")
          .has(listed("c1", "app", 0, kRunning), running())
          .probe("c1", probeResult(false, false))
          .steps({"adopt c1"}),
      Case("running with a changed hash: stopped, then started as the next attempt")
          .has(listed("c1", "app", 2, kRunning, true), running())
          .known("c1")
          .steps({"stop c1", "start app#3 restarted after a spec change"})
          .note("spec changed"),
      Case("changed hash and failed liveness: the spec change wins")
          .has(listed("c1", "app", 0, kRunning, true), running())
          .known("c1")
          .probe("c1", probeResult(true))
          .steps({"stop c1", "start app#1 restarted after a spec change"}),
      Case("running with a changed hash under Never: replaced too")
          .policy(kNever)
          .has(listed("c1", "app", 0, kRunning, true), running())
          .steps({"stop c1", "start app#1 restarted after a spec change"}),
  };
}

std::vector<Case> orphanCases() {
  return {
      Case("a running container no longer in the spec: stopped and removed")
          .has(listed("c1", "app", 0, kRunning), running())
          .known("c1")
          .has(listed("c9", "gone", 0, kRunning))
          .steps({"stop c9", "remove c9"}),
      Case("an exited container no longer in the spec: removed")
          .has(listed("c1", "app", 0, kRunning), running())
          .known("c1")
          .has(listed("c9", "gone", 0, kExited))
          .steps({"remove c9"}),
      Case("a created container no longer in the spec: removed")
          .has(listed("c1", "app", 0, kRunning), running())
          .known("c1")
          .has(listed("c9", "gone", 0, kCreated))
          .steps({"remove c9"}),
      // Listed newest first, as runtimes list: the order between instances is the runtime's, not a rule.
      Case("every instance of a removed container goes, after the spec's steps")
          .has(listed("c9", "gone", 1, kRunning))
          .has(listed("c8", "gone", 0, kExited))
          .steps({"start app#0 created and started", "stop c9", "remove c9", "remove c8"}),
      Case("init container names are not orphans")
          .init({"i1"})
          .has(listed("c1", "i1", 0, kExited), exited(0, 100))
          .has(listed("ca", "app", 0, kRunning), running())
          .known("ca"),
  };
}

struct ImageCase {
  const char* policy;
  bool present;
  bool inBackoff;
  ImageStep want;
};

const char* imageStepName(ImageStep s) {
  switch (s) {
    case ImageStep::kUse:
      return "use";
    case ImageStep::kPull:
      return "pull";
    case ImageStep::kNeverPull:
      return "never-pull";
    case ImageStep::kPullBackOff:
      return "pull-backoff";
  }
  return "?";
}

manifest::StaticPod parseYaml(const std::string& yaml) {
  manifest::ParseOptions po;
  po.nodeName = "node1";
  po.seenUnixNs = kNow;
  manifest::ParseResult r = manifest::parseManifest(yaml, {"file", "/etc/kubernetes/manifests/web.yaml"}, po);
  std::string problems;
  for (const auto& p : r.errors) problems += p.toString() + "\n";
  CPPUNIT_ASSERT_MESSAGE("manifest rejected:\n" + problems + yaml, r.pod.has_value());
  return *r.pod;
}

json::ObjectPtr nth(const json::ObjectPtr& pod, const char* field, unsigned i) {
  return json::getArray(json::getObject(pod, "spec"), field)->getObject(i);
}

void assertSpec(const std::string& what, const ContainerSpec& s, const json::ObjectPtr& want) {
  CPPUNIT_ASSERT_EQUAL_MESSAGE(what, json::getString(want, "name"), s.name);
  CPPUNIT_ASSERT_EQUAL_MESSAGE(what, cri::containerHash(want), s.hash);
  CPPUNIT_ASSERT_MESSAGE(what, !s.spec.isNull());
  CPPUNIT_ASSERT_EQUAL_MESSAGE(what, json::stringify(want), json::stringify(s.spec));
}

}  // namespace

class PodActionsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PodActionsTest);
  CPPUNIT_TEST(testSandbox);
  CPPUNIT_TEST(testRunningAndCreated);
  CPPUNIT_TEST(testExitsAndBackoff);
  CPPUNIT_TEST(testInitContainers);
  CPPUNIT_TEST(testLivenessAndSpecChange);
  CPPUNIT_TEST(testContainersNotInSpec);
  CPPUNIT_TEST(testImageStep);
  CPPUNIT_TEST(testRestartBackoffKey);
  CPPUNIT_TEST(testRequeueKeepsTheShortest);
  CPPUNIT_TEST(testPodIntentDefaults);
  CPPUNIT_TEST(testPodIntentFromManifest);
  CPPUNIT_TEST(testRestartPolicyName);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testSandbox() { runTable(sandboxCases()); }
  void testRunningAndCreated() { runTable(runningCases()); }
  void testExitsAndBackoff() { runTable(exitCases()); }
  void testInitContainers() { runTable(initCases()); }
  void testLivenessAndSpecChange() { runTable(changeCases()); }
  void testContainersNotInSpec() { runTable(orphanCases()); }

  void testImageStep() {
    const std::vector<ImageCase> cases = {
        {"Always", true, false, ImageStep::kPull},
        {"Always", true, true, ImageStep::kPullBackOff},
        {"Always", false, false, ImageStep::kPull},
        {"Always", false, true, ImageStep::kPullBackOff},
        {"IfNotPresent", true, false, ImageStep::kUse},
        {"IfNotPresent", true, true, ImageStep::kUse},
        {"IfNotPresent", false, false, ImageStep::kPull},
        {"IfNotPresent", false, true, ImageStep::kPullBackOff},
        {"Never", true, false, ImageStep::kUse},
        {"Never", true, true, ImageStep::kUse},
        {"Never", false, false, ImageStep::kNeverPull},
        {"Never", false, true, ImageStep::kNeverPull},
    };
    std::string failures;
    for (const auto& c : cases) {
      const ImageStep got = imageStep(c.policy, c.present, c.inBackoff);
      if (got == c.want) continue;
      failures += std::string("  ") + c.policy + (c.present ? " present" : " absent") +
                  (c.inBackoff ? " in pull backoff" : "") + ": expected " + imageStepName(c.want) + ", got " +
                  imageStepName(got) + "\n";
    }
    CPPUNIT_ASSERT_MESSAGE("imageStep:\n" + failures, failures.empty());
  }

  void testRestartBackoffKey() {
    const std::string key = restartBackoffKey(kUid, specOf("app"));
    CPPUNIT_ASSERT(!key.empty());
    CPPUNIT_ASSERT_EQUAL(key, restartBackoffKey(kUid, specOf("app")));
    // A changed spec starts a fresh backoff; containers and pods have their own.
    CPPUNIT_ASSERT(key != restartBackoffKey(kUid, specOf("app", true)));
    CPPUNIT_ASSERT(key != restartBackoffKey(kUid, specOf("other")));
    CPPUNIT_ASSERT(key != restartBackoffKey("0a1b2c3d-0000-4000-8000-00000000000b", specOf("app")));
    // Not the image pull backoff of the same container.
    CPPUNIT_ASSERT(key != "pull/" + std::string(kUid) + "/app");
  }

  void testRequeueKeepsTheShortest() {
    PodActions a;
    CPPUNIT_ASSERT(!a.requeueAfter.has_value());
    a.requeue(10s);
    CPPUNIT_ASSERT_EQUAL(int64_t(10000), static_cast<int64_t>(a.requeueAfter->count()));
    a.requeue(3s);
    a.requeue(7s);
    CPPUNIT_ASSERT_EQUAL(int64_t(3000), static_cast<int64_t>(a.requeueAfter->count()));
    a.requeue(0ms);
    CPPUNIT_ASSERT_EQUAL(int64_t(0), static_cast<int64_t>(a.requeueAfter->count()));
  }

  void testPodIntentDefaults() {
    // A bare pod, as podIntent may see one that was never defaulted.
    json::ObjectPtr pod = json::parseObject(R"({"spec": {"containers": [{"name": "a", "image": "x"}]}})");
    PodIntent p = podIntent(kUid, "web-node1", "kube-system", pod);
    CPPUNIT_ASSERT_EQUAL(std::string(kUid), p.uid);
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), p.name);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), p.ns);
    CPPUNIT_ASSERT(p.policy == RestartPolicy::kAlways);
    CPPUNIT_ASSERT_EQUAL(int64_t(30), p.graceSeconds);
    CPPUNIT_ASSERT(!p.hostNetwork);
    CPPUNIT_ASSERT(p.initContainers.empty());
    CPPUNIT_ASSERT_EQUAL(size_t(1), p.containers.size());
    assertSpec("containers[0]", p.containers[0], nth(pod, "containers", 0));
    CPPUNIT_ASSERT_EQUAL(json::stringify(pod), json::stringify(p.pod));

    json::ObjectPtr zero = json::parseObject(
        R"({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "a", "image": "x"}]}})");
    PodIntent z = podIntent(kUid, "web-node1", "kube-system", zero);
    CPPUNIT_ASSERT(z.policy == RestartPolicy::kNever);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("0 is a grace period, not unset", int64_t(0), z.graceSeconds);
  }

  void testPodIntentFromManifest() {
    manifest::StaticPod sp = parseYaml(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: kube-system\n"
        "spec:\n  restartPolicy: OnFailure\n  terminationGracePeriodSeconds: 7\n  hostNetwork: true\n"
        "  initContainers:\n  - name: i1\n    image: " +
        std::string(kImage) + "\n  - name: i2\n    image: " + kImage +
        "\n    command: [\"true\"]\n"
        "  containers:\n  - name: b\n    image: " +
        kImage + "\n  - name: a\n    image: " + kImage + "\n    env: [{name: X, value: \"1\"}]\n");
    PodIntent p = podIntent(sp.uid, sp.name, sp.ns, sp.pod);
    CPPUNIT_ASSERT_EQUAL(sp.uid, p.uid);
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), p.name);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), p.ns);
    CPPUNIT_ASSERT(p.policy == RestartPolicy::kOnFailure);
    CPPUNIT_ASSERT_EQUAL(int64_t(7), p.graceSeconds);
    CPPUNIT_ASSERT(p.hostNetwork);
    CPPUNIT_ASSERT_EQUAL(size_t(2), p.initContainers.size());
    CPPUNIT_ASSERT_EQUAL(size_t(2), p.containers.size());
    assertSpec("initContainers[0]", p.initContainers[0], nth(sp.pod, "initContainers", 0));
    assertSpec("initContainers[1]", p.initContainers[1], nth(sp.pod, "initContainers", 1));
    assertSpec("containers[0]", p.containers[0], nth(sp.pod, "containers", 0));
    assertSpec("containers[1]", p.containers[1], nth(sp.pod, "containers", 1));
    CPPUNIT_ASSERT(p.containers[0].hash != p.containers[1].hash);
    CPPUNIT_ASSERT_EQUAL(json::stringify(sp.pod), json::stringify(p.pod));
  }

  void testRestartPolicyName() {
    CPPUNIT_ASSERT_EQUAL(std::string("Always"), std::string(restartPolicyName(RestartPolicy::kAlways)));
    CPPUNIT_ASSERT_EQUAL(std::string("OnFailure"), std::string(restartPolicyName(RestartPolicy::kOnFailure)));
    CPPUNIT_ASSERT_EQUAL(std::string("Never"), std::string(restartPolicyName(RestartPolicy::kNever)));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PodActionsTest);
