// ProbesE2ETest - issue 3's probe acceptance scenarios against a real `podwarden run`: liveness, readiness
// and startup probes (httpGet, exec, tcpSocket) probing busybox containers on the private test runtime,
// observed through the status file and the runtime's own API (TestRuntime), never podwarden's internals.
//
// One code path, two runtimes: PODWARDEN_E2E_RUNTIME=docker (default) or containerd; ctest runs the suite
// once per runtime (integration.ProbesE2ETest and integration.ProbesE2ETest.containerd).
//
// Every pod uses hostNetwork; its servers bind 127.0.0.1 on ports free a moment before, and its httpGet and
// tcpSocket probes name host 127.0.0.1 (the default for hostNetwork, the node's IP, would leave loopback).
// The test flips a probe's outcome through a hostPath directory it owns. Probes run every second
// (periodSeconds 1); the daemon gets a 1 s restart backoff so a restart follows its kill promptly.
#include "E2eSupport.h"
#include "TestRuntime.h"

#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <thread>

using namespace podwarden;
using namespace podwarden::e2e;

namespace {
constexpr const char* kNamespace = "default";
// Generous bound for a probe outcome to show in the status file (probes run every second).
constexpr int kProbeEffectTimeoutSeconds = 60;
// How long the suite watches for something that must not happen ("several periods" of 1 s).
constexpr int kQuietSeconds = 6;
// timeoutSeconds of exec probes: an exec through a busy runtime can take longer than the default 1 s, and a
// timed-out attempt counts as a failure.
constexpr const char* kExecTimeoutSeconds = "3";

std::string yamlLines(std::initializer_list<std::string> lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Pod `name`: hostNetwork, grace 2 s, restartPolicy Always; `containers` is the YAML of its containers
// list items, `volumes` of its volumes list items (may be empty).
std::string podManifest(const std::string& name, const std::string& containers, const std::string& volumes = "") {
  std::string m = yamlLines({"apiVersion: v1", "kind: Pod", "metadata:", "  name: " + name,
                             "  namespace: " + std::string(kNamespace), "spec:", "  hostNetwork: true",
                             "  restartPolicy: Always", "  terminationGracePeriodSeconds: 2", "  containers:"}) +
                  containers;
  if (!volumes.empty()) m += "  volumes:\n" + volumes;
  return m;
}

// A shell command run as the container's PID 1 that exits at once on SIGTERM (a PID 1 without a handler
// ignores it and would wait for the grace period's SIGKILL). `daemonCommand` runs in the background.
std::string trapped(const std::string& daemonCommand) {
  return "[\"sh\", \"-c\", \"trap 'exit 0' TERM; " + daemonCommand + " & wait\"]";
}

// hostPath volume `name` at `path`.
std::string hostPathVolume(const std::string& name, const std::string& path) {
  return yamlLines({"  - name: " + name, "    hostPath:", "      path: " + path});
}

std::string makeDir(const std::string& path) {
  ::mkdir(path.c_str(), 0755);
  struct stat st {};
  CPPUNIT_ASSERT_MESSAGE("cannot create directory " + path, ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
  return path;
}

void removeFile(const std::string& path) {
  CPPUNIT_ASSERT_EQUAL_MESSAGE("unlink " + path, 0, ::unlink(path.c_str()));
}

int64_t wallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Unix nanoseconds of a runtime start time: Docker's RFC 3339 UTC with fraction, or CRI's nanoseconds as
// a decimal string. 0 when the text is neither.
int64_t parseStartedNs(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) return std::stoll(text);
  int year, month, day, hour, minute, second, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6 ||
      consumed != 19 || year <= 1) {
    return 0;
  }
  size_t pos = 19;
  int64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    int64_t scale = 100000000;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, scale /= 10) {
      fraction += (text[pos] - '0') * scale;
    }
  }
  if (pos + 1 != text.size() || text[pos] != 'Z') return 0;
  struct tm tm {};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(::timegm(&tm)) * 1000000000 + fraction;
}

json::ObjectPtr containerStatus(const StatusPod& sp, const std::string& container) {
  return sp.pod ? sp.containerStatus(container) : json::ObjectPtr();
}

