// ContainerdRuntimeTest - the runtime-containerd plugin, loaded through the host's PluginLibrary, against
// the private test containerd (tests/scripts/containerd.sh start) and the images imported into it
// (samples/images/build-oci-images.sh). The CRI scenarios shared with Docker are in
// runtime-common/CriRuntimeScenarios; here is what only containerd shows: its CRI log files, the pod
// network through CNI, a restart as a new attempt, reconnection and adoption. What the plugin made is
// checked, independently of CRI, with containerd's own `ctr`.
#include <Poco/JSON/Object.h>
#include <cppunit/extensions/HelperMacros.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "CriRuntimeScenarios.h"

using podwarden::plugin::CallResult;
using podwarden::plugin::RuntimeCall;
using podwarden::plugin::RuntimeInstance;
using namespace podwarden::test;

namespace {

std::string endpoint() {
  return env("PODWARDEN_CONTAINERD_ENDPOINT", "unix:///run/podwarden-test/containerd/containerd.sock");
}

// Output (stdout and stderr) of containerd's own CLI against the test containerd, namespace k8s.io.
std::string ctr(const std::string& args) {
  const std::string cmd =
      "ctr --address '" + socketPathOf(endpoint()) + "' --namespace k8s.io " + args + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

CriRuntime containerd() {
  CriRuntime rt;
  rt.kind = "containerd";
  rt.endpoint = endpoint();
  rt.daemonName = "the test containerd";
  rt.startHint = "run tests/scripts/containerd.sh start (or set PODWARDEN_CONTAINERD_ENDPOINT)";
  rt.imagesHint =
      "run samples/images/build-oci-images.sh with CONTAINERD_ADDRESS=" + socketPathOf(rt.endpoint);
  rt.unreachableEndpoint = "unix:///run/podwarden-test/no-such-containerd.sock";
  return rt;
}

}  // namespace

class ContainerdRuntimeTest : public CriRuntimeScenarios {
  CPPUNIT_TEST_SUB_SUITE(ContainerdRuntimeTest, CriRuntimeScenarios);
  CPPUNIT_TEST(testRuntimeThatAppearsLaterIsUsed);
  CPPUNIT_TEST(testPodNetworkThroughCni);
  CPPUNIT_TEST(testAdoptionByANewInstance);
  CPPUNIT_TEST_SUITE_END();

 public:
  ContainerdRuntimeTest() : CriRuntimeScenarios(containerd()) {}

