// BackoffTest - the kubelet's restart backoff: 10 s doubling to a 300 s cap, forgotten after 2 x cap.
#include <cppunit/extensions/HelperMacros.h>

#include "reconciler/Backoff.h"

#include <chrono>

using namespace std::chrono_literals;

using podwarden::Backoff;

namespace {

constexpr int64_t kSecond = 1000000000LL;
constexpr int64_t kT0 = 1000 * kSecond;  // monotonic start; any positive value

}  // namespace

class BackoffTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BackoffTest);
  CPPUNIT_TEST(testUnknownKeyIsNotBackingOff);
  CPPUNIT_TEST(testFirstRestartStartsAtInitial);
  CPPUNIT_TEST(testBackoffMeasuredFromFinish);
  CPPUNIT_TEST(testDelaysDoubleUpToCap);
  CPPUNIT_TEST(testResetAfterTenMinutesWithoutFailure);
  CPPUNIT_TEST(testNotResetWithinTenMinutes);
  CPPUNIT_TEST(testKeysAreIndependent);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testUnknownKeyIsNotBackingOff() {
    Backoff b(10s, 300s);
    std::chrono::milliseconds left(-1);
    CPPUNIT_ASSERT(!b.inBackoff("pod/app/h1", kT0, kT0, &left));
    CPPUNIT_ASSERT_EQUAL(int64_t(-1), static_cast<int64_t>(left.count()));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), static_cast<int64_t>(b.delay("pod/app/h1").count()));
  }

  void testFirstRestartStartsAtInitial() {
    Backoff b(10s, 300s);
    b.next("k", kT0);
    CPPUNIT_ASSERT_EQUAL(int64_t(10000), static_cast<int64_t>(b.delay("k").count()));
  }

  void testBackoffMeasuredFromFinish() {
    Backoff b(10s, 300s);
    b.next("k", kT0);
    // The container finished 3 s after the restart; 4 s later 6 s remain.
    const int64_t finished = kT0 + 3 * kSecond;
    std::chrono::milliseconds left(0);
    CPPUNIT_ASSERT(b.inBackoff("k", finished, finished + 4 * kSecond, &left));
    CPPUNIT_ASSERT_MESSAGE("remaining " + std::to_string(left.count()) + " ms",
                           left >= 5990ms && left <= 6010ms);
    CPPUNIT_ASSERT(b.inBackoff("k", finished, finished + 10 * kSecond - 1, &left));
    CPPUNIT_ASSERT(!b.inBackoff("k", finished, finished + 10 * kSecond, &left));
  }

  void testDelaysDoubleUpToCap() {
    Backoff b(10s, 300s);
    const int64_t expected[] = {10, 20, 40, 80, 160, 300, 300, 300};
    int64_t now = kT0;
    for (int64_t want : expected) {
      b.next("k", now);
      CPPUNIT_ASSERT_EQUAL(want * 1000, static_cast<int64_t>(b.delay("k").count()));
      // A restart each time the delay has run out, as a crash-looping container gets.
      now += want * kSecond;
      std::chrono::milliseconds left(0);
      CPPUNIT_ASSERT(b.inBackoff("k", now - want * kSecond, now - 1, &left));
      CPPUNIT_ASSERT(!b.inBackoff("k", now - want * kSecond, now, &left));
    }
  }

  void testResetAfterTenMinutesWithoutFailure() {
    Backoff b(10s, 300s);
    int64_t now = kT0;
    for (int i = 0; i < 4; ++i, now += kSecond) b.next("k", now);
    CPPUNIT_ASSERT_EQUAL(int64_t(80000), static_cast<int64_t>(b.delay("k").count()));
    // 10 minutes (2 x the 300 s cap) and a bit without a restart: the next failure starts over.
    const int64_t later = now + 600 * kSecond + kSecond;
    std::chrono::milliseconds left(0);
    CPPUNIT_ASSERT(!b.inBackoff("k", later - kSecond, later, &left));
    b.next("k", later);
    CPPUNIT_ASSERT_EQUAL(int64_t(10000), static_cast<int64_t>(b.delay("k").count()));
  }

  void testNotResetWithinTenMinutes() {
    Backoff b(10s, 300s);
    b.next("k", kT0);
    b.next("k", kT0 + 1);  // 20 s
    const int64_t later = kT0 + 1 + 599 * kSecond;
    b.next("k", later);
    CPPUNIT_ASSERT_EQUAL(int64_t(40000), static_cast<int64_t>(b.delay("k").count()));
  }

  void testKeysAreIndependent() {
    Backoff b(10s, 300s);
    b.next("uid/app/hash1", kT0);
    b.next("uid/app/hash1", kT0);
    b.next("uid/app/hash2", kT0);
    CPPUNIT_ASSERT_EQUAL(int64_t(20000), static_cast<int64_t>(b.delay("uid/app/hash1").count()));
    CPPUNIT_ASSERT_EQUAL(int64_t(10000), static_cast<int64_t>(b.delay("uid/app/hash2").count()));
    std::chrono::milliseconds left(0);
    CPPUNIT_ASSERT(!b.inBackoff("uid/other/hash1", kT0, kT0, &left));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackoffTest);
