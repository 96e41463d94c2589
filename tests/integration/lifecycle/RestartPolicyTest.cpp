// RestartPolicyTest - restartPolicy on a real runtime, Docker or containerd (issue 3: "OnFailure + exit 0 →
// Succeeded, not restarted; Never + exit 1 → Failed, not restarted"). CrashLoopBackOff under Always is in
// CrashLoopBackOffTest.
#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <thread>

using namespace podwarden;
using namespace podwarden::lifecycle;

namespace {
constexpr const char* kNs = "default";

// A finished pod stays finished: nothing restarts it while a few backoff periods pass.
void expectNoRestart(TestRuntime& rt, TestNode& node, const std::string& manifest, const std::string& container,
                     const std::string& phase) {
  std::this_thread::sleep_for(std::chrono::seconds(3 * kBackoffMaxSeconds));
  StatusPod sp = node.statusPod(manifest, kNs);
  CPPUNIT_ASSERT_EQUAL_MESSAGE("phase changed" + node.diagnostics(), phase, sp.phase());
  CPPUNIT_ASSERT_EQUAL_MESSAGE("restartCount" + node.diagnostics(), int64_t(0), sp.restartCount(container));
  std::vector<e2e::PodContainer> cs = appContainers(rt, node, container);
  CPPUNIT_ASSERT_EQUAL_MESSAGE("the runtime should hold exactly the one finished instance" + node.diagnostics(),
                               size_t(1), cs.size());
  CPPUNIT_ASSERT_EQUAL_MESSAGE("instance attempt" + node.diagnostics(), 0, cs[0].attempt);
  CPPUNIT_ASSERT_MESSAGE("instance still running" + node.diagnostics(), !cs[0].running);
}
}  // namespace

class RestartPolicyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RestartPolicyTest);
  CPPUNIT_TEST(testOnFailureExitZeroSucceeds);
  CPPUNIT_TEST(testNeverExitOneFails);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("restart");
    rt_ = attachRuntime(*node_);
  }
  void tearDown() override { releaseNode(node_, rt_); }

  // OnFailure + exit 0: Succeeded, terminated/Completed, never restarted.
  void testOnFailureExitZeroSucceeds() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(node.manifestDir() + "/done.yaml", oneContainerPod("done", "OnFailure", "once", "exit 0"));
    StatusPod sp = waitStatus(
        node, "done", kNs, [](const StatusPod& p) { return p.phase() == "Succeeded"; }, "phase Succeeded");
    json::ObjectPtr term = stateOf(containerStatus(sp, "once"), "terminated");
    std::string dump = "\n" + json::stringify(sp.pod) + node.diagnostics();
    CPPUNIT_ASSERT_MESSAGE("state.terminated missing" + dump, term);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("exitCode" + dump, int64_t(0), json::getInt(term, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("reason" + dump, std::string("Completed"), json::getString(term, "reason"));
    expectNoRestart(*rt_, node, "done", "once", "Succeeded");
  }

  // Never + exit 1: Failed, terminated/Error, never restarted.
  void testNeverExitOneFails() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(node.manifestDir() + "/fails.yaml", oneContainerPod("fails", "Never", "once", "exit 1"));
    StatusPod sp = waitStatus(
        node, "fails", kNs, [](const StatusPod& p) { return p.phase() == "Failed"; }, "phase Failed");
    json::ObjectPtr term = stateOf(containerStatus(sp, "once"), "terminated");
    std::string dump = "\n" + json::stringify(sp.pod) + node.diagnostics();
    CPPUNIT_ASSERT_MESSAGE("state.terminated missing" + dump, term);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("exitCode" + dump, int64_t(1), json::getInt(term, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("reason" + dump, std::string("Error"), json::getString(term, "reason"));
    expectNoRestart(*rt_, node, "fails", "once", "Failed");
  }

 private:
  std::unique_ptr<TestNode> node_;
  std::unique_ptr<TestRuntime> rt_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RestartPolicyTest);