  // The socket appears after the plugin's channel was made (a runtime starting after podwarden): calls
  // work again within a few seconds, not after gRPC's default reconnect backoff of minutes. The socket is a
  // symlink to the test containerd's, so the shared daemon is never restarted.
  void testRuntimeThatAppearsLaterIsUsed() {
    const std::string link = "/run/podwarden-test/late-containerd-" + randomHex(8) + ".sock";
    RuntimeInstance late(library_, "containerd", "{\"endpoint\":\"unix://" + link + "\"}", "n");
    for (int i = 0; i < 3; ++i) {
      CallResult r = late.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(5));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_UNAVAILABLE, r.status);
    }
    std::filesystem::create_symlink(socketPathOf(endpoint()), link);
    const bool answered =
        waitFor([&] { return late.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(5)).ok(); }, 20);
    std::filesystem::remove(link);
    CPPUNIT_ASSERT_MESSAGE("no answer within 20 s after the socket appeared", answered);
  }

  // A pod without hostNetwork gets its IP from the CNI bridge that containerd.sh configures, and an HTTP
  // GET against that IP (what an httpGet probe does) reaches the container.
  void testPodNetworkThroughCni() {
    const std::string uid = randomHex(12);
    const std::string pod = "net-" + uid.substr(0, 6);
    const int hostPort = randomPort();
    const std::string sandboxConfig =
        podConfig(pod, uid, "POD",
                  R"("portMappings":[{"protocol":"TCP","containerPort":8080,"hostPort":)" +
                      std::to_string(hostPort) + "}],");
    CallResult r = runtime_->call(RuntimeCall::kRunPodSandbox, R"({"config":)" + sandboxConfig + "}",
                                  std::chrono::seconds(60));
    if (r.status == PW_FAILED_PRECONDITION) {
      // containerd.sh fell back to no CNI (no bridge support here): the plugin must refuse up front.
      CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("NetworkReady=false") != std::string::npos);
      std::printf("\n[ContainerdRuntimeTest] no CNI in the test containerd; pod network not exercised\n");
      return;
    }
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    const std::string sandboxId = str(parse(r.out), "podSandboxId");
    sandboxes_.push_back(sandboxId);
    const std::string ip = str(sandboxStatus(sandboxId)->getObject("network"), "ip");
    CPPUNIT_ASSERT_MESSAGE("a pod-network sandbox has an IP", !ip.empty());
    const std::string id = createContainer(sandboxId, sandboxConfig, "web", kBusybox, 0,
                                           R"("command":["httpd","-f","-p","8080","-h","/var/www"],)");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + id + "\"}");
    CPPUNIT_ASSERT_MESSAGE("no answer from the pod at " + ip + ":8080", waitFor([&] {
                             return httpGet(ip, 8080).find("podwarden test image") != std::string::npos;
                           }));
    // hostPort through CNI's portmap, when containerd.sh could give it iptables.
    if (readFile("/run/podwarden-test/containerd/cni/net.d/10-podwarden-test.conflist").find("portmap") !=
        std::string::npos) {
      CPPUNIT_ASSERT_MESSAGE("no answer through hostPort " + std::to_string(hostPort), waitFor([&] {
                               return httpGet("127.0.0.1", hostPort).find("podwarden test image") !=
                                      std::string::npos;
                             }));
    }
    // Its own network namespace: the hostname is the pod's.
    ObjectPtr e = parse(
        call(RuntimeCall::kExecSync, R"({"containerId":")" + id + R"(","cmd":["hostname"],"timeout":10})")
            .out);
    CPPUNIT_ASSERT_EQUAL(pod + "\n", base64Decode(str(e, "stdout")));
  }

  // After a podwarden restart a new plugin instance finds the running pod by its labels, untouched.
  void testAdoptionByANewInstance() {
    const std::string uid = randomHex(12);
    const std::string sandboxConfig = podConfig("adopt-" + uid.substr(0, 6), uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);
    const std::string id =
        createContainer(sandboxId, sandboxConfig, "main", kBusybox, 0,
                        R"("command":["sleep","600"],"labels":{"io.kubernetes.pod.uid":")" + uid + R"("},)");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + id + "\"}");
    const std::string startedAt = str(containerStatus(id), "startedAt");

    runtime_ = std::make_unique<RuntimeInstance>(library_, "containerd", config(), "test-node");
    ObjectPtr sandboxes =
        parse(call(RuntimeCall::kListPodSandbox,
                   R"({"filter":{"labelSelector":{"io.kubernetes.pod.uid":")" + uid + R"("}}})")
                  .out);
    CPPUNIT_ASSERT_EQUAL(1u, static_cast<unsigned>(sandboxes->getArray("items")->size()));
    CPPUNIT_ASSERT_EQUAL(sandboxId, str(sandboxes->getArray("items")->getObject(0), "id"));
    ObjectPtr containers =
        parse(call(RuntimeCall::kListContainers,
                   R"({"filter":{"labelSelector":{"io.kubernetes.pod.uid":")" + uid + R"("}}})")
                  .out);
    CPPUNIT_ASSERT_EQUAL(1u, static_cast<unsigned>(containers->getArray("containers")->size()));
    ObjectPtr cs = containerStatus(id);
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_RUNNING"), str(cs, "state"));
    CPPUNIT_ASSERT_EQUAL(startedAt, str(cs, "startedAt"));
  }

 protected:
  void checkVersion(const ObjectPtr& v) override {
    CPPUNIT_ASSERT_EQUAL(std::string("containerd"), str(v, "runtimeName"));
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), str(v, "runtimeApiVersion"));
    // containerd 1.6 has no CRI GetContainerEvents: the host relists.
    CPPUNIT_ASSERT(!runtime_->hasEvents());
  }

  void moreConfigErrors() override {
    try {
      RuntimeInstance bad(library_, "containerd", R"({"endpoint":42})", "n");
      CPPUNIT_FAIL("a numeric endpoint was accepted");
    } catch (const podwarden::plugin::PluginError& e) {
      CPPUNIT_ASSERT_MESSAGE(e.what(),
                             std::string(e.what()).find("endpoint must be a string") != std::string::npos);
    }
    // Requests the plugin cannot turn into CRI messages are refused, naming what is wrong.
    CallResult r = runtime_->call(RuntimeCall::kRunPodSandbox, R"({"config":{"metadata":{"name":"x"}}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_INVALID_ARGUMENT, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("config.metadata: namespace") != std::string::npos);
    r = runtime_->call(RuntimeCall::kStartContainer, R"({"containerId":["not","a","string"]})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_INVALID_ARGUMENT, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("StartContainerRequest") != std::string::npos);
  }

  std::string unreachableError() const override { return rt_.unreachableEndpoint; }

  void checkContainerRunning(const LifecyclePod& p, const ObjectPtr& cs) override {
    // containerd writes the CRI log file itself.
    CPPUNIT_ASSERT_MESSAGE(str(cs, "logPath"), std::filesystem::exists(str(cs, "logPath")));
    // containerd's own view: the container carries the kubelet's labels.
    const std::string info = ctr("containers info " + p.containerId);
    CPPUNIT_ASSERT_MESSAGE(info,
                           info.find("\"io.kubernetes.container.name\": \"httpd\"") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(info, info.find(p.uid) != std::string::npos);
    CPPUNIT_ASSERT(ctr("tasks ls").find(p.containerId) != std::string::npos);
  }

  // The container is removed on its own, then the sandbox; each step is idempotent, as the kubelet expects.
  void finishLifecycle(const LifecyclePod& p) override {
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + p.containerId + "\"}");
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + p.containerId + "\"}");
    call(RuntimeCall::kStopContainer, R"({"containerId":")" + p.containerId + R"(","timeout":2})");
    CallResult gone =
        runtime_->call(RuntimeCall::kContainerStatus, R"({"containerId":")" + p.containerId + "\"}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(gone.describe(), PW_NOT_FOUND, gone.status);
    CPPUNIT_ASSERT(ctr("containers ls -q").find(p.containerId) == std::string::npos);

    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_NOTREADY"), str(sandboxStatus(p.sandboxId), "state"));
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    CallResult noSandbox =
        runtime_->call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(noSandbox.describe(), PW_NOT_FOUND, noSandbox.status);
  }

  // The CRI log holds what the container printed; a restart is a new attempt next to the exited one, as
  // the kubelet does it.
  void afterExits(const std::string& sandboxId, const std::string& sandboxConfig, const std::string& failing,
                  const std::string&) override {
    const std::string log = readFile(str(containerStatus(failing), "logPath"));
    CPPUNIT_ASSERT_MESSAGE(log, log.find(" stdout F bye") != std::string::npos);
    const std::string again =
        createContainer(sandboxId, sandboxConfig, "fail", kBusybox, 1, R"("command":["sh","-c","exit 3"],)");
    CPPUNIT_ASSERT(again != failing);
    CPPUNIT_ASSERT_EQUAL(1, containerStatus(again)->getObject("metadata")->getValue<int>("attempt"));
    ObjectPtr all =
        parse(call(RuntimeCall::kListContainers, R"({"filter":{"podSandboxId":")" + sandboxId +
                                                     R"(","state":{"state":"CONTAINER_EXITED"}}})")
                  .out);
    CPPUNIT_ASSERT_EQUAL(2u, static_cast<unsigned>(all->getArray("containers")->size()));
  }

  void checkMissingImage(const CallResult& r, const std::string&) override {
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find(endpoint()) != std::string::npos);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ContainerdRuntimeTest);
