// DockerRuntimeTest - the runtime-docker plugin, loaded through the host's PluginLibrary, against the
// private test dockerd (tests/scripts/dockerd.sh start) and the local images
// (samples/images/build-images.sh). Every pod gets a random uid, and tearDown removes what a test made.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
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

std::string dockerHost() {
  return env("PODWARDEN_DOCKER_HOST", "unix:///run/podwarden-test/docker.sock");
}

std::string socketPath() {
  std::string h = dockerHost();
  return h.rfind("unix://", 0) == 0 ? h.substr(7) : h;
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

// Waits up to `seconds` for `pred`; true if it held.
bool waitFor(const std::function<bool()>& pred, int seconds = 30) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// One HTTP GET straight to Docker (not through the plugin), to check what the plugin made.
std::pair<int, std::string> dockerGet(const std::string& path) {
  Poco::Net::StreamSocket socket;
  socket.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, socketPath()));
  Poco::Net::HTTPClientSession session(socket);
  Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setHost("docker");
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& body = session.receiveResponse(response);
  std::ostringstream text;
  Poco::StreamCopier::copyStream(body, text);
  return {static_cast<int>(response.getStatus()), text.str()};
}

// GET http://127.0.0.1:<port>/ ; empty on any failure.
std::string httpGetLoopback(int port) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
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

// Collects events from the plugin's thread.
struct EventLog {
  std::mutex mutex;
  std::vector<ObjectPtr> events;
  void add(const std::string& json) {
    ObjectPtr o = parse(json);
    std::lock_guard<std::mutex> lock(mutex);
    events.push_back(o);
  }
  bool has(const std::string& id, const std::string& type) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& e : events) {
      if (str(e, "containerId") == id && str(e, "containerEventType") == type) return true;
    }
    return false;
  }
};

}  // namespace

class DockerRuntimeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DockerRuntimeTest);
  CPPUNIT_TEST(testVersion);
  CPPUNIT_TEST(testConfigErrors);
  CPPUNIT_TEST(testUnreachableDaemonIsUnavailable);
  CPPUNIT_TEST(testHostNetworkPodLifecycle);
  CPPUNIT_TEST(testBridgeSandboxWithPortMapping);
  CPPUNIT_TEST(testExitCodeAndReason);
  CPPUNIT_TEST(testMissingImageIsNotFound);
  CPPUNIT_TEST(testExecSync);
  CPPUNIT_TEST(testEventsRetryUntilTheDaemonAnswers);
  CPPUNIT_TEST(testConcurrentCalls);
  CPPUNIT_TEST(testImages);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    const std::string dir = env("PODWARDEN_PLUGIN_DIR", "");
    CPPUNIT_ASSERT_MESSAGE("PODWARDEN_PLUGIN_DIR is not set", !dir.empty());
    library_ = PluginLibrary::load(dir + "/runtime-docker.so");
    runtime_ = std::make_unique<RuntimeInstance>(library_, "docker", config(), "test-node");
    CallResult v = runtime_->call(RuntimeCall::kVersion, R"({"version":"v1"})", std::chrono::seconds(10));
    if (!v.ok()) {
      CPPUNIT_FAIL("the test Docker daemon at " + dockerHost() + " does not answer (" + v.describe() +
                   "); run tests/scripts/dockerd.sh start (or set PODWARDEN_DOCKER_HOST)");
    }
    for (const char* image : {kBusybox, kPause}) {
      CallResult s = call(RuntimeCall::kImageStatus, std::string(R"({"image":{"image":")") + image + "\"}}");
      if (!parse(s.out)->has("image")) {
        CPPUNIT_FAIL(std::string("image ") + image + " is missing in " + dockerHost() +
                     "; run samples/images/build-images.sh with DOCKER_HOST=" + dockerHost());
      }
    }
  }

  void tearDown() override {
    if (runtime_) {
      runtime_->unwatchEvents();
      for (const auto& id : sandboxes_) {
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
    CPPUNIT_ASSERT_EQUAL(std::string("docker"), str(v, "runtimeName"));
    CPPUNIT_ASSERT_EQUAL(std::string("0.1.0"), str(v, "version"));
    CPPUNIT_ASSERT(!str(v, "runtimeVersion").empty());
    // Docker 20.10 serves 1.41; an older daemon would give its own, never more than 1.41.
    const std::string api = str(v, "runtimeApiVersion");
    CPPUNIT_ASSERT_MESSAGE(api, api.rfind("1.", 0) == 0 && std::stoi(api.substr(2)) <= 41);

    const auto& info = library_->info();
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-docker"), info.name);
    CPPUNIT_ASSERT(!info.configSchemaJson.empty());
    const auto* f = library_->findFactory(PW_KIND_RUNTIME, "docker");
    CPPUNIT_ASSERT(f != nullptr);
    CPPUNIT_ASSERT(f->capabilities & PW_CAP_CONCURRENT);
    CPPUNIT_ASSERT(runtime_->hasEvents());
  }

  void testConfigErrors() {
    try {
      RuntimeInstance bad(library_, "docker", R"({"endpoint":"unix:///x.sock","sandboxImagee":"x"})", "n");
      CPPUNIT_FAIL("an unknown config key was accepted");
    } catch (const podwarden::plugin::PluginError& e) {
      CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("sandboxImagee") != std::string::npos);
    }
    try {
      RuntimeInstance bad(library_, "docker", R"({"endpoint":"tcp://127.0.0.1:2375"})", "n");
      CPPUNIT_FAIL("a tcp endpoint was accepted");
    } catch (const podwarden::plugin::PluginError& e) {
      CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("endpoint") != std::string::npos);
    }
    // A bare socket path is an endpoint too.
    RuntimeInstance bare(library_, "docker", "{\"endpoint\":\"" + socketPath() + "\"}", "n");
    CPPUNIT_ASSERT(bare.call(RuntimeCall::kVersion, "{}").ok());
  }

  void testUnreachableDaemonIsUnavailable() {
    RuntimeInstance none(library_, "docker", R"({"endpoint":"unix:///run/podwarden-test/no-such.sock"})",
                         "n");
    CallResult r = none.call(RuntimeCall::kVersion, "{}", std::chrono::seconds(5));
    CPPUNIT_ASSERT_EQUAL(PW_UNAVAILABLE, r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("cannot connect to the Docker daemon at "
                                             "unix:///run/podwarden-test/no-such.sock") != std::string::npos);
  }

  void testHostNetworkPodLifecycle() {
    EventLog& events = events_;
    CPPUNIT_ASSERT(runtime_->watchEvents([this](std::string e) { events_.add(e); }).ok());

    const std::string uid = randomHex(12);
    const std::string pod = "web-" + uid.substr(0, 6);
    const std::string sandboxConfig = podConfig(pod, uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);

    auto [code, body] = dockerGet("/containers/" + sandboxId + "/json");
    CPPUNIT_ASSERT_EQUAL(200, code);
    ObjectPtr sandboxDocker = parse(body);
    CPPUNIT_ASSERT_EQUAL("/k8s_POD_" + pod + "_default_" + uid + "_0", str(sandboxDocker, "Name"));
    CPPUNIT_ASSERT_EQUAL(std::string("host"), str(sandboxDocker->getObject("HostConfig"), "NetworkMode"));

    ObjectPtr st = parse(call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + sandboxId + "\"}").out)
                       ->getObject("status");
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_READY"), str(st, "state"));
    CPPUNIT_ASSERT_EQUAL(sandboxId, str(st, "id"));
    CPPUNIT_ASSERT_EQUAL(pod, str(st->getObject("metadata"), "name"));
    CPPUNIT_ASSERT_EQUAL(uid, str(st->getObject("metadata"), "uid"));
    CPPUNIT_ASSERT_EQUAL(std::string("default"), str(st->getObject("metadata"), "namespace"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("NODE"),
        str(st->getObject("linux")->getObject("namespaces")->getObject("options"), "network"));
    CPPUNIT_ASSERT_EQUAL(uid, str(st->getObject("labels"), "io.kubernetes.pod.uid"));
    CPPUNIT_ASSERT(!st->getObject("labels")->has("io.kubernetes.docker.type"));
    CPPUNIT_ASSERT_EQUAL(std::string("file:///etc/kubernetes/manifests/web.yaml"),
                         str(st->getObject("annotations"), "kubernetes.io/config.source"));
    CPPUNIT_ASSERT(nsNear(std::stoll(str(st, "createdAt"))));

    const int port = 20000 + static_cast<int>(std::random_device{}() % 20000);
    const std::string containerId =
        createContainer(sandboxId, sandboxConfig, "httpd", kBusybox,
                        R"("command":["httpd"],"args":["-f","-p","127.0.0.1:)" + std::to_string(port) +
                            R"(","-h","/var/www"],"labels":{"io.kubernetes.container.name":"httpd"},)"
                            R"("annotations":{"io.kubernetes.container.hash":"abc123"},)");
    auto [ccode, cbody] = dockerGet("/containers/" + containerId + "/json");
    CPPUNIT_ASSERT_EQUAL(200, ccode);
    ObjectPtr containerDocker = parse(cbody);
    CPPUNIT_ASSERT_EQUAL("/k8s_httpd_" + pod + "_default_" + uid + "_0", str(containerDocker, "Name"));
    CPPUNIT_ASSERT_EQUAL(sandboxId, str(containerDocker->getObject("Config")->getObject("Labels"),
                                        "io.kubernetes.sandbox.id"));

    ObjectPtr cs = containerStatus(containerId);
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_CREATED"), str(cs, "state"));
    CPPUNIT_ASSERT_EQUAL(std::string("0"), str(cs, "startedAt"));

    call(RuntimeCall::kStartContainer, R"({"containerId":")" + containerId + "\"}");
    CPPUNIT_ASSERT_MESSAGE("httpd did not answer on 127.0.0.1:" + std::to_string(port), waitFor([&] {
                             return httpGetLoopback(port).find("podwarden test image") != std::string::npos;
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
    CPPUNIT_ASSERT(!cs->getObject("labels")->has("io.kubernetes.sandbox.id"));
    CPPUNIT_ASSERT_EQUAL(std::string("abc123"),
                         str(cs->getObject("annotations"), "io.kubernetes.container.hash"));

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
    ObjectPtr ready = parse(call(RuntimeCall::kListPodSandbox,
                                 R"({"filter":{"state":{"state":"SANDBOX_NOTREADY"},"labelSelector":)"
                                 R"({"io.kubernetes.pod.uid":")" +
                                     uid + R"("}}})")
                                .out);
    CPPUNIT_ASSERT_EQUAL(0u, static_cast<unsigned>(ready->getArray("items")->size()));
    ObjectPtr containers = parse(call(RuntimeCall::kListContainers,
                                      R"({"filter":{"podSandboxId":")" + sandboxId +
                                          R"(","state":{"state":"CONTAINER_RUNNING"},)"
                                          R"("labelSelector":{"io.kubernetes.container.name":"httpd"}}})")
                                     .out);
    CPPUNIT_ASSERT_EQUAL(1u, static_cast<unsigned>(containers->getArray("containers")->size()));
    ObjectPtr citem = containers->getArray("containers")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(containerId, str(citem, "id"));
    CPPUNIT_ASSERT_EQUAL(sandboxId, str(citem, "podSandboxId"));
    CPPUNIT_ASSERT_EQUAL(std::string("httpd"), str(citem->getObject("metadata"), "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("abc123"),
                         str(citem->getObject("annotations"), "io.kubernetes.container.hash"));

    // The kubelet-style log symlink points at Docker's json log.
    const std::string logLink = logRoot(uid) + "/httpd/0.log";
    CPPUNIT_ASSERT_EQUAL(logLink, str(cs, "logPath"));
    const std::string dockerLog =
        str(parse(dockerGet("/containers/" + containerId + "/json").second), "LogPath");
    CPPUNIT_ASSERT(!dockerLog.empty());
    CPPUNIT_ASSERT_EQUAL(dockerLog, std::filesystem::read_symlink(logLink).string());

    // httpd is PID 1 of its PID namespace, where SIGTERM without a handler does nothing: the stop has to
    // wait out the grace period and SIGKILL it.
    call(RuntimeCall::kStopContainer, R"({"containerId":")" + containerId + R"(","timeout":2})");
    cs = containerStatus(containerId);
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_EXITED"), str(cs, "state"));
    CPPUNIT_ASSERT_EQUAL(137, cs->getValue<int>("exitCode"));
    CPPUNIT_ASSERT_EQUAL(std::string("Error"), str(cs, "reason"));
    CPPUNIT_ASSERT(std::stoll(str(cs, "finishedAt")) >= std::stoll(str(cs, "startedAt")));
    // Stopping again is fine.
    call(RuntimeCall::kStopContainer, R"({"containerId":")" + containerId + R"(","timeout":1})");

    CPPUNIT_ASSERT_MESSAGE("no CONTAINER_STARTED_EVENT",
                           waitFor([&] { return events.has(containerId, "CONTAINER_STARTED_EVENT"); }));
    CPPUNIT_ASSERT_MESSAGE("no CONTAINER_STOPPED_EVENT",
                           waitFor([&] { return events.has(containerId, "CONTAINER_STOPPED_EVENT"); }));
    CPPUNIT_ASSERT(events.has(containerId, "CONTAINER_CREATED_EVENT"));

    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    st = parse(call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + sandboxId + "\"}").out)
             ->getObject("status");
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_NOTREADY"), str(st, "state"));
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");

    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + containerId + "/json").first);
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + sandboxId + "/json").first);
    CPPUNIT_ASSERT(!std::filesystem::is_symlink(logLink));
    CPPUNIT_ASSERT_MESSAGE("no CONTAINER_DELETED_EVENT",
                           waitFor([&] { return events.has(containerId, "CONTAINER_DELETED_EVENT"); }));

    // Everything is idempotent once gone, and status says NOT_FOUND.
    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + sandboxId + "\"}");
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + containerId + "\"}");
    CPPUNIT_ASSERT_EQUAL(
        PW_NOT_FOUND,
        runtime_->call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + sandboxId + "\"}").status);
    CPPUNIT_ASSERT_EQUAL(
        PW_NOT_FOUND,
        runtime_->call(RuntimeCall::kContainerStatus, R"({"containerId":")" + containerId + "\"}").status);
    CPPUNIT_ASSERT_EQUAL(
        PW_NOT_FOUND,
        runtime_->call(RuntimeCall::kStopContainer, R"({"containerId":")" + containerId + "\"}").status);
    runtime_->unwatchEvents();
  }

  void testBridgeSandboxWithPortMapping() {
    const std::string uid = randomHex(12);
    const std::string pod = "bridge-" + uid.substr(0, 6);
    const int hostPort = 20000 + static_cast<int>(std::random_device{}() % 20000);
    const std::string ports = R"("portMappings":[{"protocol":"TCP","containerPort":8080,"hostPort":)" +
                              std::to_string(hostPort) + R"(,"hostIp":"127.0.0.1"}],)";
    const std::string sandboxConfig = podConfig(pod, uid, "POD", ports);
    const std::string sandboxId = runSandbox(sandboxConfig);
    ObjectPtr st = parse(call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + sandboxId + "\"}").out)
                       ->getObject("status");
    CPPUNIT_ASSERT_EQUAL(
        std::string("POD"),
        str(st->getObject("linux")->getObject("namespaces")->getObject("options"), "network"));
    ObjectPtr docker = parse(dockerGet("/containers/" + sandboxId + "/json").second);
    const std::string mode = str(docker->getObject("HostConfig"), "NetworkMode");
    CPPUNIT_ASSERT_EQUAL(std::string("shareable"), str(docker->getObject("HostConfig"), "IpcMode"));
    if (mode == "none") return;  // a daemon without a bridge (dockerd.sh fallback): nothing more to see
    CPPUNIT_ASSERT_EQUAL(std::string("bridge"), mode);
    CPPUNIT_ASSERT_EQUAL(pod, str(docker->getObject("Config"), "Hostname"));
    CPPUNIT_ASSERT_MESSAGE("a bridged sandbox has an IP", !str(st->getObject("network"), "ip").empty());

    // The app container joins the sandbox's network namespace; the port mapping reaches it.
    const std::string containerId =
        createContainer(sandboxId, sandboxConfig, "web", kBusybox,
                        R"("command":["httpd","-f","-p","8080","-h","/var/www"],)");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + containerId + "\"}");
    ObjectPtr cd = parse(dockerGet("/containers/" + containerId + "/json").second);
    CPPUNIT_ASSERT_EQUAL("container:" + sandboxId, str(cd->getObject("HostConfig"), "NetworkMode"));
    CPPUNIT_ASSERT_MESSAGE(
        "no answer through the port mapping on 127.0.0.1:" + std::to_string(hostPort),
        waitFor([&] { return httpGetLoopback(hostPort).find("podwarden") != std::string::npos; }));
  }

  void testExitCodeAndReason() {
    const std::string uid = randomHex(12);
    const std::string pod = "exit-" + uid.substr(0, 6);
    const std::string sandboxConfig = podConfig(pod, uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);
    const std::string failing =
        createContainer(sandboxId, sandboxConfig, "fail", kBusybox, R"("command":["sh","-c","exit 3"],)");
    const std::string passing =
        createContainer(sandboxId, sandboxConfig, "pass", kBusybox, R"("command":["true"],)");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + failing + "\"}");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + passing + "\"}");
    for (const auto& id : {failing, passing}) {
      CPPUNIT_ASSERT(waitFor([&] { return str(containerStatus(id), "state") == "CONTAINER_EXITED"; }));
    }
    ObjectPtr f = containerStatus(failing);
    CPPUNIT_ASSERT_EQUAL(3, f->getValue<int>("exitCode"));
    CPPUNIT_ASSERT_EQUAL(std::string("Error"), str(f, "reason"));
    CPPUNIT_ASSERT(nsNear(std::stoll(str(f, "finishedAt"))));
    ObjectPtr p = containerStatus(passing);
    CPPUNIT_ASSERT_EQUAL(0, p->getValue<int>("exitCode"));
    CPPUNIT_ASSERT_EQUAL(std::string("Completed"), str(p, "reason"));

    ObjectPtr exited =
        parse(call(RuntimeCall::kListContainers, R"({"filter":{"podSandboxId":")" + sandboxId +
                                                     R"(","state":{"state":"CONTAINER_EXITED"}}})")
                  .out);
    CPPUNIT_ASSERT_EQUAL(2u, static_cast<unsigned>(exited->getArray("containers")->size()));

    // A second create with the same name and attempt replaces the leftover (dockershim behaviour).
    const std::string again =
        createContainer(sandboxId, sandboxConfig, "fail", kBusybox, R"("command":["sh","-c","exit 3"],)");
    CPPUNIT_ASSERT(again != failing);
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + failing + "/json").first);

    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + passing + "\"}");
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + passing + "/json").first);
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + passing + "\"}");
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

    RuntimeInstance noPause(
        library_, "docker",
        "{\"endpoint\":\"" + dockerHost() + R"(","sandboxImage":"podwarden.local/nopause:0"})", "n");
    CallResult s = noPause.call(RuntimeCall::kRunPodSandbox,
                                R"({"config":)" + podConfig("np-" + uid.substr(0, 6), uid, "NODE", "") + "}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(s.describe(), PW_NOT_FOUND, s.status);
    CPPUNIT_ASSERT_MESSAGE(s.err, s.err.find("podwarden.local/nopause:0") != std::string::npos);
  }

  void testExecSync() {
    const std::string uid = randomHex(12);
    const std::string sandboxConfig = podConfig("exec-" + uid.substr(0, 6), uid, "NODE", "");
    const std::string sandboxId = runSandbox(sandboxConfig);
    const std::string id =
        createContainer(sandboxId, sandboxConfig, "sleeper", kBusybox,
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

    // Larger output spans many frames.
    r = parse(call(RuntimeCall::kExecSync,
                   R"({"containerId":")" + id + R"(","cmd":["sh","-c","seq 1 20000"],"timeout":10})")
                  .out);
    const std::string seq = base64Decode(str(r, "stdout"));
    CPPUNIT_ASSERT_EQUAL(0, r->getValue<int>("exitCode"));
    CPPUNIT_ASSERT(seq.rfind("19999\n20000\n") == seq.size() - 12);

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

  // The event stream retries with backoff while the daemon's socket is missing, and once it connects,
  // Docker replays what happened since watching began. (The socket appears as a symlink to the test
  // daemon's, so the shared daemon is never restarted.)
  void testEventsRetryUntilTheDaemonAnswers() {
    const std::string uid = randomHex(12);
    const std::string link = "/run/podwarden-test/events-" + uid + ".sock";
    RuntimeInstance late(library_, "docker", "{\"endpoint\":\"" + link + "\"}", "n");
    EventLog& events = events_;
    CPPUNIT_ASSERT(late.watchEvents([this](std::string e) { events_.add(e); }).ok());
    const std::string sandboxId = runSandbox(podConfig("late-" + uid.substr(0, 6), uid, "NODE", ""));
    std::filesystem::create_symlink(socketPath(), link);
    const bool seen = waitFor([&] { return events.has(sandboxId, "CONTAINER_STARTED_EVENT"); });
    late.unwatchEvents();
    std::filesystem::remove(link);
    CPPUNIT_ASSERT_MESSAGE("the sandbox's start event never arrived after the socket appeared", seen);
  }

  // The factory declares PW_CAP_CONCURRENT, so the host does not serialize: calls from many threads at
  // once must each succeed on their own connection.
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
        results[i] = runtime_->call(RuntimeCall::kCreateContainer, request);
        if (!results[i].ok()) return;
        ids[i] = parse(results[i].out)->getValue<std::string>("containerId");
        results[i] = runtime_->call(RuntimeCall::kStartContainer, R"({"containerId":")" + ids[i] + "\"}");
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
    CPPUNIT_ASSERT_EQUAL(std::string(kBusybox), image->getArray("repoTags")->getElement<std::string>(0));
    CPPUNIT_ASSERT(std::stoll(str(image, "size")) > 0);
    CPPUNIT_ASSERT_EQUAL(
        std::string("{}"),
        call(RuntimeCall::kImageStatus, R"({"image":{"image":"podwarden.local/nope:1"}})").out);

    // Already present: the pull is a no-op that reports the local id... unless the daemon insists on a
    // registry, which a local-only image cannot satisfy. A registry on a closed loopback port fails, and
    // the error Docker streams inside a 200 reply must surface.
    CallResult bad =
        runtime_->call(RuntimeCall::kPullImage, R"({"image":{"image":"127.0.0.1:1/podwarden/none:1"}})",
                       std::chrono::seconds(60));
    CPPUNIT_ASSERT_MESSAGE(bad.describe(), !bad.ok());
    CPPUNIT_ASSERT_MESSAGE(bad.err, bad.err.find("127.0.0.1:1") != std::string::npos);
  }

 private:
  std::string config() const {
    return "{\"endpoint\":\"" + dockerHost() + "\",\"sandboxImage\":\"" + kPause + "\"}";
  }

  CallResult call(RuntimeCall which, const std::string& request) {
    CallResult r = runtime_->call(which, request, std::chrono::seconds(60));
    CPPUNIT_ASSERT_MESSAGE(
        std::string(podwarden::plugin::runtimeCallName(which)) + " " + request + " -> " + r.describe(),
        r.ok());
    return r;
  }

  static std::string logRoot(const std::string& uid) { return "/tmp/podwarden-test-logs/" + uid; }

  // A PodSandboxConfig; its logDirectory is removed in tearDown.
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
                              const std::string& name, const std::string& image, const std::string& extra) {
    const std::string request = R"({"podSandboxId":")" + sandboxId + R"(","config":{"metadata":{"name":")" +
                                name + R"(","attempt":0},)" + extra + R"("image":{"image":")" + image +
                                R"("},"logPath":")" + name +
                                R"(/0.log",)"
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
  EventLog events_;  // filled from the plugin's event thread until unwatchEvents
};

CPPUNIT_TEST_SUITE_REGISTRATION(DockerRuntimeTest);
