// InitContainersTest - init containers on a real runtime, Docker or containerd (issue 3: "Two init
// containers run in order; a failing one blocks the app containers and is retried per policy"). The containers leave their traces in
// a hostPath directory of the test's work dir; the runtime's started/finished times give the order.
#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <thread>


using namespace podwarden;
using namespace podwarden::lifecycle;

namespace {
constexpr const char* kNs = "default";
constexpr const char* kSleepForever = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";

std::string container(const std::string& name, const std::string& script) {
  return yamlLines({
      "  - name: " + name,
      std::string("    image: ") + e2e::kBusyboxImage,
      "    command: [\"/bin/sh\", \"-c\", \"" + script + "\"]",
      "    volumeMounts:",
      "    - name: data",
      "      mountPath: /data",
  });
}

std::string podWithInit(const std::string& name, const std::string& policy, const std::string& dataDir,
                        const std::string& initContainers, const std::string& containers) {
  return yamlLines({
             "apiVersion: v1",
             "kind: Pod",
             "metadata:",
             "  name: " + name,
             std::string("  namespace: ") + kNs,
             "spec:",
             "  hostNetwork: true",
             "  restartPolicy: " + policy,
             "  terminationGracePeriodSeconds: 2",
             "  volumes:",
             "  - name: data",
             "    hostPath:",
             "      path: " + dataDir,
             "      type: Directory",
             "  initContainers:",
         }) +
         initContainers + "  containers:\n" + containers;
}

// The runtime's id from a containerStatuses[] entry ("<kind>://<id>"); empty for another scheme.
std::string runtimeId(TestRuntime& rt, const json::ObjectPtr& cs) {
  const std::string id = json::getString(cs, "containerID");
  const std::string scheme = rt.kind() + "://";
  return id.rfind(scheme, 0) == 0 ? id.substr(scheme.size()) : "";
}

bool hasAppContainer(TestRuntime& rt, TestNode& node, const std::string& container) {
  return !appContainers(rt, node, container).empty();
}

std::string conditionStatus(const StatusPod& sp, const std::string& type) {
  return json::getString(condition(sp, type), "status");
}
}  // namespace

class InitContainersTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(InitContainersTest);
  CPPUNIT_TEST(testInitContainersRunInOrder);
  CPPUNIT_TEST(testFailingInitRetriedUntilItSucceeds);
  CPPUNIT_TEST(testFailingInitBlocksAppContainers);
  CPPUNIT_TEST(testFailingInitWithNeverFailsPod);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("init");
    rt_ = attachRuntime(*node_);
    data_ = makeDir(node_->workDir() + "/data");
  }
  void tearDown() override { releaseNode(node_, rt_); }

  // first, then second, each to completion, then the app, which sees both lines in order.
  void testInitContainersRunInOrder() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(
        node.manifestDir() + "/ordered.yaml",
        podWithInit("ordered", "Always", data_,
                    container("first", "echo first >> /data/order") +
                        container("second", "grep -qx first /data/order && echo second >> /data/order"),
                    container("app", std::string("cp /data/order /data/app-saw; ") + kSleepForever)));
    StatusPod sp = waitStatus(
        node, "ordered", kNs,
        [](const StatusPod& p) { return p.phase() == "Running" && p.containerRunning("app"); },
        "app Running");
    const std::string dump = "\n" + json::stringify(sp.pod) + node.diagnostics();
    CPPUNIT_ASSERT_MESSAGE("the app container did not copy /data/order" + dump,
                           node.waitFor([&] { return e2e::fileExists(data_ + "/app-saw"); }, 30));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("what the app container saw" + dump, std::string("first\nsecond\n"),
                                 e2e::readFile(data_ + "/app-saw"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("Initialized" + dump, std::string("True"),
                                 conditionStatus(sp, "Initialized"));

    int64_t previousFinish = 0;
    std::string previous = "(none)";
    for (const char* name : {"first", "second"}) {
      json::ObjectPtr cs = containerStatus(sp, name, true);
      CPPUNIT_ASSERT_MESSAGE(std::string("initContainerStatuses lacks ") + name + dump, cs);
      json::ObjectPtr term = stateOf(cs, "terminated");
      CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": state.terminated missing" + dump, term);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(name) + " exitCode" + dump, int64_t(0),
                                   json::getInt(term, "exitCode", -1));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(name) + " reason" + dump, std::string("Completed"),
                                   json::getString(term, "reason"));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(name) + " restartCount" + dump, int64_t(0),
                                   json::getInt(cs, "restartCount", -1));
      CPPUNIT_ASSERT_MESSAGE(std::string(name) + " ready" + dump, json::getBool(cs, "ready"));
      e2e::ContainerRecord r = recordOf(*rt_, node, runtimeId(*rt_, cs));
      CPPUNIT_ASSERT_MESSAGE(std::string(name) + " started before " + previous + " finished" + dump,
                             r.startedNs > 0 && r.startedNs >= previousFinish);
      previousFinish = r.finishedNs;
      previous = name;
    }
    e2e::ContainerRecord app = recordOf(*rt_, node, runtimeId(*rt_, containerStatus(sp, "app")));
    CPPUNIT_ASSERT_MESSAGE("app started before the last init container finished" + dump,
                           app.startedNs >= previousFinish);
  }

  // OnFailure: an init container failing twice is retried (with backoff); the app container is created only
  // after its third run succeeded.
  void testFailingInitRetriedUntilItSucceeds() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(
        node.manifestDir() + "/flaky.yaml",
        podWithInit("flaky", "OnFailure", data_,
                    container("flaky", "echo x >> /data/attempts; [ $(wc -l < /data/attempts) -ge 3 ]"),
                    container("app", std::string("cp /data/attempts /data/app-saw; ") + kSleepForever)));
    bool sawBlocked = false;
    std::string blockedProblem;
    StatusPod sp = waitStatus(
        node, "flaky", kNs,
        [&](const StatusPod& p) {
          json::ObjectPtr init = containerStatus(p, "flaky", true);
          bool failedOnce =
              stateOf(init, "terminated") && json::getInt(stateOf(init, "terminated"), "exitCode") != 0;
          failedOnce = failedOnce || (stateOf(init, "terminated", true) &&
                                      json::getInt(stateOf(init, "terminated", true), "exitCode") != 0);
          if (failedOnce && json::getInt(init, "restartCount") < 2) {
            // Between failures: the app must not exist yet and the pod is not initialized.
            sawBlocked = true;
            if (hasAppContainer(*rt_, node, "app"))
              blockedProblem = "an app container exists while the init container fails";
            if (p.phase() != "Pending") blockedProblem = "phase " + p.phase() + " while initializing";
            if (conditionStatus(p, "Initialized") != "False")
              blockedProblem = "Initialized not False while initializing";
          }
          return p.phase() == "Running" && p.containerRunning("app");
        },
        "app Running after the init container's retries");
    const std::string dump = "\n" + json::stringify(sp.pod) + node.diagnostics();
    CPPUNIT_ASSERT_MESSAGE("never saw the failed init container in the status" + dump, sawBlocked);
    CPPUNIT_ASSERT_MESSAGE(blockedProblem + dump, blockedProblem.empty());
    CPPUNIT_ASSERT_EQUAL_MESSAGE("init restartCount" + dump, int64_t(2),
                                 json::getInt(containerStatus(sp, "flaky", true), "restartCount", -1));
    CPPUNIT_ASSERT_MESSAGE("the app container did not copy /data/attempts" + dump,
                           node.waitFor([&] { return e2e::fileExists(data_ + "/app-saw"); }, 30));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("the app container ran before the init container succeeded" + dump,
                                 std::string("x\nx\nx\n"), e2e::readFile(data_ + "/app-saw"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("Initialized" + dump, std::string("True"),
                                 conditionStatus(sp, "Initialized"));
  }

  // Always + an init container that always fails: retried (restart count grows, CrashLoopBackOff), the app
  // container is never created, the pod stays Pending and not Initialized.
  void testFailingInitBlocksAppContainers() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(
        node.manifestDir() + "/blocked.yaml",
        podWithInit("blocked", "Always", data_, container("broken", "echo x >> /data/attempts; exit 3"),
                    container("app", std::string("touch /data/app-ran; ") + kSleepForever)));
    bool sawBackoff = false;
    StatusPod sp = waitStatus(
        node, "blocked", kNs,
        [&](const StatusPod& p) {
          json::ObjectPtr init = containerStatus(p, "broken", true);
          if (json::getString(stateOf(init, "waiting"), "reason") == "CrashLoopBackOff") sawBackoff = true;
          return sawBackoff && json::getInt(init, "restartCount") >= 3;
        },
        "three restarts of the failing init container with CrashLoopBackOff");
    const std::string dump = "\n" + json::stringify(sp.pod) + node.diagnostics();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("phase" + dump, std::string("Pending"), sp.phase());
    CPPUNIT_ASSERT_EQUAL_MESSAGE("Initialized" + dump, std::string("False"),
                                 conditionStatus(sp, "Initialized"));
    CPPUNIT_ASSERT_MESSAGE("an app container was created" + dump, !hasAppContainer(*rt_, node, "app"));
    CPPUNIT_ASSERT_MESSAGE("the app container ran" + dump, !e2e::fileExists(data_ + "/app-ran"));
    json::ObjectPtr app = containerStatus(sp, "app");
    CPPUNIT_ASSERT_MESSAGE("the app container's status should be waiting" + dump, stateOf(app, "waiting"));
    json::ObjectPtr init = containerStatus(sp, "broken", true);
    json::ObjectPtr last = stateOf(init, "terminated", true);
    if (!last) last = stateOf(init, "terminated");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("init exit code" + dump, int64_t(3), json::getInt(last, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("init reason" + dump, std::string("Error"), json::getString(last, "reason"));
  }

  // Never + a failing init container: the pod fails, no retry, no app container.
  void testFailingInitWithNeverFailsPod() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(
        node.manifestDir() + "/doomed.yaml",
        podWithInit("doomed", "Never", data_, container("broken", "echo x >> /data/attempts; exit 3"),
                    container("app", std::string("touch /data/app-ran; ") + kSleepForever)));
    StatusPod sp = waitStatus(
        node, "doomed", kNs, [](const StatusPod& p) { return p.phase() == "Failed"; }, "phase Failed");
    std::this_thread::sleep_for(std::chrono::seconds(2 * kBackoffMaxSeconds));
    sp = node.statusPod("doomed", kNs);
    const std::string dump = "\n" + json::stringify(sp.pod) + node.diagnostics();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("phase" + dump, std::string("Failed"), sp.phase());
    CPPUNIT_ASSERT_EQUAL_MESSAGE("the init container was retried under restartPolicy Never" + dump,
                                 std::string("x\n"), e2e::readFile(data_ + "/attempts"));
    CPPUNIT_ASSERT_MESSAGE("an app container was created" + dump, !hasAppContainer(*rt_, node, "app"));
    json::ObjectPtr term = stateOf(containerStatus(sp, "broken", true), "terminated");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("init exit code" + dump, int64_t(3), json::getInt(term, "exitCode", -1));
  }

 private:
  std::unique_ptr<TestNode> node_;
  std::unique_ptr<TestRuntime> rt_;
  std::string data_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(InitContainersTest);
