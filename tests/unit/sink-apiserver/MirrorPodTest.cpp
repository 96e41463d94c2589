// MirrorPodTest: the mirror of a static pod has what NodeRestriction and the kubelet demand (the mirror
// annotation, one controller ownerReference to the Node), nothing the API server assigns, and the status
// compares by content, not by key order.
#include "MirrorPod.h"

#include <Poco/JSON/Parser.h>
#include <cppunit/extensions/HelperMacros.h>

#include <string>

using namespace podwarden::sink_apiserver;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

const char kStaticPod[] = R"({
  "metadata": {"name": "kube-apiserver-node1", "namespace": "kube-system", "uid": "0123abcd",
               "labels": {"component": "kube-apiserver"},
               "annotations": {"kubernetes.io/config.hash": "0123abcd", "kubernetes.io/config.source": "file",
                               "kubernetes.io/config.seen": "2026-12-02T06:00:00.1Z"}},
  "spec": {"nodeName": "node1", "hostNetwork": true, "containers": [{"name": "kube-apiserver", "image": "x"}]},
  "status": {"phase": "Running", "hostIP": "192.0.2.2"},
  "podwarden": {"origin": "/etc/kubernetes/manifests/kube-apiserver.yaml"}
})";

}  // namespace

class MirrorPodTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(MirrorPodTest);
  CPPUNIT_TEST(mirrorCopiesIdentityAndSpec);
  CPPUNIT_TEST(createBodyHasOneControllerOwner);
  CPPUNIT_TEST(statusIsCanonical);
  CPPUNIT_TEST(badPodsNameTheField);
  CPPUNIT_TEST(mirrorInfoOnlyForMirrors);
  CPPUNIT_TEST(statusPatchDeletesStaleAddresses);
  CPPUNIT_TEST(statusErrors);
  CPPUNIT_TEST(urlEncoding);
  CPPUNIT_TEST_SUITE_END();

 public:
  void mirrorCopiesIdentityAndSpec() {
    StaticPod p = staticPodFrom(parse(kStaticPod), "items[0]");
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system/kube-apiserver-node1"), p.fullName());
    CPPUNIT_ASSERT_EQUAL(std::string("0123abcd"), p.hash);
    CPPUNIT_ASSERT_EQUAL(std::string("2026-12-02T06:00:00.1Z"), p.seen);
    auto mirror = parse(p.mirrorJson);
    auto meta = mirror->getObject("metadata");
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), mirror->getValue<std::string>("apiVersion"));
    CPPUNIT_ASSERT_EQUAL(std::string("Pod"), mirror->getValue<std::string>("kind"));
    CPPUNIT_ASSERT_EQUAL(std::string("0123abcd"),
                         meta->getObject("annotations")->getValue<std::string>(kMirrorAnnotation));
    CPPUNIT_ASSERT_EQUAL(std::string("file"),
                         meta->getObject("annotations")->getValue<std::string>("kubernetes.io/config.source"));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-apiserver"), meta->getObject("labels")->getValue<std::string>("component"));
    CPPUNIT_ASSERT(!meta->has("uid"));  // the API server assigns the mirror its own UID
    CPPUNIT_ASSERT(!mirror->has("status"));
    CPPUNIT_ASSERT(!mirror->has("podwarden"));
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), mirror->getObject("spec")->getValue<std::string>("nodeName"));
  }

  void createBodyHasOneControllerOwner() {
    StaticPod p = staticPodFrom(parse(kStaticPod), "items[0]");
    auto body = parse(mirrorCreateBody(p, "node1", "node-uid-1"));
    auto owners = body->getObject("metadata")->getArray("ownerReferences");
    CPPUNIT_ASSERT_EQUAL(size_t{1}, owners->size());
    auto owner = owners->getObject(0);
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), owner->getValue<std::string>("apiVersion"));
    CPPUNIT_ASSERT_EQUAL(std::string("Node"), owner->getValue<std::string>("kind"));
    CPPUNIT_ASSERT_EQUAL(std::string("node1"), owner->getValue<std::string>("name"));
    CPPUNIT_ASSERT_EQUAL(std::string("node-uid-1"), owner->getValue<std::string>("uid"));
    CPPUNIT_ASSERT(owner->getValue<bool>("controller"));
    CPPUNIT_ASSERT(!owner->has("blockOwnerDeletion"));  // NodeRestriction refuses it
  }

  void statusIsCanonical() {
    StaticPod a = staticPodFrom(parse(kStaticPod), "a");
    std::string reordered = kStaticPod;
    reordered.replace(reordered.find(R"("phase": "Running", "hostIP": "192.0.2.2")"),
                      std::string(R"("phase": "Running", "hostIP": "192.0.2.2")").size(),
                      R"("hostIP": "192.0.2.2", "phase": "Running")");
    StaticPod b = staticPodFrom(parse(reordered), "b");
    CPPUNIT_ASSERT_EQUAL(a.statusJson, b.statusJson);
    CPPUNIT_ASSERT(a.statusJson.find("Running") != std::string::npos);
  }

  void badPodsNameTheField() {
    try {
      staticPodFrom(parse(R"({"metadata": {"name": "x"}, "spec": {}})"), "report batch: items[3]");
      CPPUNIT_FAIL("a pod without uid was accepted");
    } catch (const std::invalid_argument& e) {
      CPPUNIT_ASSERT_EQUAL(std::string("report batch: items[3].metadata.uid is missing"), std::string(e.what()));
    }
  }

  void mirrorInfoOnlyForMirrors() {
    CPPUNIT_ASSERT(!mirrorInfoFrom(parse(R"({"metadata": {"name": "web", "namespace": "default", "uid": "u"}})")));
    auto m = mirrorInfoFrom(parse(R"({"metadata": {"name": "a-node1", "namespace": "ns", "uid": "u1",
        "resourceVersion": "42", "creationTimestamp": "2026-12-02T06:00:00Z",
        "deletionTimestamp": "2026-12-02T06:00:30Z",
        "annotations": {"kubernetes.io/config.mirror": "h1"}}})"));
    CPPUNIT_ASSERT(m.has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("ns/a-node1"), m->fullName());
    CPPUNIT_ASSERT_EQUAL(std::string("h1"), m->hash);
    CPPUNIT_ASSERT_EQUAL(std::string("42"), m->resourceVersion);
    CPPUNIT_ASSERT(m->deleting);
  }

  void statusPatchDeletesStaleAddresses() {
    auto mirror = mirrorInfoFrom(parse(R"({"metadata": {"name": "a-n1", "namespace": "ns", "uid": "u1",
        "annotations": {"kubernetes.io/config.mirror": "h1"}},
        "status": {"hostIP": "192.0.2.2", "hostIPs": [{"ip": "192.0.2.2"}], "podIPs": [{"ip": "192.0.2.2"}]}})"));
    CPPUNIT_ASSERT(mirror.has_value());
    CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.2"), mirror->hostIPs.at(0));
    // The host's address changed: the old one is deleted from both lists, the order is the new one.
    auto patch = parse(statusPatch(
        R"({"conditions":[{"type":"Ready","status":"True"}],"hostIP":"192.0.2.9","hostIPs":[{"ip":"192.0.2.9"}],)"
        R"("podIP":"192.0.2.9","podIPs":[{"ip":"192.0.2.9"}],"phase":"Running"})",
        *mirror));
    auto status = patch->getObject("status");
    auto hostIPs = status->getArray("hostIPs");
    CPPUNIT_ASSERT_EQUAL(size_t{2}, hostIPs->size());
    CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.9"), hostIPs->getObject(0)->getValue<std::string>("ip"));
    CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.2"), hostIPs->getObject(1)->getValue<std::string>("ip"));
    CPPUNIT_ASSERT_EQUAL(std::string("delete"), hostIPs->getObject(1)->getValue<std::string>("$patch"));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, status->getArray("podIPs")->size());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, status->getArray("$setElementOrder/hostIPs")->size());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, status->getArray("conditions")->size());  // conditions: never deleted
    // Nothing stale: the status as it is, plus the element order of the address lists.
    patch = parse(statusPatch(R"({"hostIP":"192.0.2.2","hostIPs":[{"ip":"192.0.2.2"}],"phase":"Running"})", *mirror));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, patch->getObject("status")->getArray("hostIPs")->size());
    // The status has no pod IPs any more (the pod stopped): the mirror's go.
    CPPUNIT_ASSERT_EQUAL(std::string("delete"), patch->getObject("status")->getArray("podIPs")->getObject(0)->getValue<std::string>("$patch"));
  }

  void statusErrors() {
    std::string body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message":"pods \"x\" is forbidden: node \"n\" can only create mirror pods","reason":"Forbidden","code":403})";
    ApiStatus s = parseStatus(body);
    CPPUNIT_ASSERT_EQUAL(std::string("Forbidden"), s.reason);
    CPPUNIT_ASSERT_EQUAL(std::string("403 Forbidden: pods \"x\" is forbidden: node \"n\" can only create mirror pods"),
                         describeFailure(403, body));
    CPPUNIT_ASSERT_EQUAL(std::string("502 Bad Gateway: <html>bad gateway</html>"),
                         describeFailure(502, "<html>bad gateway</html>\n"));
    CPPUNIT_ASSERT_EQUAL(std::string("503 Service Unavailable"), describeFailure(503, ""));
  }

  void urlEncoding() {
    CPPUNIT_ASSERT_EQUAL(std::string("spec.nodeName%3Dnode-1"), urlEncode("spec.nodeName=node-1"));
    CPPUNIT_ASSERT_EQUAL(std::string("a%2Fb%20c"), urlEncode("a/b c"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MirrorPodTest);
