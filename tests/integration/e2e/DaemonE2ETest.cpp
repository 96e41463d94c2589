// DaemonE2ETest - the acceptance scenarios for one well-formed static pod, end to end: a real
// `podwarden run` process, the in-tree plugins, a real dockerd (tests/scripts/dockerd.sh) and the sample
// kube-apiserver manifest. Every check looks through Docker's API and the status file, never through
// podwarden's internals.
#include "E2eSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <regex>
#include <set>

using namespace podwarden;
using namespace podwarden::e2e;

namespace {
constexpr const char* kPod = "kube-apiserver";
constexpr const char* kNamespace = "kube-system";
constexpr const char* kContainer = "kube-apiserver";

struct RunningPod {
  std::string uid;
  std::string sandboxId;
  std::string appId;
};

// Waits until the status file shows the sample pod Running with `restartCount`, under a UID other than
// `notUid`, and Docker shows its sandbox and app container running under the dockershim names, the app
// container with the id the status file reports.
RunningPod waitSampleRunning(TestNode& node, int64_t restartCount, const std::string& notUid = "") {
  RunningPod seen;
  const std::string podName = node.podName(kPod);
  bool ok = node.waitFor(
      [&] {
        StatusPod sp = node.statusPod(kPod, kNamespace);
        if (!sp.pod || sp.uid().empty() || sp.uid() == notUid) return false;
        if (sp.phase() != "Running" || !sp.containerRunning(kContainer)) return false;
        if (sp.restartCount(kContainer) != restartCount) return false;
        std::string appId = sp.containerId(kContainer);
        if (appId.empty()) return false;
        auto app = node.containerNamed(appContainerName(kContainer, podName, kNamespace, sp.uid(),
                                                        static_cast<int>(restartCount)),
                                       false);
        auto sandbox = node.containerNamed(sandboxContainerName(podName, kNamespace, sp.uid(), 0), false);
        if (!app || !sandbox || app->id != appId) return false;
        seen = RunningPod{sp.uid(), sandbox->id, app->id};
        return true;
      },
      kPodStartTimeoutSeconds);
  if (!ok) {
    CPPUNIT_FAIL("pod " + podName + " did not become Running with restart count " + std::to_string(restartCount) +
                 (notUid.empty() ? "" : " under a UID other than " + notUid) + " within " +
                 std::to_string(kPodStartTimeoutSeconds) + " s" + node.diagnostics());
  }
  return seen;
}

std::string startedAt(TestNode& node, const std::string& id) {
  json::ObjectPtr c = node.docker().inspect(id);
  CPPUNIT_ASSERT_MESSAGE("container " + id + " is gone" + node.diagnostics(), c);
  return json::getString(json::getObject(c, "State"), "StartedAt");
}

bool dockerRunning(TestNode& node, const std::string& id) {
  json::ObjectPtr c = node.docker().inspect(id);
  return c && json::getBool(json::getObject(c, "State"), "Running");
}

std::vector<std::string> dockerArgs(TestNode& node, const std::string& id) {
  std::vector<std::string> out;
  json::ObjectPtr c = node.docker().inspect(id);
  json::ArrayPtr args = json::getArray(c, "Args");
  for (size_t i = 0; args && i < args->size(); ++i) out.push_back(args->getElement<std::string>(static_cast<unsigned>(i)));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The status file no longer lists any pod with `uid`.
bool statusLacksUid(TestNode& node, const std::string& uid) {
  json::ObjectPtr s = node.status();
  json::ArrayPtr pods = json::getArray(s, "pods");
  if (!pods) return false;
  for (size_t i = 0; i < pods->size(); ++i) {
    if (json::getString(json::getObject(pods->getObject(static_cast<unsigned>(i)), "metadata"), "uid") == uid) {
      return false;
    }
  }
  return true;
}
}  // namespace

// Global namespace: ctest runs the suite by its plain name.
class DaemonE2ETest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DaemonE2ETest);
  CPPUNIT_TEST(testSampleManifestValidates);
  CPPUNIT_TEST(testCreateEditRemove);
  CPPUNIT_TEST(testAdoptionAfterSigkill);
  CPPUNIT_TEST(testDockerKillRestartsContainer);
  CPPUNIT_TEST(testManifestRemovedWhileStopped);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("daemon");
    node_->requireDocker();
  }
  void tearDown() override { node_.reset(); }

  void testSampleManifestValidates() {
    const std::string sample = requireEnv("PODWARDEN_SOURCE_DIR") + "/samples/manifests/kube-apiserver.yaml";
    CommandResult r = runCommand(shellQuote(requireEnv("PODWARDEN_BIN")) + " validate --hostname-override " +
                                 node_->name() + " " + shellQuote(sample));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("podwarden validate " + sample + ":\n" + r.output, 0, r.exitCode);
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.find("0 with errors") != std::string::npos);
  }

  // Write the sample → sandbox + app running under dockershim names, status file Running with Docker's id;
  // add one flag → a new UID replaces the old pod, whose containers are stopped and removed; delete the
  // file → every container of the pod removed and the pod gone from the status file.
  void testCreateEditRemove() {
    TestNode& node = *node_;
    const int port = freeLoopbackPort();
    const std::string manifestPath = node.manifestDir() + "/kube-apiserver.yaml";
    const std::string podName = node.podName(kPod);
    node.startDaemon();
    const std::string manifest = node.sampleManifest(port);
    writeFile(manifestPath, manifest);

    RunningPod first = waitSampleRunning(node, 0);
    CPPUNIT_ASSERT_MESSAGE("UID " + first.uid + " is not 32 hex characters",
                           std::regex_match(first.uid, std::regex("[0-9a-f]{32}")));
    StatusPod sp = node.statusPod(kPod, kNamespace);
    json::ObjectPtr annotations = json::getObject(json::getObject(sp.pod, "metadata"), "annotations");
    CPPUNIT_ASSERT_EQUAL(first.uid, json::getString(annotations, "kubernetes.io/config.hash"));
    CPPUNIT_ASSERT_EQUAL(std::string("file"), json::getString(annotations, "kubernetes.io/config.source"));

    // `docker ps` for this node shows exactly the two containers, named as dockershim names them.
    std::set<std::string> running;
    for (const auto& c : node.containers(false)) running.insert(c.name);
    const std::set<std::string> expected = {sandboxContainerName(podName, kNamespace, first.uid, 0),
                                            appContainerName(kContainer, podName, kNamespace, first.uid, 0)};
    CPPUNIT_ASSERT_MESSAGE("running containers differ from the dockershim names" + node.diagnostics(),
                           running == expected);
    CPPUNIT_ASSERT_MESSAGE("the kube-apiserver flags are not visible in docker inspect" + node.diagnostics(),
                           contains(dockerArgs(node, first.appId), "--secure-port=" + std::to_string(port)));
    CPPUNIT_ASSERT_MESSAGE("nothing answers /healthz on 127.0.0.1:" + std::to_string(port) + node.diagnostics(),
                           waitFor([&] { return httpGetStatus(port, "/healthz") == 200; }, 60));

    // Edit: one flag added. Any content change is a new UID, so the old pod is replaced, never updated.
    const std::string flagLine = "    - --secure-port=" + std::to_string(port) + "\n";
    std::string edited = manifest;
    size_t at = edited.find(flagLine);
    CPPUNIT_ASSERT_MESSAGE("sample manifest has no line '" + flagLine + "'", at != std::string::npos);
    edited.insert(at + flagLine.size(), "    - --v=2\n");
    writeFile(manifestPath, edited);

    RunningPod second = waitSampleRunning(node, 0, first.uid);
    CPPUNIT_ASSERT_MESSAGE("the edited pod's container lacks the added flag" + node.diagnostics(),
                           contains(dockerArgs(node, second.appId), "--v=2"));
    bool oldGone = node.waitFor(
        [&] {
          return node.containers(true, {"io.kubernetes.pod.uid=" + first.uid}).empty() &&
                 statusLacksUid(node, first.uid);
        },
        kPodStopTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("containers of the old UID " + first.uid +
                               " were not stopped and removed, or the status file still lists it" +
                               node.diagnostics(),
                           oldGone);
    CPPUNIT_ASSERT_MESSAGE("old containers still exist" + node.diagnostics(),
                           !node.docker().inspect(first.appId) && !node.docker().inspect(first.sandboxId));

    // Remove: the pod and all its containers go away; nothing waits for an API server.
    CPPUNIT_ASSERT_EQUAL(0, ::unlink(manifestPath.c_str()));
    bool removed = node.waitFor(
        [&] {
          json::ObjectPtr s = node.status();
          json::ArrayPtr pods = json::getArray(s, "pods");
          return node.containers(true).empty() && pods && pods->size() == 0;
        },
        kPodStopTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("removing the manifest did not remove the pod's containers and status entry" +
                               node.diagnostics(),
                           removed);
    CPPUNIT_ASSERT_MESSAGE("podwarden exited" + node.diagnostics(), node.daemonRunning());
  }

  // SIGKILL podwarden, start it again on the same directory: the running containers are adopted, not
  // restarted (same ids, same StartedAt, restart count 0).
  void testAdoptionAfterSigkill() {
    TestNode& node = *node_;
    const int port = freeLoopbackPort();
    node.startDaemon();
    writeFile(node.manifestDir() + "/kube-apiserver.yaml", node.sampleManifest(port));
    RunningPod first = waitSampleRunning(node, 0);
    const std::string sandboxStarted = startedAt(node, first.sandboxId);
    const std::string appStarted = startedAt(node, first.appId);

    node.killDaemon();
    CPPUNIT_ASSERT_MESSAGE("the pod stopped with podwarden" + node.diagnostics(),
                           dockerRunning(node, first.sandboxId) && dockerRunning(node, first.appId));
    // A fresh status file proves the second daemon's own view, not the first one's leftovers.
    ::unlink(node.statusPath().c_str());
    node.startDaemon();

    RunningPod again = waitSampleRunning(node, 0);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("UID changed across the restart" + node.diagnostics(), first.uid, again.uid);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("sandbox replaced" + node.diagnostics(), first.sandboxId, again.sandboxId);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("app container replaced" + node.diagnostics(), first.appId, again.appId);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("sandbox restarted" + node.diagnostics(), sandboxStarted,
                                 startedAt(node, again.sandboxId));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("app container restarted" + node.diagnostics(), appStarted,
                                 startedAt(node, again.appId));
    std::vector<DockerContainer> all = node.containers(true);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("the restarted daemon created containers" + node.diagnostics(), size_t(2),
                                 all.size());
  }

  // `docker kill` of the app container: podwarden restarts it (restartPolicy Always) as restart count 1,
  // visible in the container name and the status file; the sandbox stays.
  void testDockerKillRestartsContainer() {
    TestNode& node = *node_;
    const int port = freeLoopbackPort();
    node.startDaemon();
    writeFile(node.manifestDir() + "/kube-apiserver.yaml", node.sampleManifest(port));
    RunningPod first = waitSampleRunning(node, 0);

    node.docker().kill(first.appId);
    RunningPod second = waitSampleRunning(node, 1);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("UID changed" + node.diagnostics(), first.uid, second.uid);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("sandbox replaced" + node.diagnostics(), first.sandboxId, second.sandboxId);
    CPPUNIT_ASSERT_MESSAGE("same container id after a restart" + node.diagnostics(), first.appId != second.appId);
    StatusPod sp = node.statusPod(kPod, kNamespace);
    CPPUNIT_ASSERT_MESSAGE("status lost the container id Docker reports" + node.diagnostics(),
                           json::getString(sp.containerStatus(kContainer), "containerID") ==
                               "docker://" + second.appId);
  }

  // The manifest disappears while podwarden is not running: the next start finds the pod's containers
  // (labelled with this node) with no manifest behind them and removes them. No API server is involved,
  // unlike the kubelet, whose deletes wait until every source (including the API) has reported.
  void testManifestRemovedWhileStopped() {
    TestNode& node = *node_;
    const int port = freeLoopbackPort();
    const std::string manifestPath = node.manifestDir() + "/kube-apiserver.yaml";
    node.startDaemon();
    writeFile(manifestPath, node.sampleManifest(port));
    waitSampleRunning(node, 0);
    CPPUNIT_ASSERT_MESSAGE("podwarden did not stop on SIGTERM" + node.diagnostics(), node.stopDaemon());
    CPPUNIT_ASSERT_MESSAGE("stopping podwarden stopped the pod" + node.diagnostics(),
                           node.containers(false).size() == 2);

    CPPUNIT_ASSERT_EQUAL(0, ::unlink(manifestPath.c_str()));
    node.startDaemon();
    bool removed = node.waitFor([&] { return node.containers(true).empty(); }, kPodStopTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("the pod whose manifest went away while podwarden was stopped still has containers" +
                               node.diagnostics(),
                           removed);
  }

 private:
  std::unique_ptr<TestNode> node_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DaemonE2ETest);
