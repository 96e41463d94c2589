// DockerProbeTest - ProbeManager on real containers: exec probes through runtime-docker's ExecSync,
// tcpSocket and httpGet against a busybox httpd, each passing and then failing.
//
// Each test runs a host-network pod whose busybox container serves /tmp/www with httpd on a random
// loopback port, with /tmp/healthy and /tmp/delay as the knobs the probes read. The manager uses the
// real monotonic clock and periodSeconds 1.
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "prober/ProbeManager.h"
#include "runtime/PluginRuntime.h"
#include "util/Json.h"

using namespace podwarden;
using namespace podwarden::prober;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::RuntimeInstance;

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

std::string randomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

int64_t monotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool waitFor(const std::function<bool()>& pred, int seconds = 60) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace

class DockerProbeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DockerProbeTest);
  CPPUNIT_TEST(testExecLivenessPassesThenFails);
  CPPUNIT_TEST(testExecTimeoutIsAFailure);
  CPPUNIT_TEST(testTcpSocketPassesThenFails);
  CPPUNIT_TEST(testHttpGetReadinessPassesThenFails);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    const std::string dir = env("PODWARDEN_PLUGIN_DIR", "");
    CPPUNIT_ASSERT_MESSAGE("PODWARDEN_PLUGIN_DIR is not set", !dir.empty());
    library_ = PluginLibrary::load(dir + "/runtime-docker.so");
    instance_ = std::make_unique<RuntimeInstance>(
        library_, "docker", "{\"endpoint\":\"" + dockerHost() + "\",\"sandboxImage\":\"" + kPause + "\"}",
        "test-node");
    runtime_ = std::make_unique<runtime::PluginRuntime>(*instance_);
    try {
      runtime_->version();
    } catch (const RuntimeError& e) {
      CPPUNIT_FAIL("the test Docker daemon at " + dockerHost() + " does not answer (" + e.what() +
                   "); run tests/scripts/dockerd.sh start (or set PODWARDEN_DOCKER_HOST)");
    }
    startPod();
    ProbeManager::Options options;
    options.startupJitter = false;
    manager_ = std::make_unique<ProbeManager>(
        *runtime_, monotonicNs,
        [this](std::string uid) {
          std::lock_guard<std::mutex> lock(mutex_);
          changes_.push_back(std::move(uid));
        },
        options);
    manager_->start();
  }

  void tearDown() override {
    if (manager_) manager_->stop();
    manager_.reset();
    if (runtime_ && !sandboxId_.empty()) {
      try {
        runtime_->removePodSandbox(sandboxId_);
      } catch (const RuntimeError&) {
      }
    }
    sandboxId_.clear();
    runtime_.reset();
    instance_.reset();
  }

  void testExecLivenessPassesThenFails() {
    probe(R"("livenessProbe":{"exec":{"command":["sh","-c","cat /tmp/healthy"]},"periodSeconds":1,
              "failureThreshold":2})");
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() >= 3; }));
    CPPUNIT_ASSERT(!manager_->result(containerId_).livenessFailed);

    exec("rm /tmp/healthy");
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result(containerId_).livenessFailed; }));
    const std::string message = manager_->result(containerId_).message;
    CPPUNIT_ASSERT_MESSAGE(message,
                           message.rfind("Liveness probe failed: cat: can't open '/tmp/healthy'", 0) == 0);
    CPPUNIT_ASSERT(waitFor([&] { return changes() == 1; }));
  }

  void testExecTimeoutIsAFailure() {
    probe(R"j("readinessProbe":{"exec":{"command":["sh","-c","sleep $(cat /tmp/delay)"]},"periodSeconds":1,
              "timeoutSeconds":1,"failureThreshold":1})j");
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result(containerId_).ready; }));

    exec("echo 5 > /tmp/delay");
    CPPUNIT_ASSERT(waitFor([&] { return !manager_->result(containerId_).ready; }));
    ProbeManager::Result r = manager_->result(containerId_);
    CPPUNIT_ASSERT_EQUAL(
        std::string("Readiness probe failed: command \"sh -c sleep $(cat /tmp/delay)\" timed out"),
        r.message);
    CPPUNIT_ASSERT(!r.livenessFailed);
  }

  void testTcpSocketPassesThenFails() {
    probe(R"("startupProbe":{"tcpSocket":{"port":"web"},"periodSeconds":1,"failureThreshold":30},
             "livenessProbe":{"tcpSocket":{"port":)" +
          std::to_string(port_) + R"(},"periodSeconds":1,
              "failureThreshold":2})");
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result(containerId_).started; }));
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() >= 3; }));
    CPPUNIT_ASSERT(!manager_->result(containerId_).livenessFailed);

    exec("killall httpd");
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result(containerId_).livenessFailed; }));
    const std::string message = manager_->result(containerId_).message;
    const std::string prefix = "Liveness probe failed: dial tcp 127.0.0.1:" + std::to_string(port_) + ": ";
    CPPUNIT_ASSERT_MESSAGE(message, message.rfind(prefix, 0) == 0);
    CPPUNIT_ASSERT_MESSAGE(message, message.find("refused") != std::string::npos);
  }

  void testHttpGetReadinessPassesThenFails() {
    probe(R"("readinessProbe":{"httpGet":{"port":"web","path":"/healthz"},"periodSeconds":1,
              "failureThreshold":2})");
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result(containerId_).ready; }));

    exec("rm /tmp/www/healthz");
    CPPUNIT_ASSERT(waitFor([&] { return !manager_->result(containerId_).ready; }));
    ProbeManager::Result r = manager_->result(containerId_);
    CPPUNIT_ASSERT_EQUAL(std::string("Readiness probe failed: HTTP probe failed with statuscode: 404"),
                         r.message);
    CPPUNIT_ASSERT(!r.livenessFailed);

    exec("echo ok > /tmp/www/healthz");
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result(containerId_).ready; }));
    CPPUNIT_ASSERT(waitFor([&] { return changes() == 3; }));
  }

 private:
  // A host-network sandbox with one busybox container running httpd on 127.0.0.1:port_.
  void startPod() {
    uid_ = randomHex(12);
    port_ = 20000 + static_cast<int>(std::random_device{}() % 20000);
    const std::string pod = "probe-" + uid_.substr(0, 6);
    runtime::PodSandboxConfig sandbox;
    sandbox.metadata = {pod, uid_, "default", 0};
    sandbox.hostname = pod;
    sandbox.logDirectory = "/tmp/podwarden-test-logs/" + uid_;
    sandbox.labels = {{"io.kubernetes.pod.name", pod},
                      {"io.kubernetes.pod.uid", uid_},
                      {"io.kubernetes.pod.namespace", "default"}};
    sandbox.linuxConfig.securityContext.namespaceOptions.network = runtime::NamespaceMode::kNode;
    sandboxId_ = runtime_->runPodSandbox(sandbox);
    CPPUNIT_ASSERT(!sandboxId_.empty());
    const std::string script =
        "mkdir -p /tmp/www && echo ok > /tmp/www/healthz && touch /tmp/healthy && "
        "echo 0 > /tmp/delay && httpd -p 127.0.0.1:" +
        std::to_string(port_) + " -h /tmp/www && exec sleep 600";
    runtime::ContainerConfig config;
    config.metadata = {"app", 0};
    config.image = kBusybox;
    config.logPath = "app/0.log";
    config.command = std::vector<std::string>{"sh", "-c", script};
    containerId_ = runtime_->createContainer(sandboxId_, config, sandbox);
    CPPUNIT_ASSERT(!containerId_.empty());
    runtime_->startContainer(containerId_);
    // httpd forks into the background before `sleep` runs; wait until it serves.
    CPPUNIT_ASSERT_MESSAGE("httpd did not start in the container", waitFor([&] {
                             return execExitCode("wget -q -O /dev/null http://127.0.0.1:" +
                                                 std::to_string(port_) + "/healthz") == 0;
                           }));
  }

  // Registers the pod's container with these probe fields (JSON members of a v1.Container).
  void probe(const std::string& probeFields) {
    ProbeTarget t;
    t.podName = "default/probe-" + uid_.substr(0, 6);
    t.containerName = "app";
    t.containerId = containerId_;
    t.containerSpec = json::parseObject(R"({"name":"app","ports":[{"name":"web","containerPort":)" +
                                        std::to_string(port_) + "}]," + probeFields + "}");
    t.podIP = "127.0.0.1";  // host network
    manager_->setContainers(uid_, {t});
  }

  int64_t execExitCode(const std::string& script) {
    return runtime_->execSync(containerId_, {"sh", "-c", script}, std::chrono::seconds(10)).exitCode;
  }

  void exec(const std::string& script) {
    CPPUNIT_ASSERT_EQUAL_MESSAGE(script, int64_t(0), execExitCode(script));
  }

  size_t changes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return changes_.size();
  }

  std::shared_ptr<PluginLibrary> library_;
  std::unique_ptr<RuntimeInstance> instance_;
  std::unique_ptr<runtime::PluginRuntime> runtime_;
  std::unique_ptr<ProbeManager> manager_;
  std::string uid_;
  std::string sandboxId_;
  std::string containerId_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<std::string> changes_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DockerProbeTest);
