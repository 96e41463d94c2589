// MirrorE2ETest - the acceptance scenarios for mirror pods, end to end: a real `podwarden run`
// with --kubeconfig (node client certificate), the private test dockerd, the fake API server over TLS, and
// the real `kubectl` as the cluster admin.
//
//  - the motivating example: the sample kube-apiserver-shaped static pod shows in `kubectl get pod` as
//    Running 1/1; `kubectl delete pod` brings a new mirror (new UID, later creationTimestamp) within 2 s
//    while the Docker container stays the same (same id, same StartedAt, no restart);
//  - the API server down for 30 s, then back: no container restart, mirrors and statuses converge within
//    one resync, no PATCH storm;
//  - a manifest edit replaces the mirror (new hash); removing the manifest deletes it.
#include "E2eSupport.h"
#include "FakeApiServer.h"

#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <regex>
#include <thread>

using namespace podwarden;
using namespace podwarden::e2e;
using podwarden::fakeapi::FakeApiServer;
using podwarden::fakeapi::KubeconfigAuth;

namespace {

constexpr const char* kPod = "kube-apiserver";
constexpr const char* kNamespace = "kube-system";

std::string str(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o && o->has(key) && !o->isNull(key) ? o->getValue<std::string>(key) : "";
}
Poco::JSON::Object::Ptr obj(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o && o->isObject(key) ? o->getObject(key) : nullptr;
}

// One node with its PKI, the fake API server, an admin kubeconfig for kubectl and the node's kubeconfig
// for podwarden.
class Cluster {
 public:
  explicit Cluster(TestNode& node) : node_(node) {
    node.requireDocker();
    std::string pki = node.workDir() + "/pki";
    CommandResult r =
        e2e::runCommand(requireEnv("PODWARDEN_SOURCE_DIR") + "/tests/scripts/pki.sh " + pki + " " + node.name());
    if (r.exitCode != 0) throw std::runtime_error("pki.sh failed: " + r.output);
    FakeApiServer::Options options;
    options.pkiDir = pki;
    server = std::make_unique<FakeApiServer>(options);
    server->start();
    adminConfig = node.workDir() + "/admin.conf";
    nodeConfig = node.workDir() + "/kubelet.conf";
    server->writeKubeconfig(adminConfig, "admin", KubeconfigAuth::kClientCertFiles);
    server->writeKubeconfig(nodeConfig, "node-" + node.name(), KubeconfigAuth::kClientCertData);
    server->createNode(node.name());
  }

  CommandResult kubectl(const std::string& args) const {
    if (e2e::runCommand("command -v kubectl >/dev/null").exitCode != 0) {
      throw std::runtime_error("kubectl is not on PATH: install Debian's kubernetes-client (scripts/test.sh does)");
    }
    return e2e::runCommand("kubectl --kubeconfig " + shellQuote(adminConfig) + " --request-timeout=20s " + args);
  }

  Poco::JSON::Object::Ptr mirror() const { return server->pod(kNamespace, node_.podName(kPod)); }

  std::string diagnostics() {
    std::string out = "\nkubectl get pods -A -o wide:\n" + kubectl("get pods -A -o wide").output;
    auto requests = server->requests();
    out += "\nlast API requests:\n";
    for (size_t i = requests.size() > 40 ? requests.size() - 40 : 0; i < requests.size(); ++i) {
      const auto& q = requests[i];
      out += "  " + q.method + " " + q.path + " -> " + std::to_string(q.code) + " (" + q.user + ")\n";
    }
    return out + node_.diagnostics();
  }

  std::unique_ptr<FakeApiServer> server;
  std::string adminConfig;
  std::string nodeConfig;

 private:
  TestNode& node_;
};

// The sample pod Running under Docker, and its mirror Synced with a Running status; returns the
// app container's id.
std::string waitRunningAndMirrored(TestNode& node, Cluster& cluster) {
  std::string appId;
  bool ok = node.waitFor(
      [&] {
        StatusPod sp = node.statusPod(kPod, kNamespace);
        if (!sp.pod || sp.phase() != "Running" || !sp.containerRunning(kPod)) return false;
        appId = sp.containerId(kPod);
        auto mirror = cluster.mirror();
        return !appId.empty() && mirror && str(obj(mirror, "status"), "phase") == "Running" &&
               obj(mirror, "status")->has("containerStatuses");
      },
      kPodStartTimeoutSeconds);
  CPPUNIT_ASSERT_MESSAGE("the sample pod and its mirror did not become Running" + cluster.diagnostics(), ok);
  return appId;
}

// Starts the daemon with the node's kubeconfig on the sample manifest and waits for the pod and its
// mirror; returns the app container's id. The manifest written is left in `manifest`.
std::string startSample(TestNode& node, Cluster& cluster, std::string& manifest) {
  node.startDaemon({"--kubeconfig", cluster.nodeConfig});
  manifest = node.sampleManifest(freeLoopbackPort());
  writeFile(node.manifestDir() + "/kube-apiserver.yaml", manifest);
  return waitRunningAndMirrored(node, cluster);
}

// The mirror's sink state as the status file shows it.
Poco::JSON::Object::Ptr mirrorState(TestNode& node) {
  StatusPod sp = node.statusPod(kPod, kNamespace);
  return obj(obj(obj(obj(sp.pod, "podwarden"), "sinks"), "sink-apiserver"), "mirror");
}

}  // namespace

