// FakeApiServerTest - the fake Kubernetes API server's HTTP semantics, through a Poco HTTPS client with
// client certificates and bearer tokens: CRUD with selectors, graceful deletion and preconditions, watches
// (order, 410 Expired), the status subresource and strategic merge patch, validation (pod status: one case
// per rule of the real ValidatePodStatusUpdate, timestamp decoding, podIP conversion, and a kubelet-shaped
// status accepted), the Node authorizer and NodeRestriction admission, authentication, restart with state
// kept, fault injection, tables.
#include <cppunit/extensions/HelperMacros.h>

#include <Poco/URI.h>

#include <chrono>
#include <ctime>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include "ApiTestSupport.h"
#include "util/Json.h"

using podwarden::fakeapi::FakeApiServer;
using podwarden::fakeapi::RequestRecord;
using podwarden::fakeapi::test::ApiClient;
using podwarden::fakeapi::test::HttpResult;
using podwarden::fakeapi::test::Identity;
using podwarden::fakeapi::test::mirrorPodJson;
using podwarden::fakeapi::test::podJson;
using podwarden::fakeapi::test::serverOptions;
namespace json = podwarden::json;
using ObjectPtr = Poco::JSON::Object::Ptr;

namespace {

const std::string kPods = "/api/v1/namespaces/kube-system/pods";

std::string podPath(const std::string& name) { return kPods + "/" + name; }

ObjectPtr metaOf(const ObjectPtr& o) { return json::getObject(o, "metadata"); }

// "2026-01-02T03:04:05Z" -> seconds since the epoch.
int64_t unixSeconds(const std::string& rfc3339) {
  std::tm tm{};
  CPPUNIT_ASSERT_MESSAGE(rfc3339, strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) != nullptr);
  return static_cast<int64_t>(timegm(&tm));
}

std::vector<std::string> itemNames(const HttpResult& r) {
  std::vector<std::string> names;
  auto items = json::getArray(r.json(), "items");
  if (items.isNull()) return names;
  for (const auto& v : *items) names.push_back(json::getString(metaOf(v.extract<ObjectPtr>()), "name"));
  return names;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// The fields of a Status's details.causes, "a;b;".
std::string causeFields(const HttpResult& r) {
  std::string fields;
  auto causes = json::getArray(json::getObject(r.json(), "details"), "causes");
  if (causes.isNull()) return fields;
  for (const auto& c : *causes) fields += json::getString(c.extract<ObjectPtr>(), "field") + ";";
  return fields;
}

// A status the kubelet (1.28/1.29) would send for a running static pod with a restarted container and a
// completed init container: every condition type, dual-stack pod and host IPs, all timestamp fields
// (fractional seconds and offsets included, null lastProbeTime), image and container IDs.
const char* kKubeletStatus = R"({"status":{
  "phase":"Running",
  "conditions":[
    {"type":"PodReadyToStartContainers","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-02T06:00:01Z"},
    {"type":"Initialized","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-02T06:00:02Z"},
    {"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-02T06:00:05Z"},
    {"type":"ContainersReady","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-02T06:00:05Z"},
    {"type":"PodScheduled","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-02T06:00:00Z"}],
  "hostIP":"192.0.2.2","hostIPs":[{"ip":"192.0.2.2"},{"ip":"2001:db8::2"}],
  "podIP":"10.244.0.7","podIPs":[{"ip":"10.244.0.7"},{"ip":"fd00:10:244::7"}],
  "startTime":"2026-12-02T06:00:00Z",
  "initContainerStatuses":[{"name":"init","state":{"terminated":{"exitCode":0,"reason":"Completed",
      "startedAt":"2026-12-02T06:00:01Z","finishedAt":"2026-12-02T06:00:02.123456789Z",
      "containerID":"docker://aaaa"}},
    "lastState":{},"ready":true,"restartCount":0,"image":"busybox:1.36",
    "imageID":"docker-pullable://busybox@sha256:0123","containerID":"docker://aaaa","started":false}],
  "containerStatuses":[{"name":"main","state":{"running":{"startedAt":"2026-12-02T07:00:03+01:00"}},
    "lastState":{"terminated":{"exitCode":137,"signal":9,"reason":"Error","message":"killed",
      "startedAt":"2026-12-02T06:00:02Z","finishedAt":"2026-12-02T06:00:02.5Z","containerID":"docker://bbbb"}},
    "ready":true,"restartCount":1,"image":"registry.k8s.io/pause:3.9",
    "imageID":"docker-pullable://registry.k8s.io/pause@sha256:4567","containerID":"docker://cccc","started":true}],
  "qosClass":"BestEffort"}})";

ObjectPtr condition(const ObjectPtr& pod, const std::string& type) {
  auto conditions = json::getArray(json::getObject(pod, "status"), "conditions");
  if (conditions.isNull()) return nullptr;
  for (const auto& c : *conditions) {
    if (json::getString(c.extract<ObjectPtr>(), "type") == type) return c.extract<ObjectPtr>();
  }
  return nullptr;
}

}  // namespace

class FakeApiServerTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(FakeApiServerTest);
  CPPUNIT_TEST(testCreateGetAndListWithSelectors);
  CPPUNIT_TEST(testListLimitAndContinue);
  CPPUNIT_TEST(testCreateExistingIsAlreadyExists);
  CPPUNIT_TEST(testValidationIsUnprocessable);
  CPPUNIT_TEST(testGracefulDeleteOfBoundPodMarksIt);
  CPPUNIT_TEST(testDeleteWithUidPrecondition);
  CPPUNIT_TEST(testWatchFromResourceVersionInOrder);
  CPPUNIT_TEST(testWatchWithoutResourceVersionStartsWithState);
  CPPUNIT_TEST(testWatchSelectorTransitions);
  CPPUNIT_TEST(testWatchFromExpiredVersionGets410);
  CPPUNIT_TEST(testStrategicMergeStatusPatch);
  CPPUNIT_TEST(testStatusUpdateIgnoresSpecAndNoOpKeepsVersion);
  CPPUNIT_TEST(testMirrorAnnotationIsImmutable);
  CPPUNIT_TEST(testKubeletStatusIsAccepted);
  CPPUNIT_TEST(testStatusConditionTypeMustBeQualifiedName);
  CPPUNIT_TEST(testStatusNominatedNodeNameMustBeNodeName);
  CPPUNIT_TEST(testStatusPodIPs);
  CPPUNIT_TEST(testStatusPodIPIsAuthoritativeOverPodIPs);
  CPPUNIT_TEST(testStatusHostIPs);
  CPPUNIT_TEST(testStatusTerminatedContainerMayNotRunAgain);
  CPPUNIT_TEST(testStatusTimestampsMustBeRfc3339);
  CPPUNIT_TEST(testStatusRulesTheRealServerDoesNotHave);
  CPPUNIT_TEST(testNodeRestrictionOnCreate);
  CPPUNIT_TEST(testNodeRestrictionOnStatusDeleteAndPatch);
  CPPUNIT_TEST(testNodeMayOnlyCreateItsOwnNode);
  CPPUNIT_TEST(testUnauthenticatedIs401);
  CPPUNIT_TEST(testBearerTokens);
  CPPUNIT_TEST(testAdmissionRejection);
  CPPUNIT_TEST(testStopAndStartKeepState);
  CPPUNIT_TEST(testFailNextAndRequestLog);
  CPPUNIT_TEST(testTables);
  CPPUNIT_TEST(testDiscoveryAndUnknownPaths);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    server_ = std::make_unique<FakeApiServer>(serverOptions());
    server_->start();
    admin_ = std::make_unique<ApiClient>(*server_, Identity::cert("admin"));
    node1_ = std::make_unique<ApiClient>(*server_, Identity::cert("node-n1"));
  }

  void tearDown() override {
    admin_.reset();
    node1_.reset();
    server_.reset();
  }

  HttpResult create(const std::string& body, ApiClient* client = nullptr) {
    auto ns = json::getString(metaOf(json::parseObject(body)), "namespace");
    return (client ? client : admin_.get())->post("/api/v1/namespaces/" + ns + "/pods", body);
  }

  void createOk(const std::string& body) {
    HttpResult r = create(body);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 201, r.code);
  }

  void testCreateGetAndListWithSelectors() {
    HttpResult r = create(podJson("kube-system", "a", R"({"metadata":{"labels":{"app":"a","tier":"cp"}},
                                                          "spec":{"nodeName":"n1"}})"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 201, r.code);
    ObjectPtr pod = r.json();
    std::string uid = json::getString(metaOf(pod), "uid");
    CPPUNIT_ASSERT_MESSAGE(uid, std::regex_match(uid, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
    CPPUNIT_ASSERT(std::regex_match(json::getString(metaOf(pod), "creationTimestamp"),
                                    std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ")));
    CPPUNIT_ASSERT_EQUAL(std::to_string(server_->resourceVersion()), json::getString(metaOf(pod), "resourceVersion"));
    CPPUNIT_ASSERT_EQUAL(std::string("Pending"), json::getString(json::getObject(pod, "status"), "phase"));
    CPPUNIT_ASSERT_EQUAL(int64_t(1), json::getInt(metaOf(pod), "generation"));
    createOk(podJson("kube-system", "b", R"({"metadata":{"labels":{"app":"b"}}})"));
    createOk(podJson("kube-system", "c", R"({"spec":{"nodeName":"n2"}})"));
    createOk(podJson("default", "d", R"({"metadata":{"labels":{"app":"a"}}})"));

    HttpResult got = admin_->get(podPath("a"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(got.describe(), 200, got.code);
    CPPUNIT_ASSERT_EQUAL(uid, json::getString(metaOf(got.json()), "uid"));
    CPPUNIT_ASSERT_EQUAL(std::string("Pod"), json::getString(got.json(), "kind"));
    CPPUNIT_ASSERT(server_->pod("kube-system", "a"));

    auto list = [&](const std::string& query) {
      HttpResult l = admin_->get(kPods + "?" + query);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(l.describe(), 200, l.code);
      return joined(itemNames(l));
    };
    CPPUNIT_ASSERT_EQUAL(std::string("a,b,c"), list(""));
    CPPUNIT_ASSERT_EQUAL(std::string("a"), list("labelSelector=app%3Da"));
    CPPUNIT_ASSERT_EQUAL(std::string("a"), list("labelSelector=app%3D%3Da,tier"));
    CPPUNIT_ASSERT_EQUAL(std::string("b,c"), list("labelSelector=app%21%3Da"));
    CPPUNIT_ASSERT_EQUAL(std::string("a,b"), list("labelSelector=app+in+%28a%2Cb%29"));
    CPPUNIT_ASSERT_EQUAL(std::string("c"), list("labelSelector=%21app"));
    CPPUNIT_ASSERT_EQUAL(std::string("a,b"), list("labelSelector=app"));
    CPPUNIT_ASSERT_EQUAL(std::string("a"), list("fieldSelector=spec.nodeName%3Dn1"));
    CPPUNIT_ASSERT_EQUAL(std::string("b"), list("fieldSelector=spec.nodeName%3D%3D"));
    CPPUNIT_ASSERT_EQUAL(std::string("a,c"), list("fieldSelector=metadata.name%21%3Db,status.phase%3DPending"));
    CPPUNIT_ASSERT_EQUAL(std::string("a"), list("fieldSelector=metadata.name%3Da&labelSelector=app"));
    HttpResult bad = admin_->get(kPods + "?fieldSelector=spec.foo%3Dx");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(bad.describe(), 400, bad.code);
    CPPUNIT_ASSERT_EQUAL(std::string("BadRequest"), bad.reason());

    HttpResult all = admin_->get("/api/v1/pods?labelSelector=app%3Da");
    CPPUNIT_ASSERT_EQUAL(std::string("d,a"), joined(itemNames(all)));  // sorted by namespace, then name
    CPPUNIT_ASSERT_EQUAL(std::string("PodList"), json::getString(all.json(), "kind"));
    CPPUNIT_ASSERT_EQUAL(std::to_string(server_->resourceVersion()),
                         json::getString(metaOf(all.json()), "resourceVersion"));
    CPPUNIT_ASSERT_EQUAL(404, admin_->get(podPath("nope")).code);
    CPPUNIT_ASSERT_EQUAL(std::string("NotFound"), admin_->get(podPath("nope")).reason());
  }

  void testListLimitAndContinue() {
    for (const char* name : {"p1", "p2", "p3"}) createOk(podJson("kube-system", name));
    HttpResult first = admin_->get(kPods + "?limit=2");
    CPPUNIT_ASSERT_EQUAL(std::string("p1,p2"), joined(itemNames(first)));
    std::string cont = json::getString(metaOf(first.json()), "continue");
    CPPUNIT_ASSERT(!cont.empty());
    CPPUNIT_ASSERT_EQUAL(int64_t(1), json::getInt(metaOf(first.json()), "remainingItemCount"));
    Poco::URI u(kPods);
    u.addQueryParameter("limit", "2");
    u.addQueryParameter("continue", cont);
    HttpResult second = admin_->get(u.toString());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(second.describe(), std::string("p3"), joined(itemNames(second)));
    CPPUNIT_ASSERT(json::getString(metaOf(second.json()), "continue").empty());
  }

  void testCreateExistingIsAlreadyExists() {
    createOk(podJson("kube-system", "dup"));
    HttpResult r = create(podJson("kube-system", "dup"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 409, r.code);
    CPPUNIT_ASSERT_EQUAL(std::string("AlreadyExists"), r.reason());
    CPPUNIT_ASSERT_EQUAL(std::string("Status"), json::getString(r.json(), "kind"));
    CPPUNIT_ASSERT_EQUAL(std::string("Failure"), json::getString(r.json(), "status"));
    CPPUNIT_ASSERT_EQUAL(std::string("pods \"dup\" already exists"), r.message());
    auto details = json::getObject(r.json(), "details");
    CPPUNIT_ASSERT_EQUAL(std::string("dup"), json::getString(details, "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("pods"), json::getString(details, "kind"));
    CPPUNIT_ASSERT_EQUAL(int64_t(409), json::getInt(r.json(), "code"));
  }

  void testValidationIsUnprocessable() {
    auto causesOf = [](const HttpResult& r) {
      std::string fields;
      auto causes = json::getArray(json::getObject(r.json(), "details"), "causes");
      if (causes.isNull()) return fields;
      for (const auto& c : *causes) fields += json::getString(c.extract<ObjectPtr>(), "field") + ";";
      return fields;
    };
    HttpResult noName = admin_->post(kPods, R"({"metadata":{},"spec":{"containers":[{"name":"c","image":"i"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(noName.describe(), 422, noName.code);
    CPPUNIT_ASSERT_EQUAL(std::string("Invalid"), noName.reason());
    CPPUNIT_ASSERT_EQUAL(std::string("metadata.name;"), causesOf(noName));
    HttpResult badName = create(podJson("kube-system", "Bad_Name"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(badName.describe(), 422, badName.code);
    CPPUNIT_ASSERT(badName.message().find("RFC 1123 subdomain") != std::string::npos);
    HttpResult noContainers = admin_->post(kPods, R"({"metadata":{"name":"x"},"spec":{"containers":[]}})");
    CPPUNIT_ASSERT_EQUAL(422, noContainers.code);
    CPPUNIT_ASSERT_EQUAL(std::string("spec.containers;"), causesOf(noContainers));
    HttpResult noImage = admin_->post(kPods, R"({"metadata":{"name":"x"},"spec":{"containers":[{"name":"c"},{"image":"i"}]}})");
    CPPUNIT_ASSERT_EQUAL(422, noImage.code);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(noImage.describe(), std::string("spec.containers[0].image;spec.containers[1].name;"),
                                 causesOf(noImage));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(noImage.message(), 0u,
                                 static_cast<unsigned>(noImage.message().find("Pod \"x\" is invalid: [")));
    HttpResult mirrorUnbound = create(podJson("kube-system", "m", R"({"metadata":{"annotations":{"kubernetes.io/config.mirror":"h"}}})"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(mirrorUnbound.describe(), 422, mirrorUnbound.code);
    CPPUNIT_ASSERT_EQUAL(std::string("metadata.annotations[kubernetes.io/config.mirror];"), causesOf(mirrorUnbound));
    CPPUNIT_ASSERT(mirrorUnbound.message().find("must set spec.nodeName if mirror pod annotation is set") !=
                   std::string::npos);
    HttpResult notJson = admin_->post(kPods, "{nope");
    CPPUNIT_ASSERT_EQUAL(400, notJson.code);
    CPPUNIT_ASSERT(server_->pods("kube-system").empty());
  }

  void testGracefulDeleteOfBoundPodMarksIt() {
    createOk(podJson("kube-system", "bound", R"({"spec":{"nodeName":"n1"}})"));
    createOk(podJson("kube-system", "unbound"));
    int64_t before = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    HttpResult r = admin_->del(podPath("bound"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 200, r.code);
    ObjectPtr m = metaOf(r.json());
    CPPUNIT_ASSERT_EQUAL(int64_t(30), json::getInt(m, "deletionGracePeriodSeconds"));
    int64_t deadline = unixSeconds(json::getString(m, "deletionTimestamp"));
    CPPUNIT_ASSERT_MESSAGE(json::getString(m, "deletionTimestamp"), deadline >= before + 29 && deadline <= before + 32);
    ObjectPtr stored = server_->pod("kube-system", "bound");
    CPPUNIT_ASSERT_MESSAGE("a bound pod stays until its node deletes it with grace 0", stored);
    CPPUNIT_ASSERT(json::has(metaOf(stored), "deletionTimestamp"));

    // Again, without options: pending, nothing changes.
    std::string rv = json::getString(metaOf(stored), "resourceVersion");
    HttpResult again = admin_->del(podPath("bound"));
    CPPUNIT_ASSERT_EQUAL(200, again.code);
    CPPUNIT_ASSERT_EQUAL(rv, json::getString(metaOf(server_->pod("kube-system", "bound")), "resourceVersion"));
    // A shorter grace period moves the deadline earlier.
    HttpResult shorter = admin_->del(podPath("bound") + "?gracePeriodSeconds=10");
    CPPUNIT_ASSERT_EQUAL(200, shorter.code);
    CPPUNIT_ASSERT_EQUAL(int64_t(10), json::getInt(metaOf(shorter.json()), "deletionGracePeriodSeconds"));
    int64_t shorterDeadline =
        unixSeconds(json::getString(metaOf(shorter.json()), "deletionTimestamp"));
    CPPUNIT_ASSERT_EQUAL(deadline - 20, shorterDeadline);
    // A longer one does not extend it.
    admin_->del(podPath("bound"), R"({"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":60})");
    CPPUNIT_ASSERT_EQUAL(int64_t(10), json::getInt(metaOf(server_->pod("kube-system", "bound")), "deletionGracePeriodSeconds"));

    HttpResult unbound = admin_->del(podPath("unbound"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(unbound.describe(), 200, unbound.code);
    CPPUNIT_ASSERT_EQUAL(std::string("unbound"), json::getString(metaOf(unbound.json()), "name"));
    CPPUNIT_ASSERT_MESSAGE("an unbound pod goes at once", !server_->pod("kube-system", "unbound"));
    CPPUNIT_ASSERT_EQUAL(404, admin_->del(podPath("unbound")).code);
  }

  void testDeleteWithUidPrecondition() {
    createOk(podJson("kube-system", "victim", R"({"spec":{"nodeName":"n1"}})"));
    std::string uid = json::getString(metaOf(server_->pod("kube-system", "victim")), "uid");
    HttpResult wrong = admin_->del(podPath("victim"), R"({"gracePeriodSeconds":0,"preconditions":{"uid":"not-the-uid"}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(wrong.describe(), 409, wrong.code);
    CPPUNIT_ASSERT_EQUAL(std::string("Conflict"), wrong.reason());
    CPPUNIT_ASSERT_EQUAL("Operation cannot be fulfilled on pods \"victim\": Precondition failed: UID in precondition: "
                         "not-the-uid, UID in object meta: " + uid,
                         wrong.message());
    CPPUNIT_ASSERT(server_->pod("kube-system", "victim"));
    HttpResult staleRv = admin_->del(podPath("victim"), R"({"preconditions":{"resourceVersion":"1"}})");
    CPPUNIT_ASSERT_EQUAL(409, staleRv.code);
    CPPUNIT_ASSERT(staleRv.message().find("Precondition failed: ResourceVersion in precondition: 1") != std::string::npos);
    HttpResult right = admin_->del(podPath("victim"), R"({"gracePeriodSeconds":0,"preconditions":{"uid":")" + uid + R"("}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(right.describe(), 200, right.code);
    CPPUNIT_ASSERT(!server_->pod("kube-system", "victim"));
  }

  void testWatchFromResourceVersionInOrder() {
    std::string rv0 = std::to_string(server_->resourceVersion());
    auto watch = admin_->watch(kPods + "?watch=1&resourceVersion=" + rv0);
    CPPUNIT_ASSERT_EQUAL(200, watch->code());
    createOk(podJson("kube-system", "w", R"({"spec":{"nodeName":"n1"}})"));
    createOk(podJson("default", "elsewhere"));
    HttpResult patched = admin_->patch(podPath("w") + "/status", R"({"status":{"phase":"Running"}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(patched.describe(), 200, patched.code);
    CPPUNIT_ASSERT_EQUAL(200, admin_->del(podPath("w") + "?gracePeriodSeconds=0").code);
    std::vector<std::string> types;
    int64_t lastRv = std::stoll(rv0);
    for (int i = 0; i < 3; ++i) {
      ObjectPtr ev = watch->next();
      CPPUNIT_ASSERT_MESSAGE("event " + std::to_string(i) + " missing", ev);
      types.push_back(json::getString(ev, "type"));
      ObjectPtr obj = json::getObject(ev, "object");
      CPPUNIT_ASSERT_EQUAL(std::string("w"), json::getString(metaOf(obj), "name"));
      int64_t rv = std::stoll(json::getString(metaOf(obj), "resourceVersion"));
      CPPUNIT_ASSERT_MESSAGE("resource versions increase", rv > lastRv);
      lastRv = rv;
    }
    CPPUNIT_ASSERT_EQUAL(std::string("ADDED,MODIFIED,DELETED"), joined(types));
    CPPUNIT_ASSERT_MESSAGE("no event from another namespace", !watch->next(300));

    // The same sequence again from the start, for a client that reconnects.
    auto replay = admin_->watch(kPods + "?watch=true&resourceVersion=" + rv0);
    std::vector<std::string> replayed;
    for (ObjectPtr ev = replay->next(); ev; ev = replay->next(300)) replayed.push_back(json::getString(ev, "type"));
    CPPUNIT_ASSERT_EQUAL(std::string("ADDED,MODIFIED,DELETED"), joined(replayed));
  }

  void testWatchWithoutResourceVersionStartsWithState() {
    createOk(podJson("kube-system", "existing"));
    auto watch = admin_->watch(kPods + "?watch=1");
    ObjectPtr first = watch->next();
    CPPUNIT_ASSERT(first);
    CPPUNIT_ASSERT_EQUAL(std::string("ADDED"), json::getString(first, "type"));
    CPPUNIT_ASSERT_EQUAL(std::string("existing"), json::getString(metaOf(json::getObject(first, "object")), "name"));
    createOk(podJson("kube-system", "later"));
    ObjectPtr second = watch->next();
    CPPUNIT_ASSERT(second);
    CPPUNIT_ASSERT_EQUAL(std::string("later"), json::getString(metaOf(json::getObject(second, "object")), "name"));
    // timeoutSeconds ends the stream.
    auto shortWatch = admin_->watch(kPods + "?watch=1&timeoutSeconds=1&resourceVersion=" +
                                    std::to_string(server_->resourceVersion()));
    CPPUNIT_ASSERT_MESSAGE("timeoutSeconds=1 ends the watch", shortWatch->waitEnded(5000));
  }

  void testWatchSelectorTransitions() {
    createOk(podJson("kube-system", "s", R"({"metadata":{"labels":{"app":"x"}}})"));
    auto watch = admin_->watch(kPods + "?watch=1&labelSelector=app%3Dx&resourceVersion=" +
                               std::to_string(server_->resourceVersion()));
    HttpResult relabel = admin_->patch(podPath("s"), R"({"metadata":{"labels":{"app":"y"}}})",
                                       "application/merge-patch+json");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(relabel.describe(), 200, relabel.code);
    ObjectPtr gone = watch->next();
    CPPUNIT_ASSERT(gone);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("no longer matching is DELETED", std::string("DELETED"), json::getString(gone, "type"));
    admin_->patch(podPath("s"), R"({"metadata":{"labels":{"app":"x"}}})", "application/merge-patch+json");
    ObjectPtr back = watch->next();
    CPPUNIT_ASSERT(back);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("matching again is ADDED", std::string("ADDED"), json::getString(back, "type"));
  }

  void testWatchFromExpiredVersionGets410() {
    std::string old = std::to_string(server_->resourceVersion());
    createOk(podJson("kube-system", "e1"));
    createOk(podJson("kube-system", "e2"));
    server_->expireWatchHistory();
    auto watch = admin_->watch(kPods + "?watch=1&resourceVersion=" + old);
    CPPUNIT_ASSERT_EQUAL(200, watch->code());
    ObjectPtr ev = watch->next();
    CPPUNIT_ASSERT(ev);
    CPPUNIT_ASSERT_EQUAL(std::string("ERROR"), json::getString(ev, "type"));
    ObjectPtr status = json::getObject(ev, "object");
    CPPUNIT_ASSERT_EQUAL(std::string("Status"), json::getString(status, "kind"));
    CPPUNIT_ASSERT_EQUAL(int64_t(410), json::getInt(status, "code"));
    CPPUNIT_ASSERT_EQUAL(std::string("Expired"), json::getString(status, "reason"));
    CPPUNIT_ASSERT(json::getString(status, "message").find("too old resource version") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE("the stream ends after the error", watch->waitEnded(3000));
    // The current version is still fine.
    auto current = admin_->watch(kPods + "?watch=1&resourceVersion=" + std::to_string(server_->resourceVersion()));
    createOk(podJson("kube-system", "e3"));
    ObjectPtr added = current->next();
    CPPUNIT_ASSERT(added);
    CPPUNIT_ASSERT_EQUAL(std::string("ADDED"), json::getString(added, "type"));

    // A short history drops old events by itself.
    FakeApiServer::Options options = serverOptions();
    options.watchHistorySize = 2;
    FakeApiServer small(options);
    small.start();
    ApiClient client(small, Identity::cert("admin"));
    std::string start = std::to_string(small.resourceVersion());
    for (const char* name : {"h1", "h2", "h3"}) {
      CPPUNIT_ASSERT_EQUAL(201, client.post(kPods, podJson("kube-system", name)).code);
    }
    auto late = client.watch(kPods + "?watch=1&resourceVersion=" + start);
    ObjectPtr err = late->next();
    CPPUNIT_ASSERT(err);
    CPPUNIT_ASSERT_EQUAL(int64_t(410), json::getInt(json::getObject(err, "object"), "code"));
  }

  void testStrategicMergeStatusPatch() {
    createOk(podJson("kube-system", "sp", R"({"spec":{"nodeName":"n1"}})"));
    HttpResult first = admin_->patch(podPath("sp") + "/status", R"({"status":{"phase":"Running","podIP":"10.0.0.5",
        "podIPs":[{"ip":"10.0.0.5"}],
        "conditions":[{"type":"PodScheduled","status":"True"},{"type":"Ready","status":"False","reason":"ContainersNotReady"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(first.describe(), 200, first.code);
    // The kubelet's status manager shape: $setElementOrder plus only the changed condition.
    HttpResult second = admin_->patch(podPath("sp") + "/status", R"({"metadata":{"uid":")" +
        json::getString(metaOf(first.json()), "uid") + R"("},"status":{
        "$setElementOrder/conditions":[{"type":"PodScheduled"},{"type":"Ready"}],
        "conditions":[{"type":"Ready","status":"True","reason":null}],"podIPs":[{"ip":"fd00::5"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(second.describe(), 200, second.code);
    ObjectPtr pod = server_->pod("kube-system", "sp");
    CPPUNIT_ASSERT_MESSAGE(podwarden::json::stringify(pod), condition(pod, "PodScheduled"));
    CPPUNIT_ASSERT_EQUAL(std::string("True"), json::getString(condition(pod, "Ready"), "status"));
    CPPUNIT_ASSERT_MESSAGE("null deletes a key", !json::has(condition(pod, "Ready"), "reason"));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), json::getString(json::getObject(pod, "status"), "phase"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("podIPs merge by ip", size_t(2),
                                 json::getArray(json::getObject(pod, "status"), "podIPs")->size());
    CPPUNIT_ASSERT_MESSAGE("no directive is stored",
                           podwarden::json::stringify(pod).find("$setElementOrder") == std::string::npos);
    // $patch: delete removes one condition.
    HttpResult del = admin_->patch(podPath("sp") + "/status",
                                   R"({"status":{"conditions":[{"type":"PodScheduled","$patch":"delete"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(del.describe(), 200, del.code);
    pod = server_->pod("kube-system", "sp");
    CPPUNIT_ASSERT(!condition(pod, "PodScheduled"));
    CPPUNIT_ASSERT(condition(pod, "Ready"));
    // A JSON merge patch replaces lists.
    HttpResult merge = admin_->patch(podPath("sp") + "/status", R"({"status":{"conditions":[{"type":"Initialized","status":"True"}]}})",
                                     "application/merge-patch+json");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(merge.describe(), 200, merge.code);
    pod = server_->pod("kube-system", "sp");
    CPPUNIT_ASSERT(!condition(pod, "Ready"));
    CPPUNIT_ASSERT(condition(pod, "Initialized"));
    HttpResult jsonPatch = admin_->patch(podPath("sp") + "/status", R"([{"op":"replace","path":"/status/phase","value":"Failed"}])",
                                         "application/json-patch+json");
    CPPUNIT_ASSERT_EQUAL(415, jsonPatch.code);
    CPPUNIT_ASSERT_EQUAL(std::string("UnsupportedMediaType"), jsonPatch.reason());
  }

  void testStatusUpdateIgnoresSpecAndNoOpKeepsVersion() {
    createOk(podJson("kube-system", "st", R"({"spec":{"nodeName":"n1"}})"));
    HttpResult r = admin_->patch(podPath("st") + "/status",
                                 R"({"spec":{"nodeName":"n2"},"status":{"phase":"Running"}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 200, r.code);
    ObjectPtr pod = server_->pod("kube-system", "st");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("spec does not change through /status", std::string("n1"),
                                 json::getString(json::getObject(pod, "spec"), "nodeName"));
    std::string rv = json::getString(metaOf(pod), "resourceVersion");
    uint64_t global = server_->resourceVersion();
    auto watch = admin_->watch(kPods + "?watch=1&resourceVersion=" + std::to_string(global));
    HttpResult same = admin_->patch(podPath("st") + "/status", R"({"status":{"phase":"Running"}})");
    CPPUNIT_ASSERT_EQUAL(200, same.code);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("a no-op update keeps the resource version", rv,
                                 json::getString(metaOf(same.json()), "resourceVersion"));
    CPPUNIT_ASSERT_EQUAL(global, server_->resourceVersion());
    CPPUNIT_ASSERT_MESSAGE("a no-op update sends no event", !watch->next(500));
    // PUT with a stale resourceVersion conflicts.
    ObjectPtr stale = server_->pod("kube-system", "st");
    metaOf(stale)->set("resourceVersion", "1");
    HttpResult conflict = admin_->put(podPath("st") + "/status", podwarden::json::stringify(stale));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(conflict.describe(), 409, conflict.code);
    CPPUNIT_ASSERT(conflict.message().find("the object has been modified") != std::string::npos);
    // GET on /status returns the pod.
    CPPUNIT_ASSERT_EQUAL(200, admin_->get(podPath("st") + "/status").code);
  }

  void testMirrorAnnotationIsImmutable() {
    std::string nodeUid = server_->createNode("n1");
    createOk(mirrorPodJson("kube-system", "mir", "n1", nodeUid));
    createOk(podJson("kube-system", "plain"));
    auto expect422 = [&](const HttpResult& r, const std::string& what) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(what + ": " + r.describe(), 422, r.code);
      CPPUNIT_ASSERT_MESSAGE(what, r.body.find("metadata.annotations[kubernetes.io/config.mirror]") != std::string::npos);
    };
    expect422(admin_->patch(podPath("mir"), R"({"metadata":{"annotations":{"kubernetes.io/config.mirror":"other"}}})"),
              "change");
    expect422(admin_->patch(podPath("mir"), R"({"metadata":{"annotations":{"kubernetes.io/config.mirror":null}}})"),
              "remove");
    expect422(admin_->patch(podPath("mir") + "/status",
                            R"({"metadata":{"annotations":{"kubernetes.io/config.mirror":"other"}}})"),
              "change through status");
    expect422(admin_->patch(podPath("plain"), R"({"metadata":{"annotations":{"kubernetes.io/config.mirror":"x"}}})"),
              "add");
    // Other changes are fine for an admin; spec fields other than images are not.
    HttpResult label = admin_->patch(podPath("mir"), R"({"metadata":{"labels":{"x":"y"}}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(label.describe(), 200, label.code);
    HttpResult image = admin_->patch(podPath("plain"), R"({"spec":{"containers":[{"name":"main","image":"busybox"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(image.describe(), 200, image.code);
    CPPUNIT_ASSERT_EQUAL(int64_t(2), json::getInt(metaOf(image.json()), "generation"));
    HttpResult restart = admin_->patch(podPath("plain"), R"({"spec":{"restartPolicy":"Never"}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(restart.describe(), 422, restart.code);
  }

  void testNodeRestrictionOnCreate() {
    auto expect = [&](int code, const HttpResult& r, const std::string& text) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(text + ": " + r.describe(), code, r.code);
      CPPUNIT_ASSERT_MESSAGE(text + ": " + r.message(), r.message().find(text) != std::string::npos);
    };
    // No Node object yet: 404 for the node.
    HttpResult noNode = create(mirrorPodJson("kube-system", "m1", "n1", "00000000-0000-4000-8000-000000000000"),
                               node1_.get());
    expect(404, noNode, "nodes \"n1\" not found");
    CPPUNIT_ASSERT_EQUAL(std::string("NotFound"), noNode.reason());
    std::string uid = server_->createNode("n1");
    std::string uid2 = server_->createNode("n2");

    expect(403, create(podJson("kube-system", "m1", R"({"spec":{"nodeName":"n1"}})"), node1_.get()),
           "pods \"m1\" is forbidden: pod does not have \"kubernetes.io/config.mirror\" annotation, node \"n1\" can only "
           "create mirror pods");
    expect(403, create(mirrorPodJson("kube-system", "m1", "n2", uid2), node1_.get()),
           "node \"n1\" can only create pods with spec.nodeName set to itself");
    expect(403, create(mirrorPodJson("kube-system", "m1", "n1", uid, R"({"metadata":{"ownerReferences":[]}})"), node1_.get()),
           "node \"n1\" can only create pods with an owner reference set to itself");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid,
                                R"({"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":")" + uid +
                                    R"(","controller":true},{"apiVersion":"v1","kind":"Node","name":"n2","uid":")" + uid2 + R"("}]}})"),
                  node1_.get()),
           "node \"n1\" can only create pods with a single owner reference set to itself");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid,
                                R"({"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":")" + uid + R"("}]}})"),
                  node1_.get()),
           "node \"n1\" can only create pods with a controller owner reference set to itself");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid,
                                R"({"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":")" + uid +
                                    R"(","controller":true,"blockOwnerDeletion":true}]}})"),
                  node1_.get()),
           "node \"n1\" must not set blockOwnerDeletion on an owner reference");
    expect(403, create(mirrorPodJson("kube-system", "m1", "n1", uid2), node1_.get()),
           "node n1 UID mismatch: expected " + uid2 + " got " + uid);
    expect(403, create(mirrorPodJson("kube-system", "m1", "n1", uid, R"({"spec":{"serviceAccountName":"default"}})"), node1_.get()),
           "node \"n1\" can not create pods that reference a service account");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid,
                                R"({"spec":{"volumes":[{"name":"s","secret":{"secretName":"x"}}]}})"),
                  node1_.get()),
           "node \"n1\" can not create pods that reference secrets");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid,
                                R"({"spec":{"containers":[{"name":"main","image":"i","env":[{"name":"A","valueFrom":{"configMapKeyRef":{"name":"c","key":"k"}}}]}]}})"),
                  node1_.get()),
           "node \"n1\" can not create pods that reference configmaps");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid,
                                R"({"spec":{"volumes":[{"name":"p","persistentVolumeClaim":{"claimName":"c"}}]}})"),
                  node1_.get()),
           "node \"n1\" can not create pods that reference persistentvolumeclaims");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid, R"({"spec":{"imagePullSecrets":[{"name":"regcred"}]}})"),
                  node1_.get()),
           "can not create pods that reference secrets");
    expect(403,
           create(mirrorPodJson("kube-system", "m1", "n1", uid,
                                R"({"spec":{"volumes":[{"name":"p","projected":{"sources":[{"configMap":{"name":"c"}}]}}]}})"),
                  node1_.get()),
           "can not create pods that reference configmaps");
    CPPUNIT_ASSERT(server_->pods().empty());

    HttpResult ok = create(mirrorPodJson("kube-system", "m1", "n1", uid), node1_.get());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ok.describe(), 201, ok.code);
    // The same works with the node's bearer token.
    ApiClient tokenNode(*server_, Identity::bearer("n1-token"));
    HttpResult viaToken = create(mirrorPodJson("kube-system", "m2", "n1", uid), &tokenNode);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(viaToken.describe(), 201, viaToken.code);
  }

  void testNodeRestrictionOnStatusDeleteAndPatch() {
    std::string uid = server_->createNode("n1");
    createOk(mirrorPodJson("kube-system", "mine", "n1", uid));
    createOk(podJson("kube-system", "theirs", R"({"spec":{"nodeName":"n2"}})"));
    // Reads are allowed.
    CPPUNIT_ASSERT_EQUAL(200, node1_->get(kPods).code);
    CPPUNIT_ASSERT_EQUAL(200, node1_->get("/api/v1/pods?fieldSelector=spec.nodeName%3Dn1").code);
    CPPUNIT_ASSERT_EQUAL(200, node1_->get("/api/v1/nodes/n1").code);
    // Status of its own pod: yes; labels through status: no; another node's pod: no.
    HttpResult status = node1_->patch(podPath("mine") + "/status", R"({"status":{"phase":"Running"}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(status.describe(), 200, status.code);
    HttpResult labels = node1_->patch(podPath("mine") + "/status", R"({"metadata":{"labels":{"a":"b"}}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(labels.describe(), 403, labels.code);
    CPPUNIT_ASSERT(labels.message().find("node \"n1\" cannot update labels through pod status") != std::string::npos);
    HttpResult other = node1_->patch(podPath("theirs") + "/status", R"({"status":{"phase":"Running"}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(other.describe(), 403, other.code);
    CPPUNIT_ASSERT(other.message().find("can only update pod status for pods with spec.nodeName set to itself") !=
                   std::string::npos);
    // The pod object itself: never.
    HttpResult patchPod = node1_->patch(podPath("mine"), R"({"metadata":{"annotations":{"a":"b"}}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(patchPod.describe(), 403, patchPod.code);
    CPPUNIT_ASSERT_EQUAL(std::string("Forbidden"), patchPod.reason());
    ObjectPtr mine = server_->pod("kube-system", "mine");
    CPPUNIT_ASSERT_EQUAL(403, node1_->put(podPath("mine"), podwarden::json::stringify(mine)).code);
    // Delete: only pods bound to itself.
    HttpResult delOther = node1_->del(podPath("theirs"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(delOther.describe(), 403, delOther.code);
    CPPUNIT_ASSERT(delOther.message().find("node \"n1\" can only delete pods with spec.nodeName set to itself") !=
                   std::string::npos);
    CPPUNIT_ASSERT_EQUAL(404, node1_->del(podPath("absent")).code);
    HttpResult delMine = node1_->del(podPath("mine"), R"({"gracePeriodSeconds":0})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(delMine.describe(), 200, delMine.code);
    CPPUNIT_ASSERT(!server_->pod("kube-system", "mine"));
    CPPUNIT_ASSERT(server_->pod("kube-system", "theirs"));
  }

  void testNodeMayOnlyCreateItsOwnNode() {
    HttpResult other = node1_->post("/api/v1/nodes", R"({"metadata":{"name":"n2"}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(other.describe(), 403, other.code);
    CPPUNIT_ASSERT(other.message().find("node \"n1\" is not allowed to modify node \"n2\"") != std::string::npos);
    HttpResult own = node1_->post("/api/v1/nodes", R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},
        "status":{"conditions":[{"type":"Ready","status":"True"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(own.describe(), 201, own.code);
    CPPUNIT_ASSERT(server_->node("n1"));
    HttpResult status = node1_->patch("/api/v1/nodes/n1/status",
                                      R"({"status":{"conditions":[{"type":"Ready","status":"False"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(status.describe(), 200, status.code);
    server_->createNode("n2");
    CPPUNIT_ASSERT_EQUAL(403, node1_->patch("/api/v1/nodes/n2/status", R"({"status":{}})").code);
    CPPUNIT_ASSERT_EQUAL(403, node1_->del("/api/v1/nodes/n2").code);
    server_->deleteNode("n2");
    CPPUNIT_ASSERT(!server_->node("n2"));
  }

  void testUnauthenticatedIs401() {
    ApiClient anonymous(*server_, Identity::anonymous());
    for (const char* path : {"/api/v1/pods", "/api", "/version", "/healthz"}) {
      HttpResult r = anonymous.get(path);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(path) + " " + r.describe(), 401, r.code);
      CPPUNIT_ASSERT_EQUAL(std::string("Unauthorized"), r.reason());
    }
    ApiClient badToken(*server_, Identity::bearer("wrong-token"));
    CPPUNIT_ASSERT_EQUAL(401, badToken.get("/api/v1/pods").code);
    CPPUNIT_ASSERT_EQUAL(size_t(5), server_->countRequests([](const RequestRecord& r) { return r.code == 401; }));
  }

  void testBearerTokens() {
    ApiClient admin(*server_, Identity::bearer("admin-token"));
    HttpResult created = admin.post(kPods, podJson("kube-system", "by-token"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(created.describe(), 201, created.code);
    auto log = server_->requests();
    CPPUNIT_ASSERT_EQUAL(std::string("token-admin"), log.back().user);
    ApiClient nobody(*server_, Identity::bearer("nobody-token"));
    HttpResult list = nobody.get(kPods);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(list.describe(), 403, list.code);
    CPPUNIT_ASSERT_EQUAL(std::string("pods is forbidden: User \"nobody\" cannot list resource \"pods\" in API group \"\" "
                                     "in the namespace \"kube-system\""),
                         list.message());
    CPPUNIT_ASSERT_EQUAL(403, nobody.get("/api/v1/nodes").code);
    CPPUNIT_ASSERT_EQUAL(200, nobody.get("/api").code);
    CPPUNIT_ASSERT_EQUAL(200, nobody.get("/version").code);
    // A client certificate's CN is the user name.
    CPPUNIT_ASSERT_EQUAL(200, node1_->get(kPods).code);
    CPPUNIT_ASSERT_EQUAL(std::string("system:node:n1"), server_->requests().back().user);
  }

  void testAdmissionRejection() {
    server_->rejectPodsWithLabel("security", "privileged");
    HttpResult r = create(podJson("kube-system", "priv", R"({"metadata":{"labels":{"security":"privileged"}}})"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 403, r.code);
    CPPUNIT_ASSERT_EQUAL(std::string("Forbidden"), r.reason());
    CPPUNIT_ASSERT_MESSAGE(r.message(), r.message().find("pods \"priv\" is forbidden: violates PodSecurity \"restricted:latest\": ") == 0);
    createOk(podJson("kube-system", "fine"));
    server_->setPodAdmission(nullptr);
    createOk(podJson("kube-system", "priv", R"({"metadata":{"labels":{"security":"privileged"}}})"));
  }

  void testStopAndStartKeepState() {
    createOk(podJson("kube-system", "persist"));
    uint16_t port = server_->port();
    std::string rv = std::to_string(server_->resourceVersion());
    auto watch = admin_->watch(kPods + "?watch=1&resourceVersion=" + rv);
    CPPUNIT_ASSERT_EQUAL(size_t(1), server_->openWatches());
    auto t0 = std::chrono::steady_clock::now();
    server_->stop();
    auto stopMs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    CPPUNIT_ASSERT_MESSAGE("stop() took " + std::to_string(stopMs) + " ms", stopMs < 3000);
    CPPUNIT_ASSERT_MESSAGE("the watch stream ended", watch->waitEnded(2000));
    bool refused = false;
    try {
      admin_->get(kPods);
    } catch (const Poco::Exception&) {
      refused = true;
    }
    CPPUNIT_ASSERT_MESSAGE("no connection while stopped", refused);
    // The objects are still there for assertions while the server is down.
    CPPUNIT_ASSERT(server_->pod("kube-system", "persist"));

    server_->start();
    CPPUNIT_ASSERT_EQUAL(port, server_->port());
    HttpResult got = admin_->get(podPath("persist"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(got.describe(), 200, got.code);
    createOk(podJson("kube-system", "after"));
    CPPUNIT_ASSERT(std::stoull(json::getString(metaOf(server_->pod("kube-system", "after")), "resourceVersion")) >
                   std::stoull(rv));
    // The history survived: a watch resumes from the version it had.
    auto resumed = admin_->watch(kPods + "?watch=1&resourceVersion=" + rv);
    ObjectPtr ev = resumed->next();
    CPPUNIT_ASSERT(ev);
    CPPUNIT_ASSERT_EQUAL(std::string("after"), json::getString(metaOf(json::getObject(ev, "object")), "name"));
  }

  void testFailNextAndRequestLog() {
    server_->clearRequests();
    server_->failNext("POST", "/pods", 429, 1);
    HttpResult throttled = create(podJson("kube-system", "f"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(throttled.describe(), 429, throttled.code);
    CPPUNIT_ASSERT_EQUAL(std::string("TooManyRequests"), throttled.reason());
    CPPUNIT_ASSERT_EQUAL(std::string("1"), throttled.headers.get("Retry-After", ""));
    CPPUNIT_ASSERT_MESSAGE("a fault changes nothing", !server_->pod("kube-system", "f"));
    createOk(podJson("kube-system", "f"));
    server_->failNext("PATCH", "/status", 500, 2);
    server_->failNext("", "/pods/f", 503, 1);
    for (int expected : {500, 500, 503, 200}) {
      HttpResult r = admin_->patch(podPath("f") + "/status", R"({"status":{"phase":"Running"}})");
      CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), expected, r.code);
      if (expected == 500) CPPUNIT_ASSERT_EQUAL(std::string("InternalError"), r.reason());
      if (expected == 503) CPPUNIT_ASSERT_EQUAL(std::string("ServiceUnavailable"), r.reason());
    }
    server_->failNext("GET", "/pods/f", 403, 1);
    CPPUNIT_ASSERT_EQUAL(403, admin_->get(podPath("f")).code);
    server_->failNext("GET", "/pods/f", 401, 1);
    server_->clearFaults();
    CPPUNIT_ASSERT_EQUAL(200, admin_->get(podPath("f")).code);

    CPPUNIT_ASSERT_EQUAL(size_t(4), server_->countRequests("PATCH", "/status"));
    CPPUNIT_ASSERT_EQUAL(size_t(2), server_->countRequests("POST"));
    auto log = server_->requests();
    CPPUNIT_ASSERT_EQUAL(std::string("POST"), log.front().method);
    CPPUNIT_ASSERT_EQUAL(kPods, log.front().path);
    CPPUNIT_ASSERT_EQUAL(429, log.front().code);
    CPPUNIT_ASSERT_EQUAL(std::string("kubernetes-admin"), log.front().user);
    CPPUNIT_ASSERT_EQUAL(std::string("application/json"), log.front().contentType);
    CPPUNIT_ASSERT(log.front().body.find("\"f\"") != std::string::npos);
    CPPUNIT_ASSERT_EQUAL(std::string("application/strategic-merge-patch+json"), log[2].contentType);
    CPPUNIT_ASSERT(server_->waitForRequest([](const RequestRecord& r) { return r.code == 503; },
                                           std::chrono::milliseconds(100)));
  }

  void testTables() {
    createOk(podJson("kube-system", "t-run", R"({"spec":{"nodeName":"n1"}})"));
    server_->setPodStatus("kube-system", "t-run", R"({"phase":"Running","podIP":"10.1.2.3",
        "containerStatuses":[{"name":"main","ready":true,"restartCount":2,"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}]})");
    createOk(podJson("kube-system", "t-crash"));
    server_->setPodStatus("kube-system", "t-crash", R"({"phase":"Running",
        "containerStatuses":[{"name":"main","ready":false,"restartCount":5,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]})");
    createOk(podJson("kube-system", "t-term", R"({"spec":{"nodeName":"n1"}})"));
    server_->deletePod("kube-system", "t-term");
    const std::string accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    HttpResult r = admin_->get(kPods, accept);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 200, r.code);
    ObjectPtr table = r.json();
    CPPUNIT_ASSERT_EQUAL(std::string("Table"), json::getString(table, "kind"));
    CPPUNIT_ASSERT_EQUAL(std::string("meta.k8s.io/v1"), json::getString(table, "apiVersion"));
    std::string columns;
    for (const auto& c : *json::getArray(table, "columnDefinitions")) columns += json::getString(c.extract<ObjectPtr>(), "name") + ",";
    CPPUNIT_ASSERT_EQUAL(std::string("Name,Ready,Status,Restarts,Age,IP,Node,Nominated Node,Readiness Gates,"), columns);
    std::map<std::string, std::string> rows;
    for (const auto& rowVar : *json::getArray(table, "rows")) {
      ObjectPtr row = rowVar.extract<ObjectPtr>();
      auto cells = json::getArray(row, "cells");
      std::string text;
      for (unsigned i = 0; i < cells->size(); ++i) text += (i ? "|" : "") + cells->get(i).toString();
      rows[cells->get(0).toString()] = text;
      CPPUNIT_ASSERT_EQUAL(std::string("PartialObjectMetadata"), json::getString(json::getObject(row, "object"), "kind"));
    }
    CPPUNIT_ASSERT_MESSAGE(rows["t-run"], std::regex_match(rows["t-run"], std::regex("t-run\\|1/1\\|Running\\|2\\|\\d+s\\|10\\.1\\.2\\.3\\|n1\\|<none>\\|<none>")));
    CPPUNIT_ASSERT_MESSAGE(rows["t-crash"], std::regex_match(rows["t-crash"], std::regex("t-crash\\|0/1\\|CrashLoopBackOff\\|5\\|.*")));
    CPPUNIT_ASSERT_MESSAGE(rows["t-term"], std::regex_match(rows["t-term"], std::regex("t-term\\|0/1\\|Terminating\\|0\\|.*")));
    HttpResult one = admin_->get(podPath("t-run") + "?includeObject=Object", accept);
    ObjectPtr rowObject = json::getObject(json::getArray(one.json(), "rows")->getObject(0), "object");
    CPPUNIT_ASSERT_EQUAL(std::string("Pod"), json::getString(rowObject, "kind"));
    server_->createNode("n1");
    HttpResult nodes = admin_->get("/api/v1/nodes", accept);
    auto cells = json::getArray(json::getArray(nodes.json(), "rows")->getObject(0), "cells");
    CPPUNIT_ASSERT_EQUAL(std::string("n1"), cells->get(0).toString());
    CPPUNIT_ASSERT_EQUAL(std::string("Ready"), cells->get(1).toString());
    CPPUNIT_ASSERT_EQUAL(std::string("<none>"), cells->get(2).toString());
    CPPUNIT_ASSERT_EQUAL(std::string("v1.28.15"), cells->get(4).toString());
    // Without as=Table: the plain list.
    CPPUNIT_ASSERT_EQUAL(std::string("PodList"), json::getString(admin_->get(kPods).json(), "kind"));
  }

  void testDiscoveryAndUnknownPaths() {
    HttpResult api = admin_->get("/api");
    CPPUNIT_ASSERT_EQUAL(std::string("APIVersions"), json::getString(api.json(), "kind"));
    HttpResult v1 = admin_->get("/api/v1");
    std::string names;
    auto resources = json::getArray(v1.json(), "resources");
    for (const auto& r : *resources) names += json::getString(r.extract<ObjectPtr>(), "name") + ",";
    CPPUNIT_ASSERT_EQUAL(std::string("events,namespaces,nodes,nodes/status,pods,pods/status,"), names);
    CPPUNIT_ASSERT_EQUAL(std::string("APIGroupList"), json::getString(admin_->get("/apis").json(), "kind"));
    CPPUNIT_ASSERT(json::getString(admin_->get("/version").json(), "gitVersion").find("v1.28.") == 0);
    CPPUNIT_ASSERT_EQUAL(std::string("ok"), admin_->get("/readyz").body);
    CPPUNIT_ASSERT_EQUAL(404, admin_->get("/api/v1/secrets").code);
    CPPUNIT_ASSERT_EQUAL(404, admin_->get("/apis/apps/v1").code);
    CPPUNIT_ASSERT_EQUAL(404, admin_->get("/openapi/v2").code);
    CPPUNIT_ASSERT_EQUAL(404, admin_->get(podPath("x") + "/log").code);
    HttpResult post = admin_->post(podPath("x"), "{}");
    CPPUNIT_ASSERT_EQUAL(405, post.code);
    CPPUNIT_ASSERT_EQUAL(std::string("MethodNotAllowed"), post.reason());
    CPPUNIT_ASSERT_EQUAL(405, admin_->post("/api", "{}").code);
    CPPUNIT_ASSERT_EQUAL(200, admin_->get("/api/v1/namespaces/kube-system").code);
  }

  // --- Status validation (docs/fake-apiserver.md "Status validation") ---

  // A pod bound to n1 with `restartPolicy`, and its status path.
  std::string boundPod(const std::string& name, const std::string& restartPolicy = "Always",
                       const std::string& extraSpec = "") {
    createOk(
        podJson("kube-system", name,
                R"({"spec":{"nodeName":"n1","restartPolicy":")" + restartPolicy + "\"" + extraSpec + "}}"));
    return podPath(name) + "/status";
  }

  void expectInvalid(const HttpResult& r, const std::string& fields, const std::string& text = "") {
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 422, r.code);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), std::string("Invalid"), r.reason());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), fields, causeFields(r));
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.message().find(text) != std::string::npos);
  }

  void testKubeletStatusIsAccepted() {
    std::string nodeUid = server_->createNode("n1");
    createOk(mirrorPodJson("kube-system", "kubelet-like", "n1", nodeUid,
                           R"({"spec":{"initContainers":[{"name":"init","image":"busybox:1.36"}]}})"));
    // As the node, the way the kubelet's status manager sends it (strategic merge patch), then again as PUT.
    HttpResult r = node1_->patch(podPath("kubelet-like") + "/status", kKubeletStatus);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 200, r.code);
    ObjectPtr status = json::getObject(server_->pod("kube-system", "kubelet-like"), "status");
    CPPUNIT_ASSERT_EQUAL(std::string("10.244.0.7"), json::getString(status, "podIP"));
    CPPUNIT_ASSERT_EQUAL(size_t(2), json::getArray(status, "podIPs")->size());
    CPPUNIT_ASSERT_EQUAL(size_t(2), json::getArray(status, "hostIPs")->size());
    CPPUNIT_ASSERT_EQUAL(size_t(5), json::getArray(status, "conditions")->size());
    ObjectPtr pod = server_->pod("kube-system", "kubelet-like");
    pod->set("status", json::getObject(json::parseObject(kKubeletStatus), "status"));
    HttpResult put = node1_->put(podPath("kubelet-like") + "/status", podwarden::json::stringify(pod));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(put.describe(), 200, put.code);
    // Also under restartPolicy Never, where container state transitions are checked: the same status twice.
    std::string never = boundPod("never-ok", "Never");
    CPPUNIT_ASSERT_EQUAL(200, admin_->patch(never, kKubeletStatus).code);
    HttpResult again = admin_->patch(never, kKubeletStatus);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(again.describe(), 200, again.code);
  }

  void testStatusConditionTypeMustBeQualifiedName() {
    std::string path = boundPod("cond");
    // validatePodConditions: only the type is checked, and reported under metadata.conditions[i].Type (sic).
    HttpResult bad = admin_->patch(path, R"({"status":{"conditions":[
        {"type":"Ready","status":"True"},{"type":"not a type!","status":"True"},
        {"type":"example.com/Custom","status":"True"},{"type":"Bad_Prefix/x","status":"True"}]}})");
    expectInvalid(
        bad, "metadata.conditions[1].Type;metadata.conditions[3].Type;",
        "metadata.conditions[1].Type: Invalid value: \"not a type!\": name part must consist of alphanumeric "
        "characters, '-', '_' or '.', and must start and end with an alphanumeric character");
    CPPUNIT_ASSERT_MESSAGE(
        bad.message(), bad.message().find("prefix part a lowercase RFC 1123 subdomain") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(bad.message(), bad.message().find("Pod \"cond\" is invalid: [") == 0);
    CPPUNIT_ASSERT_MESSAGE(
        "nothing stored",
        !json::has(json::getObject(server_->pod("kube-system", "cond"), "status"), "conditions"));
    // An empty type: two messages for one field.
    HttpResult empty = admin_->patch(path, R"({"status":{"conditions":[{"type":"","status":"True"}]}})");
    expectInvalid(empty, "metadata.conditions[0].Type;metadata.conditions[0].Type;",
                  "name part must be non-empty");
    // The status value is not validated by the API server: any string goes, for system conditions too.
    HttpResult anyStatus = admin_->patch(path, R"({"status":{"conditions":[{"type":"Ready","status":"Maybe"},
        {"type":"example.com/Custom","status":""}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(anyStatus.describe(), 200, anyStatus.code);
  }

  void testStatusNominatedNodeNameMustBeNodeName() {
    std::string path = boundPod("nominated");
    expectInvalid(admin_->patch(path, R"({"status":{"nominatedNodeName":"Node_1"}})"),
                  "status.nominatedNodeName;", "RFC 1123 subdomain");
    CPPUNIT_ASSERT_EQUAL(200,
                         admin_->patch(path, R"({"status":{"nominatedNodeName":"n2.example.com"}})").code);
  }

  void testStatusPodIPs() {
    std::string path = boundPod("ips");
    auto put = [&](const std::string& statusJson) {
      ObjectPtr pod = server_->pod("kube-system", "ips");
      pod->set("status", json::parseObject(statusJson));
      return admin_->put(path, podwarden::json::stringify(pod));
    };
    // validatePodIPs: each entry a valid IP (IsValidIP)...
    expectInvalid(put(R"({"podIPs":[{"ip":"10.0.0.300"}]})"), "status.podIPs[0];",
                  "status.podIPs[0]: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. "
                  "10.9.8.7 or 2001:db8::ffff)");
    // ... podIP too, since conversion makes it podIPs[0] ...
    expectInvalid(put(R"({"podIP":"not-an-ip"})"), "status.podIPs[0];", "\"not-an-ip\"");
    expectInvalid(put(R"({"podIP":"fe80::1%eth0"})"), "status.podIPs[0];");
    // ... at most one per family ...
    expectInvalid(put(R"({"podIPs":[{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}]})"), "status.podIPs;",
                  "status.podIPs: Invalid value: []core.PodIP{core.PodIP{IP:\"10.0.0.1\"}, "
                  "core.PodIP{IP:\"10.0.0.2\"}}: "
                  "may specify no more than one IP for each IP family");
    // ... at most two, no duplicates.
    expectInvalid(put(R"({"podIPs":[{"ip":"10.0.0.1"},{"ip":"fd00::1"},{"ip":"10.0.0.1"}]})"),
                  "status.podIPs;status.podIPs[2];", "Duplicate value: core.PodIP{IP:\"10.0.0.1\"}");
    // An invalid entry in a list also fails the dual-stack check, as an internal error.
    expectInvalid(put(R"({"podIPs":[{"ip":"10.0.0.1"},{"ip":"x"}]})"),
                  "status.podIPs[1];status.podIPs;status.podIPs;",
                  "Internal error: failed to check for dual stack with error:ip at index 1 is invalid");
    CPPUNIT_ASSERT(!json::has(json::getObject(server_->pod("kube-system", "ips"), "status"), "podIPs"));
    // Valid: dual-stack either way round, IPv4-mapped IPv6 counts as IPv4, ParseIPSloppy takes leading zeros.
    CPPUNIT_ASSERT_EQUAL(200, put(R"({"podIPs":[{"ip":"fd00::1"},{"ip":"10.0.0.1"}]})").code);
    CPPUNIT_ASSERT_EQUAL(
        std::string("fd00::1"),
        json::getString(json::getObject(server_->pod("kube-system", "ips"), "status"), "podIP"));
    expectInvalid(put(R"({"podIPs":[{"ip":"::ffff:10.0.0.1"},{"ip":"10.0.0.2"}]})"), "status.podIPs;");
    CPPUNIT_ASSERT_EQUAL(200, put(R"({"podIP":"010.000.000.001"})").code);
  }

  void testStatusPodIPIsAuthoritativeOverPodIPs() {
    std::string path = boundPod("auth");
    // Convert_v1_PodStatus_To_core_PodStatus: no error; podIPs becomes [podIP], the second family is lost.
    HttpResult r = admin_->patch(
        path, R"({"status":{"podIP":"10.0.0.5","podIPs":[{"ip":"10.0.0.6"},{"ip":"fd00::6"}]}})",
        "application/merge-patch+json");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 200, r.code);
    ObjectPtr status = json::getObject(server_->pod("kube-system", "auth"), "status");
    CPPUNIT_ASSERT_EQUAL(std::string(R"([{"ip":"10.0.0.5"}])"),
                         podwarden::json::stringify(Poco::Dynamic::Var(json::getArray(status, "podIPs"))));
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.5"), json::getString(status, "podIP"));
    // podIPs alone: podIP is podIPs[0].
    admin_->patch(path, R"({"status":{"podIP":null,"podIPs":[{"ip":"10.0.0.7"},{"ip":"fd00::7"}]}})",
                  "application/merge-patch+json");
    status = json::getObject(server_->pod("kube-system", "auth"), "status");
    CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.7"), json::getString(status, "podIP"));
    CPPUNIT_ASSERT_EQUAL(size_t(2), json::getArray(status, "podIPs")->size());
    // A strategic merge patch that changes podIP and podIPs merges podIPs by ip first: [old, new], then podIP
    // wins.
    HttpResult smp = admin_->patch(path, R"({"status":{"podIP":"10.0.0.8","podIPs":[{"ip":"10.0.0.8"}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(smp.describe(), 200, smp.code);
    status = json::getObject(server_->pod("kube-system", "auth"), "status");
    CPPUNIT_ASSERT_EQUAL(std::string(R"([{"ip":"10.0.0.8"}])"),
                         podwarden::json::stringify(Poco::Dynamic::Var(json::getArray(status, "podIPs"))));
  }

  void testStatusHostIPs() {
    std::string path = boundPod("hosts");
    // validateHostIPs: hostIPs[0] must be hostIP ...
    expectInvalid(admin_->patch(path, R"({"status":{"hostIP":"192.0.2.1","hostIPs":[{"ip":"192.0.2.2"}]}})"),
                  "status.hostIPs[0].ip;",
                  "status.hostIPs[0].ip: Invalid value: \"192.0.2.2\": must be equal to `hostIP`");
    expectInvalid(admin_->patch(path, R"({"status":{"hostIPs":[{"ip":"192.0.2.2"}]}})"),
                  "status.hostIPs[0].ip;");
    // ... every entry valid, one per family, no duplicates.
    expectInvalid(
        admin_->patch(
            path,
            R"({"status":{"hostIP":"192.0.2.1","hostIPs":[{"ip":"192.0.2.1"},{"ip":"2001:db8::zz"}]}})"),
        "status.hostIPs[1];status.hostIPs;status.hostIPs;", "must be a valid IP address");
    expectInvalid(
        admin_->patch(
            path, R"({"status":{"hostIP":"192.0.2.1","hostIPs":[{"ip":"192.0.2.1"},{"ip":"192.0.2.1"}]}})"),
        "status.hostIPs;status.hostIPs[1];", "[]core.HostIP{core.HostIP{IP:\"192.0.2.1\"}");
    // A hostIP without hostIPs is not validated at all by the real server.
    CPPUNIT_ASSERT_EQUAL(200, admin_->patch(path, R"({"status":{"hostIP":"not-an-ip"}})").code);
    HttpResult ok = admin_->patch(
        path, R"({"status":{"hostIP":"2001:db8::1","hostIPs":[{"ip":"2001:db8::1"},{"ip":"192.0.2.1"}]}})",
        "application/merge-patch+json");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ok.describe(), 200, ok.code);
    // A strategic merge patch merges hostIPs by ip: a changed host IP leaves the old one first, which fails.
    expectInvalid(
        admin_->patch(
            path,
            R"({"status":{"hostIP":"2001:db8::9","hostIPs":[{"ip":"2001:db8::9"},{"ip":"192.0.2.1"}]}})"),
        "status.hostIPs[0].ip;status.hostIPs;");
  }

  void testStatusTerminatedContainerMayNotRunAgain() {
    auto state = [](const std::string& name, const std::string& st) {
      if (st == "running")
        return R"({"name":")" + name + R"(","state":{"running":{"startedAt":"2026-12-02T06:00:00Z"}}})";
      if (st == "waiting")
        return R"({"name":")" + name + R"(","state":{"waiting":{"reason":"CrashLoopBackOff"}}})";
      return R"({"name":")" + name + R"(","state":{"terminated":{"exitCode":)" + st + "}}}";
    };
    auto statuses = [](const std::string& list, const std::string& a, const std::string& b = "") {
      return R"({"status":{")" + list + R"(":[)" + a + (b.empty() ? "" : "," + b) + "]}}";
    };
    // ValidateContainerStateTransition, restartPolicy Never: terminated stays terminated. The path indexes
    // the old list: `side` was second there.
    std::string never = boundPod(
        "never", "Never", R"(,"containers":[{"name":"main","image":"i"},{"name":"side","image":"i"}])");
    CPPUNIT_ASSERT_EQUAL(
        200, admin_->patch(never, statuses("containerStatuses", state("main", "running"), state("side", "0")))
                 .code);
    HttpResult rerun = admin_->patch(
        never, statuses("containerStatuses", state("side", "running"), state("main", "running")),
        "application/merge-patch+json");
    expectInvalid(
        rerun, "status.containerStatuses[1].state;",
        "status.containerStatuses[1].state: Forbidden: may not be transitioned to non-terminated state");
    expectInvalid(
        admin_->patch(never,
                      statuses("containerStatuses", state("main", "running"), state("side", "waiting")),
                      "application/merge-patch+json"),
        "status.containerStatuses[1].state;");
    // A state with no running/waiting/terminated at all is non-terminated too.
    expectInvalid(admin_->patch(never, R"({"status":{"containerStatuses":[{"name":"side","state":{}}]}})",
                                "application/merge-patch+json"),
                  "status.containerStatuses[1].state;");
    // OnFailure: a failed container may run again, a succeeded one may not.
    std::string onFailure = boundPod("onfailure", "OnFailure");
    CPPUNIT_ASSERT_EQUAL(200,
                         admin_->patch(onFailure, statuses("containerStatuses", state("main", "1"))).code);
    CPPUNIT_ASSERT_EQUAL(200, admin_
                                  ->patch(onFailure, statuses("containerStatuses", state("main", "running")),
                                          "application/merge-patch+json")
                                  .code);
    CPPUNIT_ASSERT_EQUAL(200, admin_
                                  ->patch(onFailure, statuses("containerStatuses", state("main", "0")),
                                          "application/merge-patch+json")
                                  .code);
    expectInvalid(admin_->patch(onFailure, statuses("containerStatuses", state("main", "running")),
                                "application/merge-patch+json"),
                  "status.containerStatuses[0].state;");
    // Always: anything goes.
    std::string always = boundPod("always");
    CPPUNIT_ASSERT_EQUAL(200, admin_->patch(always, statuses("containerStatuses", state("main", "0"))).code);
    CPPUNIT_ASSERT_EQUAL(200, admin_
                                  ->patch(always, statuses("containerStatuses", state("main", "running")),
                                          "application/merge-patch+json")
                                  .code);
    // ValidateInitContainerStateTransition: the same for init containers, except restartable (sidecar) ones.
    std::string init = boundPod("init", "Never",
                                R"(,"initContainers":[{"name":"setup","image":"i"},)"
                                R"({"name":"sidecar","image":"i","restartPolicy":"Always"}])");
    CPPUNIT_ASSERT_EQUAL(
        200,
        admin_->patch(init, statuses("initContainerStatuses", state("setup", "0"), state("sidecar", "1")))
            .code);
    expectInvalid(
        admin_->patch(
            init, statuses("initContainerStatuses", state("setup", "waiting"), state("sidecar", "running")),
            "application/merge-patch+json"),
        "status.initContainerStatuses[0].state;");
    CPPUNIT_ASSERT_EQUAL(
        200,
        admin_
            ->patch(init, statuses("initContainerStatuses", state("setup", "0"), state("sidecar", "running")),
                    "application/merge-patch+json")
            .code);
    // Ephemeral containers are never restarted, whatever the pod's policy.
    CPPUNIT_ASSERT_EQUAL(
        200, admin_->patch(always, statuses("ephemeralContainerStatuses", state("debug", "0"))).code);
    expectInvalid(admin_->patch(always, statuses("ephemeralContainerStatuses", state("debug", "running")),
                                "application/merge-patch+json"),
                  "status.ephemeralContainerStatuses[0].state;");
  }

  void testStatusTimestampsMustBeRfc3339() {
    std::string path = boundPod("times");
    auto putStatus = [&](const std::string& statusJson) {
      ObjectPtr pod = server_->pod("kube-system", "times");
      pod->set("status", json::parseObject(statusJson));
      return admin_->put(path, podwarden::json::stringify(pod));
    };
    auto expectBadRequest = [&](const HttpResult& r, const std::string& text) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), 400, r.code);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(r.describe(), std::string("BadRequest"), r.reason());
      CPPUNIT_ASSERT_MESSAGE(
          r.describe(), r.message().find("Pod in version \"v1\" cannot be handled as a Pod: " + text) == 0);
    };
    // PUT (and POST): the body does not decode, 400 as metav1.Time.UnmarshalJSON words it via time.Parse.
    expectBadRequest(
        putStatus(R"({"startTime":"yesterday"})"),
        R"(parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006")");
    expectBadRequest(
        putStatus(
            R"({"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-12-02 06:00:00Z"}]})"),
        R"(parsing time "2026-12-02 06:00:00Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 06:00:00Z" as "T")");
    expectBadRequest(
        putStatus(
            R"({"containerStatuses":[{"name":"main","state":{"running":{"startedAt":"2026-12-02T06:00:00"}}}]})"),
        R"(parsing time "2026-12-02T06:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00")");
    expectBadRequest(
        putStatus(
            R"({"containerStatuses":[{"name":"main","lastState":{"terminated":{"finishedAt":"2026-13-02T06:00:00Z"}}}]})"),
        R"(parsing time "2026-13-02T06:00:00Z": month out of range)");
    expectBadRequest(
        putStatus(
            R"({"initContainerStatuses":[{"name":"i","state":{"terminated":{"startedAt":"2026-02-30T06:00:00Z"}}}]})"),
        R"(parsing time "2026-02-30T06:00:00Z": day out of range)");
    expectBadRequest(putStatus(R"({"startTime":""})"),
                     R"(parsing time "" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "2006")");
    expectBadRequest(
        putStatus(R"({"startTime":1764655200})"),
        "json: cannot unmarshal number into Go struct field PodStatus.status.startTime of type string");
    expectBadRequest(putStatus(R"({"startTime":"2026-12-02T06:00:00Z trailing"})"),
                     R"(parsing time "2026-12-02T06:00:00Z trailing": extra text: " trailing")");
    expectBadRequest(
        admin_->post(kPods, podJson("kube-system", "created", R"({"status":{"startTime":"now"}})")),
        R"(parsing time "now")");
    CPPUNIT_ASSERT(!server_->pod("kube-system", "created"));
    // PATCH: the patched object does not decode; the patch handler answers 422 on the field "patch".
    HttpResult smp = admin_->patch(path, R"({"status":{"startTime":"yesterday"}})");
    expectInvalid(
        smp, "patch;",
        R"( "" is invalid: patch: Invalid value: "map[status:map[startTime:yesterday]]": parsing time "yesterday")");
    // Converted field by field from the patch map: no struct or path in a strategic merge patch's type error.
    expectInvalid(admin_->patch(path, R"({"status":{"startTime":1764655200}})"), "patch;",
                  "json: cannot unmarshal number into Go value of type string");
    HttpResult merge = admin_->patch(
        path,
        R"({"status":{"containerStatuses":[{"name":"main","state":{"terminated":{"finishedAt":true}}}]}})",
        "application/merge-patch+json");
    expectInvalid(merge, "patch;",
                  "json: cannot unmarshal bool into Go struct field ContainerStateTerminated."
                  "status.containerStatuses.state.terminated.finishedAt of type string");
    CPPUNIT_ASSERT(!json::has(json::getObject(server_->pod("kube-system", "times"), "status"), "startTime"));
    // What decodes: fractional seconds, offsets, a one-digit hour, null.
    HttpResult ok = putStatus(R"({"startTime":"2026-12-02T06:00:00.123456789+05:30",
        "conditions":[{"type":"Ready","status":"True","lastProbeTime":null,"lastTransitionTime":"2026-12-02T6:00:00,5-00:00"}]})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(ok.describe(), 200, ok.code);
  }

  void testStatusRulesTheRealServerDoesNotHave() {
    // Checked against ValidatePodStatusUpdate (1.28): no phase transition rule, no check that a state has one
    // of running/waiting/terminated, no range on restartCount, no check that statuses name real containers.
    std::string path = boundPod("lenient", "Never");
    CPPUNIT_ASSERT_EQUAL(200, admin_->patch(path, R"({"status":{"phase":"Succeeded"}})").code);
    CPPUNIT_ASSERT_EQUAL(200, admin_->patch(path, R"({"status":{"phase":"Running"}})").code);
    CPPUNIT_ASSERT_EQUAL(200, admin_->patch(path, R"({"status":{"phase":"Whatever"}})").code);
    HttpResult odd = admin_->patch(path, R"({"status":{"containerStatuses":[{"name":"nope","restartCount":-1,
        "state":{"running":{"startedAt":"2026-12-02T06:00:00Z"},"terminated":{"exitCode":1}}}]}})");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(odd.describe(), 200, odd.code);
  }

 private:
  std::unique_ptr<FakeApiServer> server_;
  std::unique_ptr<ApiClient> admin_;
  std::unique_ptr<ApiClient> node1_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(FakeApiServerTest);
