// ContainerdRuntimeTest - the runtime-containerd plugin, loaded through the host's PluginLibrary, against
// the private test containerd (tests/scripts/containerd.sh start) and the images imported into it
// (samples/images/build-oci-images.sh). Every pod gets a random uid; tearDown removes what a test made.
// What the plugin made is checked through CRI and, independently, with containerd's own `ctr`.
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <cppunit/extensions/HelperMacros.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"

using podwarden::plugin::CallResult;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::RuntimeCall;
using podwarden::plugin::RuntimeInstance;
using ObjectPtr = Poco::JSON::Object::Ptr;

namespace {

constexpr const char* kBusybox = "podwarden.local/busybox:1.36";
constexpr const char* kPause = "podwarden.local/pause:3.9";

std::string env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string endpoint() {
  return env("PODWARDEN_CONTAINERD_ENDPOINT", "unix:///run/podwarden-test/containerd/containerd.sock");
}

std::string socketPath() {
  std::string e = endpoint();
  return e.rfind("unix://", 0) == 0 ? e.substr(7) : e;
}

std::string randomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

ObjectPtr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<ObjectPtr>();
}

std::string str(const ObjectPtr& o, const std::string& key) {
  return o->optValue<std::string>(key, "");
}

bool waitFor(const std::function<bool()>& pred, int seconds = 30) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// Output (stdout and stderr) of containerd's own CLI against the test containerd, namespace k8s.io.
std::string ctr(const std::string& args) {
  const std::string cmd = "ctr --address '" + socketPath() + "' --namespace k8s.io " + args + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

// GET http://<host>:<port>/ ; empty on any failure.
std::string httpGet(const std::string& host, int port) {
  try {
    Poco::Net::HTTPClientSession session(host, static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(2, 0));
    Poco::Net::HTTPRequest request("GET", "/", Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session.receiveResponse(response);
    std::ostringstream text;
    Poco::StreamCopier::copyStream(body, text);
    return text.str();
  } catch (const Poco::Exception&) {
    return "";
  }
}

std::string base64Decode(const std::string& in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned val = 0;
  int bits = -8;
  for (char c : in) {
    const char* pos = std::strchr(kAlphabet, c);
    if (c == '=' || pos == nullptr || c == '\0') break;
    val = ((val << 6) | static_cast<unsigned>(pos - kAlphabet)) & 0xFFFFFFu;
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

class ContainerdRuntimeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ContainerdRuntimeTest);
  CPPUNIT_TEST(testVersion);
  CPPUNIT_TEST(testConfigErrors);
  CPPUNIT_TEST(testUnreachableRuntimeIsUnavailable);
  CPPUNIT_TEST(testRuntimeThatAppearsLaterIsUsed);
  CPPUNIT_TEST(testHostNetworkPodLifecycle);
  CPPUNIT_TEST(testPodNetworkThroughCni);
  CPPUNIT_TEST(testExitCodeReasonAndRestartAttempt);
  CPPUNIT_TEST(testMissingImageIsNotFound);
  CPPUNIT_TEST(testExecSync);
  CPPUNIT_TEST(testAdoptionByANewInstance);
  CPPUNIT_TEST(testConcurrentCalls);
  CPPUNIT_TEST(testImages);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    const std::string dir = env("PODWARDEN_PLUGIN_DIR", "");
    CPPUNIT_ASSERT_MESSAGE("PODWARDEN_PLUGIN_DIR is not set", !dir.empty());
    library_ = PluginLibrary::load(dir + "/runtime-containerd.so");
    runtime_ = std::make_unique<RuntimeInstance>(library_, "containerd", config(), "test-node");
    CallResult v = runtime_->call(RuntimeCall::kVersion, R"({"version":"v1"})", std::chrono::seconds(10));
    if (!v.ok()) {
      CPPUNIT_FAIL("the test containerd at " + endpoint() + " does not answer (" + v.describe() +
                   "); run tests/scripts/containerd.sh start (or set PODWARDEN_CONTAINERD_ENDPOINT)");
    }
    for (const char* image : {kBusybox, kPause}) {
      CallResult s = call(RuntimeCall::kImageStatus, std::string(R"({"image":{"image":")") + image + "\"}}");
      if (!parse(s.out)->has("image")) {
        CPPUNIT_FAIL(std::string("image ") + image + " is missing in " + endpoint() +
                     "; run samples/images/build-oci-images.sh with CONTAINERD_ADDRESS=" + socketPath());
      }
    }
  }

  void tearDown() override {
    if (runtime_) {
      for (const auto& id : sandboxes_) {
        runtime_->call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + id + "\"}");
        runtime_->call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + id + "\"}");
      }
    }
    sandboxes_.clear();
    runtime_.reset();
    for (const auto& uid : uids_) std::filesystem::remove_all(logRoot(uid));
    uids_.clear();
  }

  void testVersion() {
    ObjectPtr v = parse(call(RuntimeCall::kVersion, R"({"version":"v1"})").out);
    CPPUNIT_ASSERT_EQUAL(std::string("containerd"), str(v, "runtimeName"));
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), str(v, "runtimeApiVersion"));
    CPPUNIT_ASSERT(!str(v, "runtimeVersion").empty());
    CPPUNIT_ASSERT(!str(v, "version").empty());

    const auto& info = library_->info();
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-containerd"), info.name);
    CPPUNIT_ASSERT(!info.configSchemaJson.empty());
    const auto* f = library_->findFactory(PW_KIND_RUNTIME, "containerd");
    CPPUNIT_ASSERT(f != nullptr);
    CPPUNIT_ASSERT(f->capabilities & PW_CAP_CONCURRENT);
    // containerd 1.6 has no CRI GetContainerEvents: the host relists.
    CPPUNIT_ASSERT(!runtime_->hasEvents());
  }

  void testConfigErrors() {
    try {
      RuntimeInstance bad(library_, "containerd", R"({"endpoint":"unix:///x.sock","sandboxImagee":"x"})",
                          "n");
      CPPUNIT_FAIL("an unknown config key was accepted");
    } catch (const podwarden::plugin::PluginError& e) {
      CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("sandboxImagee") != std::string::npos);
    }
    try {
      RuntimeInstance bad(library_, "containerd", R"({"endpoint":"tcp://127.0.0.1:2375"})", "n");
      CPPUNIT_FAIL("a tcp endpoint was accepted");
    } catch (const podwarden::plugin::PluginError& e) {
      CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("endpoint") != std::string::npos);
    }
    try {
      RuntimeInstance bad(library_, "containerd", R"({"endpoint":42})", "n");
      CPPUNIT_FAIL("a numeric endpoint was accepted");
    } catch (const podwarden::plugin::PluginError& e) {
      CPPUNIT_ASSERT_MESSAGE(e.what(),
                             std::string(e.what()).find("endpoint must be a string") != std::string::npos);
    }
    // A bare socket path is an endpoint too.
    RuntimeInstance bare(library_, "containerd", "{\"endpoint\":\"" + socketPath() + "\"}", "n");
    CPPUNIT_ASSERT(bare.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(10)).ok());

    CallResult r = runtime_->call(RuntimeCall::kRunPodSandbox, R"({"config":{"metadata":{"name":"x"}}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_INVALID_ARGUMENT, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("config.metadata: namespace") != std::string::npos);
    r = runtime_->call(RuntimeCall::kStartContainer, R"({"containerId":["not","a","string"]})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_INVALID_ARGUMENT, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("StartContainerRequest") != std::string::npos);
  }

  void testUnreachableRuntimeIsUnavailable() {
    RuntimeInstance none(library_, "containerd",
                         R"({"endpoint":"unix:///run/podwarden-test/no-such-containerd.sock"})", "n");
    CallResult r = none.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(5));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_UNAVAILABLE, r.status);
    CPPUNIT_ASSERT_MESSAGE(
        r.err, r.err.find("unix:///run/podwarden-test/no-such-containerd.sock") != std::string::npos);
  }

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
    std::filesystem::create_symlink(socketPath(), link);
    const bool answered =
        waitFor([&] { return late.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(5)).ok(); }, 20);
    std::filesystem::remove(link);
    CPPUNIT_ASSERT_MESSAGE("no answer within 20 s after the socket appeared", answered);
  }

  void testHostNetworkPodLifecycle() {
    const std::string uid = randomHex(12);
    const std::string pod = "web-" + uid.substr(0, 6);
    // The hostname is dropped for host-network pods (containerd refuses one without a UTS namespace).
    const std::string sandboxConfig = podConfig(pod, uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);

    ObjectPtr st = sandboxStatus(sandboxId);
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_READY"), str(st, "state"));
    CPPUNIT_ASSERT_EQUAL(sandboxId, str(st, "id"));
    CPPUNIT_ASSERT_EQUAL(pod, str(st->getObject("metadata"), "name"));
    CPPUNIT_ASSERT_EQUAL(uid, str(st->getObject("metadata"), "uid"));
    CPPUNIT_ASSERT_EQUAL(std::string("default"), str(st->getObject("metadata"), "namespace"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("NODE"),
        str(st->getObject("linux")->getObject("namespaces")->getObject("options"), "network"));
    CPPUNIT_ASSERT_EQUAL(uid, str(st->getObject("labels"), "io.kubernetes.pod.uid"));
    CPPUNIT_ASSERT_EQUAL(std::string("file:///etc/kubernetes/manifests/web.yaml"),
                         str(st->getObject("annotations"), "kubernetes.io/config.source"));
    CPPUNIT_ASSERT(nsNear(std::stoll(str(st, "createdAt"))));

    const int port = 20000 + static_cast<int>(std::random_device{}() % 20000);
    const std::string containerId =
        createContainer(sandboxId, sandboxConfig, "httpd", kBusybox, 0,
                        R"("command":["httpd"],"args":["-f","-p","127.0.0.1:)" + std::to_string(port) +
                            R"(","-h","/var/www"],"labels":{"io.kubernetes.container.name":"httpd",)"
                            R"("io.kubernetes.pod.uid":")" +
                            uid + R"("},"annotations":{"io.kubernetes.container.hash":"abc123"},)");

    ObjectPtr cs = containerStatus(containerId);
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_CREATED"), str(cs, "state"));
    CPPUNIT_ASSERT_EQUAL(std::string("0"), str(cs, "startedAt"));

    call(RuntimeCall::kStartContainer, R"({"containerId":")" + containerId + "\"}");
    CPPUNIT_ASSERT_MESSAGE("httpd did not answer on 127.0.0.1:" + std::to_string(port), waitFor([&] {
                             return httpGet("127.0.0.1", port).find("podwarden test image") !=
                                    std::string::npos;
                           }));

    cs = containerStatus(containerId);
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_RUNNING"), str(cs, "state"));
    CPPUNIT_ASSERT_EQUAL(std::string("httpd"), str(cs->getObject("metadata"), "name"));
    CPPUNIT_ASSERT_EQUAL(0, cs->getObject("metadata")->getValue<int>("attempt"));
    CPPUNIT_ASSERT_EQUAL(std::string(kBusybox), str(cs->getObject("image"), "image"));
    CPPUNIT_ASSERT_MESSAGE(str(cs, "imageRef"), str(cs, "imageRef").rfind("sha256:", 0) == 0);
    CPPUNIT_ASSERT(nsNear(std::stoll(str(cs, "createdAt"))));
    CPPUNIT_ASSERT(nsNear(std::stoll(str(cs, "startedAt"))));
    CPPUNIT_ASSERT(std::stoll(str(cs, "startedAt")) >= std::stoll(str(cs, "createdAt")));
    CPPUNIT_ASSERT_EQUAL(std::string("0"), str(cs, "finishedAt"));
    CPPUNIT_ASSERT_EQUAL(std::string("httpd"), str(cs->getObject("labels"), "io.kubernetes.container.name"));
    CPPUNIT_ASSERT_EQUAL(std::string("abc123"),
                         str(cs->getObject("annotations"), "io.kubernetes.container.hash"));
    // CRI log path: <logDirectory>/<logPath>, written by containerd in the CRI log format.
    const std::string logPath = logRoot(uid) + "/httpd/0.log";
    CPPUNIT_ASSERT_EQUAL(logPath, str(cs, "logPath"));
    CPPUNIT_ASSERT_MESSAGE(logPath, std::filesystem::exists(logPath));

    // containerd's own view: the container carries the kubelet's labels.
    const std::string info = ctr("containers info " + containerId);
    CPPUNIT_ASSERT_MESSAGE(info,
                           info.find("\"io.kubernetes.container.name\": \"httpd\"") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(info, info.find(uid) != std::string::npos);
    CPPUNIT_ASSERT(ctr("tasks ls").find(containerId) != std::string::npos);

    // Listing by label selector finds exactly our pod's sandbox and container.
    ObjectPtr sandboxes =
        parse(call(RuntimeCall::kListPodSandbox,
                   R"({"filter":{"labelSelector":{"io.kubernetes.pod.uid":")" + uid + R"("}}})")
                  .out);
    CPPUNIT_ASSERT_EQUAL(1u, static_cast<unsigned>(sandboxes->getArray("items")->size()));
    ObjectPtr item = sandboxes->getArray("items")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(sandboxId, str(item, "id"));
    CPPUNIT_ASSERT_EQUAL(pod, str(item->getObject("metadata"), "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_READY"), str(item, "state"));
    ObjectPtr notReady = parse(call(RuntimeCall::kListPodSandbox,
                                    R"({"filter":{"state":{"state":"SANDBOX_NOTREADY"},"labelSelector":)"
                                    R"({"io.kubernetes.pod.uid":")" +
                                        uid + R"("}}})")
                                   .out);
    CPPUNIT_ASSERT_EQUAL(0u, static_cast<unsigned>(notReady->getArray("items")->size()));
    ObjectPtr containers = parse(call(RuntimeCall::kListContainers,
                                      R"({"filter":{"podSandboxId":")" + sandboxId +
                                          R"(","state":{"state":"CONTAINER_RUNNING"},)"
                                          R"("labelSelector":{"io.kubernetes.container.name":"httpd"}}})")
                                     .out);
    CPPUNIT_ASSERT_EQUAL(1u, static_cast<unsigned>(containers->getArray("containers")->size()));
    ObjectPtr c = containers->getArray("containers")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(containerId, str(c, "id"));
    CPPUNIT_ASSERT_EQUAL(sandboxId, str(c, "podSandboxId"));
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_RUNNING"), str(c, "state"));
    CPPUNIT_ASSERT_EQUAL(std::string("abc123"),
                         str(c->getObject("annotations"), "io.kubernetes.container.hash"));

    // Stop and remove are idempotent, as the kubelet expects.
    call(RuntimeCall::kStopContainer, R"({"containerId":")" + containerId + R"(","timeout":2})");
    cs = containerStatus(containerId);
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_EXITED"), str(cs, "state"));
    CPPUNIT_ASSERT(nsNear(std::stoll(str(cs, "finishedAt"))));
    call(RuntimeCall::kStopContainer, R"({"containerId":")" + containerId + R"(","timeout":2})");
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + containerId + "\"}");
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + containerId + "\"}");
    call(RuntimeCall::kStopContainer, R"({"containerId":")" + containerId + R"(","timeout":2})");
    CallResult gone =
        runtime_->call(RuntimeCall::kContainerStatus, R"({"containerId":")" + containerId + "\"}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(gone.describe(), PW_NOT_FOUND, gone.status);
    CPPUNIT_ASSERT(ctr("containers ls -q").find(containerId) == std::string::npos);

    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_NOTREADY"), str(sandboxStatus(sandboxId), "state"));
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    CallResult noSandbox =
        runtime_->call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + sandboxId + "\"}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(noSandbox.describe(), PW_NOT_FOUND, noSandbox.status);
  }

  // A pod without hostNetwork gets its IP from the CNI bridge that containerd.sh configures, and an HTTP
  // GET against that IP (what an httpGet probe does) reaches the container.
  void testPodNetworkThroughCni() {
    const std::string uid = randomHex(12);
    const std::string pod = "net-" + uid.substr(0, 6);
    const int hostPort = 20000 + static_cast<int>(std::random_device{}() % 20000);
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
      const std::string hostIp = "127.0.0.1";
      CPPUNIT_ASSERT_MESSAGE("no answer through hostPort " + std::to_string(hostPort), waitFor([&] {
                               return httpGet(hostIp, hostPort).find("podwarden test image") !=
                                      std::string::npos;
                             }));
    }
    // Its own network namespace: the hostname is the pod's.
    ObjectPtr e = parse(
        call(RuntimeCall::kExecSync, R"({"containerId":")" + id + R"(","cmd":["hostname"],"timeout":10})")
            .out);
    CPPUNIT_ASSERT_EQUAL(pod + "\n", base64Decode(str(e, "stdout")));
  }

  void testExitCodeReasonAndRestartAttempt() {
    const std::string uid = randomHex(12);
    const std::string sandboxConfig = podConfig("exit-" + uid.substr(0, 6), uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);
    const std::string failing = createContainer(sandboxId, sandboxConfig, "fail", kBusybox, 0,
                                                R"("command":["sh","-c","echo bye; exit 3"],)");
    const std::string passing =
        createContainer(sandboxId, sandboxConfig, "pass", kBusybox, 0, R"("command":["true"],)");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + failing + "\"}");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + passing + "\"}");
    for (const auto& id : {failing, passing}) {
      CPPUNIT_ASSERT(waitFor([&] { return str(containerStatus(id), "state") == "CONTAINER_EXITED"; }));
    }
    ObjectPtr f = containerStatus(failing);
    CPPUNIT_ASSERT_EQUAL(3, f->getValue<int>("exitCode"));
    CPPUNIT_ASSERT_EQUAL(std::string("Error"), str(f, "reason"));
    CPPUNIT_ASSERT(nsNear(std::stoll(str(f, "finishedAt"))));
    const std::string log = readFile(str(f, "logPath"));
    CPPUNIT_ASSERT_MESSAGE(log, log.find(" stdout F bye") != std::string::npos);
    ObjectPtr p = containerStatus(passing);
    CPPUNIT_ASSERT_EQUAL(0, p->getValue<int>("exitCode"));
    CPPUNIT_ASSERT_EQUAL(std::string("Completed"), str(p, "reason"));

    // A restart is a new attempt next to the exited one, as the kubelet does it.
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

  void testMissingImageIsNotFound() {
    const std::string uid = randomHex(12);
    const std::string sandboxConfig = podConfig("missing-" + uid.substr(0, 6), uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);
    const std::string request =
        R"({"podSandboxId":")" + sandboxId +
        R"(","config":{"metadata":{"name":"app"},)"
        R"("image":{"image":"podwarden.local/does-not-exist:0.0"}},"sandboxConfig":)" +
        sandboxConfig + "}";
    CallResult r = runtime_->call(RuntimeCall::kCreateContainer, request);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), PW_NOT_FOUND, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("podwarden.local/does-not-exist:0.0") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find(endpoint()) != std::string::npos);
  }

  void testExecSync() {
    const std::string uid = randomHex(12);
    const std::string sandboxConfig = podConfig("exec-" + uid.substr(0, 6), uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);
    const std::string id =
        createContainer(sandboxId, sandboxConfig, "sleeper", kBusybox, 0,
                        R"("command":["sleep","600"],"envs":[{"key":"GREETING","value":"hi there"}],)");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + id + "\"}");

    ObjectPtr r =
        parse(call(RuntimeCall::kExecSync,
                   R"({"containerId":")" + id +
                       R"(","cmd":["sh","-c","echo \"$GREETING\"; echo oops >&2; exit 7"],"timeout":10})")
                  .out);
    CPPUNIT_ASSERT_EQUAL(7, r->getValue<int>("exitCode"));
    CPPUNIT_ASSERT_EQUAL(std::string("hi there\n"), base64Decode(str(r, "stdout")));
    CPPUNIT_ASSERT_EQUAL(std::string("oops\n"), base64Decode(str(r, "stderr")));

    r = parse(call(RuntimeCall::kExecSync,
                   R"({"containerId":")" + id + R"(","cmd":["sh","-c","seq 1 20000"],"timeout":10})")
                  .out);
    const std::string seq = base64Decode(str(r, "stdout"));
    CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("exitCode"));
    CPPUNIT_ASSERT(seq.size() > 12 && seq.rfind("19999\n20000\n") == seq.size() - 12);

    CallResult slow = runtime_->call(RuntimeCall::kExecSync,
                                     R"({"containerId":")" + id + R"(","cmd":["sleep","30"],"timeout":1})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(slow.describe(), PW_DEADLINE_EXCEEDED, slow.status);

    call(RuntimeCall::kStopContainer, R"({"containerId":")" + id + R"(","timeout":0})");
    CallResult stopped = runtime_->call(RuntimeCall::kExecSync,
                                        R"({"containerId":")" + id + R"(","cmd":["true"],"timeout":5})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(stopped.describe(), PW_FAILED_PRECONDITION, stopped.status);

    CallResult gone = runtime_->call(
        RuntimeCall::kExecSync, R"({"containerId":"nonexistent-)" + uid + R"(","cmd":["true"],"timeout":5})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(gone.describe(), PW_NOT_FOUND, gone.status);
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

  // The factory declares PW_CAP_CONCURRENT: calls from many threads at once share one gRPC channel.
  void testConcurrentCalls() {
    const std::string uid = randomHex(12);
    const std::string sandboxConfig = podConfig("conc-" + uid.substr(0, 6), uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);
    std::vector<std::string> ids(6);
    std::vector<CallResult> results(ids.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < ids.size(); ++i) {
      threads.emplace_back([&, i] {
        const std::string request = R"({"podSandboxId":")" + sandboxId +
                                    R"(","config":{"metadata":{"name":"c)" + std::to_string(i) +
                                    R"("},"image":{"image":")" + kBusybox +
                                    R"("},"command":["sleep","600"]},"sandboxConfig":)" + sandboxConfig + "}";
        results[i] = runtime_->call(RuntimeCall::kCreateContainer, request, std::chrono::seconds(60));
        if (!results[i].ok()) return;
        ids[i] = parse(results[i].out)->getValue<std::string>("containerId");
        results[i] = runtime_->call(RuntimeCall::kStartContainer, R"({"containerId":")" + ids[i] + "\"}",
                                    std::chrono::seconds(60));
        if (!results[i].ok()) return;
        results[i] = runtime_->call(RuntimeCall::kListContainers,
                                    R"({"filter":{"podSandboxId":")" + sandboxId + "\"}}");
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    ObjectPtr running =
        parse(call(RuntimeCall::kListContainers, R"({"filter":{"podSandboxId":")" + sandboxId +
                                                     R"(","state":{"state":"CONTAINER_RUNNING"}}})")
                  .out);
    CPPUNIT_ASSERT_EQUAL(ids.size(), running->getArray("containers")->size());
  }

  void testImages() {
    ObjectPtr s =
        parse(call(RuntimeCall::kImageStatus, std::string(R"({"image":{"image":")") + kBusybox + "\"}}").out);
    ObjectPtr image = s->getObject("image");
    CPPUNIT_ASSERT(str(image, "id").rfind("sha256:", 0) == 0);
    bool tagged = false;
    for (size_t i = 0; i < image->getArray("repoTags")->size(); ++i) {
      tagged = tagged ||
               image->getArray("repoTags")->getElement<std::string>(static_cast<unsigned>(i)) == kBusybox;
    }
    CPPUNIT_ASSERT(tagged);
    CPPUNIT_ASSERT(std::stoll(str(image, "size")) > 0);
    CPPUNIT_ASSERT_EQUAL(
        std::string("{}"),
        call(RuntimeCall::kImageStatus, R"({"image":{"image":"podwarden.local/nope:1"}})").out);

    // No registry: a pull from a closed loopback port fails, naming the reference.
    CallResult bad =
        runtime_->call(RuntimeCall::kPullImage, R"({"image":{"image":"127.0.0.1:1/podwarden/none:1"}})",
                       std::chrono::seconds(60));
    CPPUNIT_ASSERT_MESSAGE(bad.describe(), !bad.ok());
    CPPUNIT_ASSERT_MESSAGE(bad.err, bad.err.find("127.0.0.1:1") != std::string::npos);
  }

 private:
  std::string config() const {
    return "{\"endpoint\":\"" + endpoint() + "\",\"sandboxImage\":\"" + kPause + "\"}";
  }

  CallResult call(RuntimeCall which, const std::string& request) {
    CallResult r = runtime_->call(which, request, std::chrono::seconds(60));
    CPPUNIT_ASSERT_MESSAGE(
        std::string(podwarden::plugin::runtimeCallName(which)) + " " + request + " -> " + r.describe(),
        r.ok());
    return r;
  }

  static std::string logRoot(const std::string& uid) { return "/tmp/podwarden-test-logs/" + uid; }

  // A PodSandboxConfig as the host sends it; its logDirectory is removed in tearDown.
  std::string podConfig(const std::string& pod, const std::string& uid, const std::string& network,
                        const std::string& extra) {
    uids_.push_back(uid);
    return R"({"metadata":{"name":")" + pod + R"(","uid":")" + uid +
           R"(","namespace":"default","attempt":0},"hostname":")" + pod + R"(",)" + extra +
           R"("logDirectory":")" + logRoot(uid) +
           R"(",)"
           R"("dnsConfig":{"servers":["127.0.0.53"],"searches":["example.test"],"options":["ndots:2"]},)"
           R"("labels":{"io.kubernetes.pod.name":")" +
           pod + R"(","io.kubernetes.pod.uid":")" + uid +
           R"(","io.kubernetes.pod.namespace":"default"},)"
           R"("annotations":{"kubernetes.io/config.source":"file:///etc/kubernetes/manifests/web.yaml"},)"
           R"("linux":{"securityContext":{"namespaceOptions":{"network":")" +
           network + R"(","pid":"CONTAINER","ipc":"POD"}}}})";
  }

  std::string runSandbox(const std::string& sandboxConfig) {
    ObjectPtr r = parse(
        call(RuntimeCall::kRunPodSandbox, R"({"config":)" + sandboxConfig + R"(,"runtimeHandler":""})").out);
    const std::string id = str(r, "podSandboxId");
    CPPUNIT_ASSERT(!id.empty());
    sandboxes_.push_back(id);
    return id;
  }

  std::string createContainer(const std::string& sandboxId, const std::string& sandboxConfig,
                              const std::string& name, const std::string& image, int attempt,
                              const std::string& extra) {
    const std::string request = R"({"podSandboxId":")" + sandboxId + R"(","config":{"metadata":{"name":")" +
                                name + R"(","attempt":)" + std::to_string(attempt) + "}," + extra +
                                R"("image":{"image":")" + image + R"("},"logPath":")" + name + "/" +
                                std::to_string(attempt) +
                                R"(.log",)"
                                R"("linux":{"securityContext":{"namespaceOptions":{"pid":"CONTAINER"}}}},)"
                                R"("sandboxConfig":)" +
                                sandboxConfig + "}";
    ObjectPtr r = parse(call(RuntimeCall::kCreateContainer, request).out);
    const std::string id = str(r, "containerId");
    CPPUNIT_ASSERT(!id.empty());
    return id;
  }

  ObjectPtr containerStatus(const std::string& id) {
    return parse(
               call(RuntimeCall::kContainerStatus, R"({"containerId":")" + id + R"(","verbose":false})").out)
        ->getObject("status");
  }

  ObjectPtr sandboxStatus(const std::string& id) {
    return parse(call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + id + "\"}").out)
        ->getObject("status");
  }

  // True for a unix-ns timestamp within 10 minutes of now: a sanity check on units, not timing.
  static bool nsNear(long long ns) {
    const long long now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    return ns > now - 600LL * 1000000000 && ns < now + 600LL * 1000000000;
  }

  std::shared_ptr<PluginLibrary> library_;
  std::unique_ptr<RuntimeInstance> runtime_;
  std::vector<std::string> sandboxes_;
  std::vector<std::string> uids_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ContainerdRuntimeTest);
