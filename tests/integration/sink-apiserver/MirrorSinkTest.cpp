// MirrorSinkTest - the sink-apiserver plugin loaded through the host (SinkInstance, ABI 1.1 start/stop
// and sink state), against the fake API server over TLS with node credentials. Each test is one
// behaviour of docs/mirror-pods.md: mirror shape, repair after `kubectl delete`, node wait/registration,
// replacement on a new manifest, removal and orphans, status only on change, an API server that goes
// away, refusals and transient faults, and the kubeconfig variants.
#include <cppunit/extensions/HelperMacros.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "FakeApiServer.h"
#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "util/Json.h"

using podwarden::fakeapi::FakeApiServer;
using podwarden::fakeapi::KubeconfigAuth;
using podwarden::fakeapi::KubeconfigCa;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::SinkInstance;
using podwarden::plugin::SinkStateItem;
namespace json = podwarden::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string requireEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) throw std::runtime_error(std::string(name) + " is not set (run through ctest)");
  return v;
}

bool waitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

std::string str(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o && o->has(key) && !o->isNull(key) ? o->getValue<std::string>(key) : "";
}
Poco::JSON::Object::Ptr obj(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  return o && o->isObject(key) ? o->getObject(key) : nullptr;
}

const char kNode[] = "n1";
const char kNs[] = "kube-system";

// The static pod the host would report: name with the node suffix, config annotations, status.
std::string staticPod(const std::string& manifestName, const std::string& uid, const std::string& phase = "Running",
                      const std::string& seen = "2026-12-02T06:00:00.000000001Z", const std::string& labels = "") {
  return R"({"metadata":{"name":")" + manifestName + "-" + kNode + R"(","namespace":")" + kNs + R"(","uid":")" + uid +
         R"(","labels":{"component":")" + manifestName + "\"" + labels +
         R"(},"annotations":{"kubernetes.io/config.hash":")" + uid +
         R"(","kubernetes.io/config.source":"file","kubernetes.io/config.seen":")" + seen +
         R"("}},"spec":{"nodeName":")" + kNode +
         R"(","hostNetwork":true,"restartPolicy":"Always","containers":[{"name":"main","image":"podwarden.local/busybox:1.36"}]},)"
         R"("status":{"phase":")" + phase +
         R"(","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-12-02T06:00:01Z"}],)"
         R"("hostIP":"192.0.2.2","podIP":"192.0.2.2","startTime":"2026-12-02T06:00:00Z"},)"
         R"("podwarden":{"source":"file","origin":"/etc/kubernetes/manifests/)" + manifestName + R"(.yaml"}})";
}

std::string batch(const std::vector<std::string>& pods, bool sourcesReady = true) {
  std::string out = "{\"items\":[";
  for (size_t i = 0; i < pods.size(); ++i) out += (i ? "," : "") + pods[i];
  return out + "],\"sourcesReady\":" + (sourcesReady ? "true" : "false") + "}";
}