bool ready(const StatusPod& sp, const std::string& container) {
  return json::getBool(containerStatus(sp, container), "ready");
}

bool started(const StatusPod& sp, const std::string& container) {
  return json::getBool(containerStatus(sp, container), "started");
}

// status.conditions[type].status ("True"/"False"); empty when absent.
std::string conditionStatus(const StatusPod& sp, const std::string& type) {
  json::ArrayPtr conditions = json::getArray(json::getObject(sp.pod, "status"), "conditions");
  if (!conditions) return "";
  for (size_t i = 0; i < conditions->size(); ++i) {
    json::ObjectPtr c = conditions->getObject(static_cast<unsigned>(i));
    if (json::getString(c, "type") == type) return json::getString(c, "status");
  }
  return "";
}

// lastState.terminated.message of a container; empty when absent.
std::string lastTerminatedMessage(const StatusPod& sp, const std::string& container) {
  return json::getString(
      json::getObject(json::getObject(containerStatus(sp, container), "lastState"), "terminated"), "message");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

// Global namespace: ctest runs the suite by its plain name.
class ProbesE2ETest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ProbesE2ETest);
  CPPUNIT_TEST(testHttpGetLivenessRestarts);
  CPPUNIT_TEST(testReadinessFailureDoesNotRestart);
  CPPUNIT_TEST(testStartupProbeHoldsLivenessOff);
  CPPUNIT_TEST(testExecLiveness);
  CPPUNIT_TEST(testTcpSocketLiveness);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    runtime_ = makeTestRuntime();
    node_ = std::make_unique<TestNode>("probes");
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

  // httpGet liveness (period 1 s, failureThreshold 3) against busybox httpd: while /healthz exists the
  // container is left alone; once the test removes it, the container is killed after three failed probes
  // and restarted: restart count 1, lastState.terminated.message naming the liveness failure, and the new
  // container started no earlier than (failureThreshold - 1) periods after /healthz went away (the first
  // failing probe may come right after the removal).
  void testHttpGetLivenessRestarts() {
    constexpr int kPeriod = 1;
    constexpr int kFailureThreshold = 3;
    const int port = freeLoopbackPort();
    const std::string www = makeDir(node_->workDir() + "/www");
    writeFile(www + "/healthz", "ok\n");
    const std::string containers = yamlLines({
        "  - name: web",
        "    image: " + std::string(kBusyboxImage),
        "    command: " + trapped("httpd -f -p 127.0.0.1:" + std::to_string(port) + " -h /www"),
        "    livenessProbe:",
        "      httpGet:",
        "        host: 127.0.0.1",
        "        path: /healthz",
        "        port: " + std::to_string(port),
        "      periodSeconds: " + std::to_string(kPeriod),
        "      failureThreshold: " + std::to_string(kFailureThreshold),
        "    volumeMounts:",
        "    - name: www",
        "      mountPath: /www",
    });
    startDaemon();
    writeFile(node_->manifestDir() + "/web.yaml", podManifest("web", containers, hostPathVolume("www", www)));

    const std::string firstId = waitRunning("web", "web", 0);
    CPPUNIT_ASSERT_MESSAGE("httpd does not answer /healthz on 127.0.0.1:" + std::to_string(port) + diag(),
                           e2e::waitFor([&] { return httpGetStatus(port, "/healthz") == 200; }, 30));
    expectQuiet("web", "web", firstId, "a passing httpGet liveness probe");

    const int64_t removedNs = wallNowNs();
    removeFile(www + "/healthz");
    StatusPod restarted = waitPod(
        "web", [](const StatusPod& sp) { return sp.restartCount("web") >= 1 && sp.containerRunning("web"); },
        "container web restarted after /healthz started failing");
    // The replacement would fail too; give it back its /healthz before it is killed again.
    writeFile(www + "/healthz", "ok\n");

    const std::string secondId = restarted.containerIdOf("web", runtime_->kind());
    CPPUNIT_ASSERT_MESSAGE("the restarted container kept its id" + diag(), !secondId.empty() && secondId != firstId);
    const std::string startedText = runtime_->containerStartedAt(secondId);
    const int64_t startedNs = parseStartedNs(startedText);
    CPPUNIT_ASSERT_MESSAGE("cannot read the start time '" + startedText + "' of the restarted container " + secondId +
                               diag(),
                           startedNs > 0);
    // Half a period of slack: the first failing probe may have been sent a moment before the unlink.
    const int64_t earliestNs = removedNs + (kFailureThreshold - 1) * kPeriod * 1000000000LL - 500000000LL;
    CPPUNIT_ASSERT_MESSAGE("the container was restarted " + std::to_string((startedNs - removedNs) / 1000000) +
                               " ms after /healthz went away, before " + std::to_string(kFailureThreshold) +
                               " failed probes " + std::to_string(kPeriod) + " s apart could have happened" +
                               diag(),
                           startedNs >= earliestNs);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("restart count" + diag(), int64_t(1), restarted.restartCount("web"));
    const std::string message = lastTerminatedMessage(restarted, "web");
    CPPUNIT_ASSERT_MESSAGE("lastState.terminated.message '" + message + "' does not name the liveness failure" +
                               diag(),
                           contains(message, "Liveness probe failed"));
    waitRunning("web", "web", 1);
  }

  // httpGet readiness: with /ready present the container is ready and the pod's ContainersReady and Ready
  // conditions are True; without it they turn False and the container is not restarted over several
  // periods; once /ready is back, ready again (same container).
  void testReadinessFailureDoesNotRestart() {
    const int port = freeLoopbackPort();
    const std::string www = makeDir(node_->workDir() + "/www");
    writeFile(www + "/ready", "ok\n");
    const std::string containers = yamlLines({
        "  - name: web",
        "    image: " + std::string(kBusyboxImage),
        "    command: " + trapped("httpd -f -p 127.0.0.1:" + std::to_string(port) + " -h /www"),
        "    readinessProbe:",
        "      httpGet:",
        "        host: 127.0.0.1",
        "        path: /ready",
        "        port: " + std::to_string(port),
        "      periodSeconds: 1",
        "      failureThreshold: 2",
        "    volumeMounts:",
        "    - name: www",
        "      mountPath: /www",
    });
    startDaemon();
    writeFile(node_->manifestDir() + "/web.yaml", podManifest("web", containers, hostPathVolume("www", www)));

    const std::string id = waitRunning("web", "web", 0);
    auto readyEverywhere = [](const StatusPod& sp, bool want) {
      const std::string cond = want ? "True" : "False";
      return ready(sp, "web") == want && conditionStatus(sp, "ContainersReady") == cond &&
             conditionStatus(sp, "Ready") == cond;
    };
    waitPod("web", [&](const StatusPod& sp) { return readyEverywhere(sp, true); },
            "container web ready and ContainersReady/Ready True while /ready exists");

    removeFile(www + "/ready");
    waitPod("web", [&](const StatusPod& sp) { return readyEverywhere(sp, false); },
            "container web not ready and ContainersReady/Ready False once /ready is gone");
    expectQuiet("web", "web", id, "a failing readiness probe", [&](const StatusPod& sp) {
      return readyEverywhere(sp, false) ? "" : "container web became ready again while /ready is missing";
    });

    writeFile(www + "/ready", "ok\n");
    StatusPod back = waitPod("web", [&](const StatusPod& sp) { return readyEverywhere(sp, true); },
                             "container web ready again after /ready came back");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("restart count after the readiness failure" + diag(), int64_t(0),
                                 back.restartCount("web"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("container replaced by a readiness failure" + diag(), id,
                                 back.containerIdOf("web", runtime_->kind()));
  }

  // A startup probe (exec, period 1 s, failureThreshold 30) failing until the test creates a file holds off
  // a liveness probe (failureThreshold 1) that checks the same file: no restart and started=false while
  // the file is missing; started (and ready, there is no readiness probe) once it exists; after that the
  // liveness probe acts normally and a removed file gets the container restarted.
  void testStartupProbeHoldsLivenessOff() {
    const std::string flags = makeDir(node_->workDir() + "/flags");
    const std::string containers = yamlLines({
        "  - name: app",
        "    image: " + std::string(kBusyboxImage),
        "    command: " + trapped("sleep 3600"),
        "    startupProbe:",
        "      exec:",
        "        command: [\"cat\", \"/flags/started\"]",
        "      timeoutSeconds: " + std::string(kExecTimeoutSeconds),
        "      periodSeconds: 1",
        "      failureThreshold: 30",
        "    livenessProbe:",
        "      exec:",
        "        command: [\"cat\", \"/flags/started\"]",
        "      timeoutSeconds: " + std::string(kExecTimeoutSeconds),
        "      periodSeconds: 1",
        "      failureThreshold: 1",
        "    volumeMounts:",
        "    - name: flags",
        "      mountPath: /flags",
    });
    startDaemon();
    writeFile(node_->manifestDir() + "/app.yaml", podManifest("app", containers, hostPathVolume("flags", flags)));

    const std::string id = waitRunning("app", "app", 0);
    StatusPod sp = node_->statusPod("app", kNamespace);
    CPPUNIT_ASSERT_MESSAGE("container app reported started before its startup probe passed" + diag(),
                           !started(sp, "app") && !ready(sp, "app"));
    expectQuiet("app", "app", id, "a liveness probe held off by a failing startup probe", [](const StatusPod& s) {
      return started(s, "app") ? "container app reported started while /flags/started is missing" : "";
    });

    writeFile(flags + "/started", "yes\n");
    StatusPod up = waitPod("app", [](const StatusPod& s) { return started(s, "app") && ready(s, "app"); },
                           "container app started and ready once /flags/started exists");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("restart count while starting up" + diag(), int64_t(0), up.restartCount("app"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("container replaced while starting up" + diag(), id,
                                 up.containerIdOf("app", runtime_->kind()));

    // Started: liveness now counts.
    removeFile(flags + "/started");
    StatusPod restarted = waitPod("app", [](const StatusPod& s) { return s.restartCount("app") >= 1; },
                                  "container app restarted by its liveness probe after startup succeeded");
    const std::string message = lastTerminatedMessage(restarted, "app");
    CPPUNIT_ASSERT_MESSAGE("lastState.terminated.message '" + message + "' does not name the liveness failure" +
                               diag(),
                           contains(message, "Liveness probe failed"));
  }

  // exec liveness on two containers of one pod: `cat /tmp/healthy` (created by the container) passes and
  // the container is never restarted; `cat /tmp/missing` fails and the container is restarted.
  void testExecLiveness() {
    auto container = [](const std::string& name, const std::string& file) {
      return yamlLines({
          "  - name: " + name,
          "    image: " + std::string(kBusyboxImage),
          "    command: [\"sh\", \"-c\", \"touch /tmp/healthy; trap 'exit 0' TERM; sleep 3600 & wait\"]",
          "    livenessProbe:",
          "      exec:",
          "        command: [\"cat\", \"" + file + "\"]",
          "      timeoutSeconds: " + std::string(kExecTimeoutSeconds),
          "      periodSeconds: 1",
          "      failureThreshold: 2",
      });
    };
    startDaemon();
    writeFile(node_->manifestDir() + "/exec.yaml",
              podManifest("exec", container("passing", "/tmp/healthy") + container("failing", "/tmp/missing")));
    expectOneRestarted("exec", "passing", "failing", "exec");
  }

  // tcpSocket liveness on two containers of one pod: one probes the port its own httpd listens on and is
  // never restarted; the other probes a port nothing listens on and is restarted.
  void testTcpSocketLiveness() {
    const int listening = freeLoopbackPort();
    int closed = freeLoopbackPort();
    while (closed == listening) closed = freeLoopbackPort();
    auto container = [](const std::string& name, const std::string& command, int probePort) {
      return yamlLines({
          "  - name: " + name,
          "    image: " + std::string(kBusyboxImage),
          "    command: " + command,
          "    livenessProbe:",
          "      tcpSocket:",
          "        host: 127.0.0.1",
          "        port: " + std::to_string(probePort),
          "      periodSeconds: 1",
          "      failureThreshold: 2",
      });
    };
    startDaemon();
    writeFile(node_->manifestDir() + "/tcp.yaml",
              podManifest("tcp", container("passing",
                                           trapped("httpd -f -p 127.0.0.1:" + std::to_string(listening) + " -h /"),
                                           listening) +
                                     container("failing", trapped("sleep 3600"), closed)));
    expectOneRestarted("tcp", "passing", "failing", "tcpSocket");
  }

 private:
  std::string diag() { return node_->diagnostics(); }

  void startDaemon() {
    node_->startDaemon({"--restart-backoff-initial=1s", "--restart-backoff-max=4s"});
  }

  // Polls the status file until `predicate` holds for pod `<manifestName>-<node>`; fails naming `what`.
  StatusPod waitPod(const std::string& manifestName, const std::function<bool(const StatusPod&)>& predicate,
                    const std::string& what, int timeoutSeconds = kProbeEffectTimeoutSeconds) {
    StatusPod seen;
    bool ok = node_->waitFor(
        [&] {
          seen = node_->statusPod(manifestName, kNamespace);
          return seen.pod && predicate(seen);
        },
        timeoutSeconds);
    if (!ok) CPPUNIT_FAIL("timed out after " + std::to_string(timeoutSeconds) + " s waiting for: " + what + diag());
    return seen;
  }

  // Waits until `container` of the pod runs with `restartCount` under a container id the runtime also shows
  // running; returns that id.
  std::string waitRunning(const std::string& manifestName, const std::string& container, int64_t restartCount) {
    std::string id;
    waitPod(
        manifestName,
        [&](const StatusPod& sp) {
          id = sp.containerIdOf(container, runtime_->kind());
          return sp.phase() == "Running" && sp.containerRunning(container) &&
                 sp.restartCount(container) == restartCount && !id.empty() && runtime_->containerRunning(id);
        },
        "container " + container + " running with restart count " + std::to_string(restartCount),
        kPodStartTimeoutSeconds);
    return id;
  }

  // For kQuietSeconds (several probe periods) `container` must keep running as `id` with restart count 0,
  // and `extra` must return no complaint; fails naming `why` otherwise.
  void expectQuiet(const std::string& manifestName, const std::string& container, const std::string& id,
                   const std::string& why,
                   const std::function<std::string(const StatusPod&)>& extra = nullptr) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(kQuietSeconds);
    while (std::chrono::steady_clock::now() < until) {
      StatusPod sp = node_->statusPod(manifestName, kNamespace);
      std::string complaint;
      if (!sp.pod) {
        complaint = "the status file lost the pod";
      } else if (sp.restartCount(container) != 0) {
        complaint = "restart count is " + std::to_string(sp.restartCount(container));
      } else if (sp.containerIdOf(container, runtime_->kind()) != id) {
        complaint = "container id changed from " + id + " to " + sp.containerIdOf(container, runtime_->kind());
      } else if (!runtime_->containerRunning(id)) {
        complaint = "the runtime no longer shows " + id + " running";
      } else if (extra) {
        complaint = extra(sp);
      }
      if (!complaint.empty()) {
        CPPUNIT_FAIL("container " + container + " under " + why + ": " + complaint + diag());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // Pod `manifestName` has `passing` and `failing` containers with `handler` liveness probes (period 1 s,
  // failureThreshold 2): `failing` is restarted with the liveness failure in its lastState, `passing`
  // keeps running as the same container, unrestarted, meanwhile and for several periods more.
  void expectOneRestarted(const std::string& manifestName, const std::string& passing, const std::string& failing,
                          const std::string& handler) {
    const std::string passingId = waitRunning(manifestName, passing, 0);
    StatusPod restarted = waitPod(
        manifestName, [&](const StatusPod& sp) { return sp.restartCount(failing) >= 1; },
        "container " + failing + " restarted by its failing " + handler + " liveness probe");
    const std::string message = lastTerminatedMessage(restarted, failing);
    CPPUNIT_ASSERT_MESSAGE("lastState.terminated.message '" + message + "' of container " + failing +
                               " does not name the liveness failure" + diag(),
                           contains(message, "Liveness probe failed"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("restart count of " + passing + " (passing " + handler + " probe)" + diag(),
                                 int64_t(0), restarted.restartCount(passing));
    expectQuiet(manifestName, passing, passingId, "a passing " + handler + " liveness probe");
  }

  std::unique_ptr<TestRuntime> runtime_;
  std::unique_ptr<TestNode> node_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ProbesE2ETest);
