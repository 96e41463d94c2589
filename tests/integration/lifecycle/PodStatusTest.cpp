// PodStatusTest - the status JSON of a running pod, field by field, against a hand-written expected
// PodStatus (issue 3: "The status JSON of a running pod is checked field by field"). Values only the runtime
// (Docker or containerd) or the machine can know (container id, start time, image id, host IP) are read from
// the runtime (TestRuntime) and getifaddrs, never from podwarden. Every key of the actual status must be expected: an extra or missing field fails.
#include <arpa/inet.h>
#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <set>


using namespace podwarden;
using namespace podwarden::lifecycle;

namespace {
constexpr const char* kNs = "default";

// Markers a string in the expected JSON may hold instead of a literal value:
//   "<time>"                 an RFC 3339 UTC time with whole seconds, as Kubernetes writes metav1.Time
//   "<time:YYYY-MM-DDTHH:MM:SS>"  such a time, equal to the given second
//   "<one-of:a|b>"           one of the listed strings
// A key whose expected value is "<absent-or-empty>" may be missing or hold an empty object (the
// kubelet writes `lastState: {}` for a container that never terminated).
bool isK8sTime(const std::string& s) {
  return s.size() == 20 && s[19] == 'Z' && parseTimeNs(s) > 0;
}

void compare(const Poco::Dynamic::Var& expected, const Poco::Dynamic::Var& actual, const std::string& path,
             std::vector<std::string>& diffs) {
  if (expected.type() == typeid(json::ObjectPtr)) {
    json::ObjectPtr e = expected.extract<json::ObjectPtr>();
    if (actual.type() != typeid(json::ObjectPtr)) {
      diffs.push_back(path + ": expected an object, got " + json::stringify(actual));
      return;
    }
    json::ObjectPtr a = actual.extract<json::ObjectPtr>();
    std::set<std::string> keys;
    for (const auto& k : e->getNames()) keys.insert(k);
    for (const auto& k : a->getNames()) keys.insert(k);
    for (const auto& k : keys) {
      const std::string sub = path + "." + k;
      if (!e->has(k)) {
        diffs.push_back(sub + ": unexpected field, value " + json::stringify(a->get(k)));
      } else if (e->get(k).isString() && e->get(k).toString() == "<absent-or-empty>") {
        if (a->has(k)) {
          json::ObjectPtr v = a->getObject(k);
          if (!v || v->size() != 0)
            diffs.push_back(sub + ": expected absent or {}, got " + json::stringify(a->get(k)));
        }
      } else if (!a->has(k)) {
        diffs.push_back(sub + ": missing (expected " + json::stringify(e->get(k)) + ")");
      } else {
        compare(e->get(k), a->get(k), sub, diffs);
      }
    }
    return;
  }
  if (expected.type() == typeid(json::ArrayPtr)) {
    json::ArrayPtr e = expected.extract<json::ArrayPtr>();
    if (actual.type() != typeid(json::ArrayPtr)) {
      diffs.push_back(path + ": expected an array, got " + json::stringify(actual));
      return;
    }
    json::ArrayPtr a = actual.extract<json::ArrayPtr>();
    if (a->size() != e->size()) {
      diffs.push_back(path + ": expected " + std::to_string(e->size()) + " elements, got " +
                      json::stringify(actual));
      return;
    }
    for (size_t i = 0; i < e->size(); ++i) {
      compare(e->get(static_cast<unsigned>(i)), a->get(static_cast<unsigned>(i)),
              path + "[" + std::to_string(i) + "]", diffs);
    }
    return;
  }
  const std::string actualText = json::stringify(actual);
  if (expected.isString()) {
    const std::string e = expected.toString();
    const std::string a = actual.isString() ? actual.toString() : std::string();
    if (e == "<time>") {
      if (!actual.isString() || !isK8sTime(a))
        diffs.push_back(path + ": expected an RFC 3339 time, got " + actualText);
      return;
    }
    if (e.rfind("<time:", 0) == 0) {
      const std::string second = e.substr(6, e.size() - 7);
      if (!actual.isString() || !isK8sTime(a) || a.substr(0, 19) != second) {
        diffs.push_back(path + ": expected a time in second " + second + "Z, got " + actualText);
      }
      return;
    }
    if (e.rfind("<one-of:", 0) == 0) {
      const std::string list = e.substr(8, e.size() - 9) + "|";
      bool found = false;
      for (size_t start = 0, bar; (bar = list.find('|', start)) != std::string::npos; start = bar + 1) {
        found = found || (actual.isString() && a == list.substr(start, bar - start));
      }
      if (!found) diffs.push_back(path + ": expected one of " + list + " got " + actualText);
      return;
    }
  }
  if (json::stringify(expected) != actualText) {
    diffs.push_back(path + ": expected " + json::stringify(expected) + ", got " + actualText);
  }
}

std::string checkStatus(const json::ObjectPtr& expected, const json::ObjectPtr& actual) {
  std::vector<std::string> diffs;
  compare(expected, actual, "status", diffs);
  std::string out;
  for (const auto& d : diffs) out += "\n  " + d;
  return out;
}

// Up, non-loopback IPv4 addresses of this machine.
std::set<std::string> hostAddresses() {
  std::set<std::string> out;
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (struct ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char buf[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, &reinterpret_cast<struct sockaddr_in*>(i->ifa_addr)->sin_addr, buf,
                    sizeof buf)) {
      out.insert(buf);
    }
  }
  ::freeifaddrs(list);
  return out;
}

