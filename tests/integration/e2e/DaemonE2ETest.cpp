// DaemonE2ETest - the acceptance scenarios for one well-formed static pod, end to end: a real
// `podwarden run` process, the in-tree plugins, a real runtime and the sample kube-apiserver manifest.
// Every check looks through the runtime's own API (TestRuntime) and the status file, never through
// podwarden's internals.
//
// One scenario code path, two runtimes: PODWARDEN_E2E_RUNTIME=docker (the private dockerd,
// tests/scripts/dockerd.sh) or containerd (the private containerd, tests/scripts/containerd.sh); ctest
// runs the suite once per runtime (integration.DaemonE2ETest and integration.DaemonE2ETest.containerd).
#include "E2eSupport.h"
#include "TestRuntime.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <sstream>

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
// `notUid`, and the runtime shows its sandbox and app container running under the kubelet's names (see
// TestRuntime::sandboxName), the app container with the id the status file reports.
RunningPod waitSampleRunning(TestNode& node, TestRuntime& rt, int64_t restartCount, const std::string& notUid = "") {
  RunningPod seen;
  const std::string podName = node.podName(kPod);
  bool ok = node.waitFor(
      [&] {
        StatusPod sp = node.statusPod(kPod, kNamespace);
        if (!sp.pod || sp.uid().empty() || sp.uid() == notUid) return false;
        if (sp.phase() != "Running" || !sp.containerRunning(kContainer)) return false;
        if (sp.restartCount(kContainer) != restartCount) return false;
        std::string appId = sp.containerIdOf(kContainer, rt.kind());
        if (appId.empty()) return false;
        auto app = rt.containerNamed(
            node.name(), rt.appName(kContainer, podName, kNamespace, sp.uid(), static_cast<int>(restartCount)),
            false);
        auto sandbox = rt.containerNamed(node.name(), rt.sandboxName(podName, kNamespace, sp.uid(), 0), false);
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

std::string startedAt(TestNode& node, TestRuntime& rt, const std::string& id) {
  std::string t = rt.containerStartedAt(id);
  CPPUNIT_ASSERT_MESSAGE("container " + id + " is gone" + node.diagnostics(), !t.empty());
  return t;
}

std::vector<std::string> podUidContainers(TestRuntime& rt, const std::string& node, const std::string& uid) {
  std::vector<std::string> ids;
  for (const auto& c : rt.listPodContainers(node, true)) {
    if (c.podUid == uid) ids.push_back(c.id);
  }
  return ids;
}

size_t runningCount(TestRuntime& rt, const std::string& node) { return rt.listPodContainers(node, false).size(); }

// GET http://<host>:<port><path>: the body of a 200 answer, or empty.
std::string httpGetBody(const std::string& host, int port, const std::string& path) {
  try {
    Poco::Net::HTTPClientSession session(host, static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(3, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    std::ostringstream text;
    Poco::StreamCopier::copyStream(body, text);
    return response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK ? text.str() : "";
  } catch (const Poco::Exception&) {
    return "";
  }
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
  CPPUNIT_TEST(testKilledAppContainerRestarts);
  CPPUNIT_TEST(testManifestRemovedWhileStopped);
  CPPUNIT_TEST(testPodNetworkHttpGet);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    runtime_ = makeTestRuntime();
    node_ = std::make_unique<TestNode>("daemon");
    node_->setRuntimeEndpoint(runtime_->endpoint());
    TestRuntime* rt = runtime_.get();
    const std::string nodeName = node_->name();
    node_->setDiagnosticsHook([rt, nodeName] { return rt->describe(nodeName); });
    runtime_->require();
  }
  void tearDown() override {
    const std::string nodeName = node_ ? node_->name() : "";
    node_.reset();
    if (runtime_ && !nodeName.empty()) runtime_->removeNodeContainers(nodeName);
    runtime_.reset();
  }

  void testSampleManifestValidates() {
    const std::string sample = requireEnv("PODWARDEN_SOURCE_DIR") + "/samples/manifests/kube-apiserver.yaml";
    CommandResult r = runCommand(shellQuote(requireEnv("PODWARDEN_BIN")) + " validate --hostname-override " +
                                 node_->name() + " " + shellQuote(sample));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("podwarden validate " + sample + ":\n" + r.output, 0, r.exitCode);
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.find("0 with errors") != std::string::npos);
  }

  // Write the sample → sandbox + app running under the kubelet's names, status file Running with the
  // runtime's id;
  // add one flag → a new UID replaces the old pod, whose containers are stopped and removed; delete the
  // file → every container of the pod removed and the pod gone from the status file.
  void testCreateEditRemove() {
    TestNode& node = *node_;
    TestRuntime& rt = *runtime_;
    const int port = freeLoopbackPort();
    const std::string manifestPath = node.manifestDir() + "/kube-apiserver.yaml";
    const std::string podName = node.podName(kPod);
    node.startDaemon();
    const std::string manifest = node.sampleManifest(port);
    writeFile(manifestPath, manifest);

    RunningPod first = waitSampleRunning(node, rt, 0);
    CPPUNIT_ASSERT_MESSAGE("UID " + first.uid + " is not 32 hex characters",
                           std::regex_match(first.uid, std::regex("[0-9a-f]{32}")));
    StatusPod sp = node.statusPod(kPod, kNamespace);
    json::ObjectPtr annotations = json::getObject(json::getObject(sp.pod, "metadata"), "annotations");
    CPPUNIT_ASSERT_EQUAL(first.uid, json::getString(annotations, "kubernetes.io/config.hash"));
    CPPUNIT_ASSERT_EQUAL(std::string("file"), json::getString(annotations, "kubernetes.io/config.source"));

    // The runtime lists exactly the two containers for this node, named as the kubelet's would be.
    std::set<std::string> running;
    for (const auto& c : rt.listPodContainers(node.name(), false)) running.insert(c.name);
    const std::set<std::string> expected = {rt.sandboxName(podName, kNamespace, first.uid, 0),
                                            rt.appName(kContainer, podName, kNamespace, first.uid, 0)};
    CPPUNIT_ASSERT_MESSAGE("running containers differ from the kubelet's names" + node.diagnostics(),
                           running == expected);
    CPPUNIT_ASSERT_MESSAGE("the kube-apiserver flags are not in the runtime's container" + node.diagnostics(),
                           contains(rt.containerArgv(first.appId), "--secure-port=" + std::to_string(port)));
    CPPUNIT_ASSERT_MESSAGE("nothing answers /healthz on 127.0.0.1:" + std::to_string(port) + node.diagnostics(),
                           waitFor([&] { return httpGetStatus(port, "/healthz") == 200; }, 60));

    // Edit: one flag added. Any content change is a new UID, so the old pod is replaced, never updated.
    const std::string flagLine = "    - --secure-port=" + std::to_string(port) + "\n";
    std::string edited = manifest;
    size_t at = edited.find(flagLine);
    CPPUNIT_ASSERT_MESSAGE("sample manifest has no line '" + flagLine + "'", at != std::string::npos);
    edited.insert(at + flagLine.size(), "    - --v=2\n");
    writeFile(manifestPath, edited);

    RunningPod second = waitSampleRunning(node, rt, 0, first.uid);
    CPPUNIT_ASSERT_MESSAGE("the edited pod's container lacks the added flag" + node.diagnostics(),
                           contains(rt.containerArgv(second.appId), "--v=2"));
    bool oldGone = node.waitFor(
        [&] {
          return podUidContainers(rt, node.name(), first.uid).empty() && statusLacksUid(node, first.uid);
        },
        kPodStopTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("containers of the old UID " + first.uid +
                               " were not stopped and removed, or the status file still lists it" +
                               node.diagnostics(),
                           oldGone);
    CPPUNIT_ASSERT_MESSAGE("old containers still exist" + node.diagnostics(),
                           !rt.containerExists(first.appId) && !rt.containerExists(first.sandboxId));

    // Remove: the pod and all its containers go away; nothing waits for an API server.
    CPPUNIT_ASSERT_EQUAL(0, ::unlink(manifestPath.c_str()));
    bool removed = node.waitFor(
        [&] {
          json::ObjectPtr s = node.status();
          json::ArrayPtr pods = json::getArray(s, "pods");
          return rt.listPodContainers(node.name(), true).empty() && pods && pods->size() == 0;
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
    TestRuntime& rt = *runtime_;
    const int port = freeLoopbackPort();
    node.startDaemon();
    writeFile(node.manifestDir() + "/kube-apiserver.yaml", node.sampleManifest(port));
    RunningPod first = waitSampleRunning(node, rt, 0);
    const std::string sandboxStarted = startedAt(node, rt, first.sandboxId);
    const std::string appStarted = startedAt(node, rt, first.appId);

    node.killDaemon();
    CPPUNIT_ASSERT_MESSAGE("the pod stopped with podwarden" + node.diagnostics(),
                           rt.containerRunning(first.sandboxId) && rt.containerRunning(first.appId));
    // A fresh status file proves the second daemon's own view, not the first one's leftovers.
    ::unlink(node.statusPath().c_str());
    node.startDaemon();

    RunningPod again = waitSampleRunning(node, rt, 0);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("UID changed across the restart" + node.diagnostics(), first.uid, again.uid);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("sandbox replaced" + node.diagnostics(), first.sandboxId, again.sandboxId);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("app container replaced" + node.diagnostics(), first.appId, again.appId);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("sandbox restarted" + node.diagnostics(), sandboxStarted,
                                 startedAt(node, rt, again.sandboxId));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("app container restarted" + node.diagnostics(), appStarted,
                                 startedAt(node, rt, again.appId));
    std::vector<PodContainer> all = rt.listPodContainers(node.name(), true);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("the restarted daemon created containers" + node.diagnostics(), size_t(2),
                                 all.size());
  }

  // SIGKILL of the app container behind podwarden's back (`docker kill`, `ctr tasks kill`): podwarden
  // restarts it (restartPolicy Always) as restart count 1, visible in the container's name (attempt) and the
  // status file; the sandbox stays.
  void testKilledAppContainerRestarts() {
    TestNode& node = *node_;
    TestRuntime& rt = *runtime_;
    const int port = freeLoopbackPort();
    node.startDaemon();
    writeFile(node.manifestDir() + "/kube-apiserver.yaml", node.sampleManifest(port));
    RunningPod first = waitSampleRunning(node, rt, 0);

    rt.killContainer(first.appId);
    RunningPod second = waitSampleRunning(node, rt, 1);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("UID changed" + node.diagnostics(), first.uid, second.uid);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("sandbox replaced" + node.diagnostics(), first.sandboxId, second.sandboxId);
    CPPUNIT_ASSERT_MESSAGE("same container id after a restart" + node.diagnostics(), first.appId != second.appId);
    StatusPod sp = node.statusPod(kPod, kNamespace);
    CPPUNIT_ASSERT_MESSAGE("status lost the container id the runtime reports" + node.diagnostics(),
                           json::getString(sp.containerStatus(kContainer), "containerID") ==
                               rt.kind() + "://" + second.appId);
  }

  // The manifest disappears while podwarden is not running: the next start finds the pod's containers
  // (labelled with this node) with no manifest behind them and removes them. No API server is involved,
  // unlike the kubelet, whose deletes wait until every source (including the API) has reported.
  void testManifestRemovedWhileStopped() {
    TestNode& node = *node_;
    TestRuntime& rt = *runtime_;
    const int port = freeLoopbackPort();
    const std::string manifestPath = node.manifestDir() + "/kube-apiserver.yaml";
    node.startDaemon();
    writeFile(manifestPath, node.sampleManifest(port));
    waitSampleRunning(node, rt, 0);
    CPPUNIT_ASSERT_MESSAGE("podwarden did not stop on SIGTERM" + node.diagnostics(), node.stopDaemon());
    CPPUNIT_ASSERT_MESSAGE("stopping podwarden stopped the pod" + node.diagnostics(),
                           runningCount(rt, node.name()) == 2);

    CPPUNIT_ASSERT_EQUAL(0, ::unlink(manifestPath.c_str()));
    node.startDaemon();
    bool removed =
        node.waitFor([&] { return rt.listPodContainers(node.name(), true).empty(); }, kPodStopTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("the pod whose manifest went away while podwarden was stopped still has containers" +
                               node.diagnostics(),
                           removed);
  }

  // A pod without hostNetwork gets an IP from the runtime's pod network (Docker's bridge; containerd's CNI
  // bridge from tests/scripts/containerd.sh), the status file reports it, and an HTTP GET against that IP
  // reaches the container. Its httpGet readiness probe (host: the pod IP, as the kubelet's) asks for a file
  // in a hostPath directory the test controls: while the file is missing the probe gets 404 and the
  // container is reported not Ready; once the test writes it, the probe passes and it becomes Ready.
  // (Waits for not-Ready rather than asserting it at once: podwarden reports ready=true until the probe
  // manager has seen the container, where the kubelet starts a container with a readiness probe not ready.)
  void testPodNetworkHttpGet() {
    TestNode& node = *node_;
    TestRuntime& rt = *runtime_;
    const std::string www = node.workDir() + "/www";
    ::mkdir(www.c_str(), 0755);
    writeFile(www + "/index.html", "podwarden pod network\n");
    const std::string manifest =
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: web\n"
        "  namespace: default\n"
        "spec:\n"
        "  terminationGracePeriodSeconds: 2\n"
        "  containers:\n"
        "  - name: httpd\n"
        "    image: " + std::string(kBusyboxImage) + "\n"
        "    command: [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
        "    ports:\n"
        "    - containerPort: 8080\n"
        "    readinessProbe:\n"
        "      httpGet:\n"
        "        path: /ready\n"
        "        port: 8080\n"
        "      periodSeconds: 1\n"
        "    volumeMounts:\n"
        "    - name: www\n"
        "      mountPath: /www\n"
        "  volumes:\n"
        "  - name: www\n"
        "    hostPath:\n"
        "      path: " + www + "\n";
    node.startDaemon();
    writeFile(node.manifestDir() + "/web.yaml", manifest);

    std::string podIP;
    bool running = node.waitFor(
        [&] {
          StatusPod sp = node.statusPod("web", "default");
          if (sp.phase() != "Running" || !sp.containerRunning("httpd")) return false;
          podIP = json::getString(json::getObject(sp.pod, "status"), "podIP");
          return !podIP.empty();
        },
        kPodStartTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("pod web did not become Running with a pod IP" + node.diagnostics(), running);
    const std::string hostIP = json::getString(json::getObject(node.statusPod("web", "default").pod, "status"), "hostIP");
    CPPUNIT_ASSERT_MESSAGE("pod IP " + podIP + " is a host address, not one of the pod network" + node.diagnostics(),
                           podIP.rfind("127.", 0) != 0 && podIP != hostIP);
    std::string body;
    bool answered = e2e::waitFor(
        [&] {
          body = httpGetBody(podIP, 8080, "/index.html");
          return body == "podwarden pod network\n";
        },
        30);
    CPPUNIT_ASSERT_MESSAGE("GET http://" + podIP + ":8080/index.html did not reach the pod (" + rt.kind() + ")" +
                               node.diagnostics(),
                           answered);
    bool notReady = node.waitFor(
        [&] { return !json::getBool(node.statusPod("web", "default").containerStatus("httpd"), "ready"); },
        kPodStartTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("pod web stays Ready although its readiness probe's /ready does not exist" +
                               node.diagnostics(),
                           notReady);

    writeFile(www + "/ready", "ok\n");
    bool ready = node.waitFor(
        [&] { return json::getBool(node.statusPod("web", "default").containerStatus("httpd"), "ready"); },
        kPodStartTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("pod web did not become Ready after /ready appeared (httpGet probe on " + podIP +
                               ":8080)" + node.diagnostics(),
                           ready);
  }

 private:
  std::unique_ptr<TestRuntime> runtime_;
  std::unique_ptr<TestNode> node_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DaemonE2ETest);
