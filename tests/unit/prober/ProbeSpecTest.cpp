// ProbeSpecTest - v1.Probe JSON to ProbeSpec: defaults, hosts, named ports and unusable probes.
#include <cppunit/extensions/HelperMacros.h>

#include "prober/ProbeSpec.h"
#include "util/Json.h"

using namespace podwarden;
using namespace podwarden::prober;

class ProbeSpecTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ProbeSpecTest);
  CPPUNIT_TEST(testAbsentProbe);
  CPPUNIT_TEST(testDefaults);
  CPPUNIT_TEST(testHttpGetFields);
  CPPUNIT_TEST(testNamedPort);
  CPPUNIT_TEST(testUnknownNamedPort);
  CPPUNIT_TEST(testTcpSocketAndExec);
  CPPUNIT_TEST(testUnsupportedHandlers);
  CPPUNIT_TEST_SUITE_END();

  static json::ObjectPtr container(const std::string& probes) {
    return json::parseObject(
        R"({"name":"web","image":"busybox","ports":[{"name":"http","containerPort":8080}])" +
        std::string(probes.empty() ? "" : ",") + probes + "}");
  }

 public:
  void testAbsentProbe() {
    CPPUNIT_ASSERT(!parseProbe(ProbeKind::kLiveness, container(""), "10.0.0.5"));
    CPPUNIT_ASSERT(
        !parseProbe(ProbeKind::kReadiness, container(R"("livenessProbe":{"tcpSocket":{"port":1}})"), "x"));
  }

  void testDefaults() {
    // Zeros count as unset, as in API defaulting.
    auto s =
        parseProbe(ProbeKind::kLiveness,
                   container(R"("livenessProbe":{"tcpSocket":{"port":80},"periodSeconds":0})"), "10.0.0.5");
    CPPUNIT_ASSERT(s);
    CPPUNIT_ASSERT(s->error.empty());
    CPPUNIT_ASSERT_EQUAL(0, s->initialDelaySeconds);
    CPPUNIT_ASSERT_EQUAL(1, s->timeoutSeconds);
    CPPUNIT_ASSERT_EQUAL(10, s->periodSeconds);
    CPPUNIT_ASSERT_EQUAL(1, s->successThreshold);
    CPPUNIT_ASSERT_EQUAL(3, s->failureThreshold);
    CPPUNIT_ASSERT(s->kind == ProbeKind::kLiveness);
  }

  void testHttpGetFields() {
    auto s = parseProbe(ProbeKind::kReadiness, container(R"("readinessProbe":{"httpGet":{"port":9000,
        "path":"healthz?full=1","httpHeaders":[{"name":"X-A","value":"1"},{"name":"X-A","value":"2"}]},
        "initialDelaySeconds":5,"timeoutSeconds":2,"periodSeconds":3,"successThreshold":2,"failureThreshold":4})"),
                        "10.0.0.5");
    CPPUNIT_ASSERT(s && s->error.empty());
    CPPUNIT_ASSERT(s->handler == ProbeSpec::Handler::kHttpGet);
    CPPUNIT_ASSERT_EQUAL(std::string("HTTP"), s->httpGet.scheme);
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.5"), s->httpGet.host);
    CPPUNIT_ASSERT_EQUAL(9000, s->httpGet.port);
    CPPUNIT_ASSERT_EQUAL(std::string("/healthz?full=1"), s->httpGet.path);
    CPPUNIT_ASSERT_EQUAL(size_t(2), s->httpGet.headers.size());
    CPPUNIT_ASSERT_EQUAL(std::string("2"), s->httpGet.headers[1].second);
    CPPUNIT_ASSERT_EQUAL(5, s->initialDelaySeconds);
    CPPUNIT_ASSERT_EQUAL(2, s->timeoutSeconds);
    CPPUNIT_ASSERT_EQUAL(3, s->periodSeconds);
    CPPUNIT_ASSERT_EQUAL(2, s->successThreshold);
    CPPUNIT_ASSERT_EQUAL(4, s->failureThreshold);

    auto explicitHost =
        parseProbe(ProbeKind::kLiveness,
                   container(R"("livenessProbe":{"httpGet":{"host":"127.0.0.2","port":1,"scheme":"HTTPS"}})"),
                   "10.0.0.5");
    CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.2"), explicitHost->httpGet.host);
    CPPUNIT_ASSERT_EQUAL(std::string("HTTPS"), explicitHost->httpGet.scheme);
    CPPUNIT_ASSERT_EQUAL(std::string("/"), explicitHost->httpGet.path);
  }

  void testNamedPort() {
    auto s = parseProbe(ProbeKind::kStartup, container(R"("startupProbe":{"httpGet":{"port":"http"}})"),
                        "1.2.3.4");
    CPPUNIT_ASSERT(s && s->error.empty());
    CPPUNIT_ASSERT_EQUAL(8080, s->httpGet.port);
  }

  void testUnknownNamedPort() {
    auto s = parseProbe(ProbeKind::kLiveness,
                        container(R"("livenessProbe":{"tcpSocket":{"port":"metrics"}})"), "1.2.3.4");
    CPPUNIT_ASSERT(s);
    CPPUNIT_ASSERT_EQUAL(
        std::string("container \"web\" livenessProbe.tcpSocket.port \"metrics\": the container "
                    "declares no port with this name"),
        s->error);
    auto noIP =
        parseProbe(ProbeKind::kLiveness, container(R"("livenessProbe":{"tcpSocket":{"port":80}})"), "");
    CPPUNIT_ASSERT_EQUAL(std::string("container \"web\" livenessProbe.tcpSocket: the pod has no IP to probe"),
                         noIP->error);
  }

  void testTcpSocketAndExec() {
    auto tcp = parseProbe(ProbeKind::kLiveness, container(R"("livenessProbe":{"tcpSocket":{"port":"http"}})"),
                          "10.1.1.1");
    CPPUNIT_ASSERT(tcp->handler == ProbeSpec::Handler::kTcpSocket);
    CPPUNIT_ASSERT_EQUAL(std::string("10.1.1.1"), tcp->tcpSocket.host);
    CPPUNIT_ASSERT_EQUAL(8080, tcp->tcpSocket.port);
    auto exec = parseProbe(ProbeKind::kReadiness,
                           container(R"("readinessProbe":{"exec":{"command":["cat","/tmp/ready"]}})"), "");
    CPPUNIT_ASSERT(exec->handler == ProbeSpec::Handler::kExec);
    CPPUNIT_ASSERT(exec->error.empty());
    CPPUNIT_ASSERT_EQUAL(size_t(2), exec->exec.command.size());
    CPPUNIT_ASSERT_EQUAL(std::string("/tmp/ready"), exec->exec.command[1]);
  }

  void testUnsupportedHandlers() {
    auto grpc =
        parseProbe(ProbeKind::kLiveness, container(R"("livenessProbe":{"grpc":{"port":9090}})"), "1.1.1.1");
    CPPUNIT_ASSERT(grpc->handler == ProbeSpec::Handler::kGrpc);
    CPPUNIT_ASSERT(grpc->error.find("gRPC probes are not supported") != std::string::npos);
    auto none =
        parseProbe(ProbeKind::kLiveness, container(R"("livenessProbe":{"periodSeconds":3})"), "1.1.1.1");
    CPPUNIT_ASSERT_EQUAL(
        std::string("container \"web\" livenessProbe has no handler (exec, httpGet, tcpSocket)"),
        none->error);
    auto emptyCmd =
        parseProbe(ProbeKind::kLiveness, container(R"("livenessProbe":{"exec":{"command":[]}})"), "");
    CPPUNIT_ASSERT_EQUAL(std::string("container \"web\" livenessProbe.exec.command is empty"),
                         emptyCmd->error);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ProbeSpecTest);
