// ReconcilerTest - the Reconciler's control logic on the in-memory CRI runtime, driven step by step: a
// manual executor (tasks run when the test says) and the fake clock, no threads of its own. Covers adding
// and removing pods, duplicate names, the last valid content of a broken manifest, a new UID waiting for
// the old one to terminate, orphans after a restart (only once every source reported), events, requeues
// after CrashLoopBackOff and the relist.
#include <cppunit/extensions/HelperMacros.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "InMemoryRuntime.h"
#include "reconciler/Executor.h"
#include "reconciler/Reconciler.h"
#include "status/StatusHub.h"

using namespace std::chrono_literals;
using namespace podwarden;
using podwarden::test::ContainerRecord;
using podwarden::test::FakeClock;
using podwarden::test::InMemoryRuntime;

namespace {

constexpr const char* kImage = "podwarden.local/busybox:1.36";

// Tasks wait until the test runs them.
class ManualExecutor : public Executor {
 public:
  void submit(std::function<void()> task) override { tasks_.push_back(std::move(task)); }
  size_t pending() const { return tasks_.size(); }
  // Runs what is queued now (not what those tasks queue).
  void runPending() {
    std::deque<std::function<void()>> now;
    now.swap(tasks_);
    for (auto& t : now) t();
  }

 private:
  std::deque<std::function<void()>> tasks_;
};

std::string podYaml(const std::string& name, const std::string& command = "sleep 3600",
                    const std::string& restartPolicy = "Always") {
  return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name +
         "\n  namespace: kube-system\nspec:\n  restartPolicy: " + restartPolicy +
         "\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: app\n    image: " + kImage +
         "\n    command: [\"sh\", \"-c\", \"" + command + "\"]\n";
}

plugin::ManifestDoc doc(const std::string& origin, const std::string& data) {
  plugin::ManifestDoc d;
  d.origin = origin;
  d.contentType = "application/yaml";
  d.data = data;
  return d;
}

}  // namespace

class ReconcilerTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ReconcilerTest);
  CPPUNIT_TEST(testAddThenRemove);
  CPPUNIT_TEST(testDuplicateNameFirstOriginWins);
  CPPUNIT_TEST(testRunningPodKeepsItsNameAgainstAnEarlierOrigin);
  CPPUNIT_TEST(testBrokenManifestKeepsLastGoodPod);
  CPPUNIT_TEST(testNewUidWaitsForTheOldOne);
  CPPUNIT_TEST(testOrphanRemovedOnlyOnceEverySourceReported);
  CPPUNIT_TEST(testEventResyncsThePod);
  CPPUNIT_TEST(testRequeueAfterCrashLoopBackOff);
  CPPUNIT_TEST(testStopWaitsForRunningTasks);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    char tmpl[] = "/tmp/reconciler-test-XXXXXX";
    char* dir = ::mkdtemp(tmpl);
    CPPUNIT_ASSERT_MESSAGE("mkdtemp failed", dir != nullptr);
    tmp_ = dir;
    std::ofstream(tmp_ + "/resolv.conf") << "nameserver 192.0.2.53\n";
    clock_ = std::make_unique<FakeClock>();
    runtime_ = std::make_unique<InMemoryRuntime>(*clock_);
    runtime_->addImage(kImage);
    hub_ = std::make_unique<StatusHub>(std::vector<plugin::SinkInstance*>{});
  }

  void tearDown() override {
    reconciler_.reset();
    hub_.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  void testAddThenRemove() {
    start(1);
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web"))});
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    const std::string uid = onlyPod();
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), phaseOf(uid));
    reconciler_->updateSource(0, {});
    settle();
    CPPUNIT_ASSERT(runtime_->containers().empty());
    CPPUNIT_ASSERT(runtime_->sandboxes().empty());
    CPPUNIT_ASSERT(reconciler_->trackedPods().empty());
    CPPUNIT_ASSERT(hub_->latest(uid).isNull());
  }

  void testDuplicateNameFirstOriginWins() {
    start(1);
    reconciler_->updateSource(
        0, {doc("/m/a.yaml", podYaml("web", "sleep 1000")), doc("/m/b.yaml", podYaml("web", "sleep 2000"))});
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), runtime_->sandboxes().size());
    CPPUNIT_ASSERT_EQUAL(std::string("sleep 1000"), commandOf(running().at(0)));
    assertErrorsMention("/m/b.yaml", "duplicate pod name kube-system/web: /m/a.yaml defines it too and wins");
    // Without a.yaml, b.yaml's pod takes the name once a.yaml's has terminated.
    reconciler_->updateSource(0, {doc("/m/b.yaml", podYaml("web", "sleep 2000"))});
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    CPPUNIT_ASSERT_EQUAL(std::string("sleep 2000"), commandOf(running().at(0)));
    CPPUNIT_ASSERT_EQUAL(std::string("[]"), hub_->errorsJson());
  }

  void testRunningPodKeepsItsNameAgainstAnEarlierOrigin() {
    start(1);
    reconciler_->updateSource(0, {doc("/m/b.yaml", podYaml("web", "sleep 2000"))});
    settle();
    const std::string id = running().at(0).id;
    reconciler_->updateSource(
        0, {doc("/m/a.yaml", podYaml("web", "sleep 1000")), doc("/m/b.yaml", podYaml("web", "sleep 2000"))});
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    CPPUNIT_ASSERT_EQUAL(id, running().at(0).id);
    assertErrorsMention("/m/a.yaml", "/m/b.yaml defines it too and wins (its pod is already running)");
  }

  void testBrokenManifestKeepsLastGoodPod() {
    start(1);
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web"))});
    settle();
    const std::string id = running().at(0).id;
    const std::string uid = onlyPod();
    reconciler_->updateSource(0, {doc("/m/web.yaml", "apiVersion: v1\nkind: Pod\nmetadata: [\n")});
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    CPPUNIT_ASSERT_EQUAL(id, running().at(0).id);
    CPPUNIT_ASSERT_EQUAL(uid, onlyPod());
    assertErrorsMention("/m/web.yaml", "YAML syntax error");
    // Fixed with other content: the new pod replaces the old one.
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web", "sleep 99"))});
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    CPPUNIT_ASSERT_EQUAL(std::string("sleep 99"), commandOf(running().at(0)));
    CPPUNIT_ASSERT(onlyPod() != uid);
    CPPUNIT_ASSERT_EQUAL(std::string("[]"), hub_->errorsJson());
  }

  // The kubelet's static-pod start ordering: a changed manifest is a new UID with the same full name, and it
  // starts only once the old UID's termination has finished (a hostNetwork pod never races for its port).
  void testNewUidWaitsForTheOldOne() {
    start(1);
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web", "sleep 1"))});
    settle();
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web", "sleep 2"))});
    reconciler_->runOnce();
    CPPUNIT_ASSERT_EQUAL(size_t(2), reconciler_->trackedPods().size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE("only the old pod's termination is queued", size_t(1), executor_.pending());
    executor_.runPending();
    CPPUNIT_ASSERT_MESSAGE("nothing of the new pod before the old one is gone",
                           runtime_->sandboxes().empty());
    reconciler_->runOnce();  // the termination finishes: the new pod is dispatched
    CPPUNIT_ASSERT_EQUAL(size_t(1), executor_.pending());
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    CPPUNIT_ASSERT_EQUAL(std::string("sleep 2"), commandOf(running().at(0)));
  }

  // Pods left in the runtime by a previous run whose manifests are gone are stopped by the relist, but only
  // once every source has delivered its first snapshot: a slow source never gets its pods killed.
  void testOrphanRemovedOnlyOnceEverySourceReported() {
    start(2);
    reconciler_->updateSource(0, {doc("/m/old.yaml", podYaml("old"))});
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    start(2);  // podwarden restarts; the manifest went away meanwhile
    reconciler_->updateSource(0, {});
    settle();
    relist();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("source 1 has not reported yet", size_t(1), running().size());
    reconciler_->updateSource(1, {});
    settle();
    relist();
    CPPUNIT_ASSERT(runtime_->containers().empty());
    CPPUNIT_ASSERT(runtime_->sandboxes().empty());
    CPPUNIT_ASSERT(reconciler_->trackedPods().empty());
  }

  void testEventResyncsThePod() {
    start(1);
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web"))});
    settle();
    const ContainerRecord first = running().at(0);
    runtime_->exitContainer(first.id, 1);
    reconciler_->runtimeEvent("{\"containerId\":\"" + first.id +
                              "\",\"containerEventType\":\"CONTAINER_STOPPED_EVENT\"}");
    settle();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("the first restart is not delayed", size_t(1), running().size());
    CPPUNIT_ASSERT_EQUAL(int64_t(1), running().at(0).attempt);
    // An event for a container nobody knows changes nothing.
    reconciler_->runtimeEvent("{\"containerId\":\"unknown\"}");
    reconciler_->runtimeEvent("not json");
    settle();
    CPPUNIT_ASSERT_EQUAL(int64_t(1), running().at(0).attempt);
  }

  void testRequeueAfterCrashLoopBackOff() {
    start(1);
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web"))});
    settle();
    relist();  // the next relist is 60 s away now
    for (int attempt = 0; attempt < 2; ++attempt) {
      const ContainerRecord c = running().at(0);
      runtime_->exitContainer(c.id, 1);
      reconciler_->runtimeEvent("{\"containerId\":\"" + c.id + "\"}");
      settle();
    }
    // The second exit backs off 10 s: waiting now, restarted when the requeue time comes, without an event.
    CPPUNIT_ASSERT(running().empty());
    const std::string uid = onlyPod();
    CPPUNIT_ASSERT(reconciler_->nextWake() == now() + 10001ms);
    advance(5s);
    settle();
    CPPUNIT_ASSERT(running().empty());
    advance(5s + 1ms);
    settle();
    CPPUNIT_ASSERT_EQUAL(size_t(1), running().size());
    CPPUNIT_ASSERT_EQUAL(int64_t(2), running().at(0).attempt);
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), phaseOf(uid));
  }

  void testStopWaitsForRunningTasks() {
    start(1);
    reconciler_->updateSource(0, {doc("/m/web.yaml", podYaml("web"))});
    reconciler_->runOnce();
    CPPUNIT_ASSERT_EQUAL(size_t(1), executor_.pending());
    reconciler_->stop();
    CPPUNIT_ASSERT_MESSAGE("a sync still runs", reconciler_->runOnce());
    executor_.runPending();
    CPPUNIT_ASSERT(!reconciler_->runOnce());
    CPPUNIT_ASSERT_EQUAL_MESSAGE("pods keep running", size_t(1), running().size());
  }

 private:
  // A reconciler over `sources` file sources (a new one replaces the last: a daemon restart).
  void start(size_t sources) {
    executor_.runPending();  // a task of the last reconciler would outlive it
    reconciler_.reset();
    ReconcilerOptions o;
    o.sync.nodeName = "node1";
    o.sync.hostIP = "192.0.2.10";
    o.sync.translate.nodeName = "node1";
    o.sync.translate.hostIP = o.sync.hostIP;
    o.sync.translate.podsDir = tmp_ + "/pods";
    o.sync.translate.logDir = tmp_ + "/logs";
    o.sync.translate.resolvConf = tmp_ + "/resolv.conf";
    FakeClock* clock = clock_.get();
    o.sync.nowUnixNs = [clock] { return clock->wallNs(); };
    o.sync.monotonicNs = [clock] { return clock->monotonicNs(); };
    o.now = [clock] {
      return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(clock->monotonicNs()));
    };
    o.relistPeriod = 60s;
    o.backoffInitial = 10s;
    o.backoffMax = 300s;
    o.executor = &executor_;
    reconciler_ =
        std::make_unique<Reconciler>(o, *runtime_, *hub_, std::vector<std::string>(sources, "file"));
    reconciler_->begin();
  }

  // Runs the control loop and every task it queues until nothing is left to do.
  void settle() {
    for (int i = 0; i < 20; ++i) {
      reconciler_->runOnce();
      if (executor_.pending() == 0) return;
      executor_.runPending();
    }
    CPPUNIT_FAIL("the reconciler kept queueing work");
  }

  void relist() {
    advance(61s);
    settle();
  }

  std::chrono::steady_clock::time_point now() const {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(clock_->monotonicNs()));
  }
  void advance(std::chrono::nanoseconds d) { clock_->advance(d); }

  std::vector<ContainerRecord> running() const {
    std::vector<ContainerRecord> out;
    for (const auto& c : runtime_->containers()) {
      if (c.state == podwarden::runtime::ContainerState::kRunning) out.push_back(c);
    }
    return out;
  }

  std::string onlyPod() const {
    auto pods = reconciler_->trackedPods();
    CPPUNIT_ASSERT_EQUAL(size_t(1), pods.size());
    return pods.begin()->first;
  }

  std::string phaseOf(const std::string& uid) const {
    json::ObjectPtr pod = hub_->latest(uid);
    CPPUNIT_ASSERT_MESSAGE("no status published for " + uid, !pod.isNull());
    return json::getString(json::getObject(pod, "status"), "phase");
  }

  static std::string commandOf(const ContainerRecord& c) {
    const auto& args = c.config.args;
    const auto& a = args && !args->empty() ? args : c.config.command;
    return a && !a->empty() ? a->back() : "";
  }

  void assertErrorsMention(const std::string& origin, const std::string& text) const {
    const std::string errors = hub_->errorsJson();
    CPPUNIT_ASSERT_MESSAGE(errors, errors.find("\"origin\":\"" + origin + "\"") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(errors, errors.find(text) != std::string::npos);
  }

  std::string tmp_;
  std::unique_ptr<FakeClock> clock_;
  std::unique_ptr<InMemoryRuntime> runtime_;
  std::unique_ptr<StatusHub> hub_;
  ManualExecutor executor_;
  std::unique_ptr<Reconciler> reconciler_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReconcilerTest);
