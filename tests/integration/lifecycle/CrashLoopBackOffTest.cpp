// CrashLoopBackOffTest - CrashLoopBackOff on a real runtime, Docker or containerd (issue 3: "Always + a
// container that exits 1 each time: restarts at 10, 20, 40 s… (injected clock), status CrashLoopBackOff;
// once on real dockerd with a shortened backoff config"). The daemon runs with a 1 s / 4 s backoff; the crashing container lives 1 s
// so that its exit comes after the sync that started it has finished. Gaps between restarts are measured
// with the runtime's own started/finished times and checked only from below (the backoff is a minimum; a busy
// machine may add to it).
#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <iostream>
#include <map>
#include <sstream>

using namespace podwarden;
using namespace podwarden::lifecycle;

namespace {
constexpr const char* kNs = "default";
}  // namespace

class CrashLoopBackOffTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CrashLoopBackOffTest);
  CPPUNIT_TEST(testAlwaysCrashLoopBackOff);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("crash");
    rt_ = attachRuntime(*node_);
  }
  void tearDown() override { releaseNode(node_, rt_); }

  // Always + exit 1 every time: restarted again and again, each wait at least the backoff delay
  // (first restart immediate, then 1 s, 2 s, 4 s, capped at 4 s); meanwhile the status says
  // waiting/CrashLoopBackOff naming the delay, lastState.terminated exit 1 reason Error, phase Running.
  void testAlwaysCrashLoopBackOff() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(node.manifestDir() + "/crasher.yaml",
                   oneContainerPod("crasher", "Always", "crash", "sleep 1; exit 1"));

    struct Times {
      int64_t started = 0;
      int64_t finished = 0;
    };
    std::map<int, Times> attempts;  // from the runtime, by attempt
    json::ObjectPtr crashLoopSeen;  // a container status showing CrashLoopBackOff
    std::string crashLoopPhase;
    int64_t lastRestartCount = -1;
    std::string countRegression;
    const int lastAttempt = 4;
    bool ok = node.waitFor(
        [&] {
          for (const auto& c : appContainers(*rt_, node, "crash")) {
            if (c.attempt < 0 || c.running) continue;
            e2e::ContainerRecord r = rt_->containerRecord(c.id);
            if (!r.exists) continue;
            attempts[c.attempt] = {r.startedNs, r.finishedNs};
          }
          StatusPod sp = node.statusPod("crasher", kNs);
          json::ObjectPtr cs = containerStatus(sp, "crash");
          if (cs) {
            int64_t count = json::getInt(cs, "restartCount", -1);
            if (count < lastRestartCount) {
              countRegression = std::to_string(lastRestartCount) + " then " + std::to_string(count);
            }
            lastRestartCount = std::max(lastRestartCount, count);
            json::ObjectPtr w = stateOf(cs, "waiting");
            // The first CrashLoopBackOff status, or a later one when only a later one names the delay.
            const bool better =
                !crashLoopSeen || (json::getString(stateOf(crashLoopSeen, "waiting"), "message").empty() &&
                                   !json::getString(w, "message").empty());
            if (better && w && json::getString(w, "reason") == "CrashLoopBackOff") {
              crashLoopSeen = cs;
              crashLoopPhase = sp.phase();
            }
          }
          for (int a = 0; a <= lastAttempt; ++a) {
            if (!attempts.count(a) || attempts[a].started == 0 || attempts[a].finished == 0) return false;
          }
          return crashLoopSeen && lastRestartCount >= lastAttempt;
        },
        180);
    std::ostringstream seen;
    for (const auto& [attempt, t] : attempts) {
      seen << "\n  attempt " << attempt << ": started " << t.started << " finished " << t.finished;
    }
    CPPUNIT_ASSERT_MESSAGE(
        "the crashing container was not restarted " + std::to_string(lastAttempt) +
            " times with a CrashLoopBackOff status in between; " + rt_->kind() + " showed:" + seen.str() +
            "\n  highest restartCount in status: " + std::to_string(lastRestartCount) + node.diagnostics(),
        ok);
    CPPUNIT_ASSERT_MESSAGE("restartCount went down: " + countRegression, countRegression.empty());

    // Replays the kubelet's backoff over what the runtime saw: restart k may not come sooner than the current
    // delay after attempt k-1 finished; each restart doubles the delay up to the cap; an entry untouched
    // for more than twice the cap starts over at the initial delay. The runtime's start time stands in for the
    // restart decision (it comes a little later). 100 ms of slack for reading two clocks.
    const int64_t initialNs = kBackoffInitialSeconds * 1000000000LL;
    const int64_t maxNs = kBackoffMaxSeconds * 1000000000LL;
    const int64_t slackNs = 100 * 1000000LL;
    int64_t delayNs = 0;
    int64_t lastUpdateNs = 0;
    int64_t largestEnforcedNs = 0;
    for (int k = 1; k <= lastAttempt; ++k) {
      const int64_t restartNs = attempts[k].started;
      const int64_t gapNs = restartNs - attempts[k - 1].finished;
      seen << "\n  gap before restart " << k << ": " << gapNs / 1000000 << " ms";
      if (lastUpdateNs != 0 && restartNs - lastUpdateNs <= 2 * maxNs) {
        CPPUNIT_ASSERT_MESSAGE("restart " + std::to_string(k) + " came " + std::to_string(gapNs / 1000000) +
                                   " ms after the previous exit; the backoff then is " +
                                   std::to_string(delayNs / 1000000) + " ms" + seen.str() +
                                   node.diagnostics(),
                               gapNs + slackNs >= delayNs);
        largestEnforcedNs = std::max(largestEnforcedNs, delayNs);
        delayNs = std::min(2 * delayNs, maxNs);
      } else {
        delayNs = initialNs;
      }
      lastUpdateNs = restartNs;
    }
    std::cout << "\n  CrashLoopBackOff on " << rt_->kind() << ":" << seen.str() << std::endl;
    CPPUNIT_ASSERT_MESSAGE(
        "no restart waited for a doubled delay: the backoff kept starting over because the gaps exceeded "
        "twice "
        "the cap (gaps near the relist period mean exits were only noticed by the relist)" +
            seen.str() + node.diagnostics(),
        largestEnforcedNs >= 2 * initialNs);

    std::string dump = "\n" + json::stringify(crashLoopSeen) + node.diagnostics();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("phase while crash-looping (restartPolicy Always)" + dump,
                                 std::string("Running"), crashLoopPhase);
    json::ObjectPtr waiting = stateOf(crashLoopSeen, "waiting");
    const std::string message = json::getString(waiting, "message");
    CPPUNIT_ASSERT_MESSAGE(
        "the CrashLoopBackOff message should name the delay (\"back-off <n>s ...\")" + dump,
        message.find("back-off ") != std::string::npos &&
            message.find("s restarting failed container=crash") != std::string::npos);
    json::ObjectPtr last = stateOf(crashLoopSeen, "terminated", true);
    CPPUNIT_ASSERT_MESSAGE("lastState.terminated missing" + dump, last);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("lastState exitCode" + dump, int64_t(1), json::getInt(last, "exitCode", -1));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("lastState reason" + dump, std::string("Error"),
                                 json::getString(last, "reason"));
    CPPUNIT_ASSERT_MESSAGE("lastState startedAt/finishedAt" + dump,
                           parseTimeNs(json::getString(last, "startedAt")) > 0 &&
                               parseTimeNs(json::getString(last, "finishedAt")) > 0);
    CPPUNIT_ASSERT_MESSAGE("lastState containerID" + dump,
                           json::getString(last, "containerID").rfind(rt_->kind() + "://", 0) == 0);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("ready while crash-looping" + dump, false,
                                 json::getBool(crashLoopSeen, "ready", true));
  }

 private:
  std::unique_ptr<TestNode> node_;
  std::unique_ptr<TestRuntime> rt_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(CrashLoopBackOffTest);
