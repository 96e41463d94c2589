// KubectlTest - the real kubectl against the fake API server, with kubeconfigs from writeKubeconfig():
// `get` prints the server's table, `-o json` the object, `delete` waits until the node agent removes the
// pod with grace 0. PODWARDEN_KUBECTL picks another binary (e.g. a versioned kubectl.1.32).
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>

#include "ApiTestSupport.h"
#include "util/Json.h"

using podwarden::fakeapi::FakeApiServer;
using podwarden::fakeapi::KubeconfigAuth;
using podwarden::fakeapi::KubeconfigCa;
using podwarden::fakeapi::RequestRecord;
using podwarden::fakeapi::test::ApiClient;
using podwarden::fakeapi::test::CommandResult;
using podwarden::fakeapi::test::HttpResult;
using podwarden::fakeapi::test::Identity;
using podwarden::fakeapi::test::podJson;
using podwarden::fakeapi::test::runCommand;
using podwarden::fakeapi::test::serverOptions;
using podwarden::fakeapi::test::shellQuote;
namespace json = podwarden::json;

namespace {

const char kRunningStatus[] = R"({"phase":"Running","podIP":"10.0.0.7","conditions":[{"type":"Ready","status":"True"}],
  "containerStatuses":[{"name":"main","ready":true,"restartCount":0,"image":"registry.k8s.io/pause:3.9",
  "imageID":"","started":true,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]})";

std::string kubectlBinary() {
  const char* custom = std::getenv("PODWARDEN_KUBECTL");
  return custom != nullptr && *custom != '\0' ? custom : "kubectl";
}

}  // namespace

class KubectlTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(KubectlTest);
  CPPUNIT_TEST(testGetPodsPrintsTheTable);
  CPPUNIT_TEST(testInlineDataKubeconfig);
  CPPUNIT_TEST(testTokenFileKubeconfig);
  CPPUNIT_TEST(testGetJson);
  CPPUNIT_TEST(testDeleteWaitsForTheNode);
  CPPUNIT_TEST(testGetNodes);
  CPPUNIT_TEST(testWrongCaIsRejected);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    CommandResult which = runCommand("command -v " + shellQuote(kubectlBinary()));
    CPPUNIT_ASSERT_MESSAGE(
        "kubectl is not on PATH: install it (Debian: apt-get install kubernetes-client; scripts/test.sh does it "
        "through scripts/lib.sh) or point PODWARDEN_KUBECTL at one",
        which.exitCode == 0);
    char tmpl[] = "/tmp/pw-kubectl-test-XXXXXX";
    CPPUNIT_ASSERT(mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    server_ = std::make_unique<FakeApiServer>(serverOptions());
    server_->start();
    kubeconfig_ = dir_ + "/admin.kubeconfig";
    server_->writeKubeconfig(kubeconfig_, "admin", KubeconfigAuth::kClientCertFiles, KubeconfigCa::kFile);
  }

  void tearDown() override {
    server_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  // kubectl with `kubeconfig`, its own discovery cache, and a time limit.
  CommandResult kubectl(const std::string& args, const std::string& kubeconfig = "") {
    return runCommand("timeout 60 " + shellQuote(kubectlBinary()) + " --kubeconfig " +
                      shellQuote(kubeconfig.empty() ? kubeconfig_ : kubeconfig) + " --cache-dir " +
                      shellQuote(dir_ + "/cache") + " " + args);
  }

  void createRunningPod(const std::string& ns, const std::string& name) {
    server_->createPod(podJson(ns, name, R"({"spec":{"nodeName":"n1"}})"));
    server_->setPodStatus(ns, name, kRunningStatus);
  }

  void assertTableRow(const CommandResult& r, const std::string& name) {
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.output, 0, r.exitCode);
    CPPUNIT_ASSERT_MESSAGE(r.output, std::regex_search(r.output, std::regex("NAME +READY +STATUS +RESTARTS +AGE")));
    CPPUNIT_ASSERT_MESSAGE(r.output, std::regex_search(r.output, std::regex(name + " +1/1 +Running +0 +[0-9]+s")));
  }

  void testGetPodsPrintsTheTable() {
    createRunningPod("kube-system", "kube-apiserver-n1");
    server_->createPod(podJson("default", "elsewhere"));
    CommandResult r = kubectl("get pods -n kube-system");
    assertTableRow(r, "kube-apiserver-n1");
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.find("elsewhere") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE("kubectl asked for a table",
                           server_->countRequests([](const RequestRecord& rec) {
                             return rec.method == "GET" && rec.path == "/api/v1/namespaces/kube-system/pods";
                           }) >= 1);
    CommandResult wide = kubectl("get pods -n kube-system -o wide");
    CPPUNIT_ASSERT_MESSAGE(wide.output, std::regex_search(wide.output, std::regex("10\\.0\\.0\\.7 +n1 +<none> +<none>")));
    CommandResult shortName = kubectl("get po -A");
    CPPUNIT_ASSERT_MESSAGE(shortName.output, std::regex_search(shortName.output, std::regex("kube-system +kube-apiserver-n1 +1/1")));
  }

  void testInlineDataKubeconfig() {
    createRunningPod("kube-system", "inline");
    std::string config = dir_ + "/inline.kubeconfig";
    server_->writeKubeconfig(config, "admin", KubeconfigAuth::kClientCertData, KubeconfigCa::kData);
    std::string text;
    {
      std::ifstream in(config);
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    CPPUNIT_ASSERT_MESSAGE(text, text.find("client-certificate-data:") != std::string::npos &&
                                     text.find("certificate-authority-data:") != std::string::npos &&
                                     text.find(server_->pkiDir()) == std::string::npos);
    assertTableRow(kubectl("get pods -n kube-system", config), "inline");
    CPPUNIT_ASSERT_EQUAL(std::string("kubernetes-admin"), server_->requests().back().user);
  }

  void testTokenFileKubeconfig() {
    createRunningPod("kube-system", "token");
    std::string config = dir_ + "/token.kubeconfig";
    server_->writeKubeconfig(config, "admin-token", KubeconfigAuth::kTokenFile, KubeconfigCa::kFile);
    assertTableRow(kubectl("get pods -n kube-system", config), "token");
    CPPUNIT_ASSERT_EQUAL(std::string("token-admin"), server_->requests().back().user);
    server_->writeKubeconfig(config, "nobody-token", KubeconfigAuth::kToken, KubeconfigCa::kFile);
    CommandResult denied = kubectl("get pods -n kube-system", config);
    CPPUNIT_ASSERT_MESSAGE(denied.output, denied.exitCode != 0);
    CPPUNIT_ASSERT_MESSAGE(denied.output, denied.output.find("Error from server (Forbidden)") != std::string::npos);
  }

  void testGetJson() {
    createRunningPod("kube-system", "as-json");
    CommandResult r = kubectl("get pod as-json -n kube-system -o json");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.output, 0, r.exitCode);
    auto pod = json::parseObject(r.output);
    auto stored = server_->pod("kube-system", "as-json");
    CPPUNIT_ASSERT_EQUAL(json::getString(json::getObject(stored, "metadata"), "uid"),
                         json::getString(json::getObject(pod, "metadata"), "uid"));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), json::getString(json::getObject(pod, "status"), "phase"));
    CommandResult list = kubectl("get pods -n kube-system -o json");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(list.output, 0, list.exitCode);
    CPPUNIT_ASSERT_EQUAL(size_t(1), json::getArray(json::parseObject(list.output), "items")->size());
    CommandResult missing = kubectl("get pod nope -n kube-system");
    CPPUNIT_ASSERT_MESSAGE(missing.output, missing.exitCode != 0);
    CPPUNIT_ASSERT_MESSAGE(missing.output,
                           missing.output.find("Error from server (NotFound): pods \"nope\" not found") != std::string::npos);
  }

  void testDeleteWaitsForTheNode() {
    server_->createNode("n1");
    createRunningPod("kube-system", "doomed");
    std::atomic<bool> done{false};
    CommandResult result;
    std::thread deleter([&] {
      result = kubectl("delete pod doomed -n kube-system");
      done = true;
    });
    // kubectl marks the pod for deletion and waits on a watch for it to go.
    bool watching = server_->waitForRequest(
        [](const RequestRecord& r) { return r.watch && r.query.find("metadata.name%3Ddoomed") != std::string::npos; },
        std::chrono::seconds(30));
    auto pod = server_->pod("kube-system", "doomed");
    bool terminating = pod && json::has(json::getObject(pod, "metadata"), "deletionTimestamp");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    bool waited = !done;
    // The node agent finishes the deletion, as the kubelet does once the containers are gone.
    ApiClient node(*server_, Identity::cert("node-n1"));
    HttpResult finalDelete = node.del("/api/v1/namespaces/kube-system/pods/doomed", R"({"gracePeriodSeconds":0})");
    deleter.join();
    CPPUNIT_ASSERT_MESSAGE("kubectl opened no watch: " + result.output, watching);
    CPPUNIT_ASSERT_MESSAGE("the pod was not marked for deletion", terminating);
    CPPUNIT_ASSERT_MESSAGE("kubectl returned before the pod was gone: " + result.output, waited);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(finalDelete.describe(), 200, finalDelete.code);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(result.output, 0, result.exitCode);
    CPPUNIT_ASSERT_MESSAGE(result.output, result.output.find("pod \"doomed\" deleted") != std::string::npos);
    CPPUNIT_ASSERT(!server_->pod("kube-system", "doomed"));
  }

  void testGetNodes() {
    server_->createNode("n1");
    CommandResult r = kubectl("get nodes");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.output, 0, r.exitCode);
    CPPUNIT_ASSERT_MESSAGE(r.output, std::regex_search(r.output, std::regex("NAME +STATUS +ROLES +AGE +VERSION")));
    CPPUNIT_ASSERT_MESSAGE(r.output, std::regex_search(r.output, std::regex("n1 +Ready +<none> +[0-9]+s +v1\\.28\\.15")));
    CommandResult shortName = kubectl("get no n1 -o json");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(shortName.output, 0, shortName.exitCode);
    CPPUNIT_ASSERT_EQUAL(std::string("Node"), json::getString(json::parseObject(shortName.output), "kind"));
  }

  void testWrongCaIsRejected() {
    std::string config = dir_ + "/other-ca.kubeconfig";
    server_->writeKubeconfig(config, "admin", KubeconfigAuth::kClientCertFiles, KubeconfigCa::kOther);
    CommandResult r = kubectl("get pods", config);
    CPPUNIT_ASSERT_MESSAGE(r.output, r.exitCode != 0);
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.find("x509") != std::string::npos ||
                                         r.output.find("certificate") != std::string::npos);
  }

 private:
  std::string dir_;
  std::string kubeconfig_;
  std::unique_ptr<FakeApiServer> server_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(KubectlTest);
