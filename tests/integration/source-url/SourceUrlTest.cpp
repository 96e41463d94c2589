// SourceUrlTest - the source-url plugin loaded through the ABI, polling a real HTTP(S) server on loopback.
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "UrlTestServer.h"
#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "util/Log.h"

using podwarden::Log;
using podwarden::LogLevel;
using podwarden::plugin::ManifestDoc;
using podwarden::plugin::PluginError;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::SourceInstance;
using podwarden::test::Answer;
using podwarden::test::TestPki;
using podwarden::test::UrlTestServer;

namespace {

using Snapshot = std::vector<ManifestDoc>;

constexpr std::chrono::seconds kWait{20};

const char kPodList[] =
    R"({"apiVersion":"v1","kind":"PodList","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},)"
    R"("spec":{"containers":[{"name":"c","image":"busybox"}]}}]})";

std::string pluginPath() {
  const char* dir = std::getenv("PODWARDEN_PLUGIN_DIR");
  CPPUNIT_ASSERT_MESSAGE("PODWARDEN_PLUGIN_DIR is not set", dir != nullptr);
  return std::string(dir) + "/source-url.so";
}

std::string describe(const Snapshot& s) {
  std::string out = "[";
  for (const auto& d : s) {
    out += " " + d.origin + "(" + std::to_string(d.data.size()) + "B" +
           (d.error.empty() ? "" : " error: " + d.error) +
           (d.warning.empty() ? "" : " warning: " + d.warning) + ")";
  }
  return out + " ]";
}

bool hasError(const Snapshot& s) {
  return s.size() == 1 && !s[0].error.empty();
}
bool hasData(const Snapshot& s, const std::string& data) {
  return s.size() == 1 && s[0].error.empty() && s[0].data == data;
}

class Recorder {
 public:
  void add(Snapshot s) {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshots_.push_back(std::move(s));
    changed_.notify_all();
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshots_.size();
  }
  Snapshot waitFor(const std::string& what, const std::function<bool(const Snapshot&)>& pred) {
    std::unique_lock<std::mutex> lock(mutex_);
    bool ok = changed_.wait_for(lock, kWait, [&] { return !snapshots_.empty() && pred(snapshots_.back()); });
    if (!ok) {
      CPPUNIT_FAIL("timed out waiting for " + what + "; latest snapshot: " +
                   (snapshots_.empty() ? std::string("none") : describe(snapshots_.back())));
    }
    return snapshots_.back();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Snapshot> snapshots_;
};

class LogCapture {
 public:
  LogCapture() {
    Log::setSink([this](LogLevel level, std::string_view component, std::string_view message) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back({level, std::string(component) + ": " + std::string(message)});
    });
  }
  ~LogCapture() { Log::setSink(nullptr); }
  size_t count(LogLevel level, const std::string& needle) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t n = 0;
    for (const auto& l : lines_) n += l.first == level && l.second.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

std::string jsonString(const std::string& s) {
  return "\"" + s + "\"";
}

}  // namespace

class SourceUrlTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SourceUrlTest);
  CPPUNIT_TEST(testPluginDescribesItself);
  CPPUNIT_TEST(testBodyEmittedOnceAndHeadersSent);
  CPPUNIT_TEST(testChangedBodyEmitted);
  CPPUNIT_TEST(testServerErrorReportedThenRecovers);
  CPPUNIT_TEST(testHangPastTimeout);
  CPPUNIT_TEST(testCloseMidBody);
  CPPUNIT_TEST(testOversizeWithLength);
  CPPUNIT_TEST(testOversizeChunked);
  CPPUNIT_TEST(testEtagConditionalGet);
  CPPUNIT_TEST(testLastModifiedConditionalGet);
  CPPUNIT_TEST(testEmptyBody);
  CPPUNIT_TEST(testSha256Pin);
  CPPUNIT_TEST(testRedirectFollowedWithinLimit);
  CPPUNIT_TEST(testFailureLogThrottled);
  CPPUNIT_TEST(testStopAbandonsHangingFetch);
  CPPUNIT_TEST(testBadConfigRejected);
  CPPUNIT_TEST(testTlsRightCaWorks);
  CPPUNIT_TEST(testTlsWrongCaRefused);
  CPPUNIT_TEST(testTlsWrongHostNameRefused);
  CPPUNIT_TEST(testTlsClientCertificate);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override { library_ = PluginLibrary::load(pluginPath()); }
  void tearDown() override {
    if (source_) source_->stop();
    source_.reset();
    recorder_.reset();
  }

  void testPluginDescribesItself() {
    CPPUNIT_ASSERT_EQUAL(std::string("source-url"), library_->info().name);
    CPPUNIT_ASSERT(library_->findFactory(PW_KIND_SOURCE, "url") != nullptr);
    CPPUNIT_ASSERT(library_->info().configSchemaJson.find("\"checkSeconds\"") != std::string::npos);
  }

  void testBodyEmittedOnceAndHeadersSent() {
    UrlTestServer server;
    server.setBody(kPodList);
    start(
        "{\"url\":" + jsonString(server.url()) +
        ",\"checkSeconds\":1,\"headers\":{\"X-Token\":[\"one\",\"two\"],\"Authorization\":[\"Bearer t\"]}}");
    Snapshot s = recorder_->waitFor("the body", [](const Snapshot& s) { return hasData(s, kPodList); });
    CPPUNIT_ASSERT_EQUAL(server.url(), s[0].origin);
    CPPUNIT_ASSERT_EQUAL(std::string("application/json"), s[0].contentType);
    // Identical body on later polls: nothing new is emitted.
    CPPUNIT_ASSERT(server.waitForRequests(3));
    CPPUNIT_ASSERT_EQUAL(size_t(1), recorder_->count());
    std::vector<std::string> token = server.lastHeader("X-Token");
    CPPUNIT_ASSERT_EQUAL(size_t(2), token.size());
    CPPUNIT_ASSERT_EQUAL(std::string("one"), token[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("two"), token[1]);
    CPPUNIT_ASSERT_EQUAL(std::string("Bearer t"), server.lastHeader("Authorization").at(0));
  }

  void testChangedBodyEmitted() {
    UrlTestServer server;
    server.setBody("kind: Pod\n", "application/yaml; charset=utf-8");
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    Snapshot s =
        recorder_->waitFor("the first body", [](const Snapshot& s) { return hasData(s, "kind: Pod\n"); });
    CPPUNIT_ASSERT_EQUAL(std::string("application/yaml"), s[0].contentType);
    server.setBody("kind: PodList\n", "text/plain");
    s = recorder_->waitFor("the second body",
                           [](const Snapshot& s) { return hasData(s, "kind: PodList\n"); });
    CPPUNIT_ASSERT_EQUAL(std::string(""), s[0].contentType);  // unknown type: the host sniffs
  }

  void testServerErrorReportedThenRecovers() {
    UrlTestServer server;
    server.setBody(kPodList);
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    recorder_->waitFor("the body", [](const Snapshot& s) { return hasData(s, kPodList); });
    server.setAnswer(Answer::kError500);
    Snapshot s = recorder_->waitFor("an error", hasError);
    CPPUNIT_ASSERT_EQUAL(server.url(), s[0].origin);
    assertContains(s[0].error, server.url());
    assertContains(s[0].error, "500");
    // The same body as before the failure is sent again: the host dropped it when it got the error.
    server.setAnswer(Answer::kServe);
    recorder_->waitFor("the body again", [](const Snapshot& s) { return hasData(s, kPodList); });
  }

  void testHangPastTimeout() {
    UrlTestServer server;
    server.setAnswer(Answer::kHang);
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1,\"timeoutSeconds\":1}");
    Snapshot s = recorder_->waitFor("a timeout error", hasError);
    assertContains(s[0].error, server.url());
    assertContains(s[0].error, "timeout of 1 s");
  }

  void testCloseMidBody() {
    UrlTestServer server;
    server.setBody(std::string(1000, 'x'));
    server.setAnswer(Answer::kCloseMidBody);
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    Snapshot s = recorder_->waitFor("an error", hasError);
    assertContains(s[0].error, server.url());
    assertContains(s[0].error, "closed after 100 of 1000");
  }

  void testOversizeWithLength() {
    UrlTestServer server;
    server.setAnswer(Answer::kHuge);
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    Snapshot s = recorder_->waitFor("an error", hasError);
    assertContains(s[0].error, server.url());
    assertContains(s[0].error, "larger than the limit of 10 MiB");
  }

  void testOversizeChunked() {
    UrlTestServer server;
    server.setAnswer(Answer::kHugeChunked);
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    Snapshot s = recorder_->waitFor("an error", hasError);
    assertContains(s[0].error, "larger than the limit of 10 MiB");
    assertContains(s[0].error, "stopped reading");
  }

  void testEtagConditionalGet() {
    UrlTestServer server;
    server.setBody(kPodList);
    server.setEtag("\"v1\"");
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    recorder_->waitFor("the body", [](const Snapshot& s) { return hasData(s, kPodList); });
    CPPUNIT_ASSERT(server.waitForRequests(4));
    CPPUNIT_ASSERT_EQUAL(std::string("\"v1\""), server.lastHeader("If-None-Match").at(0));
    CPPUNIT_ASSERT(server.notModified() >= 2);
    CPPUNIT_ASSERT_EQUAL(uint64_t(sizeof(kPodList) - 1), server.bodyBytesSent());  // downloaded once
    CPPUNIT_ASSERT_EQUAL(size_t(1), recorder_->count());
    // A new version is downloaded.
    server.setBody("kind: Pod\n");
    server.setEtag("\"v2\"");
    recorder_->waitFor("the new body", [](const Snapshot& s) { return hasData(s, "kind: Pod\n"); });
  }

  void testLastModifiedConditionalGet() {
    UrlTestServer server;
    server.setBody(kPodList);
    server.setLastModified("Wed, 21 Oct 2015 07:28:00 GMT");
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    recorder_->waitFor("the body", [](const Snapshot& s) { return hasData(s, kPodList); });
    CPPUNIT_ASSERT(server.waitForRequests(3));
    CPPUNIT_ASSERT_EQUAL(std::string("Wed, 21 Oct 2015 07:28:00 GMT"),
                         server.lastHeader("If-Modified-Since").at(0));
    CPPUNIT_ASSERT(server.notModified() >= 1);
    CPPUNIT_ASSERT_EQUAL(uint64_t(sizeof(kPodList) - 1), server.bodyBytesSent());
    CPPUNIT_ASSERT_EQUAL(size_t(1), recorder_->count());
  }

  void testEmptyBody() {
    UrlTestServer server;
    server.setBody("");
    {
      start("{\"url\":" + jsonString(server.url()) + "}");
      Snapshot s = recorder_->waitFor("an empty body", [](const Snapshot& s) { return hasData(s, ""); });
      assertContains(s[0].warning, "every pod from this URL is removed");
      source_->stop();
      source_.reset();
    }
    start("{\"url\":" + jsonString(server.url()) + ",\"emptyBodyMeansEmpty\":false}");
    Snapshot s = recorder_->waitFor("an error", hasError);
    assertContains(s[0].error, "empty body");
    assertContains(s[0].error, server.url());
  }

  void testSha256Pin() {
    UrlTestServer server;
    server.setBody("hello\n");
    // sha256("hello\n")
    const std::string good = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    const std::string other = std::string(64, 'a');
    start("{\"url\":" + jsonString(server.url()) + ",\"sha256\":\"" + other + "\"}");
    Snapshot s = recorder_->waitFor("a pin mismatch", hasError);
    assertContains(s[0].error, "does not match the pinned sha256 " + other);
    source_->stop();
    source_.reset();
    start("{\"url\":" + jsonString(server.url()) + ",\"sha256\":\"" + good + "\"}");
    recorder_->waitFor("the pinned body", [](const Snapshot& s) { return hasData(s, "hello\n"); });
  }

  void testRedirectFollowedWithinLimit() {
    UrlTestServer server;
    server.setBody(kPodList);
    start("{\"url\":" + jsonString(server.url("/old")) + "}");
    Snapshot s = recorder_->waitFor("the body", [](const Snapshot& s) { return hasData(s, kPodList); });
    CPPUNIT_ASSERT_EQUAL(server.url("/old"), s[0].origin);  // the origin stays the configured URL
    source_->stop();
    source_.reset();
    start("{\"url\":" + jsonString(server.url("/old")) + ",\"maxRedirects\":0}");
    s = recorder_->waitFor("an error", hasError);
    assertContains(s[0].error, "stopped after 0 redirects");
  }

  void testFailureLogThrottled() {
    LogCapture log;
    UrlTestServer server;
    server.setBody(kPodList);
    server.setAnswer(Answer::kError500);
    start("{\"url\":" + jsonString(server.url()) + ",\"checkSeconds\":1}");
    recorder_->waitFor("an error", hasError);
    CPPUNIT_ASSERT(server.waitForRequests(6));
    server.setAnswer(Answer::kServe);
    recorder_->waitFor("the body", [](const Snapshot& s) { return hasData(s, kPodList); });
    CPPUNIT_ASSERT_EQUAL(size_t(3), log.count(LogLevel::kWarning, "the server answered 500"));
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.count(LogLevel::kWarning, "further ones are logged at debug level"));
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.count(LogLevel::kInfo, "fetched again after"));
    // One error snapshot for the whole run of identical failures.
    CPPUNIT_ASSERT_EQUAL(size_t(2), recorder_->count());
  }

  void testStopAbandonsHangingFetch() {
    UrlTestServer server;
    server.setAnswer(Answer::kHang);
    start("{\"url\":" + jsonString(server.url()) + ",\"timeoutSeconds\":600}");
    CPPUNIT_ASSERT(server.waitForRequests(1));
    source_->stop();  // returns without waiting for the 600 s timeout; ctest's limit catches a hang
    source_.reset();
    CPPUNIT_ASSERT_EQUAL(size_t(0), recorder_->count());
  }

  void testBadConfigRejected() {
    assertRejected("{}", "\"url\" is required");
    assertRejected("{\"url\":\"ftp://example.com/pods\"}", "must start with http:// or https://");
    assertRejected("{\"url\":\"http://127.0.0.1/\",\"checkSecs\":3}", "unknown key \"checkSecs\"");
    assertRejected("{\"url\":\"http://127.0.0.1/\",\"checkSeconds\":0}", "\"checkSeconds\" must be between");
    assertRejected("{\"url\":\"https://127.0.0.1/\",\"caFile\":\"/nonexistent/ca.pem\"}",
                   "\"caFile\" /nonexistent/ca.pem cannot be read");
    assertRejected("{\"url\":\"https://127.0.0.1/\",\"clientCertFile\":\"/etc/hostname\"}",
                   "must be given together");
    assertRejected("{\"url\":\"http://127.0.0.1/\",\"sha256\":\"abc\"}", "\"sha256\" must be 64 hex digits");
    assertRejected("{\"url\":\"http://127.0.0.1/\",\"headers\":{\"Bad Name\":[\"x\"]}}",
                   "not a valid HTTP header name");
    assertRejected("{\"url\":\"https://127.0.0.1/\",\"caFile\":\"/etc/hostname\"}", "cannot set up TLS");
  }

  void testTlsRightCaWorks() {
    TestPki pki;
    UrlTestServer::Tls tls{pki.serverCert, pki.serverKey, ""};
    UrlTestServer server(&tls);
    server.setBody(kPodList);
    start("{\"url\":" + jsonString(server.url()) + ",\"caFile\":" + jsonString(pki.caCert) + "}");
    recorder_->waitFor("the body over TLS", [](const Snapshot& s) { return hasData(s, kPodList); });
  }

  void testTlsWrongCaRefused() {
    TestPki pki;
    UrlTestServer::Tls tls{pki.serverCert, pki.serverKey, ""};
    UrlTestServer server(&tls);
    server.setBody(kPodList);
    start("{\"url\":" + jsonString(server.url()) + ",\"caFile\":" + jsonString(pki.otherCaCert) + "}");
    Snapshot s = recorder_->waitFor("a TLS error", hasError);
    assertContains(s[0].error, server.url());
    assertContains(s[0].error, "TLS failure");
    assertContains(s[0].error, "not signed by caFile " + pki.otherCaCert);
    source_->stop();
    source_.reset();
    // No caFile: the system roots do not know the test CA either.
    start("{\"url\":" + jsonString(server.url()) + "}");
    s = recorder_->waitFor("a TLS error", hasError);
    assertContains(s[0].error, "TLS failure");
  }

  void testTlsWrongHostNameRefused() {
    TestPki pki;
    UrlTestServer::Tls tls{pki.wrongNameCert, pki.wrongNameKey, ""};
    UrlTestServer server(&tls);
    server.setBody(kPodList);
    start("{\"url\":" + jsonString(server.url()) + ",\"caFile\":" + jsonString(pki.caCert) + "}");
    Snapshot s = recorder_->waitFor("a host name error", hasError);
    assertContains(s[0].error, server.url());
    assertContains(s[0].error, "not valid for host 127.0.0.1");
    CPPUNIT_ASSERT_EQUAL(uint64_t(0), server.bodyBytesSent());
  }

  void testTlsClientCertificate() {
    TestPki pki;
    UrlTestServer::Tls tls{pki.serverCert, pki.serverKey, pki.caCert};
    UrlTestServer server(&tls);
    server.setBody(kPodList);
    start("{\"url\":" + jsonString(server.url()) + ",\"caFile\":" + jsonString(pki.caCert) + "}");
    Snapshot s = recorder_->waitFor("a refusal without a client certificate", hasError);
    assertContains(s[0].error, server.url());
    assertContains(s[0].error, "set clientCertFile and clientKeyFile");
    source_->stop();
    source_.reset();
    start("{\"url\":" + jsonString(server.url()) + ",\"caFile\":" + jsonString(pki.caCert) +
          ",\"clientCertFile\":" + jsonString(pki.clientCert) +
          ",\"clientKeyFile\":" + jsonString(pki.clientKey) + "}");
    recorder_->waitFor("the body with a client certificate",
                       [](const Snapshot& s) { return hasData(s, kPodList); });
  }

 private:
  void start(const std::string& config) {
    recorder_ = std::make_shared<Recorder>();
    source_ = std::make_unique<SourceInstance>(library_, "url", config, "node1");
    auto recorder = recorder_;
    auto r = source_->start([recorder](Snapshot s) { recorder->add(std::move(s)); });
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
  }

  void assertRejected(const std::string& config, const std::string& needle) {
    try {
      SourceInstance s(library_, "url", config, "node1");
      CPPUNIT_FAIL("config accepted: " + config);
    } catch (const PluginError& e) {
      assertContains(e.what(), needle);
    }
  }

  static void assertContains(const std::string& text, const std::string& needle) {
    CPPUNIT_ASSERT_MESSAGE("expected \"" + needle + "\" in: " + text, text.find(needle) != std::string::npos);
  }

  std::shared_ptr<PluginLibrary> library_;
  std::shared_ptr<Recorder> recorder_;
  std::unique_ptr<SourceInstance> source_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SourceUrlTest);