std::string pod(const std::string& name, const std::string& resources) {
  return yamlLines({
             "apiVersion: v1",
             "kind: Pod",
             "metadata:",
             "  name: " + name,
             std::string("  namespace: ") + kNs,
             "spec:",
             "  hostNetwork: true",
             "  terminationGracePeriodSeconds: 2",
             "  containers:",
             "  - name: web",
             std::string("    image: ") + e2e::kBusyboxImage,
             "    command: [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done\"]",
         }) +
         resources;
}
}  // namespace

class PodStatusTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PodStatusTest);
  CPPUNIT_TEST(testComparisonCatchesDifferences);
  CPPUNIT_TEST(testRunningPodStatusFieldByField);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("status");
    rt_ = attachRuntime(*node_);
  }
  void tearDown() override { releaseNode(node_, rt_); }

  // The field-by-field comparison itself: each kind of difference is reported, matches are not.
  void testComparisonCatchesDifferences() {
    json::ObjectPtr expected = json::parseObject(
        R"({"a": "x", "t": "<time:2026-11-26T21:40:01>", "any": "<time>", "o": "<one-of:p|q>",
            "l": "<absent-or-empty>", "arr": [{"n": 1}], "nested": {"b": true}})");
    json::ObjectPtr same = json::parseObject(
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "l": {},
            "arr": [{"n": 1}], "nested": {"b": true}})");
    CPPUNIT_ASSERT_EQUAL(std::string(), checkStatus(expected, same));
    const char* different[] = {
        R"({"a": "y", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [{"n": 1}], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:02Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [{"n": 1}], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01.5Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [{"n": 1}], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "yesterday", "o": "q", "arr": [{"n": 1}], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "r", "arr": [{"n": 1}], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "l": {"k": 1}, "arr": [{"n": 1}], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [{"n": 2}], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [], "nested": {"b": true}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [{"n": 1}], "nested": {"b": "true"}})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [{"n": 1}], "nested": {"b": true}, "extra": 1})",
        R"({"a": "x", "t": "2026-11-26T21:40:01Z", "any": "2020-01-01T00:00:00Z", "o": "q", "arr": [{"n": 1}]})",
    };
    for (const char* text : different) {
      CPPUNIT_ASSERT_MESSAGE(std::string("no difference found for ") + text,
                             !checkStatus(expected, json::parseObject(text)).empty());
    }
  }

  // A Burstable pod and a BestEffort pod, both hostNetwork, running: every status field as the kubelet
  // would write it; startTime and unchanged conditions' lastTransitionTime survive a container restart.
  void testRunningPodStatusFieldByField() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    const int64_t writtenNs = wallNowNs();
    e2e::writeFile(node.manifestDir() + "/burstable.yaml", pod("burstable",
                                                               "    resources:\n"
                                                               "      requests:\n"
                                                               "        cpu: 100m\n"
                                                               "        memory: 16Mi\n"
                                                               "      limits:\n"
                                                               "        memory: 32Mi\n"));
    e2e::writeFile(node.manifestDir() + "/besteffort.yaml", pod("besteffort", ""));
    const std::set<std::string> addresses = hostAddresses();
    std::string addressList;
    for (const auto& a : addresses) addressList += " " + a;

    for (const std::string name : {"burstable", "besteffort"}) {
      StatusPod sp = waitStatus(
          node, name, kNs,
          [](const StatusPod& p) {
            json::ObjectPtr ready = condition(p, "Ready");
            return p.phase() == "Running" && p.containerRunning("web") &&
                   json::getString(ready, "status") == "True";
          },
          "Running and Ready");
      json::ObjectPtr actual = json::getObject(sp.pod, "status");
      const std::string id = statusContainerId(sp, *rt_, "web");
      const e2e::ContainerRecord record = recordOf(*rt_, node, id);
      const std::string runtimeStarted = json::rfc3339(record.startedNs);
      const std::string imageId = record.imageRef;
      // imageID: a repo digest when the image came from a registry (docker-pullable://), otherwise the
      // image id, bare (CRI imageRef) or with dockershim's docker:// prefix.
      const std::string imageIdChoices = "<one-of:" + imageId + "|docker://" + imageId + ">";
      const std::string hostIP = json::getString(actual, "hostIP");

      json::ObjectPtr expected = json::parseObject(R"({
        "phase": "Running",
        "conditions": [
          {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "<time>"},
          {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "<time>"},
          {"type": "ContainersReady", "status": "True", "lastProbeTime": null, "lastTransitionTime": "<time>"},
          {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "<time>"}
        ],
        "hostIP": "HOST_IP",
        "hostIPs": [{"ip": "HOST_IP"}],
        "podIP": "HOST_IP",
        "podIPs": [{"ip": "HOST_IP"}],
        "startTime": "<time>",
        "qosClass": "QOS",
        "containerStatuses": [
          {
            "name": "web",
            "state": {"running": {"startedAt": "STARTED_AT"}},
            "lastState": "<absent-or-empty>",
            "ready": true,
            "started": true,
            "restartCount": 0,
            "image": "podwarden.local/busybox:1.36",
            "imageID": "IMAGE_ID",
            "containerID": "CONTAINER_ID"
          }
        ]
      })");
      // The values that only the runtime and this machine know.
      std::string text = json::stringify(expected);
      auto replace = [&text](const std::string& from, const std::string& to) {
        for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
          text.replace(at, from.size(), to);
        }
      };
      replace("HOST_IP", hostIP);
      replace("QOS", name == "burstable" ? "Burstable" : "BestEffort");
      replace("STARTED_AT", "<time:" + runtimeStarted.substr(0, 19) + ">");
      replace("IMAGE_ID", imageIdChoices);
      replace("CONTAINER_ID", rt_->kind() + "://" + id);
      expected = json::parseObject(text);

      const std::string dump = "\n" + json::stringifyPretty(actual) + node.diagnostics();
      const std::string diffs = checkStatus(expected, actual);
      CPPUNIT_ASSERT_MESSAGE(
          "pod " + name + ": the status differs from the expected PodStatus:" + diffs + dump, diffs.empty());
      CPPUNIT_ASSERT_MESSAGE("hostIP " + hostIP +
                                 " is not an address of this machine (up, non-loopback IPv4:" + addressList +
                                 ")" + dump,
                             addresses.count(hostIP) == 1);
      CPPUNIT_ASSERT_MESSAGE("containerID is not a running container of " + rt_->kind() + dump, record.running);
      // startTime: when podwarden first saw the pod, so between writing the manifest and the container start
      // (whole seconds).
      const int64_t startNs = parseTimeNs(json::getString(actual, "startTime"));
      const int64_t containerNs = record.startedNs;
      CPPUNIT_ASSERT_MESSAGE("startTime is not between writing the manifest and the container start" + dump,
                             startNs >= writtenNs / 1000000000 * 1000000000 - 1000000000LL &&
                                 startNs <= containerNs + 1000000000LL);
    }

    // startTime is set once and a condition keeps its lastTransitionTime while its status does not change:
    // a container restart (the runtime kills it) flips Ready/ContainersReady but not Initialized/PodScheduled.
    StatusPod before = node.statusPod("burstable", kNs);
    rt_->killContainer(statusContainerId(before, *rt_, "web"));
    StatusPod after = waitStatus(
        node, "burstable", kNs,
        [](const StatusPod& p) { return p.restartCount("web") == 1 && p.containerRunning("web"); },
        "restart after the runtime killed the container");
    const std::string dump = "\nbefore: " + json::stringify(json::getObject(before.pod, "status")) +
                             "\nafter: " + json::stringify(json::getObject(after.pod, "status")) +
                             node.diagnostics();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("startTime moved" + dump,
                                 json::getString(json::getObject(before.pod, "status"), "startTime"),
                                 json::getString(json::getObject(after.pod, "status"), "startTime"));
    for (const char* type : {"Initialized", "PodScheduled"}) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(type) + ".lastTransitionTime moved" + dump,
                                   json::getString(condition(before, type), "lastTransitionTime"),
                                   json::getString(condition(after, type), "lastTransitionTime"));
    }
  }

 private:
  std::unique_ptr<TestNode> node_;
  std::unique_ptr<TestRuntime> rt_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(PodStatusTest);
