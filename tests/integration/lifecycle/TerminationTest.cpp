// TerminationTest - stopping containers on a real runtime, Docker or containerd, when their manifest goes
// away (issue 3: "A container that traps SIGTERM and exits after 2 s stops gracefully; one that ignores
// SIGTERM is killed at the deadline; preStop runs before the signal"). Exit codes and exit times come from
// the runtime's exit event (Docker's `die`, containerd's /tasks/exit), since podwarden removes the
// containers right after stopping them; what ran inside the container is recorded in a hostPath file.
#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <iostream>


using namespace podwarden;
using namespace podwarden::lifecycle;

namespace {
constexpr const char* kNs = "default";
constexpr int kDieTimeoutSeconds = 90;

std::string pod(const std::string& name, int graceSeconds, const std::string& dataDir, const std::string& script,
                const std::string& lifecycle = "") {
  return yamlLines({
             "apiVersion: v1",
             "kind: Pod",
             "metadata:",
             "  name: " + name,
             std::string("  namespace: ") + kNs,
             "spec:",
             "  hostNetwork: true",
             "  terminationGracePeriodSeconds: " + std::to_string(graceSeconds),
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
         }) +
         lifecycle;
}

struct Stopped {
  int exitCode = -1;
  double secondsAfterRemoval = 0;  // from unlinking the manifest to the runtime's exit event
};
}  // namespace

class TerminationTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(TerminationTest);
  CPPUNIT_TEST(testSigtermTrapStopsGracefully);
  CPPUNIT_TEST(testIgnoredSigtermKilledAtDeadline);
  CPPUNIT_TEST(testPreStopRunsBeforeSigterm);
  CPPUNIT_TEST(testPreStopHttpGetRunsBeforeSigterm);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("term");
    rt_ = attachRuntime(*node_);
    data_ = makeDir(node_->workDir() + "/data");
  }
  void tearDown() override { releaseNode(node_, rt_); }

  // The trap writes "term", sleeps 2 s, writes "done" and exits 0: the container ends with code 0 and both
  // lines, well inside the default 30 s grace period.
  void testSigtermTrapStopsGracefully() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    Stopped s =
        runAndRemove("graceful", 30,
                     "trap 'echo term >> /data/marks; sleep 2; echo done >> /data/marks; exit 0' TERM; "
                     "echo up >> /data/marks; while :; do sleep 1 & wait $!; done");
    std::cout << "\n  graceful stop: exit " << s.exitCode << " " << s.secondsAfterRemoval
              << " s after the manifest was removed" << std::endl;
    CPPUNIT_ASSERT_EQUAL_MESSAGE("exit code of the trapped container" + node.diagnostics(), 0, s.exitCode);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("what the container recorded" + node.diagnostics(),
                                 std::string("up\nterm\ndone\n"), e2e::readFile(data_ + "/marks"));
    CPPUNIT_ASSERT_MESSAGE("died " + std::to_string(s.secondsAfterRemoval) +
                               " s after removal, before its 2 s trap could finish" + node.diagnostics(),
                           s.secondsAfterRemoval >= 2.0);
  }

  // `trap '' TERM` with terminationGracePeriodSeconds 3: SIGKILL at the deadline, exit code 137, not before
  // 3 s.
  void testIgnoredSigtermKilledAtDeadline() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    Stopped s =
        runAndRemove("stubborn", 3, "trap '' TERM; echo up >> /data/marks; while :; do sleep 1; done");
    std::cout << "\n  stubborn stop: exit " << s.exitCode << " " << s.secondsAfterRemoval
              << " s after the manifest was removed (grace 3 s)" << std::endl;
    CPPUNIT_ASSERT_EQUAL_MESSAGE("exit code of the SIGKILLed container" + node.diagnostics(), 137,
                                 s.exitCode);
    CPPUNIT_ASSERT_MESSAGE("killed " + std::to_string(s.secondsAfterRemoval) +
                               " s after removal, before the 3 s grace period" + node.diagnostics(),
                           s.secondsAfterRemoval >= 3.0);
  }

  // preStop (exec) runs before SIGTERM: its line comes before the trap's.
  void testPreStopRunsBeforeSigterm() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    Stopped s = runAndRemove("hooked", 30,
                             "trap 'echo term >> /data/marks; exit 0' TERM; "
                             "echo up >> /data/marks; while :; do sleep 1 & wait $!; done",
                             "    lifecycle:\n"
                             "      preStop:\n"
                             "        exec:\n"
                             "          command: [\"/bin/sh\", \"-c\", \"echo prestop >> /data/marks\"]\n");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("exit code" + node.diagnostics(), 0, s.exitCode);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("order of preStop and SIGTERM" + node.diagnostics(),
                                 std::string("up\nprestop\nterm\n"), e2e::readFile(data_ + "/marks"));
  }

  // preStop (httpGet on the pod IP, which is the host IP with hostNetwork): busybox httpd in the container
  // serves a CGI that records the request; it comes before the trap's line.
  void testPreStopHttpGetRunsBeforeSigterm() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    const std::string port = std::to_string(e2e::freeLoopbackPort());
    // The CGI: a shell script appending to /data/marks, then a minimal CGI answer.
    const std::string serveHook =
        "mkdir -p /www/cgi-bin; cd /www/cgi-bin; echo '#!/bin/sh' > stop; "
        "echo 'echo prestop-http >> /data/marks; echo Content-Type: text/plain; echo; echo ok' >> stop; "
        "chmod +x stop; httpd -p " + port + " -h /www; ";
    Stopped s = runAndRemove("webhooked", 30,
                             serveHook + "trap 'echo term >> /data/marks; exit 0' TERM; "
                                         "echo up >> /data/marks; while :; do sleep 1 & wait $!; done",
                             yamlLines({
                                 "    lifecycle:",
                                 "      preStop:",
                                 "        httpGet:",
                                 "          path: /cgi-bin/stop",
                                 "          port: " + port,
                             }));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("exit code" + node.diagnostics(), 0, s.exitCode);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("order of the preStop request and SIGTERM" + node.diagnostics(),
                                 std::string("up\nprestop-http\nterm\n"), e2e::readFile(data_ + "/marks"));
  }

 private:
  // Starts pod `name`, waits until its container runs and wrote "up", removes the manifest and waits for
  // the runtime's exit event of the container and for the pod to leave the runtime and the status file.
  Stopped runAndRemove(const std::string& name, int graceSeconds, const std::string& script,
                       const std::string& lifecycle = "") {
    TestNode& node = *node_;
    const std::string manifest = node.manifestDir() + "/" + name + ".yaml";
    e2e::writeFile(manifest, pod(name, graceSeconds, data_, script, lifecycle));
    StatusPod sp = waitStatus(
        node, name, kNs,
        [](const StatusPod& p) { return p.phase() == "Running" && p.containerRunning("main"); },
        "container main Running");
    const std::string id = statusContainerId(sp, *rt_, "main");
    CPPUNIT_ASSERT_MESSAGE("no " + rt_->kind() + ":// containerID in the status" + node.diagnostics(),
                           !id.empty());
    CPPUNIT_ASSERT_MESSAGE("the container never wrote /data/marks" + node.diagnostics(),
                           node.waitFor([&] { return e2e::fileExists(data_ + "/marks"); }, 30));

    std::unique_ptr<ExitWatcher> exit = watchExit(*rt_, id, kDieTimeoutSeconds + 30);
    const int64_t removedNs = wallNowNs();
    CPPUNIT_ASSERT_EQUAL(0, ::unlink(manifest.c_str()));
    CPPUNIT_ASSERT_MESSAGE(rt_->kind() + " reported no exit event for " + id + ": " + exit->error() +
                               node.diagnostics(),
                           exit->wait(kDieTimeoutSeconds));
    bool gone = node.waitFor(
        [&] {
          json::ArrayPtr pods = json::getArray(node.status(), "pods");
          return rt_->listPodContainers(node.name(), true).empty() && pods && pods->size() == 0;
        },
        e2e::kPodStopTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("the removed pod still has containers or a status entry" + node.diagnostics(),
                           gone);
    return Stopped{exit->exitCode(), static_cast<double>(exit->timeNs() - removedNs) / 1e9};
  }

  std::unique_ptr<TestNode> node_;
  std::unique_ptr<TestRuntime> rt_;
  std::string data_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TerminationTest);
