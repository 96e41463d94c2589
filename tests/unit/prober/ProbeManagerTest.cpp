// ProbeManagerTest - kubelet probe timing and result logic, with an injected clock and real httpGet
// attempts against a local HTTP server.
//
// The clock only moves when a test advances it (then wake() makes the scheduler look). To show that a
// probe was NOT attempted at a tick, a test gives a later-registered "sentinel" probe the same tick and
// runs one worker: jobs run in tick order, so once the sentinel's request arrives, any earlier job of
// the same tick would have run.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "LocalHttpServer.h"
#include "prober/ProbeManager.h"
#include "runtime/PluginRuntime.h"
#include "util/Json.h"

using namespace podwarden;
using namespace podwarden::prober;
using podwarden::test::LocalHttpServer;

namespace {

constexpr int64_t kSecond = 1000000000LL;

// The manager must not reach the runtime in these tests (no exec probes): every call fails.
class NoRuntime : public runtime::PluginRuntime {
 public:
  NoRuntime()
      : PluginRuntime([](plugin::RuntimeCall, const std::string&, std::chrono::milliseconds) {
          plugin::CallResult r;
          r.status = PW_UNIMPLEMENTED;
          r.err = "no runtime in this test";
          return r;
        }) {}
};

bool waitFor(const std::function<bool()>& pred, int seconds = 20) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace

class ProbeManagerTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ProbeManagerTest);
  CPPUNIT_TEST(testInitialResults);
  CPPUNIT_TEST(testLivenessFailsAfterThresholdThenHolds);
  CPPUNIT_TEST(testReadinessThresholdsWithoutKill);
  CPPUNIT_TEST(testStartupHoldsLivenessAndReadiness);
  CPPUNIT_TEST(testStartupFailureKills);
  CPPUNIT_TEST(testInitialDelay);
  CPPUNIT_TEST(testRemovedContainersStopBeingProbed);
  CPPUNIT_TEST(testErroredProbeChangesNothing);
  CPPUNIT_TEST(testManyContainersOnAFewThreads);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    server_ = std::make_unique<LocalHttpServer>();
    changes_.clear();
  }

  void tearDown() override {
    if (manager_) manager_->stop();
    manager_.reset();
    server_.reset();
  }

  void testInitialResults() {
    makeManager(2);
    manager_->setContainers("pod-1", {target("c1", probe("readinessProbe", "/ready", "")),
                                      target("c2", probe("livenessProbe", "/live", "")),
                                      target("c3", json::parseObject(R"({"name":"plain"})"))});
    // Before any attempt: readiness Failure, liveness Success; no probes at all reads as ready.
    CPPUNIT_ASSERT(!manager_->result("c1").ready);
    CPPUNIT_ASSERT(manager_->result("c1").started);
    CPPUNIT_ASSERT(manager_->result("c2").ready);
    CPPUNIT_ASSERT(!manager_->result("c2").livenessFailed);
    CPPUNIT_ASSERT(manager_->result("c3").ready);
    CPPUNIT_ASSERT(manager_->result("never-registered").ready);

    manager_->start();
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result("c1").ready; }));
    CPPUNIT_ASSERT(waitFor([&] { return changeCount() == 1; }));
    CPPUNIT_ASSERT_EQUAL(std::string("pod-1"), changes()[0]);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 2; }));
    CPPUNIT_ASSERT_EQUAL(1, server_->requests("/live"));
    // The liveness success was the initial result already: no flip.
    CPPUNIT_ASSERT_EQUAL(size_t(1), changeCount());
  }

  void testLivenessFailsAfterThresholdThenHolds() {
    makeManager(1);
    server_->setStatus("/live", 500);
    manager_->setContainers("pod-1", {target("a1", probe("livenessProbe", "/live", "")),
                                      target("b1", probe("livenessProbe", "/sentinel", ""))});
    manager_->start();
    for (int round = 1; round <= 2; ++round) {
      CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == uint64_t(2 * round); }));
      CPPUNIT_ASSERT_MESSAGE("round " + std::to_string(round), !manager_->result("a1").livenessFailed);
      advance(10);
    }
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 6; }));
    ProbeManager::Result r = manager_->result("a1");
    CPPUNIT_ASSERT(r.livenessFailed);
    CPPUNIT_ASSERT_EQUAL(std::string("Liveness probe failed: HTTP probe failed with statuscode: 500"),
                         r.message);
    CPPUNIT_ASSERT(r.ready);  // readiness is a separate matter
    CPPUNIT_ASSERT(waitFor([&] { return changeCount() == 1; }));
    CPPUNIT_ASSERT_EQUAL(std::string("pod-1"), changes()[0]);
    CPPUNIT_ASSERT(!manager_->result("b1").livenessFailed);

    // On hold until a new container ID: the next tick probes only the sentinel.
    advance(10);
    CPPUNIT_ASSERT(
        waitFor([&] { return server_->requests("/sentinel") == 4 && manager_->attemptsFinished() == 7; }));
    CPPUNIT_ASSERT_EQUAL(3, server_->requests("/live"));
    CPPUNIT_ASSERT(manager_->result("a1").livenessFailed);

    // The restarted container (new ID) starts over with liveness Success and is probed at once.
    server_->setStatus("/live", 200);
    manager_->setContainers("pod-1", {target("a2", probe("livenessProbe", "/live", "")),
                                      target("b1", probe("livenessProbe", "/sentinel", ""))});
    CPPUNIT_ASSERT(!manager_->result("a2").livenessFailed);
    CPPUNIT_ASSERT(!manager_->result("a1").livenessFailed);  // forgotten: reads as unprobed
    CPPUNIT_ASSERT(
        waitFor([&] { return server_->requests("/live") == 4 && manager_->attemptsFinished() == 8; }));
    CPPUNIT_ASSERT(!manager_->result("a2").livenessFailed);
    CPPUNIT_ASSERT_EQUAL(size_t(1), changeCount());
  }

  void testReadinessThresholdsWithoutKill() {
    makeManager(2);
    manager_->setContainers(
        "pod-1",
        {target("r1", probe("readinessProbe", "/ready", R"("successThreshold":2,"failureThreshold":2)"))});
    manager_->start();
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 1; }));
    CPPUNIT_ASSERT(!manager_->result("r1").ready);  // one success of two
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result("r1").ready; }));
    CPPUNIT_ASSERT_EQUAL(uint64_t(2), manager_->attemptsFinished());

    server_->setStatus("/ready", 503);
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 3; }));
    CPPUNIT_ASSERT(manager_->result("r1").ready);  // one failure of two
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return !manager_->result("r1").ready; }));
    ProbeManager::Result r = manager_->result("r1");
    CPPUNIT_ASSERT(!r.livenessFailed);
    CPPUNIT_ASSERT_EQUAL(std::string("Readiness probe failed: HTTP probe failed with statuscode: 503"),
                         r.message);
    CPPUNIT_ASSERT(waitFor([&] { return changeCount() == 2; }));

    // Readiness keeps probing after a failure (no hold) and recovers.
    server_->setStatus("/ready", 200);
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 5; }));
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result("r1").ready; }));
    CPPUNIT_ASSERT(waitFor([&] { return changeCount() == 3; }));
  }

  void testStartupHoldsLivenessAndReadiness() {
    makeManager(1);
    server_->setStatus("/startup", 500);
    server_->setStatus("/live", 500);
    json::ObjectPtr spec = probe("startupProbe", "/startup", R"("failureThreshold":30)");
    spec->set("livenessProbe",
              probe("livenessProbe", "/live", R"("failureThreshold":1)")->getObject("livenessProbe"));
    spec->set("readinessProbe", probe("readinessProbe", "/ready", "")->getObject("readinessProbe"));
    manager_->setContainers("pod-1", {target("s1", spec)});
    CPPUNIT_ASSERT(!manager_->result("s1").started);
    CPPUNIT_ASSERT(!manager_->result("s1").ready);
    manager_->start();
    for (int round = 1; round <= 2; ++round) {
      CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == uint64_t(round); }));
      CPPUNIT_ASSERT(!manager_->result("s1").started);
      CPPUNIT_ASSERT(!manager_->result("s1").livenessFailed);
      advance(10);
    }
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 3; }));
    CPPUNIT_ASSERT_EQUAL(0, server_->requests("/live"));
    CPPUNIT_ASSERT_EQUAL(0, server_->requests("/ready"));

    // Startup succeeds: started, and readiness is probed at once (the clock does not move).
    server_->setStatus("/startup", 200);
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result("s1").ready; }));
    CPPUNIT_ASSERT(manager_->result("s1").started);
    CPPUNIT_ASSERT_EQUAL(4, server_->requests("/startup"));
    CPPUNIT_ASSERT_EQUAL(0, server_->requests("/live"));

    // Next tick: liveness runs (and fails, threshold 1); startup is not probed any more.
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result("s1").livenessFailed; }));
    CPPUNIT_ASSERT_EQUAL(std::string("Liveness probe failed: HTTP probe failed with statuscode: 500"),
                         manager_->result("s1").message);
    CPPUNIT_ASSERT(waitFor([&] { return server_->requests("/ready") == 2; }));
    CPPUNIT_ASSERT_EQUAL(4, server_->requests("/startup"));
    CPPUNIT_ASSERT(manager_->result("s1").started);
  }

  void testStartupFailureKills() {
    makeManager(2);
    server_->setStatus("/startup", 500);
    manager_->setContainers("pod-1",
                            {target("s1", probe("startupProbe", "/startup", R"("failureThreshold":2)"))});
    manager_->start();
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 1; }));
    CPPUNIT_ASSERT(!manager_->result("s1").livenessFailed);
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->result("s1").livenessFailed; }));
    ProbeManager::Result r = manager_->result("s1");
    CPPUNIT_ASSERT(!r.started);
    CPPUNIT_ASSERT(!r.ready);
    CPPUNIT_ASSERT_EQUAL(std::string("Startup probe failed: HTTP probe failed with statuscode: 500"),
                         r.message);
    CPPUNIT_ASSERT(waitFor([&] { return changeCount() == 1; }));
  }

  void testInitialDelay() {
    makeManager(1);
    const int64_t t0 = clock_.load();
    ProbeTarget early = target("d2", probe("livenessProbe", "/live-d2", R"("initialDelaySeconds":15)"));
    early.startedAtNs = t0 - 10 * kSecond;  // started 10 s before it was registered
    manager_->setContainers(
        "pod-1", {target("d1", probe("livenessProbe", "/live-d1", R"("initialDelaySeconds":15)")), early,
                  target("z", probe("livenessProbe", "/sentinel", ""))});
    manager_->start();
    // Ticks at 0 and 10 s (after registration) are within d1's delay; d2 is past its delay at 10 s.
    CPPUNIT_ASSERT(
        waitFor([&] { return server_->requests("/sentinel") == 1 && manager_->attemptsFinished() == 1; }));
    CPPUNIT_ASSERT_EQUAL(0, server_->requests("/live-d1"));
    CPPUNIT_ASSERT_EQUAL(0, server_->requests("/live-d2"));
    advance(10);
    CPPUNIT_ASSERT(
        waitFor([&] { return server_->requests("/sentinel") == 2 && manager_->attemptsFinished() == 3; }));
    CPPUNIT_ASSERT_EQUAL(0, server_->requests("/live-d1"));
    CPPUNIT_ASSERT_EQUAL(1, server_->requests("/live-d2"));
    advance(10);
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 6; }));
    CPPUNIT_ASSERT_EQUAL(1, server_->requests("/live-d1"));
    CPPUNIT_ASSERT_EQUAL(2, server_->requests("/live-d2"));
  }

  void testRemovedContainersStopBeingProbed() {
    makeManager(1);
    server_->setStatus("/gone", 500);
    manager_->setContainers("pod-1", {target("g1", probe("readinessProbe", "/gone", "")),
                                      target("g2", probe("readinessProbe", "/gone2", ""))});
    manager_->setContainers("pod-2", {target("z", probe("readinessProbe", "/sentinel", ""))});
    manager_->start();
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 3; }));
    CPPUNIT_ASSERT(manager_->result("g2").ready);

    // Dropping g2 from the pod's set forgets it; removing the pod forgets the rest.
    manager_->setContainers("pod-1", {target("g1", probe("readinessProbe", "/gone", ""))});
    CPPUNIT_ASSERT(manager_->result("g2").ready);
    advance(10);
    CPPUNIT_ASSERT(
        waitFor([&] { return server_->requests("/sentinel") == 2 && manager_->attemptsFinished() == 5; }));
    CPPUNIT_ASSERT_EQUAL(2, server_->requests("/gone"));
    CPPUNIT_ASSERT_EQUAL(1, server_->requests("/gone2"));

    manager_->removePod("pod-1");
    CPPUNIT_ASSERT(manager_->result("g1").ready);  // unregistered reads as unprobed
    advance(10);
    CPPUNIT_ASSERT(
        waitFor([&] { return server_->requests("/sentinel") == 3 && manager_->attemptsFinished() == 6; }));
    CPPUNIT_ASSERT_EQUAL(2, server_->requests("/gone"));
  }

  void testErroredProbeChangesNothing() {
    makeManager(2);
    json::ObjectPtr spec = json::parseObject(R"({"name":"c",
        "livenessProbe":{"httpGet":{"port":"missing","path":"/"},"failureThreshold":1},
        "readinessProbe":{"tcpSocket":{"port":"missing"},"successThreshold":1}})");
    manager_->setContainers("pod-1", {target("e1", spec)});
    manager_->start();
    for (int round = 1; round <= 3; ++round) {
      CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == uint64_t(2 * round); }));
      advance(10);
    }
    ProbeManager::Result r = manager_->result("e1");
    CPPUNIT_ASSERT(!r.livenessFailed);
    CPPUNIT_ASSERT(!r.ready);
    CPPUNIT_ASSERT_EQUAL(size_t(0), changeCount());
  }

  void testManyContainersOnAFewThreads() {
    makeManager(4);
    constexpr int kPods = 50;
    for (int i = 0; i < kPods; ++i) {
      const std::string path = "/p" + std::to_string(i);
      json::ObjectPtr spec = probe("readinessProbe", path, "");
      spec->set("livenessProbe",
                json::parseObject(R"({"tcpSocket":{"port":)" + std::to_string(server_->port()) + "}}"));
      manager_->setContainers("pod-" + std::to_string(i), {target("m" + std::to_string(i), spec)});
    }
    manager_->start();
    CPPUNIT_ASSERT(waitFor([&] { return manager_->attemptsFinished() == 2 * kPods; }));
    for (int i = 0; i < kPods; ++i) {
      ProbeManager::Result r = manager_->result("m" + std::to_string(i));
      CPPUNIT_ASSERT(r.ready && !r.livenessFailed);
    }
    CPPUNIT_ASSERT(waitFor([&] { return changeCount() == kPods; }));
  }

 private:
  void makeManager(size_t workers) {
    ProbeManager::Options options;
    options.workers = workers;
    options.startupJitter = false;
    manager_ = std::make_unique<ProbeManager>(
        runtime_, [this] { return clock_.load(); },
        [this](std::string uid) {
          std::lock_guard<std::mutex> lock(changesMutex_);
          changes_.push_back(std::move(uid));
        },
        options);
  }

  void advance(int seconds) {
    clock_ += seconds * kSecond;
    manager_->wake();
  }

  // {"name":"c","<field>":{"httpGet":{"port":<server>,"path":<path>},"periodSeconds":10<,extra>}}
  json::ObjectPtr probe(const std::string& field, const std::string& path, const std::string& extra) {
    return json::parseObject(R"({"name":"c",")" + field + R"(":{"httpGet":{"port":)" +
                             std::to_string(server_->port()) + R"(,"path":")" + path +
                             R"("},"periodSeconds":10)" + (extra.empty() ? "" : "," + extra) + "}}");
  }

  ProbeTarget target(const std::string& id, json::ObjectPtr spec) {
    ProbeTarget t;
    t.podName = "default/web";
    t.containerName = json::getString(spec, "name");
    t.containerId = id;
    t.containerSpec = spec;
    t.podIP = "127.0.0.1";
    return t;
  }

  size_t changeCount() {
    std::lock_guard<std::mutex> lock(changesMutex_);
    return changes_.size();
  }
  std::vector<std::string> changes() {
    std::lock_guard<std::mutex> lock(changesMutex_);
    return changes_;
  }

  NoRuntime runtime_;
  std::atomic<int64_t> clock_{1000 * kSecond};
  std::unique_ptr<LocalHttpServer> server_;
  std::unique_ptr<ProbeManager> manager_;
  std::mutex changesMutex_;
  std::vector<std::string> changes_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ProbeManagerTest);
