// ExecutorTest - WorkerPool: bounded, reuses its threads, lets idle ones go, runs what is queued before it
// is destroyed. Waits poll with a generous limit; nothing here asserts a duration.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "reconciler/Executor.h"

using namespace std::chrono_literals;
using podwarden::WorkerPool;

namespace {

// Polls `done` every millisecond for up to 10 s.
bool eventually(const std::function<bool()>& done) {
  for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return done();
}

}  // namespace

class ExecutorTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ExecutorTest);
  CPPUNIT_TEST(testAtMostMaxThreadsAtOnce);
  CPPUNIT_TEST(testThreadsAreReused);
  CPPUNIT_TEST(testIdleThreadsLeave);
  CPPUNIT_TEST(testDestructorRunsQueuedTasks);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testAtMostMaxThreadsAtOnce() {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    std::atomic<int> running{0}, most{0}, finished{0};
    WorkerPool pool(2, 10s);
    for (int i = 0; i < 6; ++i) {
      pool.submit([&] {
        int now = ++running;
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return open; });
        --running;
        ++finished;
      });
    }
    CPPUNIT_ASSERT(eventually([&] { return running.load() == 2; }));
    CPPUNIT_ASSERT_EQUAL(size_t(2), pool.threads());
    {
      std::lock_guard<std::mutex> lock(m);
      open = true;
    }
    cv.notify_all();
    CPPUNIT_ASSERT(eventually([&] { return finished.load() == 6; }));
    CPPUNIT_ASSERT_EQUAL(2, most.load());
  }

  // One task after another: the idle thread takes the next (at most one more starts in the moment between a
  // task's end and its thread's return to waiting), never a thread per task.
  void testThreadsAreReused() {
    WorkerPool pool(8, 10s);
    for (int i = 0; i < 50; ++i) {
      std::atomic<bool> done{false};
      pool.submit([&] { done = true; });
      CPPUNIT_ASSERT(eventually([&] { return done.load(); }));
    }
    CPPUNIT_ASSERT(pool.threads() <= 2);
  }

  void testIdleThreadsLeave() {
    WorkerPool pool(4, 20ms);
    std::atomic<int> done{0};
    for (int i = 0; i < 3; ++i) pool.submit([&] { ++done; });
    CPPUNIT_ASSERT(eventually([&] { return done.load() == 3; }));
    CPPUNIT_ASSERT(eventually([&] { return pool.threads() == 0; }));
    // And it starts again when work comes.
    pool.submit([&] { ++done; });
    CPPUNIT_ASSERT(eventually([&] { return done.load() == 4; }));
  }

  void testDestructorRunsQueuedTasks() {
    std::atomic<int> done{0};
    {
      WorkerPool pool(1, 10s);
      for (int i = 0; i < 5; ++i) pool.submit([&] { ++done; });
    }
    CPPUNIT_ASSERT_EQUAL(5, done.load());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExecutorTest);
