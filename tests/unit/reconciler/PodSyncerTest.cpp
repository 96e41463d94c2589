// PodSyncerTest - PodSyncer's per-pod logic against the in-memory CRI runtime with a fake clock:
// sandbox and container creation, idempotence, restart policies and CrashLoopBackOff, init containers,
// image pull policy and pull backoff, sandbox loss, adoption, terminate and listPodUids.
#include <cppunit/extensions/HelperMacros.h>

#include "InMemoryRuntime.h"
#include "cri/PodTranslator.h"
#include "manifest/Manifest.h"
#include "reconciler/Backoff.h"
#include "reconciler/PodSyncer.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>

using namespace std::chrono_literals;

using namespace podwarden;
using podwarden::plugin::RuntimeCall;
using podwarden::test::ContainerRecord;
using podwarden::test::FakeClock;
using podwarden::test::InMemoryRuntime;
using podwarden::test::SandboxRecord;

namespace {

constexpr const char* kImage = "podwarden.local/busybox:1.36";
constexpr const char* kUidA = "0a1b2c3d-0000-4000-8000-00000000000a";
constexpr const char* kUidB = "0a1b2c3d-0000-4000-8000-00000000000b";

std::string dump(const json::ObjectPtr& o) { return o.isNull() ? "null" : json::stringifyPretty(o); }

// A pod manifest with one app container "app" (more via `extraSpec` lines, indented by 2).
std::string podYaml(const std::string& restartPolicy, const std::string& extraSpec = "",
                    const std::string& extraMeta = "", const std::string& appExtra = "",
                    const std::string& name = "web") {
  return "apiVersion: v1\n"
         "kind: Pod\n"
         "metadata:\n"
         "  name: " + name + "\n"
         "  namespace: kube-system\n" +
         extraMeta +
         "spec:\n"
         "  restartPolicy: " +
         restartPolicy + "\n" + extraSpec +
         "  containers:\n"
         "  - name: app\n"
         "    image: " +
         kImage + "\n" + appExtra + "    command: [\"sleep\", \"3600\"]\n";
}

json::ObjectPtr statusOf(const json::ObjectPtr& status, const std::string& name,
                         const std::string& list = "containerStatuses") {
  json::ArrayPtr arr = json::getArray(status, list);
  for (size_t i = 0; arr && i < arr->size(); ++i) {
    json::ObjectPtr cs = arr->getObject(static_cast<unsigned>(i));
    if (json::getString(cs, "name") == name) return cs;
  }
  CPPUNIT_FAIL("no " + list + " entry for " + name + " in " + dump(status));
  return {};
}

// "running" | "waiting" | "terminated" (the one key of state).
std::string stateKind(const json::ObjectPtr& cs) {
  json::ObjectPtr st = json::getObject(cs, "state");
  for (const char* k : {"running", "waiting", "terminated"}) {
    if (json::has(st, k)) return k;
  }
  return "none";
}

// The runtime `inner` with every listed container's metadata.attempt replaced by `attempt`.
class AttemptOverride : public test::ForwardingRuntime {
 public:
  AttemptOverride(runtime::Runtime& inner, uint32_t attempt) : ForwardingRuntime(inner), attempt_(attempt) {}
  std::vector<runtime::Container> listContainers(const runtime::StringMap& selector) override {
    std::vector<runtime::Container> out = ForwardingRuntime::listContainers(selector);
    for (auto& c : out) c.metadata.attempt = attempt_;
    return out;
  }

 private:
  uint32_t attempt_;
};

std::string conditionOf(const json::ObjectPtr& status, const std::string& type) {
  json::ArrayPtr arr = json::getArray(status, "conditions");
  for (size_t i = 0; arr && i < arr->size(); ++i) {
    json::ObjectPtr c = arr->getObject(static_cast<unsigned>(i));
    if (json::getString(c, "type") == type) return json::getString(c, "status");
  }
  return "";
}

}  // namespace

class PodSyncerTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PodSyncerTest);
  CPPUNIT_TEST(testFirstSyncCreatesSandboxAndContainer);
  CPPUNIT_TEST(testSecondSyncDoesNothing);
  CPPUNIT_TEST(testAlwaysRestartsThenCrashLoopBackOff);
  CPPUNIT_TEST(testCrashLoopDelaysDouble);
  CPPUNIT_TEST(testCrashLoopForgottenAfterTenMinutes);
  CPPUNIT_TEST(testOnFailureExitZeroSucceeded);
  CPPUNIT_TEST(testOnFailureExitOneRestarted);
  CPPUNIT_TEST(testNeverExitOneFailed);
  CPPUNIT_TEST(testOomKilledReason);
  CPPUNIT_TEST(testInitContainersRunInOrder);
  CPPUNIT_TEST(testFailedInitContainerUnderNeverFailsPod);
  CPPUNIT_TEST(testImageNeverPull);
  CPPUNIT_TEST(testAbsentImagePulled);
  CPPUNIT_TEST(testPullFailureThenImagePullBackOff);
  CPPUNIT_TEST(testPullRetriedAfterBackOff);
  CPPUNIT_TEST(testSandboxNotReadyRecreated);
  CPPUNIT_TEST(testSandboxDeletedRecreated);
  CPPUNIT_TEST(testFinishedNeverPodNotRerunAfterSandboxLoss);
  CPPUNIT_TEST(testAdoptsRunningPod);
  CPPUNIT_TEST(testSpecChangeRestartsContainer);
  CPPUNIT_TEST(testRuntimeErrorBecomesSyncError);
  CPPUNIT_TEST(testTerminateRemovesOnlyThatPod);
  CPPUNIT_TEST(testListPodUids);
  CPPUNIT_TEST(testAttemptsOutsideCriRangeAreClamped);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    char tmpl[] = "/tmp/podsyncer-test-XXXXXX";
    char* dir = ::mkdtemp(tmpl);
    CPPUNIT_ASSERT_MESSAGE("mkdtemp failed", dir != nullptr);
    tmp_ = dir;
    std::ofstream(tmp_ + "/resolv.conf") << "nameserver 192.0.2.53\nsearch example.test\n";
    clock_ = std::make_unique<FakeClock>();
    runtime_ = std::make_unique<InMemoryRuntime>(*clock_);
    runtime_->addImage(kImage);
    backoff_ = std::make_unique<Backoff>(10s, 300s);
    syncer_ = makeSyncer("node1", *backoff_);
  }

  void tearDown() override {
    syncer_.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  // ---- Creation and idempotence ----

  void testFirstSyncCreatesSandboxAndContainer() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    SyncResult r = syncer_->sync(pod, st);

    std::vector<SandboxRecord> sbs = runtime_->sandboxes();
    CPPUNIT_ASSERT_EQUAL(size_t(1), sbs.size());
    const SandboxRecord& sb = sbs.front();
    CPPUNIT_ASSERT_EQUAL(int64_t(0), sb.attempt);
    CPPUNIT_ASSERT(sb.ready);
    CPPUNIT_ASSERT_EQUAL(pod.uid, sb.uid);
    CPPUNIT_ASSERT_EQUAL(pod.uid, sb.labels.at(cri::kPodUidLabel));
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), sb.labels.at(cri::kNodeLabel));
    CPPUNIT_ASSERT_EQUAL(sb.id, st.sandboxId);

    std::vector<ContainerRecord> app = runtime_->containersOf(pod.uid, "app");
    CPPUNIT_ASSERT_EQUAL(size_t(1), app.size());
    CPPUNIT_ASSERT_EQUAL(runtime::ContainerState::kRunning, app[0].state);
    CPPUNIT_ASSERT_EQUAL(int64_t(0), app[0].attempt);
    CPPUNIT_ASSERT_EQUAL(sb.id, app[0].sandboxId);
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), app[0].labels.at(cri::kNodeLabel));
    json::ObjectPtr spec = json::getArray(json::getObject(pod.pod, "spec"), "containers")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(cri::containerHash(spec), app[0].annotations.at(cri::kContainerHashAnnotation));
    CPPUNIT_ASSERT_EQUAL(1, runtime_->calls(RuntimeCall::kRunPodSandbox));
    CPPUNIT_ASSERT_EQUAL(1, runtime_->calls(RuntimeCall::kCreateContainer));
    CPPUNIT_ASSERT_EQUAL(1, runtime_->calls(RuntimeCall::kStartContainer));
    CPPUNIT_ASSERT_EQUAL(0, runtime_->calls(RuntimeCall::kPullImage));

    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Running"), json::getString(r.status, "phase"));
    json::ObjectPtr cs = statusOf(r.status, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("running"), stateKind(cs));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(0), json::getInt(cs, "restartCount", -1));
    CPPUNIT_ASSERT_MESSAGE(ctx, json::getBool(cs, "ready"));
    CPPUNIT_ASSERT_MESSAGE(ctx, json::getBool(cs, "started"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, "docker://" + app[0].id, json::getString(cs, "containerID"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, json::rfc3339(clock_->wallNs()),
                                 json::getString(json::getObject(json::getObject(cs, "state"), "running"),
                                                 "startedAt"));
    for (const char* c : {"Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c) + " in " + ctx, std::string("True"), conditionOf(r.status, c));
    }
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, sb.ip, json::getString(r.status, "podIP"));
    CPPUNIT_ASSERT_MESSAGE(ctx, !sb.ip.empty());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("192.0.2.10"), json::getString(r.status, "hostIP"));
    CPPUNIT_ASSERT_MESSAGE(ctx, !json::has(r.status, "reason"));
    CPPUNIT_ASSERT_EQUAL(size_t(1), st.containerIds.size());
    CPPUNIT_ASSERT_EQUAL(app[0].id, st.containerIds[0]);
    CPPUNIT_ASSERT_MESSAGE(ctx, !r.requeueAfter.has_value());
  }

  void testSecondSyncDoesNothing() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    SyncResult first = syncer_->sync(pod, st);
    runtime_->resetCalls();
    clock_->advance(30s);
    SyncResult second = syncer_->sync(pod, st);
    for (RuntimeCall c : {RuntimeCall::kRunPodSandbox, RuntimeCall::kStopPodSandbox, RuntimeCall::kRemovePodSandbox,
                          RuntimeCall::kCreateContainer, RuntimeCall::kStartContainer, RuntimeCall::kStopContainer,
                          RuntimeCall::kRemoveContainer, RuntimeCall::kPullImage}) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(plugin::runtimeCallName(c), 0, runtime_->calls(c));
    }
    CPPUNIT_ASSERT_EQUAL(size_t(1), runtime_->containers().size());
    CPPUNIT_ASSERT_EQUAL(size_t(1), runtime_->sandboxes().size());
    // Nothing changed, so neither did the status (transition times included).
    CPPUNIT_ASSERT_EQUAL(json::stringify(first.status), json::stringify(second.status));
    CPPUNIT_ASSERT(!second.requeueAfter.has_value());
  }

  // ---- Restart policies ----

  void testAlwaysRestartsThenCrashLoopBackOff() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    const std::string first = latest(pod.uid, "app").id;

    clock_->advance(5s);
    runtime_->exitContainer(first, 1);
    SyncResult r1 = syncer_->sync(pod, st);
    // The first failure restarts at once.
    ContainerRecord second = latest(pod.uid, "app");
    CPPUNIT_ASSERT_MESSAGE(dump(r1.status), second.id != first);
    CPPUNIT_ASSERT_EQUAL(int64_t(1), second.attempt);
    CPPUNIT_ASSERT_EQUAL(runtime::ContainerState::kRunning, second.state);
    json::ObjectPtr cs = statusOf(r1.status, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r1.status), std::string("running"), stateKind(cs));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r1.status), int64_t(1), json::getInt(cs, "restartCount", -1));
    json::ObjectPtr last = json::getObject(json::getObject(cs, "lastState"), "terminated");
    CPPUNIT_ASSERT_MESSAGE(dump(r1.status), !last.isNull());
    CPPUNIT_ASSERT_EQUAL(int64_t(1), json::getInt(last, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL(std::string("Error"), json::getString(last, "reason"));
    CPPUNIT_ASSERT_EQUAL("docker://" + first, json::getString(last, "containerID"));

    // The second failure backs off 10 s.
    clock_->advance(3s);
    runtime_->exitContainer(second.id, 2);
    runtime_->resetCalls();
    SyncResult r2 = syncer_->sync(pod, st);
    const std::string ctx = dump(r2.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kCreateContainer));
    cs = statusOf(r2.status, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("waiting"), stateKind(cs));
    json::ObjectPtr waiting = json::getObject(json::getObject(cs, "state"), "waiting");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("CrashLoopBackOff"), json::getString(waiting, "reason"));
    CPPUNIT_ASSERT_MESSAGE(ctx, json::getString(waiting, "message").find("back-off 10s") != std::string::npos);
    last = json::getObject(json::getObject(cs, "lastState"), "terminated");
    CPPUNIT_ASSERT_MESSAGE(ctx, !last.isNull());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(2), json::getInt(last, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Error"), json::getString(last, "reason"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, json::rfc3339(clock_->wallNs()), json::getString(last, "finishedAt"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(1), json::getInt(cs, "restartCount", -1));
    CPPUNIT_ASSERT_MESSAGE(ctx, !json::getBool(cs, "ready"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Running"), json::getString(r2.status, "phase"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("False"), conditionOf(r2.status, "Ready"));
    assertRequeueNear(r2, 10s);

    // Half-way: still backing off, requeue for the rest.
    clock_->advance(4s);
    SyncResult r3 = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL(0, runtime_->calls(RuntimeCall::kCreateContainer));
    assertRequeueNear(r3, 6s);

    // Expired: restarted; the dead attempt 1 stays as lastState, attempt 0 is removed.
    clock_->advance(6s);
    SyncResult r4 = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r4.status), 1, runtime_->calls(RuntimeCall::kCreateContainer));
    ContainerRecord third = latest(pod.uid, "app");
    CPPUNIT_ASSERT_EQUAL(int64_t(2), third.attempt);
    CPPUNIT_ASSERT_EQUAL(runtime::ContainerState::kRunning, third.state);
    CPPUNIT_ASSERT(!runtime_->container(first).has_value());
    CPPUNIT_ASSERT(runtime_->container(second.id).has_value());
    cs = statusOf(r4.status, "app");
    CPPUNIT_ASSERT_EQUAL(std::string("running"), stateKind(cs));
    CPPUNIT_ASSERT_EQUAL(int64_t(2), json::getInt(cs, "restartCount", -1));
    CPPUNIT_ASSERT_EQUAL(int64_t(2),
                         json::getInt(json::getObject(json::getObject(cs, "lastState"), "terminated"), "exitCode", -1));
  }

  void testCrashLoopDelaysDouble() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    // First exit: immediate restart. Then 10, 20, 40, 80, 160, 300, 300 s.
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    syncer_->sync(pod, st);
    for (int64_t want : {10, 20, 40, 80, 160, 300, 300}) {
      clock_->advance(1s);
      const std::string id = latest(pod.uid, "app").id;
      runtime_->exitContainer(id, 1);
      SyncResult r = syncer_->sync(pod, st);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r.status), id, latest(pod.uid, "app").id);
      assertRequeueNear(r, std::chrono::seconds(want));
      clock_->advance(std::chrono::seconds(want));
      r = syncer_->sync(pod, st);
      CPPUNIT_ASSERT_MESSAGE("after " + std::to_string(want) + " s: " + dump(r.status), latest(pod.uid, "app").id != id);
    }
  }

  void testCrashLoopForgottenAfterTenMinutes() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    syncer_->sync(pod, st);  // restart 1, immediate
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    syncer_->sync(pod, st);  // 10 s back-off
    clock_->advance(10s);
    syncer_->sync(pod, st);  // restart 2; the next delay would be 20 s
    CPPUNIT_ASSERT_EQUAL(int64_t(2), latest(pod.uid, "app").attempt);
    // It runs for 11 minutes (more than 2 x the 300 s cap), then fails: restarted at once again.
    clock_->advance(660s);
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    SyncResult r = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r.status), int64_t(3), latest(pod.uid, "app").attempt);
    CPPUNIT_ASSERT_EQUAL(std::string("running"), stateKind(statusOf(r.status, "app")));
    // And the back-off starts over at 10 s.
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    r = syncer_->sync(pod, st);
    assertRequeueNear(r, 10s);
  }

  void testOnFailureExitZeroSucceeded() {
    manifest::StaticPod pod = parse(podYaml("OnFailure"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    runtime_->exitContainer(latest(pod.uid, "app").id, 0);
    runtime_->resetCalls();
    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kCreateContainer));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Succeeded"), json::getString(r.status, "phase"));
    json::ObjectPtr cs = statusOf(r.status, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("terminated"), stateKind(cs));
    json::ObjectPtr t = json::getObject(json::getObject(cs, "state"), "terminated");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(0), json::getInt(t, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Completed"), json::getString(t, "reason"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(0), json::getInt(cs, "restartCount", -1));
    CPPUNIT_ASSERT_MESSAGE(ctx, !r.requeueAfter.has_value());
    // And it stays that way.
    clock_->advance(600s);
    r = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL(0, runtime_->calls(RuntimeCall::kCreateContainer));
    CPPUNIT_ASSERT_EQUAL(std::string("Succeeded"), json::getString(r.status, "phase"));
  }

  void testOnFailureExitOneRestarted() {
    manifest::StaticPod pod = parse(podYaml("OnFailure"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    SyncResult r = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r.status), int64_t(1), latest(pod.uid, "app").attempt);
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), json::getString(r.status, "phase"));
    // Second failure: CrashLoopBackOff, and the pod stays Running (OnFailure will restart it).
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    r = syncer_->sync(pod, st);
    json::ObjectPtr cs = statusOf(r.status, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r.status), std::string("CrashLoopBackOff"),
                                 json::getString(json::getObject(json::getObject(cs, "state"), "waiting"), "reason"));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), json::getString(r.status, "phase"));
  }

  void testNeverExitOneFailed() {
    manifest::StaticPod pod = parse(podYaml("Never"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    runtime_->resetCalls();
    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kCreateContainer));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Failed"), json::getString(r.status, "phase"));
    json::ObjectPtr t = json::getObject(json::getObject(statusOf(r.status, "app"), "state"), "terminated");
    CPPUNIT_ASSERT_MESSAGE(ctx, !t.isNull());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(1), json::getInt(t, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Error"), json::getString(t, "reason"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("False"), conditionOf(r.status, "Ready"));
  }

  void testOomKilledReason() {
    manifest::StaticPod pod = parse(podYaml("Never"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    runtime_->exitContainer(latest(pod.uid, "app").id, 137, {}, true);
    SyncResult r = syncer_->sync(pod, st);
    json::ObjectPtr t = json::getObject(json::getObject(statusOf(r.status, "app"), "state"), "terminated");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r.status), std::string("OOMKilled"), json::getString(t, "reason"));
    CPPUNIT_ASSERT_EQUAL(int64_t(137), json::getInt(t, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL(std::string("Failed"), json::getString(r.status, "phase"));
  }

  // ---- Init containers ----

  void testInitContainersRunInOrder() {
    const std::string init = "  initContainers:\n"
                             "  - name: init1\n"
                             "    image: " + std::string(kImage) + "\n"
                             "    command: [\"true\"]\n"
                             "  - name: init2\n"
                             "    image: " + std::string(kImage) + "\n"
                             "    command: [\"true\"]\n";
    manifest::StaticPod pod = parse(podYaml("Always", init));
    PodRuntimeState st;
    SyncResult r = syncer_->sync(pod, st);
    std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), runtime_->containersOf(pod.uid, "init1").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(0), runtime_->containersOf(pod.uid, "init2").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(0), runtime_->containersOf(pod.uid, "app").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Pending"), json::getString(r.status, "phase"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("False"), conditionOf(r.status, "Initialized"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("running"),
                                 stateKind(statusOf(r.status, "init1", "initContainerStatuses")));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("waiting"),
                                 stateKind(statusOf(r.status, "init2", "initContainerStatuses")));

    // Still running: a resync does not start init2.
    r = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL(size_t(0), runtime_->containersOf(pod.uid, "init2").size());

    runtime_->exitContainer(latest(pod.uid, "init1").id, 0);
    r = syncer_->sync(pod, st);
    ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), runtime_->containersOf(pod.uid, "init2").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(0), runtime_->containersOf(pod.uid, "app").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), runtime_->containersOf(pod.uid, "init1").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("terminated"),
                                 stateKind(statusOf(r.status, "init1", "initContainerStatuses")));

    runtime_->exitContainer(latest(pod.uid, "init2").id, 0);
    r = syncer_->sync(pod, st);
    ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), runtime_->containersOf(pod.uid, "app").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Running"), json::getString(r.status, "phase"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("True"), conditionOf(r.status, "Initialized"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("True"), conditionOf(r.status, "Ready"));
    for (const char* n : {"init1", "init2"}) {
      json::ObjectPtr cs = statusOf(r.status, n, "initContainerStatuses");
      json::ObjectPtr t = json::getObject(json::getObject(cs, "state"), "terminated");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Completed"), json::getString(t, "reason"));
      CPPUNIT_ASSERT_MESSAGE(ctx, json::getBool(cs, "ready"));
    }

    // Init containers never run again once the app has started.
    runtime_->resetCalls();
    syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL(0, runtime_->calls(RuntimeCall::kCreateContainer));
  }

  void testFailedInitContainerUnderNeverFailsPod() {
    const std::string init = "  initContainers:\n"
                             "  - name: init1\n"
                             "    image: " + std::string(kImage) + "\n"
                             "    command: [\"false\"]\n";
    manifest::StaticPod pod = parse(podYaml("Never", init));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    runtime_->exitContainer(latest(pod.uid, "init1").id, 1);
    runtime_->resetCalls();
    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kCreateContainer));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(0), runtime_->containersOf(pod.uid, "app").size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Failed"), json::getString(r.status, "phase"));
  }

  // ---- Images ----

  void testImageNeverPull() {
    manifest::StaticPod pod =
        parse(podYaml("Always", "", "", "    imagePullPolicy: Never\n"));
    runtime_->removeImage(kImage);
    PodRuntimeState st;
    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kPullImage));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kCreateContainer));
    json::ObjectPtr w = json::getObject(json::getObject(statusOf(r.status, "app"), "state"), "waiting");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("ErrImageNeverPull"), json::getString(w, "reason"));
    CPPUNIT_ASSERT_MESSAGE(ctx, json::getString(w, "message").find(kImage) != std::string::npos);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Pending"), json::getString(r.status, "phase"));
    CPPUNIT_ASSERT_MESSAGE(ctx, r.requeueAfter.has_value());

    // Once the image is there (loaded by hand), the container starts.
    runtime_->addImage(kImage);
    r = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r.status), std::string("running"), stateKind(statusOf(r.status, "app")));
    CPPUNIT_ASSERT_EQUAL(0, runtime_->calls(RuntimeCall::kPullImage));
  }

  void testAbsentImagePulled() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    runtime_->removeImage(kImage);
    runtime_->addRegistryImage(kImage);
    PodRuntimeState st;
    SyncResult r = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(r.status), 1, runtime_->calls(RuntimeCall::kPullImage));
    CPPUNIT_ASSERT(runtime_->hasImage(kImage));
    CPPUNIT_ASSERT_EQUAL(std::string("running"), stateKind(statusOf(r.status, "app")));
    // IfNotPresent: present now, never pulled again.
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL(1, runtime_->calls(RuntimeCall::kPullImage));
  }

  void testPullFailureThenImagePullBackOff() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    runtime_->removeImage(kImage);  // and not in any registry: every pull fails
    PodRuntimeState st;
    SyncResult r1 = syncer_->sync(pod, st);
    std::string ctx = dump(r1.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 1, runtime_->calls(RuntimeCall::kPullImage));
    json::ObjectPtr w = json::getObject(json::getObject(statusOf(r1.status, "app"), "state"), "waiting");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("ErrImagePull"), json::getString(w, "reason"));
    CPPUNIT_ASSERT_MESSAGE(ctx, json::getString(w, "message").find("pull access denied") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Pending"), json::getString(r1.status, "phase"));
    assertRequeueNear(r1, 10s);

    clock_->advance(2s);
    SyncResult r2 = syncer_->sync(pod, st);
    ctx = dump(r2.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 1, runtime_->calls(RuntimeCall::kPullImage));
    w = json::getObject(json::getObject(statusOf(r2.status, "app"), "state"), "waiting");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("ImagePullBackOff"), json::getString(w, "reason"));
    // Back-off since the failed pull: 8 s left.
    assertRequeueNear(r2, 8s);
  }

  void testPullRetriedAfterBackOff() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    runtime_->removeImage(kImage);
    PodRuntimeState st;
    syncer_->sync(pod, st);
    CPPUNIT_ASSERT_EQUAL(1, runtime_->calls(RuntimeCall::kPullImage));
    // The registry gets the image; once the 10 s back-off has passed, the kubelet pulls again.
    runtime_->addRegistryImage(kImage);
    clock_->advance(11s);
    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("pull retried 10 s after the failure; " + ctx, 2,
                                 runtime_->calls(RuntimeCall::kPullImage));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("running"), stateKind(statusOf(r.status, "app")));
  }

  // ---- Sandbox loss ----

  void testSandboxNotReadyRecreated() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    const std::string oldSandbox = st.sandboxId;
    const std::string oldContainer = latest(pod.uid, "app").id;
    runtime_->killSandbox(oldSandbox);  // the pause process died

    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    std::vector<SandboxRecord> sbs = runtime_->sandboxes();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), sbs.size());
    CPPUNIT_ASSERT_MESSAGE(ctx, sbs[0].id != oldSandbox);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(1), sbs[0].attempt);
    CPPUNIT_ASSERT(sbs[0].ready);
    CPPUNIT_ASSERT_EQUAL(sbs[0].id, st.sandboxId);
    CPPUNIT_ASSERT(!runtime_->container(oldContainer).has_value());
    std::vector<ContainerRecord> app = runtime_->containersOf(pod.uid, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), app.size());
    CPPUNIT_ASSERT_EQUAL(sbs[0].id, app[0].sandboxId);
    CPPUNIT_ASSERT_EQUAL(runtime::ContainerState::kRunning, app[0].state);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("running"), stateKind(statusOf(r.status, "app")));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, sbs[0].ip, json::getString(r.status, "podIP"));
  }

  void testSandboxDeletedRecreated() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    const std::string oldSandbox = st.sandboxId;
    const std::string oldContainer = latest(pod.uid, "app").id;
    runtime_->deleteSandboxOnly(oldSandbox);  // docker rm -f of the pause container alone

    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    std::vector<SandboxRecord> sbs = runtime_->sandboxes();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), sbs.size());
    CPPUNIT_ASSERT(sbs[0].id != oldSandbox);
    CPPUNIT_ASSERT(sbs[0].ready);
    // The orphaned container of the old sandbox is gone, a new one runs in the new sandbox.
    CPPUNIT_ASSERT(!runtime_->container(oldContainer).has_value());
    std::vector<ContainerRecord> app = runtime_->containersOf(pod.uid, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), app.size());
    CPPUNIT_ASSERT_EQUAL(sbs[0].id, app[0].sandboxId);
    CPPUNIT_ASSERT_EQUAL(int64_t(1), app[0].attempt);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("running"), stateKind(statusOf(r.status, "app")));
  }

  void testFinishedNeverPodNotRerunAfterSandboxLoss() {
    // The kubelet's computePodActions: a dead sandbox of a restartPolicy Never pod whose containers
    // have run is not re-created: the pod is done, its containers must not run a second time.
    manifest::StaticPod pod = parse(podYaml("Never"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    runtime_->exitContainer(latest(pod.uid, "app").id, 1);
    syncer_->sync(pod, st);
    runtime_->killSandbox(st.sandboxId);
    runtime_->resetCalls();
    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kRunPodSandbox));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, 0, runtime_->calls(RuntimeCall::kCreateContainer));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Failed"), json::getString(r.status, "phase"));
    json::ObjectPtr t = json::getObject(json::getObject(statusOf(r.status, "app"), "state"), "terminated");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(1), json::getInt(t, "exitCode", -1));
  }

  // ---- Adoption and spec changes ----

  void testAdoptsRunningPod() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    {
      PodRuntimeState st;
      syncer_->sync(pod, st);
    }
    const std::string sandbox = runtime_->sandboxes().front().id;
    const std::string container = latest(pod.uid, "app").id;
    // A new process: fresh syncer, backoff and per-pod state, same runtime.
    Backoff freshBackoff(10s, 300s);
    std::unique_ptr<PodSyncer> restarted = makeSyncer("node1", freshBackoff);
    runtime_->resetCalls();
    PodRuntimeState st;
    SyncResult r = restarted->sync(pod, st);
    const std::string ctx = dump(r.status);
    for (RuntimeCall c : {RuntimeCall::kRunPodSandbox, RuntimeCall::kStopPodSandbox, RuntimeCall::kRemovePodSandbox,
                          RuntimeCall::kCreateContainer, RuntimeCall::kStartContainer, RuntimeCall::kStopContainer,
                          RuntimeCall::kRemoveContainer}) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(plugin::runtimeCallName(c) + std::string(" ") + ctx, 0, runtime_->calls(c));
    }
    CPPUNIT_ASSERT_EQUAL(sandbox, st.sandboxId);
    CPPUNIT_ASSERT(st.knownContainers.count(container));
    json::ObjectPtr cs = statusOf(r.status, "app");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("running"), stateKind(cs));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, "docker://" + container, json::getString(cs, "containerID"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t(0), json::getInt(cs, "restartCount", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Running"), json::getString(r.status, "phase"));
  }

  void testSpecChangeRestartsContainer() {
    // Only a pinned UID keeps the pod identity across an edit of the container.
    const std::string meta = "  uid: " + std::string(kUidA) + "\n";
    manifest::StaticPod pod = parse(podYaml("Always", "  terminationGracePeriodSeconds: 7\n", meta));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    const std::string old = latest(kUidA, "app").id;
    manifest::StaticPod edited =
        parse(podYaml("Always", "  terminationGracePeriodSeconds: 7\n", meta, "    env: [{name: X, value: \"1\"}]\n"));
    CPPUNIT_ASSERT_EQUAL(pod.uid, edited.uid);
    SyncResult r = syncer_->sync(edited, st);
    const std::string ctx = dump(r.status);
    std::optional<ContainerRecord> stopped = runtime_->container(old);
    CPPUNIT_ASSERT_MESSAGE(ctx, stopped.has_value());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, runtime::ContainerState::kExited, stopped->state);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, size_t(1), stopped->stopTimeouts.size());
    CPPUNIT_ASSERT_EQUAL(int64_t(7), stopped->stopTimeouts[0]);
    ContainerRecord now = latest(kUidA, "app");
    CPPUNIT_ASSERT(now.id != old);
    CPPUNIT_ASSERT_EQUAL(int64_t(1), now.attempt);
    CPPUNIT_ASSERT_EQUAL(runtime::ContainerState::kRunning, now.state);
    json::ObjectPtr spec = json::getArray(json::getObject(edited.pod, "spec"), "containers")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(cri::containerHash(spec), now.annotations.at(cri::kContainerHashAnnotation));
  }

  // ---- Errors ----

  void testRuntimeErrorBecomesSyncError() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    runtime_->failNext(RuntimeCall::kRunPodSandbox, PW_UNAVAILABLE,
                       "cannot connect to the Docker daemon at unix:///run/x.sock: connection refused");
    PodRuntimeState st;
    SyncResult r = syncer_->sync(pod, st);
    const std::string ctx = dump(r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("SyncError"), json::getString(r.status, "reason"));
    CPPUNIT_ASSERT_MESSAGE(ctx, json::getString(r.status, "message").find("connection refused") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(ctx, st.lastError.find("connection refused") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("Pending"), json::getString(r.status, "phase"));
    assertRequeueNear(r, 10s);
    CPPUNIT_ASSERT(runtime_->sandboxes().empty());

    r = syncer_->sync(pod, st);
    CPPUNIT_ASSERT_MESSAGE(dump(r.status), !json::has(r.status, "reason"));
    CPPUNIT_ASSERT_EQUAL(std::string(), st.lastError);
    CPPUNIT_ASSERT_EQUAL(std::string("running"), stateKind(statusOf(r.status, "app")));
  }

  // ---- Terminate and listing ----

  void testTerminateRemovesOnlyThatPod() {
    // With an emptyDir, so that the pod has a host directory to remove.
    manifest::StaticPod a = parse(podYaml("Always", "  volumes:\n  - name: scratch\n    emptyDir: {}\n",
                                          "  uid: " + std::string(kUidA) + "\n",
                                          "    volumeMounts: [{name: scratch, mountPath: /scratch}]\n"));
    manifest::StaticPod b = parse(
        podYaml("Always", "", "  uid: " + std::string(kUidB) + "\n", "", "webb"));
    CPPUNIT_ASSERT_EQUAL(std::string(kUidA), a.uid);
    CPPUNIT_ASSERT_EQUAL(std::string(kUidB), b.uid);
    PodRuntimeState sa, sb;
    syncer_->sync(a, sa);
    syncer_->sync(b, sb);
    // The same UID run by another podwarden (node2) on the same runtime.
    Backoff otherBackoff(10s, 300s);
    std::unique_ptr<PodSyncer> other = makeSyncer("node2", otherBackoff);
    manifest::StaticPod a2 = parse(podYaml("Always", "", "  uid: " + std::string(kUidA) + "\n"), "node2");
    PodRuntimeState sa2;
    other->sync(a2, sa2);
    CPPUNIT_ASSERT_EQUAL(size_t(3), runtime_->sandboxes().size());
    CPPUNIT_ASSERT_EQUAL(size_t(3), runtime_->containers().size());
    std::string aContainer;
    for (const auto& c : runtime_->containers()) {
      if (c.labels.at(cri::kPodUidLabel) == kUidA && c.labels.at(cri::kNodeLabel) == "node1") aContainer = c.id;
    }
    CPPUNIT_ASSERT(!aContainer.empty());
    CPPUNIT_ASSERT(std::filesystem::is_directory(cri::emptyDirPath(kUidA, "scratch", opts("node1").translate)));

    CPPUNIT_ASSERT(syncer_->terminate(kUidA, "kube-system/web-node1", 5));

    for (const auto& s : runtime_->sandboxes()) {
      CPPUNIT_ASSERT_MESSAGE("sandbox " + s.dockerName + " left",
                             !(s.uid == kUidA && s.labels.at(cri::kNodeLabel) == "node1"));
    }
    int bLeft = 0, a2Left = 0;
    for (const auto& c : runtime_->containers()) {
      const std::string& uid = c.labels.at(cri::kPodUidLabel);
      const std::string& node = c.labels.at(cri::kNodeLabel);
      CPPUNIT_ASSERT_MESSAGE("container " + c.dockerName + " left", !(uid == kUidA && node == "node1"));
      CPPUNIT_ASSERT_EQUAL(runtime::ContainerState::kRunning, c.state);
      if (uid == kUidB) ++bLeft;
      if (uid == kUidA && node == "node2") ++a2Left;
    }
    CPPUNIT_ASSERT_EQUAL(1, bLeft);
    CPPUNIT_ASSERT_EQUAL(1, a2Left);
    CPPUNIT_ASSERT_EQUAL(size_t(2), runtime_->sandboxes().size());
    CPPUNIT_ASSERT(!runtime_->container(aContainer).has_value());
    // Only the running container of that pod was stopped, with the grace period given.
    std::vector<std::pair<std::string, int64_t>> stops = runtime_->stopLog();
    CPPUNIT_ASSERT_EQUAL(size_t(1), stops.size());
    CPPUNIT_ASSERT_EQUAL(aContainer, stops[0].first);
    CPPUNIT_ASSERT_EQUAL(int64_t(5), stops[0].second);
    CPPUNIT_ASSERT(!std::filesystem::exists(cri::podDir(kUidA, opts("node1").translate)));
    // Again: nothing left to do, still fine.
    CPPUNIT_ASSERT(syncer_->terminate(kUidA, "kube-system/web-node1", 5));
  }

  void testListPodUids() {
    manifest::StaticPod a =
        parse(podYaml("Always", "  terminationGracePeriodSeconds: 5\n", "  uid: " + std::string(kUidA) + "\n"));
    manifest::StaticPod b = parse(
        podYaml("Always", "", "  uid: " + std::string(kUidB) + "\n", "", "webb"));
    PodRuntimeState sa, sb;
    syncer_->sync(a, sa);
    syncer_->sync(b, sb);
    // Another node's pod is not ours.
    Backoff otherBackoff(10s, 300s);
    std::unique_ptr<PodSyncer> other = makeSyncer("node2", otherBackoff);
    manifest::StaticPod c = parse(podYaml("Always", "", "", "", "webc"), "node2");
    PodRuntimeState sc;
    other->sync(c, sc);
    // A pod whose containers are gone but whose sandbox is left.
    const std::string uidC = "0a1b2c3d-0000-4000-8000-00000000000c";
    manifest::StaticPod d = parse(
        podYaml("Always", "", "  uid: " + uidC + "\n", "", "webd"));
    PodRuntimeState sd;
    syncer_->sync(d, sd);
    runtime_->removeContainer(latest(uidC, "app").id);

    std::map<std::string, int64_t> uids = syncer_->listPodUids();
    std::string got;
    for (const auto& kv : uids) got += kv.first + "=" + std::to_string(kv.second) + " ";
    CPPUNIT_ASSERT_EQUAL_MESSAGE(got, size_t(3), uids.size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(got, int64_t(5), uids.at(kUidA));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(got, int64_t(30), uids.at(kUidB));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(got, int64_t(30), uids.at(uidC));
    CPPUNIT_ASSERT_MESSAGE(got, !uids.count(c.uid));
    std::map<std::string, int64_t> node2 = other->listPodUids();
    CPPUNIT_ASSERT_EQUAL(size_t(1), node2.size());
    CPPUNIT_ASSERT(node2.count(c.uid));
  }

 private:
  SyncOptions opts(const std::string& node) {
    SyncOptions o;
    o.nodeName = node;
    o.hostIP = "192.0.2.10";
    o.translate.nodeName = node;
    o.translate.hostIP = o.hostIP;
    o.translate.podsDir = tmp_ + "/pods-" + node;
    o.translate.logDir = tmp_ + "/logs-" + node;
    o.translate.resolvConf = tmp_ + "/resolv.conf";
    FakeClock* clock = clock_.get();
    o.nowUnixNs = [clock] { return clock->wallNs(); };
    o.monotonicNs = [clock] { return clock->monotonicNs(); };
    return o;
  }

  // Found with fuzz/fuzz_plugin_json: an attempt of INT64_MAX from the runtime made `attempt + 1` overflow
  // (undefined behaviour). Attempts are read clamped into CRI's uint32 range (CriJsonTest); the ends of that
  // range work here.
  void testAttemptsOutsideCriRangeAreClamped() {
    manifest::StaticPod pod = parse(podYaml("Always"));
    PodRuntimeState st;
    syncer_->sync(pod, st);
    for (uint32_t reported : {std::numeric_limits<uint32_t>::max(), uint32_t{0}}) {
      AttemptOverride runtime(*runtime_, reported);
      PodSyncer syncer(runtime, *backoff_, opts("node1"));
      SyncResult r = syncer.sync(pod, st);
      const std::string ctx = dump(r.status);
      json::ObjectPtr cs = statusOf(r.status, "app");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string("running"), stateKind(cs));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, int64_t{reported}, json::getInt(cs, "restartCount", -1));
    }
    CPPUNIT_ASSERT_EQUAL(1, runtime_->calls(RuntimeCall::kCreateContainer));
  }

  std::unique_ptr<PodSyncer> makeSyncer(const std::string& node, Backoff& backoff) {
    return std::make_unique<PodSyncer>(*runtime_, backoff, opts(node));
  }

  manifest::StaticPod parse(const std::string& yaml, const std::string& node = "node1") {
    manifest::ParseOptions po;
    po.nodeName = node;
    po.seenUnixNs = clock_->wallNs();
    manifest::ParseResult r = manifest::parseManifest(yaml, {"file", "/etc/kubernetes/manifests/web.yaml"}, po);
    std::string problems;
    for (const auto& p : r.errors) problems += p.toString() + "\n";
    CPPUNIT_ASSERT_MESSAGE("manifest rejected:\n" + problems + yaml, r.pod.has_value());
    return *r.pod;
  }

  ContainerRecord latest(const std::string& uid, const std::string& name) {
    std::vector<ContainerRecord> all = runtime_->containersOf(uid, name);
    CPPUNIT_ASSERT_MESSAGE("no container " + name + " of pod " + uid, !all.empty());
    return all.front();
  }

  static void assertRequeueNear(const SyncResult& r, std::chrono::milliseconds want) {
    CPPUNIT_ASSERT_MESSAGE("no requeue; want ~" + std::to_string(want.count()) + " ms", r.requeueAfter.has_value());
    const auto got = *r.requeueAfter;
    CPPUNIT_ASSERT_MESSAGE("requeue after " + std::to_string(got.count()) + " ms, want ~" +
                               std::to_string(want.count()) + " ms",
                           got >= want - 100ms && got <= want + 100ms);
  }

  std::string tmp_;
  std::unique_ptr<FakeClock> clock_;
  std::unique_ptr<InMemoryRuntime> runtime_;
  std::unique_ptr<Backoff> backoff_;
  std::unique_ptr<PodSyncer> syncer_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(PodSyncerTest);