class Fixture {
 public:
  Fixture() {
    char tmpl[] = "/tmp/pw-mirror-sink-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::string pki = requireEnv("PODWARDEN_SOURCE_DIR") + "/tests/scripts/pki.sh";
    std::string cmd = pki + " " + dir_ + "/pki " + kNode + " other >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    FakeApiServer::Options options;
    options.pkiDir = dir_ + "/pki";
    options.tokens["node-token"] = {std::string("system:node:") + kNode, {"system:nodes", "system:authenticated"}};
    server = std::make_unique<FakeApiServer>(options);
    server->start();
  }
  ~Fixture() {
    sink.reset();
    server.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Loads the plugin with a kubeconfig of `user`/`auth` and starts it; states land in states_.
  void startSink(const std::string& user = std::string("node-") + kNode,
                 KubeconfigAuth auth = KubeconfigAuth::kClientCertFiles, KubeconfigCa ca = KubeconfigCa::kFile,
                 const std::string& extraConfig = "", int otherPort = 0) {
    std::string kubeconfig = dir_ + "/kubelet.conf";
    server->writeKubeconfig(kubeconfig, user, auth, ca);
    if (otherPort != 0) {  // the same credentials, another server
      std::ifstream in(kubeconfig);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string from = ":" + std::to_string(server->port());
      text.replace(text.find(from), from.size(), ":" + std::to_string(otherPort));
      std::ofstream(kubeconfig) << text;
    }
    std::string config = R"({"kubeconfig":")" + kubeconfig +
                         R"(","statusResyncSeconds":1,"backoffInitialMs":50,"backoffMaxSeconds":0.5,"relistSeconds":30)" +
                         extraConfig + "}";
    auto library = PluginLibrary::load(requireEnv("PODWARDEN_PLUGIN_DIR") + "/sink-apiserver.so");
    sink = std::make_unique<SinkInstance>(library, "apiserver", config, kNode);
    auto result = sink->start([this](std::vector<SinkStateItem> items) {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& item : items) states_[item.uid] = item.stateJson;
    });
    CPPUNIT_ASSERT_MESSAGE(result.describe(), result.ok());
  }

  void report(const std::vector<std::string>& pods, bool sourcesReady = true) {
    auto r = sink->report(batch(pods, sourcesReady));
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
  }
  void remove(const std::string& manifestName, const std::string& uid) {
    auto r = sink->remove(R"({"items":[{"namespace":")" + std::string(kNs) + R"(","name":")" + manifestName + "-" +
                          kNode + R"(","uid":")" + uid + R"("}]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
  }

  Poco::JSON::Object::Ptr mirror(const std::string& manifestName) const {
    return server->pod(kNs, manifestName + "-" + kNode);
  }
  std::string mirrorUid(const std::string& manifestName) const {
    return str(obj(mirror(manifestName), "metadata"), "uid");
  }
  // The sink's state of static pod `uid` as the host received it ("" when none yet).
  Poco::JSON::Object::Ptr state(const std::string& uid) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = states_.find(uid);
    if (it == states_.end() || it->second == "null") return nullptr;
    return obj(json::parseObject(it->second), "mirror");
  }
  std::string stateName(const std::string& uid) { return str(state(uid), "state"); }
  std::string diagnostics() {
    std::string out = "\nrequests:\n";
    for (const auto& r : server->requests()) {
      out += "  " + r.method + " " + r.path + (r.query.empty() ? "" : "?" + r.query) + " -> " +
             std::to_string(r.code) + " (" + r.user + ")\n";
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [uid, s] : states_) out += "state " + uid + ": " + s + "\n";
    return out;
  }

  std::unique_ptr<FakeApiServer> server;
  std::unique_ptr<SinkInstance> sink;

 private:
  std::string dir_;
  std::mutex mutex_;
  std::map<std::string, std::string> states_;
};

}  // namespace

class MirrorSinkTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MirrorSinkTest);
  CPPUNIT_TEST(createsMirrorWithOwnerAndStatus);
  CPPUNIT_TEST(kubectlDeleteIsRepairedWithANewMirror);
  CPPUNIT_TEST(waitsForTheNodeByDefault);
  CPPUNIT_TEST(registerNodeCreatesATaintedNode);
  CPPUNIT_TEST(newManifestReplacesTheMirror);
  CPPUNIT_TEST(removedPodLosesItsMirror);
  CPPUNIT_TEST(orphansGoOnceSourcesAreReady);
  CPPUNIT_TEST(statusIsPatchedOnlyWhenItChanges);
  CPPUNIT_TEST(changedHostAddressReplacesTheOldOne);
  CPPUNIT_TEST(apiServerDownAndBack);
  CPPUNIT_TEST(transientFaultsAreRetried);
  CPPUNIT_TEST(refusedMirrorIsReported);
  CPPUNIT_TEST(unauthorizedConflictAndInvalid);
  CPPUNIT_TEST(watchExpiryRelists);
  CPPUNIT_TEST(kubeconfigInlineData);
  CPPUNIT_TEST(kubeconfigBearerToken);
  CPPUNIT_TEST(kubeconfigTokenFile);
  CPPUNIT_TEST(wrongCaIsReported);
  CPPUNIT_TEST(silentServerIsBoundedAndStopIsPrompt);
  CPPUNIT_TEST_SUITE_END();

 public:
  void createsMirrorWithOwnerAndStatus() {
    Fixture f;
    std::string nodeUid = f.server->createNode(kNode);
    f.startSink();
    f.report({staticPod("kube-apiserver", "aaaa0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("aaaa0001") == "Synced"; }, 5s));
    auto mirror = f.mirror("kube-apiserver");
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), mirror);
    auto meta = obj(mirror, "metadata");
    CPPUNIT_ASSERT_EQUAL(std::string("aaaa0001"), str(obj(meta, "annotations"), "kubernetes.io/config.mirror"));
    CPPUNIT_ASSERT_EQUAL(std::string("aaaa0001"), str(obj(meta, "annotations"), "kubernetes.io/config.hash"));
    CPPUNIT_ASSERT(str(meta, "uid") != "aaaa0001");  // the API server's own UID
    auto owners = meta->getArray("ownerReferences");
    CPPUNIT_ASSERT_EQUAL(size_t{1}, owners->size());
    CPPUNIT_ASSERT_EQUAL(std::string("Node"), str(owners->getObject(0), "kind"));
    CPPUNIT_ASSERT_EQUAL(nodeUid, str(owners->getObject(0), "uid"));
    CPPUNIT_ASSERT_EQUAL(std::string(kNode), str(obj(mirror, "spec"), "nodeName"));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), str(obj(mirror, "status"), "phase"));
    CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.2"), str(obj(mirror, "status"), "podIP"));
    CPPUNIT_ASSERT_EQUAL(str(meta, "uid"), str(f.state("aaaa0001"), "uid"));
    // Every write was made as the node, through NodeRestriction.
    for (const auto& r : f.server->requests()) {
      CPPUNIT_ASSERT_EQUAL(std::string("system:node:") + kNode, r.user);
    }
  }

  void kubectlDeleteIsRepairedWithANewMirror() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink();
    f.report({staticPod("etcd", "bbbb0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("bbbb0001") == "Synced"; }, 5s));
    std::string first = f.mirrorUid("etcd");
    // What `kubectl delete pod` does to a pod bound to a node: only a deletionTimestamp.
    auto answer = f.server->deletePod(kNs, std::string("etcd-") + kNode);
    CPPUNIT_ASSERT(!str(obj(answer, "metadata"), "deletionTimestamp").empty());
    auto start = std::chrono::steady_clock::now();
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      std::string uid = f.mirrorUid("etcd");
      return !uid.empty() && uid != first && str(obj(f.mirror("etcd"), "metadata"), "deletionTimestamp").empty();
    }, 2s));
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    CPPUNIT_ASSERT_MESSAGE("repair took " + std::to_string(took.count()) + " ms", took < 2s);
    // The old one was finished with grace 0 and its UID as precondition.
    CPPUNIT_ASSERT(f.server->countRequests([&](const podwarden::fakeapi::RequestRecord& r) {
      return r.method == "DELETE" && r.body.find("\"gracePeriodSeconds\":0") != std::string::npos &&
             r.body.find(first) != std::string::npos && r.code == 200;
    }) == 1);
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(),
                           waitUntil([&] { return str(obj(f.mirror("etcd"), "status"), "phase") == "Running"; }, 3s));
  }

  void waitsForTheNodeByDefault() {
    Fixture f;
    f.startSink();
    f.report({staticPod("kube-apiserver", "cccc0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(),
                           waitUntil([&] { return f.stateName("cccc0001") == "WaitingForNode"; }, 5s));
    CPPUNIT_ASSERT(str(f.state("cccc0001"), "lastError").find("does not exist") != std::string::npos);
    std::this_thread::sleep_for(1s);
    CPPUNIT_ASSERT(!f.server->node(kNode));  // never created without registerNode
    CPPUNIT_ASSERT_EQUAL(size_t{0}, f.server->countRequests("POST"));
    f.server->createNode(kNode);
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("cccc0001") == "Synced"; }, 5s));
    CPPUNIT_ASSERT(f.mirror("kube-apiserver"));
  }

  void registerNodeCreatesATaintedNode() {
    Fixture f;
    f.startSink(std::string("node-") + kNode, KubeconfigAuth::kClientCertFiles, KubeconfigCa::kFile,
                R"(,"registerNode":true)");
    f.report({staticPod("kube-apiserver", "dddd0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("dddd0001") == "Synced"; }, 5s));
    auto node = f.server->node(kNode);
    CPPUNIT_ASSERT(node);
    auto taints = obj(node, "spec")->getArray("taints");
    CPPUNIT_ASSERT_EQUAL(size_t{1}, taints->size());
    CPPUNIT_ASSERT_EQUAL(std::string("node.podwarden.io/static-only"), str(taints->getObject(0), "key"));
    CPPUNIT_ASSERT_EQUAL(std::string("NoSchedule"), str(taints->getObject(0), "effect"));
    auto owner = obj(f.mirror("kube-apiserver"), "metadata")->getArray("ownerReferences")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(str(obj(node, "metadata"), "uid"), str(owner, "uid"));
  }

  void newManifestReplacesTheMirror() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink();
    f.report({staticPod("scheduler", "eeee0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("eeee0001") == "Synced"; }, 5s));
    std::string first = f.mirrorUid("scheduler");
    // An edit: the new pod is reported (newer config.seen) while the old one still terminates.
    f.report({staticPod("scheduler", "eeee0002", "Pending", "2026-12-02T07:00:00.000000001Z")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      return str(obj(obj(f.mirror("scheduler"), "metadata"), "annotations"), "kubernetes.io/config.mirror") ==
             "eeee0002";
    }, 5s));
    CPPUNIT_ASSERT(f.mirrorUid("scheduler") != first);
    // States reach the host after the worker's pass, a moment after the API server saw its requests.
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("eeee0001") == "Superseded"; }, 2s));
    f.remove("scheduler", "eeee0001");
    std::this_thread::sleep_for(1500ms);  // the old pod's removal must not take the new mirror along
    CPPUNIT_ASSERT_EQUAL(std::string("eeee0002"),
                         str(obj(obj(f.mirror("scheduler"), "metadata"), "annotations"), "kubernetes.io/config.mirror"));
  }

  void removedPodLosesItsMirror() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink();
    f.report({staticPod("etcd", "ffff0001"), staticPod("kube-apiserver", "ffff0002")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.mirror("etcd") && f.mirror("kube-apiserver"); }, 5s));
    std::string uid = f.mirrorUid("etcd");
    f.remove("etcd", "ffff0001");
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return !f.mirror("etcd"); }, 3s));
    // The request log gets its line once the answer is sent, a moment after the store changed.
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      return f.server->countRequests([&](const podwarden::fakeapi::RequestRecord& r) {
        return r.method == "DELETE" && r.body.find(uid) != std::string::npos;
      }) >= 1;
    }, 2s));
    CPPUNIT_ASSERT(f.mirror("kube-apiserver"));
  }

  void orphansGoOnceSourcesAreReady() {
    Fixture f;
    std::string nodeUid = f.server->createNode(kNode);
    // Left from an earlier run: a mirror of a pod no manifest defines any more, and a plain pod bound to
    // the node (not a mirror: never touched).
    f.server->createPod(R"({"metadata":{"name":"old-n1","namespace":"kube-system","annotations":{"kubernetes.io/config.mirror":"0ld"},)"
                        R"("ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":")" + nodeUid +
                        R"(","controller":true}]},"spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]}})");
    f.server->createPod(R"({"metadata":{"name":"plain","namespace":"default"},)"
                        R"("spec":{"nodeName":"n1","containers":[{"name":"c","image":"i"}]}})");
    f.startSink();
    f.report({staticPod("etcd", "abab0001")}, /*sourcesReady=*/false);
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("abab0001") == "Synced"; }, 5s));
    std::this_thread::sleep_for(1500ms);
    CPPUNIT_ASSERT_MESSAGE("an orphan went before every source had reported" + f.diagnostics(),
                           f.server->pod(kNs, "old-n1"));
    f.report({staticPod("etcd", "abab0001")}, /*sourcesReady=*/true);
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return !f.server->pod(kNs, "old-n1"); }, 5s));
    CPPUNIT_ASSERT(f.server->pod("default", "plain"));
    CPPUNIT_ASSERT(f.mirror("etcd"));
  }

  void statusIsPatchedOnlyWhenItChanges() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink();
    f.report({staticPod("etcd", "acac0001", "Pending")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("acac0001") == "Synced"; }, 5s));
    // Three resync periods and the same report again: nothing to send.
    f.report({staticPod("etcd", "acac0001", "Pending")});
    std::this_thread::sleep_for(3500ms);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(f.diagnostics(), size_t{1}, f.server->countRequests("PATCH", "/status"));
    f.report({staticPod("etcd", "acac0001", "Running")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(),
                           waitUntil([&] { return str(obj(f.mirror("etcd"), "status"), "phase") == "Running"; }, 3s));
    std::this_thread::sleep_for(1500ms);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(f.diagnostics(), size_t{2}, f.server->countRequests("PATCH", "/status"));
    // Conditions the sink does not own survive its strategic merge patch.
    auto status = obj(f.mirror("etcd"), "status");
    CPPUNIT_ASSERT_EQUAL(size_t{1}, status->getArray("conditions")->size());
  }

  // The node's address changes (DHCP, a new NIC): the API server merges hostIPs/podIPs by ip, so the patch
  // must delete the old entries, or hostIPs[0] != hostIP fails validation (422).
  void changedHostAddressReplacesTheOldOne() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink();
    std::string pod = staticPod("etcd", "adad0009");
    f.report({pod});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("adad0009") == "Synced"; }, 5s));
    std::string moved = pod;
    for (size_t at; (at = moved.find("192.0.2.2")) != std::string::npos;) moved.replace(at, 9, "192.0.2.9");
    moved.replace(moved.find(R"("podIP":)"), 0, R"("hostIPs":[{"ip":"192.0.2.9"}],"podIPs":[{"ip":"192.0.2.9"}],)");
    pod.replace(pod.find(R"("podIP":)"), 0, R"("hostIPs":[{"ip":"192.0.2.2"}],"podIPs":[{"ip":"192.0.2.2"}],)");
    f.report({pod});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      auto s = obj(f.mirror("etcd"), "status");
      return s && s->has("hostIPs") && s->getArray("hostIPs")->size() == 1;
    }, 5s));
    f.report({moved});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      auto s = obj(f.mirror("etcd"), "status");
      return str(s, "hostIP") == "192.0.2.9" && s->getArray("hostIPs")->size() == 1 &&
             str(s->getArray("hostIPs")->getObject(0), "ip") == "192.0.2.9" &&
             s->getArray("podIPs")->size() == 1 && f.stateName("adad0009") == "Synced";
    }, 5s));
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), str(f.state("adad0009"), "lastError").empty());
  }

  void apiServerDownAndBack() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink();
    f.report({staticPod("etcd", "adad0001", "Pending"), staticPod("kube-apiserver", "adad0002", "Running")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      return f.stateName("adad0001") == "Synced" && f.stateName("adad0002") == "Synced";
    }, 5s));
    std::string uid = f.mirrorUid("etcd");
    f.server->stop();
    f.report({staticPod("etcd", "adad0001", "Running"), staticPod("kube-apiserver", "adad0002", "Running")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("adad0001") == "Unreachable"; }, 5s));
    CPPUNIT_ASSERT(!str(f.state("adad0001"), "lastError").empty());
    std::this_thread::sleep_for(3s);
    f.server->clearRequests();
    f.server->start();
    // Converges within one resync (1 s here; the backoff cap is below it).
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      return str(obj(f.mirror("etcd"), "status"), "phase") == "Running" && f.stateName("adad0001") == "Synced";
    }, 2s));
    std::this_thread::sleep_for(2s);
    CPPUNIT_ASSERT_EQUAL(uid, f.mirrorUid("etcd"));  // the mirror was kept, not recreated
    // Exactly the one status that changed while it was down; no storm of PATCHes or creates.
    CPPUNIT_ASSERT_EQUAL_MESSAGE(f.diagnostics(), size_t{1}, f.server->countRequests("PATCH", "/status"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(f.diagnostics(), size_t{0}, f.server->countRequests("POST"));
  }

  void transientFaultsAreRetried() {
    Fixture f;
    f.server->createNode(kNode);
    f.server->failNext("POST", "/pods", 500, 2);
    f.server->failNext("PATCH", "/status", 429, 1);
    f.startSink();
    f.report({staticPod("etcd", "aeae0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("aeae0001") == "Synced"; }, 10s));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), str(obj(f.mirror("etcd"), "status"), "phase"));
    CPPUNIT_ASSERT_EQUAL(size_t{3}, f.server->countRequests("POST", "/pods"));
    CPPUNIT_ASSERT(str(f.state("aeae0001"), "lastError").find("429") != std::string::npos);
  }

  void refusedMirrorIsReported() {
    Fixture f;
    f.server->createNode(kNode);
    f.server->rejectPodsWithLabel("privileged", "yes");
    f.startSink();
    f.report({staticPod("etcd", "afaf0001", "Running", "2026-12-02T06:00:00.000000001Z", R"(,"privileged":"yes")"),
              staticPod("kube-apiserver", "afaf0002")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("afaf0001") == "Refused"; }, 5s));
    std::string error = str(f.state("afaf0001"), "lastError");
    CPPUNIT_ASSERT_MESSAGE(error, error.find("403") != std::string::npos && error.find("forbidden") != std::string::npos);
    // The other pod is not held up by the refused one.
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("afaf0002") == "Synced"; }, 5s));
    CPPUNIT_ASSERT(!f.mirror("etcd"));
  }

  // 401 (a token the API server does not know), a 409 on create whose pod then is not there, and a 422:
  // each reported with the API server's words, none of them stops the sink.
  void unauthorizedConflictAndInvalid() {
    {
      Fixture f;
      f.server->createNode(kNode);
      f.startSink("no-such-token", KubeconfigAuth::kToken);
      f.report({staticPod("etcd", "efef0001")});
      CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
        return str(f.state("efef0001"), "lastError").find("401 Unauthorized") != std::string::npos;
      }, 5s));
      CPPUNIT_ASSERT_EQUAL(std::string("WaitingForNode"), f.stateName("efef0001"));  // GET nodes/n1 failed
    }
    Fixture f;
    f.server->createNode(kNode);
    f.server->failNext("POST", "/pods", 409, 1);
    f.server->failNext("POST", "/pods", 422, 1);
    f.startSink();
    f.report({staticPod("etcd", "efef0002")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("efef0002") == "Synced"; }, 10s));
    std::string error = str(f.state("efef0002"), "lastError");
    CPPUNIT_ASSERT_MESSAGE(error, error.find("422") != std::string::npos);  // the last error is kept after success
    CPPUNIT_ASSERT_EQUAL(size_t{3}, f.server->countRequests("POST", "/pods"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, f.server->pods(kNs).size());
  }

  void watchExpiryRelists() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink();
    f.report({staticPod("etcd", "baba0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("baba0001") == "Synced"; }, 5s));
    f.server->expireWatchHistory();
    f.server->stop();  // ends the watch; it comes back with a resourceVersion the server no longer has
    f.server->start();
    std::string first = f.mirrorUid("etcd");
    f.server->deletePod(kNs, std::string("etcd-") + kNode);
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] {
      std::string uid = f.mirrorUid("etcd");
      return !uid.empty() && uid != first;
    }, 5s));
  }

  void kubeconfigInlineData() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink(std::string("node-") + kNode, KubeconfigAuth::kClientCertData, KubeconfigCa::kData);
    f.report({staticPod("etcd", "caca0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("caca0001") == "Synced"; }, 5s));
  }

  void kubeconfigBearerToken() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink("node-token", KubeconfigAuth::kToken);
    f.report({staticPod("etcd", "cbcb0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("cbcb0001") == "Synced"; }, 5s));
    CPPUNIT_ASSERT_EQUAL(std::string("system:node:n1"), f.server->requests().back().user);
  }

  void kubeconfigTokenFile() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink("node-token", KubeconfigAuth::kTokenFile);
    f.report({staticPod("etcd", "cccc0002")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("cccc0002") == "Synced"; }, 5s));
  }

  void wrongCaIsReported() {
    Fixture f;
    f.server->createNode(kNode);
    f.startSink(std::string("node-") + kNode, KubeconfigAuth::kClientCertFiles, KubeconfigCa::kOther);
    f.report({staticPod("etcd", "cdcd0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return !str(f.state("cdcd0001"), "lastError").empty(); }, 5s));
    std::string error = str(f.state("cdcd0001"), "lastError");
    CPPUNIT_ASSERT_MESSAGE(error, error.find("certificate") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(size_t{0}, f.server->pods().size());
  }

  // A server that accepts TCP connections and never says a word (a hung API server, a black-holing load
  // balancer): every attempt ends after requestTimeoutSeconds, the pod says Unreachable, and stopping the
  // sink does not wait for a connect or handshake in progress.
  void silentServerIsBoundedAndStopIsPrompt() {
    Fixture f;
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CPPUNIT_ASSERT_EQUAL(0, ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
    CPPUNIT_ASSERT_EQUAL(0, ::listen(listener, 64));  // never accept()ed: the kernel completes the handshake
    socklen_t len = sizeof(addr);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    f.startSink(std::string("node-") + kNode, KubeconfigAuth::kClientCertFiles, KubeconfigCa::kFile,
                R"(,"requestTimeoutSeconds":0.5)", ntohs(addr.sin_port));
    f.report({staticPod("etcd", "dede0001")});
    CPPUNIT_ASSERT_MESSAGE(f.diagnostics(), waitUntil([&] { return f.stateName("dede0001") == "Unreachable"; }, 5s));
    std::string error = str(f.state("dede0001"), "lastError");
    CPPUNIT_ASSERT_MESSAGE(error, error.find("127.0.0.1:" + std::to_string(ntohs(addr.sin_port))) != std::string::npos);
    auto start = std::chrono::steady_clock::now();
    f.sink->stop();
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    ::close(listener);
    CPPUNIT_ASSERT_MESSAGE("stop took " + std::to_string(took.count()) + " ms", took < 400ms);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MirrorSinkTest);