class MirrorE2ETest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MirrorE2ETest);
  CPPUNIT_TEST(kubectlDeleteReplacesOnlyTheMirror);
  CPPUNIT_TEST(apiServerDownThirtySeconds);
  CPPUNIT_TEST(manifestEditAndRemoval);
  CPPUNIT_TEST_SUITE_END();

 public:
  void kubectlDeleteReplacesOnlyTheMirror() {
    TestNode node("mirror");
    Cluster cluster(node);
    std::string manifest;
    std::string appId = startSample(node, cluster, manifest);
    const std::string mirrorName = node.podName(kPod);

    // kubectl's own table: READY 1/1, Running.
    CommandResult get = cluster.kubectl("get pod -n kube-system");
    CPPUNIT_ASSERT_MESSAGE(get.output, get.exitCode == 0);
    CPPUNIT_ASSERT_MESSAGE(get.output, std::regex_search(get.output, std::regex(mirrorName + "\\s+1/1\\s+Running\\s+0\\s")));
    // The status file tells the mirror's state and UID.
    CPPUNIT_ASSERT(node.waitFor([&] { return str(mirrorState(node), "state") == "Synced"; }, 10));
    auto before = obj(cluster.mirror(), "metadata");
    CPPUNIT_ASSERT_EQUAL(str(before, "uid"), str(mirrorState(node), "uid"));
    json::ObjectPtr inspect = node.docker().inspect(appId);
    std::string startedAt = str(obj(inspect, "State"), "StartedAt");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a later second for creationTimestamp

    // kubectl delete waits until the pod is gone: podwarden finishes the deletion and recreates it.
    auto t0 = std::chrono::steady_clock::now();
    CommandResult del = cluster.kubectl("delete pod " + mirrorName + " -n kube-system");
    CPPUNIT_ASSERT_MESSAGE(del.output + cluster.diagnostics(), del.exitCode == 0);
    Poco::JSON::Object::Ptr after;
    bool back = waitFor([&] {
      after = obj(cluster.mirror(), "metadata");
      return after && str(after, "uid") != str(before, "uid") && str(after, "deletionTimestamp").empty();
    }, 10);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    CPPUNIT_ASSERT_MESSAGE("no new mirror after kubectl delete" + cluster.diagnostics(), back);
    CPPUNIT_ASSERT_MESSAGE("kubectl delete + new mirror took " + std::to_string(took.count()) + " ms" +
                               cluster.diagnostics(),
                           took.count() < 2000);
    CPPUNIT_ASSERT_MESSAGE(str(before, "creationTimestamp") + " then " + str(after, "creationTimestamp"),
                           str(after, "creationTimestamp") > str(before, "creationTimestamp"));
    CommandResult again = cluster.kubectl("get pod " + mirrorName + " -n kube-system -o jsonpath={.metadata.uid}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(again.output, str(after, "uid"), again.output);

    // The process never noticed: same container, same start, no restart.
    StatusPod sp = node.statusPod(kPod, kNamespace);
    CPPUNIT_ASSERT_EQUAL(appId, sp.containerId(kPod));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), sp.restartCount(kPod));
    inspect = node.docker().inspect(appId);
    CPPUNIT_ASSERT_EQUAL(std::string("running"), str(obj(inspect, "State"), "Status"));
    CPPUNIT_ASSERT_EQUAL(startedAt, str(obj(inspect, "State"), "StartedAt"));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), inspect->getValue<int64_t>("RestartCount"));
    // And kubectl sees the new mirror Running again.
    CPPUNIT_ASSERT(waitFor([&] {
      return std::regex_search(cluster.kubectl("get pod -n kube-system").output,
                               std::regex(mirrorName + "\\s+1/1\\s+Running\\s+0\\s"));
    }, 10));
  }

  void apiServerDownThirtySeconds() {
    TestNode node("mirror-down");
    Cluster cluster(node);
    std::string manifest;
    std::string appId = startSample(node, cluster, manifest);
    CPPUNIT_ASSERT(node.waitFor([&] { return str(mirrorState(node), "state") == "Synced"; }, 10));
    std::string mirrorUid = str(obj(cluster.mirror(), "metadata"), "uid");

    cluster.server->stop();
    // The pod keeps running; the status file says why the mirror is not current.
    CPPUNIT_ASSERT_MESSAGE(node.diagnostics(),
                           node.waitFor([&] { return str(mirrorState(node), "state") == "Unreachable"; }, 25));
    CPPUNIT_ASSERT(!str(mirrorState(node), "lastError").empty());
    std::this_thread::sleep_for(std::chrono::seconds(30));
    StatusPod sp = node.statusPod(kPod, kNamespace);
    CPPUNIT_ASSERT_EQUAL(appId, sp.containerId(kPod));
    CPPUNIT_ASSERT(sp.containerRunning(kPod));

    cluster.server->clearRequests();
    cluster.server->start();
    auto t0 = std::chrono::steady_clock::now();
    // Converged within one resync (10 s by default): Synced, same mirror, status current.
    bool converged = node.waitFor([&] { return str(mirrorState(node), "state") == "Synced"; }, 12);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    CPPUNIT_ASSERT_MESSAGE("not converged" + cluster.diagnostics(), converged);
    CPPUNIT_ASSERT_MESSAGE("converged after " + std::to_string(took.count()) + " ms", took.count() <= 11000);
    std::this_thread::sleep_for(std::chrono::seconds(12));  // more than one resync: nothing more to send
    CPPUNIT_ASSERT_EQUAL(mirrorUid, str(obj(cluster.mirror(), "metadata"), "uid"));
    auto containerStatuses = obj(cluster.mirror(), "status")->getArray("containerStatuses");
    CPPUNIT_ASSERT_EQUAL(std::string("docker://") + appId, str(containerStatuses->getObject(0), "containerID"));
    size_t patches = cluster.server->countRequests("PATCH", "/status");
    size_t creates = cluster.server->countRequests("POST", "/pods");
    CPPUNIT_ASSERT_MESSAGE("PATCH storm: " + std::to_string(patches) + cluster.diagnostics(), patches <= 2);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(cluster.diagnostics(), size_t{0}, creates);
    // No container restart through all of it.
    sp = node.statusPod(kPod, kNamespace);
    CPPUNIT_ASSERT_EQUAL(appId, sp.containerId(kPod));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), sp.restartCount(kPod));
  }

  void manifestEditAndRemoval() {
    TestNode node("mirror-edit");
    Cluster cluster(node);
    std::string manifest;
    startSample(node, cluster, manifest);
    const std::string path = node.manifestDir() + "/kube-apiserver.yaml";
    std::string oldHash = str(obj(obj(cluster.mirror(), "metadata"), "annotations"), "kubernetes.io/config.mirror");
    CPPUNIT_ASSERT(!oldHash.empty());

    // An edit: a new label, so a new config hash and a new static pod.
    std::string edited = std::regex_replace(manifest, std::regex("\n  labels:\n"), "\n  labels:\n    edited: \"yes\"\n");
    CPPUNIT_ASSERT_MESSAGE(manifest, edited != manifest);
    writeFileAtomic(path, edited);
    bool replaced = waitFor([&] {
      auto meta = obj(cluster.mirror(), "metadata");
      std::string hash = str(obj(meta, "annotations"), "kubernetes.io/config.mirror");
      return !hash.empty() && hash != oldHash && str(obj(meta, "labels"), "edited") == "yes";
    }, kPodStartTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("the mirror was not replaced after the edit" + cluster.diagnostics(), replaced);
    StatusPod sp = node.statusPod(kPod, kNamespace);
    CPPUNIT_ASSERT_EQUAL(sp.uid(), str(obj(obj(cluster.mirror(), "metadata"), "annotations"), "kubernetes.io/config.mirror"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, cluster.server->pods(kNamespace).size());

    std::remove(path.c_str());
    CPPUNIT_ASSERT_MESSAGE("the mirror outlived its manifest" + cluster.diagnostics(),
                           waitFor([&] { return !cluster.mirror(); }, kPodStopTimeoutSeconds));
    CommandResult get = cluster.kubectl("get pods -n kube-system");
    CPPUNIT_ASSERT_MESSAGE(get.output, get.output.find(node.podName(kPod)) == std::string::npos);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MirrorE2ETest);
