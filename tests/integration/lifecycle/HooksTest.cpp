// HooksTest - lifecycle.postStart on a real runtime, Docker or containerd (issue 3: "postStart (exec,
// httpGet): failure kills the container with reason FailedPostStartHook"). preStop ordering is in TerminationTest.
#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>


using namespace podwarden;
using namespace podwarden::lifecycle;

namespace {
constexpr const char* kNs = "default";

std::string podWithPostStart(const std::string& name, const std::string& policy, const std::string& dataDir,
                             const std::string& script, const std::string& hookScript) {
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
      "  containers:",
      "  - name: main",
      std::string("    image: ") + e2e::kBusyboxImage,
      "    command: [\"/bin/sh\", \"-c\", \"" + script + "\"]",
      "    volumeMounts:",
      "    - name: data",
      "      mountPath: /data",
      "    lifecycle:",
      "      postStart:",
      "        exec:",
      "          command: [\"/bin/sh\", \"-c\", \"" + hookScript + "\"]",
  });
}
}  // namespace

class HooksTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(HooksTest);
  CPPUNIT_TEST(testPostStartExecRuns);
  CPPUNIT_TEST(testFailingPostStartKillsContainer);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("hooks");
    rt_ = attachRuntime(*node_);
    data_ = makeDir(node_->workDir() + "/data");
  }
  void tearDown() override { releaseNode(node_, rt_); }

  // A succeeding postStart runs inside the container; the container keeps running, not restarted.
  void testPostStartExecRuns() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(node.manifestDir() + "/started.yaml",
                   podWithPostStart("started", "Always", data_,
                                    "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done",
                                    "echo poststart >> /data/marks"));
    StatusPod sp = waitStatus(
        node, "started", kNs,
        [](const StatusPod& p) { return p.phase() == "Running" && p.containerRunning("main"); },
        "container main Running");
    CPPUNIT_ASSERT_MESSAGE("the postStart hook did not write /data/marks" + node.diagnostics(),
                           node.waitFor([&] { return e2e::fileExists(data_ + "/marks"); }, 30));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("postStart output" + node.diagnostics(), std::string("poststart\n"),
                                 e2e::readFile(data_ + "/marks"));
    sp = node.statusPod("started", kNs);
    CPPUNIT_ASSERT_MESSAGE("container not running after its postStart hook" + node.diagnostics(),
                           sp.containerRunning("main"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("restartCount" + node.diagnostics(), int64_t(0), sp.restartCount("main"));
  }

  // A postStart exiting 7 (after leaving a trace, so it did run): the container is killed and its
  // termination carries reason FailedPostStartHook. The container (a shell as PID 1 with no TERM handler)
  // only dies of SIGKILL at the 2 s deadline, so it exits non-zero and restartPolicy Never leaves the pod
  // Failed.
  void testFailingPostStartKillsContainer() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(node.manifestDir() + "/badhook.yaml",
                   podWithPostStart("badhook", "Never", data_, "while :; do sleep 1; done",
                                    "echo poststart >> /data/marks; exit 7"));
    StatusPod sp = waitStatus(
        node, "badhook", kNs,
        [](const StatusPod& p) {
          json::ObjectPtr cs = containerStatus(p, "main");
          return stateOf(cs, "terminated") || stateOf(cs, "terminated", true);
        },
        "container main terminated");
    const std::string dump = "\n" + json::stringify(sp.pod) + node.diagnostics();
    CPPUNIT_ASSERT_MESSAGE("the postStart hook never ran" + dump, e2e::fileExists(data_ + "/marks"));
    json::ObjectPtr cs = containerStatus(sp, "main");
    json::ObjectPtr term = stateOf(cs, "terminated");
    if (!term) term = stateOf(cs, "terminated", true);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("terminated reason" + dump, std::string("FailedPostStartHook"),
                                 json::getString(term, "reason"));
    sp = waitStatus(
        node, "badhook", kNs, [](const StatusPod& p) { return p.phase() == "Failed"; },
        "phase Failed (restartPolicy Never)");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("restartCount" + dump, int64_t(0), sp.restartCount("main"));
    CPPUNIT_ASSERT_MESSAGE(
        "a killed container exits non-zero" + dump,
        json::getInt(stateOf(containerStatus(sp, "main"), "terminated"), "exitCode", 0) != 0);
  }

 private:
  std::unique_ptr<TestNode> node_;
  std::unique_ptr<TestRuntime> rt_;
  std::string data_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(HooksTest);
