// DockerRuntimeTest - the runtime-docker plugin, loaded through the host's PluginLibrary, against the
// private test dockerd (tests/scripts/dockerd.sh start) and the local images
// (samples/images/build-images.sh). The CRI scenarios shared with containerd are in
// runtime-common/CriRuntimeScenarios; here is what only Docker shows: dockershim's container names and
// labels, the log symlinks, the bridge port mapping, the replacement of a leftover container and the
// event stream. What the plugin made is checked through Docker's own API.
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <cppunit/extensions/HelperMacros.h>

#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "CriRuntimeScenarios.h"

using podwarden::plugin::CallResult;
using podwarden::plugin::RuntimeCall;
using podwarden::plugin::RuntimeInstance;
using namespace podwarden::test;

namespace {

std::string dockerHost() {
  return env("PODWARDEN_DOCKER_HOST", "unix:///run/podwarden-test/docker.sock");
}

// One HTTP GET straight to Docker (not through the plugin), to check what the plugin made.
std::pair<int, std::string> dockerGet(const std::string& path) {
  Poco::Net::StreamSocket socket;
  socket.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, socketPathOf(dockerHost())));
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

CriRuntime docker() {
  CriRuntime rt;
  rt.kind = "docker";
  rt.endpoint = dockerHost();
  rt.daemonName = "the test Docker daemon";
  rt.startHint = "run tests/scripts/dockerd.sh start (or set PODWARDEN_DOCKER_HOST)";
  rt.imagesHint = "run samples/images/build-images.sh with DOCKER_HOST=" + rt.endpoint;
  rt.unreachableEndpoint = "unix:///run/podwarden-test/no-such.sock";
  return rt;
}

}  // namespace

class DockerRuntimeTest : public CriRuntimeScenarios {
  CPPUNIT_TEST_SUB_SUITE(DockerRuntimeTest, CriRuntimeScenarios);
  CPPUNIT_TEST(testBridgeSandboxWithPortMapping);
  CPPUNIT_TEST(testEventsRetryUntilTheDaemonAnswers);
  CPPUNIT_TEST_SUITE_END();

 public:
  DockerRuntimeTest() : CriRuntimeScenarios(docker()) {}

