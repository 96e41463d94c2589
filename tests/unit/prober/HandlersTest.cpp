// HandlersTest - single httpGet and tcpSocket attempts against a real local HTTP server and sockets.
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <cppunit/extensions/HelperMacros.h>

#include "LocalHttpServer.h"
#include "prober/Handlers.h"

using namespace podwarden;
using namespace podwarden::prober;
using podwarden::test::LocalHttpServer;

namespace {

// A loopback port nothing listens on (bound, then closed).
int closedPort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  int port = s.address().port();
  s.close();
  return port;
}

}  // namespace

class HandlersTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(HandlersTest);
  CPPUNIT_TEST(testHttpSuccessRange);
  CPPUNIT_TEST(testHttpFailureMessage);
  CPPUNIT_TEST(testHttpHeaders);
  CPPUNIT_TEST(testRedirects);
  CPPUNIT_TEST(testBodyIsCapped);
  CPPUNIT_TEST(testHttpTimeout);
  CPPUNIT_TEST(testHttpConnectionRefused);
  CPPUNIT_TEST(testHttpsIsUnknown);
  CPPUNIT_TEST(testTcpSocket);
  CPPUNIT_TEST_SUITE_END();

  LocalHttpServer* server_ = nullptr;

  HttpGetAction action(const std::string& path) {
    HttpGetAction a;
    a.host = "127.0.0.1";
    a.port = server_->port();
    a.path = path;
    return a;
  }

 public:
  void setUp() override { server_ = new LocalHttpServer(); }
  void tearDown() override { delete server_; }

  void testHttpSuccessRange() {
    for (int code : {200, 204, 301, 399}) {
      server_->setStatus("/code", code);
      AttemptResult r = runHttpGet(action("/code"), std::chrono::seconds(5));
      CPPUNIT_ASSERT_MESSAGE(std::to_string(code), r.outcome == ProbeOutcome::kSuccess);
    }
    server_->setStatus("/code", 200);
    CPPUNIT_ASSERT_EQUAL(std::string("answer from /code"),
                         runHttpGet(action("/code"), std::chrono::seconds(5)).output);
  }

  void testHttpFailureMessage() {
    for (int code : {199, 400, 404, 500, 503}) {
      server_->setStatus("/healthz", code);
      AttemptResult r = runHttpGet(action("/healthz"), std::chrono::seconds(5));
      CPPUNIT_ASSERT(r.outcome == ProbeOutcome::kFailure);
      CPPUNIT_ASSERT_EQUAL("HTTP probe failed with statuscode: " + std::to_string(code), r.output);
    }
  }

  void testHttpHeaders() {
    runHttpGet(action("/h"), std::chrono::seconds(5));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-probe/1.30"), server_->lastHeader("User-Agent"));
    CPPUNIT_ASSERT_EQUAL(std::string("*/*"), server_->lastHeader("Accept"));
    CPPUNIT_ASSERT_EQUAL("127.0.0.1:" + std::to_string(server_->port()), server_->lastHeader("Host"));

    HttpGetAction a = action("/h");
    a.headers = {
        {"User-Agent", "mine/2"}, {"X-Probe", "yes"}, {"host", "example.test"}, {"Accept", "text/plain"}};
    runHttpGet(a, std::chrono::seconds(5));
    CPPUNIT_ASSERT_EQUAL(std::string("mine/2"), server_->lastHeader("User-Agent"));
    CPPUNIT_ASSERT_EQUAL(std::string("yes"), server_->lastHeader("X-Probe"));
    CPPUNIT_ASSERT_EQUAL(std::string("example.test"), server_->lastHeader("Host"));
    CPPUNIT_ASSERT_EQUAL(std::string("text/plain"), server_->lastHeader("Accept"));
  }

  void testRedirects() {
    // Same host: followed, and the final answer decides.
    server_->setStatus("/ok", 500);
    AttemptResult same = runHttpGet(action("/redirect-same"), std::chrono::seconds(5));
    CPPUNIT_ASSERT(same.outcome == ProbeOutcome::kFailure);
    CPPUNIT_ASSERT_EQUAL(1, server_->requests("/ok"));
    server_->setStatus("/ok", 200);
    CPPUNIT_ASSERT(runHttpGet(action("/redirect-same"), std::chrono::seconds(5)).outcome ==
                   ProbeOutcome::kSuccess);
    CPPUNIT_ASSERT_EQUAL(2, server_->requests("/ok"));

    // Another host: not followed, the redirect itself is a success.
    AttemptResult other = runHttpGet(action("/redirect-other"), std::chrono::seconds(5));
    CPPUNIT_ASSERT(other.outcome == ProbeOutcome::kSuccess);
    CPPUNIT_ASSERT(other.output.rfind("Probe terminated redirects", 0) == 0);

    AttemptResult loop = runHttpGet(action("/redirect-loop"), std::chrono::seconds(5));
    CPPUNIT_ASSERT(loop.outcome == ProbeOutcome::kFailure);
    CPPUNIT_ASSERT_MESSAGE(loop.output, loop.output.find("stopped after 10 redirects") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(10, server_->requests("/redirect-loop"));
  }

  void testBodyIsCapped() {
    AttemptResult r = runHttpGet(action("/big"), std::chrono::seconds(5));
    CPPUNIT_ASSERT(r.outcome == ProbeOutcome::kSuccess);
    CPPUNIT_ASSERT_EQUAL(kMaxHttpBody, r.output.size());
  }

  void testHttpTimeout() {
    AttemptResult r = runHttpGet(action("/slow"), std::chrono::seconds(1));
    CPPUNIT_ASSERT(r.outcome == ProbeOutcome::kFailure);
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.find("Client.Timeout exceeded") != std::string::npos);
  }

  void testHttpConnectionRefused() {
    HttpGetAction a = action("/healthz");
    a.port = closedPort();
    AttemptResult r = runHttpGet(a, std::chrono::seconds(2));
    CPPUNIT_ASSERT(r.outcome == ProbeOutcome::kFailure);
    const std::string prefix = "Get \"http://127.0.0.1:" + std::to_string(a.port) + "/healthz\": ";
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.rfind(prefix, 0) == 0);
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.find("refused") != std::string::npos);
  }

  void testHttpsIsUnknown() {
    HttpGetAction a = action("/");
    a.scheme = "HTTPS";
    AttemptResult r = runHttpGet(a, std::chrono::seconds(2));
    CPPUNIT_ASSERT(r.outcome == ProbeOutcome::kUnknown);
    CPPUNIT_ASSERT_EQUAL(0, server_->requests("/"));
  }

  void testTcpSocket() {
    TcpSocketAction open{"127.0.0.1", server_->port()};
    CPPUNIT_ASSERT(runTcpSocket(open, std::chrono::seconds(2)).outcome == ProbeOutcome::kSuccess);
    TcpSocketAction closed{"127.0.0.1", closedPort()};
    AttemptResult r = runTcpSocket(closed, std::chrono::seconds(2));
    CPPUNIT_ASSERT(r.outcome == ProbeOutcome::kFailure);
    CPPUNIT_ASSERT_MESSAGE(
        r.output, r.output.rfind("dial tcp 127.0.0.1:" + std::to_string(closed.port) + ": ", 0) == 0);
    CPPUNIT_ASSERT_MESSAGE(r.output, r.output.find("refused") != std::string::npos);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HandlersTest);
