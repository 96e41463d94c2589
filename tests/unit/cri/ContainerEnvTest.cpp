// A container's environment: literal values with $(VAR) expansion, the downward API (fieldRef,
// resourceFieldRef) and what static pods cannot have.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <map>

#include "CriTestPods.h"
#include "cri/PodTranslator.h"

using namespace podwarden::cri;
namespace json = podwarden::json;

using test::containerOf;
using test::makePod;

class ContainerEnvTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ContainerEnvTest);
  CPPUNIT_TEST(testLiteralsAndExpansion);
  CPPUNIT_TEST(testFieldRefs);
  CPPUNIT_TEST(testPodIpFollowsNetworkMode);
  CPPUNIT_TEST(testResourceFieldRefs);
  CPPUNIT_TEST(testRejectedSources);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    opts_ = TranslateOptions();
    opts_.nodeName = "node1";
    opts_.hostIP = "10.0.0.5";
    opts_.podIP = "172.17.0.9";
  }

  void testLiteralsAndExpansion() {
    json::ObjectPtr pod =
        makePod(R"({"containers":[{"name":"app","image":"x","env":[)"
                R"({"name":"HOST","value":"db"},)"
                R"J({"name":"URL","value":"postgres://$(HOST):$(PORT)/x"},)J"  // PORT is defined later: left
                                                                               // as written
                R"({"name":"PORT","value":"5432"},)"
                R"J({"name":"PRICE","value":"$$(HOST) costs $$5, $x, $(unclosed"},)J"
                R"J({"name":"HOST","value":"db2 after $(HOST)"},)J"  // a repeated name keeps its place, takes
                                                                     // the last value
                R"({"name":"NUM","value":8080},)"
                R"({"name":"EMPTY"}]}]})");
    std::vector<EnvVar> env = containerEnv(pod, containerOf(pod), opts_);
    CPPUNIT_ASSERT_EQUAL(size_t{6}, env.size());
    CPPUNIT_ASSERT_EQUAL(std::string("HOST"), env[0].name);
    CPPUNIT_ASSERT_EQUAL(std::string("db2 after db"), env[0].value);
    CPPUNIT_ASSERT_EQUAL(std::string("postgres://db:$(PORT)/x"), env[1].value);
    CPPUNIT_ASSERT_EQUAL(std::string("5432"), env[2].value);
    CPPUNIT_ASSERT_EQUAL(std::string("$(HOST) costs $5, $x, $(unclosed"), env[3].value);
    CPPUNIT_ASSERT_EQUAL(std::string("8080"), env[4].value);
    CPPUNIT_ASSERT_EQUAL(std::string("EMPTY"), env[5].name);
    CPPUNIT_ASSERT_EQUAL(std::string(), env[5].value);
  }

  void testFieldRefs() {
    json::ObjectPtr pod = makePod(
        R"({"nodeName":"node1","serviceAccountName":"default","containers":[{"name":"app","image":"x","env":[)"
        R"({"name":"NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}},)"
        R"({"name":"NS","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}},)"
        R"({"name":"UID","valueFrom":{"fieldRef":{"fieldPath":"metadata.uid"}}},)"
        R"({"name":"APP","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['app']"}}},)"
        R"({"name":"NOLABEL","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels['missing']"}}},)"
        R"({"name":"NOTE","valueFrom":{"fieldRef":{"fieldPath":"metadata.annotations['example.com/note']"}}},)"
        R"({"name":"LABELS","valueFrom":{"fieldRef":{"fieldPath":"metadata.labels"}}},)"
        R"({"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},)"
        R"({"name":"SA","valueFrom":{"fieldRef":{"fieldPath":"spec.serviceAccountName"}}},)"
        R"({"name":"HOSTIP","valueFrom":{"fieldRef":{"fieldPath":"status.hostIP"}}},)"
        R"J({"name":"REF","value":"$(NAME).$(NS)"}]}]})J",
        R"("labels":{"app":"web","tier":"a \"b\""},"annotations":{"example.com/note":"hi"})");
    std::map<std::string, std::string> env;
    for (const EnvVar& e : containerEnv(pod, containerOf(pod), opts_)) env[e.name] = e.value;
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), env["NAME"]);
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), env["NS"]);
    CPPUNIT_ASSERT_EQUAL(std::string("0123456789abcdef0123456789abcdef"), env["UID"]);
    CPPUNIT_ASSERT_EQUAL(std::string("web"), env["APP"]);
    CPPUNIT_ASSERT_EQUAL(std::string(), env["NOLABEL"]);
    CPPUNIT_ASSERT_EQUAL(std::string("hi"), env["NOTE"]);
    CPPUNIT_ASSERT_EQUAL(std::string("app=\"web\"\ntier=\"a \\\"b\\\"\""), env["LABELS"]);
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), env["NODE"]);
    CPPUNIT_ASSERT_EQUAL(std::string("default"), env["SA"]);
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.5"), env["HOSTIP"]);
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1.kube-system"), env["REF"]);
  }

  void testPodIpFollowsNetworkMode() {
    const std::string containers =
        R"("containers":[{"name":"app","image":"x","env":[)"
        R"({"name":"IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}}]}])";
    json::ObjectPtr hostNet = makePod(R"({"hostNetwork":true,)" + containers + "}");
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.5"),
                         containerEnv(hostNet, containerOf(hostNet), opts_)[0].value);
    json::ObjectPtr podNet = makePod("{" + containers + "}");
    CPPUNIT_ASSERT_EQUAL(std::string("172.17.0.9"),
                         containerEnv(podNet, containerOf(podNet), opts_)[0].value);
  }

  void testResourceFieldRefs() {
    json::ObjectPtr pod = makePod(
        R"({"containers":[{"name":"app","image":"x",)"
        R"("resources":{"requests":{"cpu":"250m","memory":"64Mi"},"limits":{"cpu":"1500m","memory":"128Mi"}},"env":[)"
        R"({"name":"CPU_LIMIT","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu"}}},)"
        R"({"name":"CPU_REQ_M","valueFrom":{"resourceFieldRef":{"resource":"requests.cpu","divisor":"1m"}}},)"
        R"({"name":"CPU_REQ","valueFrom":{"resourceFieldRef":{"resource":"requests.cpu"}}},)"
        R"({"name":"MEM_MI","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","divisor":"1Mi"}}},)"
        R"({"name":"MEM_REQ","valueFrom":{"resourceFieldRef":{"resource":"requests.memory"}}},)"
        R"({"name":"SIDE_MEM","valueFrom":{"resourceFieldRef":{"containerName":"side","resource":"limits.memory"}}},)"
        R"({"name":"SIDE_CPU","valueFrom":{"resourceFieldRef":{"containerName":"side","resource":"requests.cpu"}}}]},)"
        R"({"name":"side","image":"x"}]})");
    std::map<std::string, std::string> env;
    for (const EnvVar& e : containerEnv(pod, containerOf(pod), opts_)) env[e.name] = e.value;
    CPPUNIT_ASSERT_EQUAL(std::string("2"), env["CPU_LIMIT"]);  // 1.5 cores rounded up
    CPPUNIT_ASSERT_EQUAL(std::string("250"), env["CPU_REQ_M"]);
    CPPUNIT_ASSERT_EQUAL(std::string("1"), env["CPU_REQ"]);
    CPPUNIT_ASSERT_EQUAL(std::string("128"), env["MEM_MI"]);
    CPPUNIT_ASSERT_EQUAL(std::string("67108864"), env["MEM_REQ"]);
    // No limit: the node's allocatable, i.e. this host's memory.
    long pages = sysconf(_SC_PHYS_PAGES);
    long pageSize = sysconf(_SC_PAGE_SIZE);
    CPPUNIT_ASSERT_EQUAL(std::to_string(static_cast<int64_t>(pages) * pageSize), env["SIDE_MEM"]);
    CPPUNIT_ASSERT_EQUAL(std::string("0"), env["SIDE_CPU"]);

    json::ObjectPtr bad = makePod(
        R"({"containers":[{"name":"app","image":"x","env":[)"
        R"({"name":"X","valueFrom":{"resourceFieldRef":{"containerName":"ghost","resource":"limits.cpu"}}}]}]})");
    try {
      containerEnv(bad, containerOf(bad), opts_);
      CPPUNIT_FAIL("unknown container accepted");
    } catch (const TranslateError& e) {
      CPPUNIT_ASSERT_EQUAL(std::string("spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName"),
                           e.field());
    }
  }

  void testRejectedSources() {
    auto fieldOf = [&](const std::string& container) {
      json::ObjectPtr pod = makePod(R"({"containers":[)" + container + "]}");
      try {
        containerEnv(pod, containerOf(pod), opts_);
      } catch (const TranslateError& e) {
        return e.field();
      }
      return std::string("no error");
    };
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.containers[0].env[0].valueFrom"),
        fieldOf(R"({"name":"a","env":[{"name":"S","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}]})"));
    CPPUNIT_ASSERT_EQUAL(std::string("spec.containers[0].envFrom"),
                         fieldOf(R"({"name":"a","envFrom":[{"configMapRef":{"name":"c"}}]})"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.containers[0].env[0].valueFrom.fieldRef.fieldPath"),
        fieldOf(
            R"({"name":"a","env":[{"name":"P","valueFrom":{"fieldRef":{"fieldPath":"status.phase"}}}]})"));
    CPPUNIT_ASSERT_EQUAL(std::string("spec.containers[0].env[0].name"),
                         fieldOf(R"({"name":"a","env":[{"value":"v"}]})"));
  }

 private:
  TranslateOptions opts_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ContainerEnvTest);