  void testBridgeSandboxWithPortMapping() {
    const std::string uid = randomHex(12);
    const std::string pod = "bridge-" + uid.substr(0, 6);
    const int hostPort = randomPort();
    const std::string ports = R"("portMappings":[{"protocol":"TCP","containerPort":8080,"hostPort":)" +
                              std::to_string(hostPort) + R"(,"hostIp":"127.0.0.1"}],)";
    const std::string sandboxConfig = podConfig(pod, uid, "POD", ports);
    const std::string sandboxId = runSandbox(sandboxConfig);
    ObjectPtr st = sandboxStatus(sandboxId);
    CPPUNIT_ASSERT_EQUAL(
        std::string("POD"),
        str(st->getObject("linux")->getObject("namespaces")->getObject("options"), "network"));
    ObjectPtr d = parse(dockerGet("/containers/" + sandboxId + "/json").second);
    const std::string mode = str(d->getObject("HostConfig"), "NetworkMode");
    CPPUNIT_ASSERT_EQUAL(std::string("shareable"), str(d->getObject("HostConfig"), "IpcMode"));
    if (mode == "none") return;  // a daemon without a bridge (dockerd.sh fallback): nothing more to see
    CPPUNIT_ASSERT_EQUAL(std::string("bridge"), mode);
    CPPUNIT_ASSERT_EQUAL(pod, str(d->getObject("Config"), "Hostname"));
    CPPUNIT_ASSERT_MESSAGE("a bridged sandbox has an IP", !str(st->getObject("network"), "ip").empty());

    // The app container joins the sandbox's network namespace; the port mapping reaches it.
    const std::string containerId =
        createContainer(sandboxId, sandboxConfig, "web", kBusybox, 0,
                        R"("command":["httpd","-f","-p","8080","-h","/var/www"],)");
    call(RuntimeCall::kStartContainer, R"({"containerId":")" + containerId + "\"}");
    ObjectPtr cd = parse(dockerGet("/containers/" + containerId + "/json").second);
    CPPUNIT_ASSERT_EQUAL("container:" + sandboxId, str(cd->getObject("HostConfig"), "NetworkMode"));
    CPPUNIT_ASSERT_MESSAGE(
        "no answer through the port mapping on 127.0.0.1:" + std::to_string(hostPort),
        waitFor([&] { return httpGet("127.0.0.1", hostPort).find("podwarden") != std::string::npos; }));
  }

  // The event stream retries with backoff while the daemon's socket is missing, and once it connects,
  // Docker replays what happened since watching began. (The socket appears as a symlink to the test
  // daemon's, so the shared daemon is never restarted.)
  void testEventsRetryUntilTheDaemonAnswers() {
    const std::string uid = randomHex(12);
    const std::string link = "/run/podwarden-test/events-" + uid + ".sock";
    RuntimeInstance late(library_, "docker", "{\"endpoint\":\"" + link + "\"}", "n");
    CPPUNIT_ASSERT(late.watchEvents([this](std::string e) { events_.add(e); }).ok());
    const std::string sandboxId = runSandbox(podConfig("late-" + uid.substr(0, 6), uid, "NODE", ""));
    std::filesystem::create_symlink(socketPathOf(dockerHost()), link);
    const bool seen = waitFor([&] { return events_.has(sandboxId, "CONTAINER_STARTED_EVENT"); });
    late.unwatchEvents();
    std::filesystem::remove(link);
    CPPUNIT_ASSERT_MESSAGE("the sandbox's start event never arrived after the socket appeared", seen);
  }

 protected:
  void checkVersion(const ObjectPtr& v) override {
    CPPUNIT_ASSERT_EQUAL(std::string("docker"), str(v, "runtimeName"));
    CPPUNIT_ASSERT_EQUAL(std::string("0.1.0"), str(v, "version"));
    // Docker 20.10 serves 1.41; an older daemon would give its own, never more than 1.41.
    const std::string api = str(v, "runtimeApiVersion");
    CPPUNIT_ASSERT_MESSAGE(api, api.rfind("1.", 0) == 0 && std::stoi(api.substr(2)) <= 41);
    CPPUNIT_ASSERT(runtime_->hasEvents());
  }

  std::string unreachableError() const override {
    return "cannot connect to the Docker daemon at " + rt_.unreachableEndpoint;
  }

  void lifecycleStarting() override {
    CPPUNIT_ASSERT(runtime_->watchEvents([this](std::string e) { events_.add(e); }).ok());
  }

  void checkSandboxCreated(const LifecyclePod& p, const ObjectPtr& st) override {
    auto [code, body] = dockerGet("/containers/" + p.sandboxId + "/json");
    CPPUNIT_ASSERT_EQUAL(200, code);
    ObjectPtr d = parse(body);
    CPPUNIT_ASSERT_EQUAL("/k8s_POD_" + p.pod + "_default_" + p.uid + "_0", str(d, "Name"));
    CPPUNIT_ASSERT_EQUAL(std::string("host"), str(d->getObject("HostConfig"), "NetworkMode"));
    CPPUNIT_ASSERT(!st->getObject("labels")->has("io.kubernetes.docker.type"));
  }

  void checkContainerCreated(const LifecyclePod& p) override {
    auto [code, body] = dockerGet("/containers/" + p.containerId + "/json");
    CPPUNIT_ASSERT_EQUAL(200, code);
    ObjectPtr d = parse(body);
    CPPUNIT_ASSERT_EQUAL("/k8s_httpd_" + p.pod + "_default_" + p.uid + "_0", str(d, "Name"));
    CPPUNIT_ASSERT_EQUAL(p.sandboxId,
                         str(d->getObject("Config")->getObject("Labels"), "io.kubernetes.sandbox.id"));
  }

  void checkContainerRunning(const LifecyclePod& p, const ObjectPtr& cs) override {
    CPPUNIT_ASSERT(!cs->getObject("labels")->has("io.kubernetes.sandbox.id"));
    // The kubelet-style log symlink points at Docker's json log.
    const std::string dockerLog =
        str(parse(dockerGet("/containers/" + p.containerId + "/json").second), "LogPath");
    CPPUNIT_ASSERT(!dockerLog.empty());
    CPPUNIT_ASSERT_EQUAL(dockerLog, std::filesystem::read_symlink(logRoot(p.uid) + "/httpd/0.log").string());
  }

  // Removing the sandbox removes its containers; afterwards every call is idempotent or NOT_FOUND.
  void finishLifecycle(const LifecyclePod& p) override {
    CPPUNIT_ASSERT_MESSAGE("no CONTAINER_STARTED_EVENT",
                           waitFor([&] { return events_.has(p.containerId, "CONTAINER_STARTED_EVENT"); }));
    CPPUNIT_ASSERT_MESSAGE("no CONTAINER_STOPPED_EVENT",
                           waitFor([&] { return events_.has(p.containerId, "CONTAINER_STOPPED_EVENT"); }));
    CPPUNIT_ASSERT(events_.has(p.containerId, "CONTAINER_CREATED_EVENT"));

    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_NOTREADY"), str(sandboxStatus(p.sandboxId), "state"));
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");

    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + p.containerId + "/json").first);
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + p.sandboxId + "/json").first);
    CPPUNIT_ASSERT(!std::filesystem::is_symlink(logRoot(p.uid) + "/httpd/0.log"));
    CPPUNIT_ASSERT_MESSAGE("no CONTAINER_DELETED_EVENT",
                           waitFor([&] { return events_.has(p.containerId, "CONTAINER_DELETED_EVENT"); }));

    call(RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    call(RuntimeCall::kStopPodSandbox, R"({"podSandboxId":")" + p.sandboxId + "\"}");
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + p.containerId + "\"}");
    CPPUNIT_ASSERT_EQUAL(
        PW_NOT_FOUND,
        runtime_->call(RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":")" + p.sandboxId + "\"}").status);
    CPPUNIT_ASSERT_EQUAL(
        PW_NOT_FOUND,
        runtime_->call(RuntimeCall::kContainerStatus, R"({"containerId":")" + p.containerId + "\"}").status);
    CPPUNIT_ASSERT_EQUAL(
        PW_NOT_FOUND,
        runtime_->call(RuntimeCall::kStopContainer, R"({"containerId":")" + p.containerId + "\"}").status);
    runtime_->unwatchEvents();
  }

  void afterExits(const std::string& sandboxId, const std::string& sandboxConfig, const std::string& failing,
                  const std::string& passing) override {
    // A second create with the same name and attempt replaces the leftover (dockershim behaviour).
    const std::string again =
        createContainer(sandboxId, sandboxConfig, "fail", kBusybox, 0, R"("command":["sh","-c","exit 3"],)");
    CPPUNIT_ASSERT(again != failing);
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + failing + "/json").first);

    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + passing + "\"}");
    CPPUNIT_ASSERT_EQUAL(404, dockerGet("/containers/" + passing + "/json").first);
    call(RuntimeCall::kRemoveContainer, R"({"containerId":")" + passing + "\"}");
  }

  void checkMissingImage(const CallResult&, const std::string& uid) override {
    // A missing sandbox image fails RunPodSandbox the same way.
    RuntimeInstance noPause(
        library_, "docker",
        "{\"endpoint\":\"" + dockerHost() + R"(","sandboxImage":"podwarden.local/nopause:0"})", "n");
    CallResult s = noPause.call(RuntimeCall::kRunPodSandbox,
                                R"({"config":)" + podConfig("np-" + uid.substr(0, 6), uid, "NODE", "") + "}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(s.describe(), PW_NOT_FOUND, s.status);
    CPPUNIT_ASSERT_MESSAGE(s.err, s.err.find("podwarden.local/nopause:0") != std::string::npos);
  }

  void checkBusyboxImage(const ObjectPtr& image) override {
    CPPUNIT_ASSERT_EQUAL(std::string(kBusybox), image->getArray("repoTags")->getElement<std::string>(0));
  }

 private:
  EventLog events_;  // filled from the plugin's event thread until unwatchEvents
};

CPPUNIT_TEST_SUITE_REGISTRATION(DockerRuntimeTest);
