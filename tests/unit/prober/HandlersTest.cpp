// HandlersTest - single httpGet and tcpSocket attempts against a real local HTTP server and sockets.
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Net/SocketAddress.h>
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>

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

namespace {
// /healthz answers 200, anything else 500.
class TlsHandler : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    response.setStatus(request.getURI() == "/healthz" ? Poco::Net::HTTPResponse::HTTP_OK
                                                      : Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
    response.send() << "tls";
  }
};
class TlsHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new TlsHandler;
  }
};
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
  CPPUNIT_TEST(testHttpsWithoutVerification);
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

  // HTTPS probes talk TLS to a server whose certificate nobody vouches for (self-signed, as a pod's own
  // usually is): like the kubelet's, they do not verify it.
  void testHttpsWithoutVerification() {
    Poco::TemporaryFile dir;
    dir.createDirectories();
    const std::string key = dir.path() + "/key.pem";
    const std::string cert = dir.path() + "/cert.pem";
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                            " -days 1 -subj /CN=probe-test >/dev/null 2>&1";
    CPPUNIT_ASSERT_EQUAL_MESSAGE(cmd, 0, std::system(cmd.c_str()));
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, key, cert, "", Poco::Net::Context::VERIFY_NONE);
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 16, context);
    const int port = socket.address().port();
    Poco::Net::HTTPServer server(new TlsHandlerFactory, socket, new Poco::Net::HTTPServerParams);
    server.start();

    HttpGetAction ok = action("/healthz");
    ok.scheme = "HTTPS";
    ok.port = port;
    AttemptResult r = runHttpGet(ok, std::chrono::seconds(5));
    CPPUNIT_ASSERT_MESSAGE(r.output, r.outcome == ProbeOutcome::kSuccess);
    HttpGetAction bad = ok;
    bad.path = "/broken";
    r = runHttpGet(bad, std::chrono::seconds(5));
    CPPUNIT_ASSERT_MESSAGE(r.output, r.outcome == ProbeOutcome::kFailure);
    CPPUNIT_ASSERT_EQUAL(std::string("HTTP probe failed with statuscode: 500"), r.output);
    server.stop();
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
