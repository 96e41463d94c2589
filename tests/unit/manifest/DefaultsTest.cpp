// DefaultsTest: the defaulted pod carries the API defaults and the kubelet's static-pod additions.
#include <cppunit/extensions/HelperMacros.h>

#include "ManifestTestUtil.h"
#include "manifest/Defaults.h"
#include "util/Json.h"

using namespace podwarden;
using namespace podwarden::manifest;
using namespace podwarden::manifest::testing;

namespace {

json::ObjectPtr spec(const StaticPod& pod) {
  return json::getObject(pod.pod, "spec");
}

json::ObjectPtr container(const StaticPod& pod, const char* list, unsigned i) {
  return json::getArray(spec(pod), list)->getObject(i);
}

size_t noExecuteTolerations(const StaticPod& pod) {
  json::ArrayPtr t = json::getArray(spec(pod), "tolerations");
  size_t n = 0;
  for (unsigned i = 0; !t.isNull() && i < t->size(); ++i) {
    json::ObjectPtr o = t->getObject(i);
    if (json::getString(o, "operator") == "Exists" && json::getString(o, "effect") == "NoExecute" &&
        !json::has(o, "key")) {
      ++n;
    }
  }
  return n;
}

}  // namespace

class DefaultsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DefaultsTest);
  CPPUNIT_TEST(testPodDefaults);
  CPPUNIT_TEST(testContainerDefaults);
  CPPUNIT_TEST(testProbeDefaults);
  CPPUNIT_TEST(testWrittenValuesWin);
  CPPUNIT_TEST(testTolerationFileOnly);
  CPPUNIT_TEST(testPullPolicyFromImage);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testPodDefaults() {
    ParseResult r = parseFile(readFixture("good/web.yaml"), "/etc/kubernetes/manifests/web.yaml");
    expectValid(r);
    json::ObjectPtr s = spec(*r.pod);
    CPPUNIT_ASSERT_EQUAL(std::string("web-node1"), r.pod->name);
    CPPUNIT_ASSERT_EQUAL(std::string("default"), r.pod->ns);
    CPPUNIT_ASSERT_EQUAL(std::string("default"),
                         json::getString(json::getObject(r.pod->pod, "metadata"), "namespace"));
    CPPUNIT_ASSERT_EQUAL(std::string("Always"), json::getString(s, "restartPolicy"));
    CPPUNIT_ASSERT_EQUAL(std::string("ClusterFirst"), json::getString(s, "dnsPolicy"));
    CPPUNIT_ASSERT_EQUAL(int64_t(30), json::getInt(s, "terminationGracePeriodSeconds"));
    CPPUNIT_ASSERT_EQUAL(std::string("default-scheduler"), json::getString(s, "schedulerName"));
    CPPUNIT_ASSERT(json::getBool(s, "enableServiceLinks"));
    CPPUNIT_ASSERT_EQUAL(size_t(0), json::getObject(s, "securityContext")->size());
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), json::getString(s, "nodeName"));
    CPPUNIT_ASSERT_EQUAL(std::string("Pending"),
                         json::getString(json::getObject(r.pod->pod, "status"), "phase"));
    // Volumes: hostPath.type defaults to "", emptyDir {} stays as written.
    json::ArrayPtr volumes = json::getArray(s, "volumes");
    CPPUNIT_ASSERT_EQUAL(std::string("{}"),
                         json::stringify(json::getObject(volumes->getObject(0), "emptyDir")));
    json::ObjectPtr hostPath = json::getObject(volumes->getObject(1), "hostPath");
    CPPUNIT_ASSERT(hostPath->has("type"));
    CPPUNIT_ASSERT_EQUAL(std::string(""), json::getString(hostPath, "type", "unset"));
  }

  void testContainerDefaults() {
    ParseResult r = parseFile(readFixture("good/web.yaml"), "/etc/kubernetes/manifests/web.yaml");
    expectValid(r);
    json::ObjectPtr init = container(*r.pod, "initContainers", 0);
    json::ObjectPtr app = container(*r.pod, "containers", 0);
    CPPUNIT_ASSERT_EQUAL(std::string("Always"),
                         json::getString(init, "imagePullPolicy"));  // "busybox": no tag
    CPPUNIT_ASSERT_EQUAL(std::string("IfNotPresent"), json::getString(app, "imagePullPolicy"));
    for (const auto& c : {init, app}) {
      CPPUNIT_ASSERT_EQUAL(std::string("/dev/termination-log"), json::getString(c, "terminationMessagePath"));
      CPPUNIT_ASSERT_EQUAL(std::string("File"), json::getString(c, "terminationMessagePolicy"));
    }
    json::ObjectPtr port = json::getArray(app, "ports")->getObject(0);
    CPPUNIT_ASSERT_EQUAL(std::string("TCP"), json::getString(port, "protocol"));
    CPPUNIT_ASSERT_EQUAL(int64_t(8080), json::getInt(port, "hostPort"));  // hostNetwork pod
    // Requests default to limits where unset; written requests stay.
    json::ObjectPtr requests = json::getObject(json::getObject(app, "resources"), "requests");
    CPPUNIT_ASSERT_EQUAL(std::string("100m"), json::getString(requests, "cpu"));
    CPPUNIT_ASSERT_EQUAL(std::string("64Mi"), json::getString(requests, "memory"));
    // Env is kept as written (the downward API reference included).
    CPPUNIT_ASSERT_EQUAL(
        std::string("spec.nodeName"),
        json::getString(
            json::getObject(json::getObject(json::getArray(app, "env")->getObject(0), "valueFrom"),
                            "fieldRef"),
            "fieldPath"));
    // Without hostNetwork, hostPort stays unset.
    ParseResult plain = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: busybox, ports: [{containerPort: 80}]}]\n");
    expectValid(plain);
    json::ObjectPtr p = json::getArray(container(*plain.pod, "containers", 0), "ports")->getObject(0);
    CPPUNIT_ASSERT(!p->has("hostPort"));
    CPPUNIT_ASSERT_EQUAL(std::string("TCP"), json::getString(p, "protocol"));
  }

  void testProbeDefaults() {
    ParseResult r = parseFile(readFixture("good/web.yaml"), "/etc/kubernetes/manifests/web.yaml");
    expectValid(r);
    json::ObjectPtr app = container(*r.pod, "containers", 0);
    json::ObjectPtr ready = json::getObject(app, "readinessProbe");
    CPPUNIT_ASSERT_EQUAL(int64_t(1), json::getInt(ready, "timeoutSeconds"));
    CPPUNIT_ASSERT_EQUAL(int64_t(10), json::getInt(ready, "periodSeconds"));
    CPPUNIT_ASSERT_EQUAL(int64_t(1), json::getInt(ready, "successThreshold"));
    CPPUNIT_ASSERT_EQUAL(int64_t(3), json::getInt(ready, "failureThreshold"));
    json::ObjectPtr get = json::getObject(ready, "httpGet");
    CPPUNIT_ASSERT_EQUAL(std::string("HTTP"), json::getString(get, "scheme"));
    CPPUNIT_ASSERT_EQUAL(std::string("/"), json::getString(get, "path"));
    CPPUNIT_ASSERT_EQUAL(std::string("http"), json::getString(get, "port"));
    // periodSeconds: 0 is "unset" to Kubernetes and gets the default.
    CPPUNIT_ASSERT_EQUAL(int64_t(10), json::getInt(json::getObject(app, "livenessProbe"), "periodSeconds"));
  }

  void testWrittenValuesWin() {
    StaticPod pod = *parseFile(readFixture("good/kube-apiserver.yaml"), "/m/kube-apiserver.yaml").pod;
    json::ObjectPtr c = container(pod, "containers", 0);
    json::ObjectPtr live = json::getObject(c, "livenessProbe");
    CPPUNIT_ASSERT_EQUAL(int64_t(15), json::getInt(live, "timeoutSeconds"));
    CPPUNIT_ASSERT_EQUAL(int64_t(8), json::getInt(live, "failureThreshold"));
    CPPUNIT_ASSERT_EQUAL(int64_t(1), json::getInt(live, "successThreshold"));
    CPPUNIT_ASSERT_EQUAL(std::string("HTTPS"), json::getString(json::getObject(live, "httpGet"), "scheme"));
    CPPUNIT_ASSERT_EQUAL(std::string("/livez"), json::getString(json::getObject(live, "httpGet"), "path"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("RuntimeDefault"),
        json::getString(json::getObject(json::getObject(spec(pod), "securityContext"), "seccompProfile"),
                        "type"));
    ParseResult never = parseFile(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  restartPolicy: Never\n"
        "  terminationGracePeriodSeconds: 0\n"
        "  containers: [{name: a, image: busybox, imagePullPolicy: Never}]\n");
    expectValid(never);
    CPPUNIT_ASSERT_EQUAL(std::string("Never"), json::getString(spec(*never.pod), "restartPolicy"));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), json::getInt(spec(*never.pod), "terminationGracePeriodSeconds", -1));
    CPPUNIT_ASSERT_EQUAL(std::string("Never"),
                         json::getString(container(*never.pod, "containers", 0), "imagePullPolicy"));
  }

  void testTolerationFileOnly() {
    std::string text =
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: busybox}]\n";
    ParseResult file = parseFile(text);
    expectValid(file);
    CPPUNIT_ASSERT_EQUAL(size_t(1), noExecuteTolerations(*file.pod));
    ParseResult http = parseManifest(text, SourceRef{"http", "http://127.0.0.1/p"}, options());
    expectValid(http);
    CPPUNIT_ASSERT_EQUAL(size_t(0), noExecuteTolerations(*http.pod));
    // Already written: not added twice; other tolerations kept.
    ParseResult written =
        parseFile(text +
                  "  tolerations:\n  - {operator: Exists, effect: NoExecute}\n"
                  "  - {key: dedicated, operator: Equal, value: infra, effect: NoSchedule}\n");
    expectValid(written);
    CPPUNIT_ASSERT_EQUAL(size_t(1), noExecuteTolerations(*written.pod));
    CPPUNIT_ASSERT_EQUAL(size_t(2), json::getArray(spec(*written.pod), "tolerations")->size());
  }

  void testPullPolicyFromImage() {
    CPPUNIT_ASSERT_EQUAL(std::string("Always"), defaultPullPolicy("busybox"));
    CPPUNIT_ASSERT_EQUAL(std::string("Always"), defaultPullPolicy("busybox:latest"));
    CPPUNIT_ASSERT_EQUAL(std::string("IfNotPresent"), defaultPullPolicy("busybox:1.36"));
    CPPUNIT_ASSERT_EQUAL(std::string("Always"), defaultPullPolicy("localhost:5000/team/app"));
    CPPUNIT_ASSERT_EQUAL(std::string("IfNotPresent"), defaultPullPolicy("localhost:5000/team/app:v2"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("IfNotPresent"),
        defaultPullPolicy("registry.k8s.io/pause@sha256:"
                          "7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DefaultsTest);
