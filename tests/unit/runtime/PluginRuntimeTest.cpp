// PluginRuntimeTest - the runtime seam over a plugin: the CRI request each typed call sends (with its
// deadline), and how the host reads a plugin's answer (parseRuntimeResult): the response object, or
// RuntimeError with the plugin's status and a message that is safe to put into pod status JSON.
#include <cppunit/extensions/HelperMacros.h>

#include <deque>
#include <string>

#include "runtime/CriJson.h"
#include "runtime/PluginRuntime.h"
#include "util/Json.h"

using namespace podwarden;
using namespace podwarden::runtime;
using namespace std::chrono_literals;
using podwarden::plugin::CallResult;
using podwarden::plugin::RuntimeCall;

namespace {

CallResult answer(pw_status status, const std::string& out, const std::string& err = "") {
  CallResult r;
  r.status = status;
  r.out = out;
  r.err = err;
  return r;
}

// The RuntimeError parseRuntimeResult throws for `r` (fails the test when it throws nothing).
RuntimeError errorOf(const CallResult& r) {
  try {
    parseRuntimeResult(RuntimeCall::kListContainers, r);
  } catch (const RuntimeError& e) {
    return e;
  }
  CPPUNIT_FAIL("no RuntimeError");
  return RuntimeError(PW_OK, "");
}

// A Transport that records each call and answers from a queue ({} when it is empty).
struct Recorder {
  struct Sent {
    RuntimeCall which;
    std::string request;
    std::chrono::milliseconds timeout;
  };
  std::vector<Sent> sent;
  std::deque<CallResult> answers;

  Transport transport() {
    return [this](RuntimeCall which, const std::string& request, std::chrono::milliseconds timeout) {
      sent.push_back({which, request, timeout});
      if (answers.empty()) return answer(PW_OK, "{}");
      CallResult r = answers.front();
      answers.pop_front();
      return r;
    };
  }
  const Sent& last() const { return sent.back(); }
};

}  // namespace

class PluginRuntimeTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PluginRuntimeTest);
  CPPUNIT_TEST(testRequestsAndDeadlines);
  CPPUNIT_TEST(testSandboxAndContainerCreationCarryTheConfigs);
  CPPUNIT_TEST(testAnswersAreDecoded);
  CPPUNIT_TEST(testFailedCallThrowsWithTheCallName);
  CPPUNIT_TEST(testAnswerIsParsed);
  CPPUNIT_TEST(testEmptyAnswerIsEmptyObject);
  CPPUNIT_TEST(testAnswerThatIsNotAnObjectIsInternal);
  CPPUNIT_TEST(testFailedCallKeepsStatusAndMessage);
  CPPUNIT_TEST(testMessageThatIsNotUtf8IsRepaired);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testRequestsAndDeadlines() {
    Recorder rec;
    PluginRuntime rt(rec.transport());
    struct Row {
      std::function<void()> call;
      RuntimeCall which;
      std::string request;
      std::chrono::milliseconds timeout;
    };
    const std::vector<Row> rows = {
        {[&] { rt.version(); }, RuntimeCall::kVersion, R"({"version":"v1"})", 10s},
        {[&] { rt.stopPodSandbox("s1"); }, RuntimeCall::kStopPodSandbox, R"({"podSandboxId":"s1"})", 60s},
        {[&] { rt.removePodSandbox("s1"); }, RuntimeCall::kRemovePodSandbox, R"({"podSandboxId":"s1"})", 60s},
        {[&] { rt.podSandboxStatus("s1"); }, RuntimeCall::kPodSandboxStatus, R"({"podSandboxId":"s1"})", 60s},
        {[&] {
           rt.listPodSandbox({{"b", "2"}, {"a", "1"}});
         },
         RuntimeCall::kListPodSandbox, R"({"filter":{"labelSelector":{"a":"1","b":"2"}}})", 60s},
        {[&] { rt.listContainers({}); }, RuntimeCall::kListContainers, R"({"filter":{"labelSelector":{}}})",
         60s},
        {[&] { rt.startContainer("c1"); }, RuntimeCall::kStartContainer, R"({"containerId":"c1"})", 60s},
        {[&] { rt.stopContainer("c1", 30); }, RuntimeCall::kStopContainer,
         R"({"containerId":"c1","timeout":30})", 90s},
        {[&] { rt.removeContainer("c1"); }, RuntimeCall::kRemoveContainer, R"({"containerId":"c1"})", 60s},
        {[&] { rt.containerStatus("c1"); }, RuntimeCall::kContainerStatus, R"({"containerId":"c1"})", 60s},
        // The runtime ends the command; at least 1 s, and our deadline 10 s beyond its own.
        {[&] {
           rt.execSync("c1", {"sh", "-c", "true"}, 0s);
         },
         RuntimeCall::kExecSync, R"({"cmd":["sh","-c","true"],"containerId":"c1","timeout":1})", 11s},
        {[&] { rt.execSync("c1", {}, 5s); }, RuntimeCall::kExecSync,
         R"({"cmd":[],"containerId":"c1","timeout":5})", 15s},
        {[&] { rt.imagePresent("busybox"); }, RuntimeCall::kImageStatus, R"({"image":{"image":"busybox"}})",
         60s},
        {[&] { rt.pullImage("busybox"); }, RuntimeCall::kPullImage, R"({"image":{"image":"busybox"}})", 5min},
    };
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i].call();
      const std::string ctx = "row " + std::to_string(i) + ": " + rows[i].request;
      CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, i + 1, rec.sent.size());
      CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, std::string(plugin::runtimeCallName(rows[i].which)),
                                   std::string(plugin::runtimeCallName(rec.last().which)));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, rows[i].request,
                                   json::stringify(json::parseObject(rec.last().request)));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(ctx, rows[i].timeout.count(), rec.last().timeout.count());
    }
  }

  void testSandboxAndContainerCreationCarryTheConfigs() {
    Recorder rec;
    PluginRuntime rt(rec.transport());
    PodSandboxConfig sandbox;
    sandbox.metadata = {"web", "u1", "kube-system", 2};
    ContainerConfig container;
    container.metadata = {"app", 3};
    container.image = "busybox";
    rec.answers.push_back(answer(PW_OK, R"({"podSandboxId":"s9"})"));
    CPPUNIT_ASSERT_EQUAL(std::string("s9"), rt.runPodSandbox(sandbox));
    json::ObjectPtr run = json::parseObject(rec.last().request);
    CPPUNIT_ASSERT_EQUAL(std::string(""), json::getString(run, "runtimeHandler", "unset"));
    CPPUNIT_ASSERT_EQUAL(json::stringify(crijson::encode(sandbox)),
                         json::stringify(json::getObject(run, "config")));

    rec.answers.push_back(answer(PW_OK, R"({"containerId":"c9"})"));
    CPPUNIT_ASSERT_EQUAL(std::string("c9"), rt.createContainer("s9", container, sandbox));
    json::ObjectPtr create = json::parseObject(rec.last().request);
    CPPUNIT_ASSERT_EQUAL(std::string("s9"), json::getString(create, "podSandboxId"));
    CPPUNIT_ASSERT_EQUAL(json::stringify(crijson::encode(container)),
                         json::stringify(json::getObject(create, "config")));
    CPPUNIT_ASSERT_EQUAL(json::stringify(crijson::encode(sandbox)),
                         json::stringify(json::getObject(create, "sandboxConfig")));
  }

  void testAnswersAreDecoded() {
    Recorder rec;
    PluginRuntime rt(rec.transport());
    rec.answers.push_back(
        answer(PW_OK, R"({"runtimeName":"docker","runtimeVersion":"20.10.24","runtimeApiVersion":"v1"})"));
    VersionInfo v = rt.version();
    CPPUNIT_ASSERT_EQUAL(std::string("docker 20.10.24 v1"),
                         v.runtimeName + " " + v.runtimeVersion + " " + v.runtimeApiVersion);
    rec.answers.push_back(
        answer(PW_OK, R"({"status":{"id":"s1","state":"SANDBOX_READY","network":{"ip":"10.1.0.2"}}})"));
    PodSandboxStatus st = rt.podSandboxStatus("s1");
    CPPUNIT_ASSERT(st.state == SandboxState::kReady);
    CPPUNIT_ASSERT_EQUAL(std::string("10.1.0.2"), st.ip);
    rec.answers.push_back(answer(PW_OK, R"({"stdout":"b3V0Cg==","stderr":"ZXJyCg==","exitCode":3})"));
    ExecSyncResult r = rt.execSync("c1", {"x"}, 1s);
    CPPUNIT_ASSERT_EQUAL(std::string("out\n"), r.out);
    CPPUNIT_ASSERT_EQUAL(std::string("err\n"), r.err);
    CPPUNIT_ASSERT_EQUAL(int64_t{3}, r.exitCode);
    rec.answers.push_back(answer(PW_OK, R"({"image":{"id":"sha256:1"}})"));
    CPPUNIT_ASSERT(rt.imagePresent("busybox"));
    rec.answers.push_back(answer(PW_OK, "{}"));
    CPPUNIT_ASSERT(!rt.imagePresent("busybox"));
  }

  void testFailedCallThrowsWithTheCallName() {
    Recorder rec;
    PluginRuntime rt(rec.transport());
    rec.answers.push_back(answer(PW_NOT_FOUND, "", "no such container: c1"));
    try {
      rt.startContainer("c1");
      CPPUNIT_FAIL("no RuntimeError");
    } catch (const RuntimeError& e) {
      CPPUNIT_ASSERT_EQUAL(PW_NOT_FOUND, e.status());
      CPPUNIT_ASSERT_EQUAL(std::string("StartContainer: NOT_FOUND: no such container: c1"),
                           std::string(e.what()));
    }
  }

  void testAnswerIsParsed() {
    json::ObjectPtr o =
        parseRuntimeResult(RuntimeCall::kListContainers, answer(PW_OK, R"({"containers":[]})"));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"containers":[]})"), json::stringify(o));
  }

  void testEmptyAnswerIsEmptyObject() {
    CPPUNIT_ASSERT_EQUAL(std::string("{}"), json::stringify(parseRuntimeResult(RuntimeCall::kStartContainer,
                                                                               answer(PW_OK, ""))));
  }

  void testAnswerThatIsNotAnObjectIsInternal() {
    RuntimeError e = errorOf(answer(PW_OK, "[1]"));
    CPPUNIT_ASSERT_EQUAL(PW_INTERNAL, e.status());
    CPPUNIT_ASSERT_MESSAGE(
        e.what(), std::string(e.what()).rfind("ListContainers: the runtime plugin answered with", 0) == 0);
  }

  void testFailedCallKeepsStatusAndMessage() {
    RuntimeError e = errorOf(answer(PW_UNAVAILABLE, "", "cannot connect to /var/run/docker.sock"));
    CPPUNIT_ASSERT_EQUAL(PW_UNAVAILABLE, e.status());
    CPPUNIT_ASSERT_EQUAL(std::string("ListContainers: UNAVAILABLE: cannot connect to /var/run/docker.sock"),
                         std::string(e.what()));
  }

  // Found by fuzz/fuzz_plugin_json: a plugin's error text that was not UTF-8 went into the pod status
  // message, and the status JSON the sinks get no longer parsed.
  void testMessageThatIsNotUtf8IsRepaired() {
    const std::string bad =
        "docker.s\xb8"
        "ck"                              // stray continuation byte
        " \xe2\x82"                       // truncated sequence
        " \xc0\xaf"                       // overlong '/'
        " \xed\xa0\x80"                   // UTF-16 surrogate
        " \xf4\x90\x80\x80"               // beyond U+10FFFF
        " caf\xc3\xa9 \xf0\x9f\x98\x80";  // well-formed, kept
    RuntimeError e = errorOf(answer(PW_UNKNOWN, "", bad));
    const std::string r = "\xef\xbf\xbd";
    CPPUNIT_ASSERT_EQUAL("ListContainers: UNKNOWN: docker.s" + r + "ck " + r + r + " " + r + r + " " + r + r +
                             r + " " + r + r + r + r + " caf\xc3\xa9 \xf0\x9f\x98\x80",
                         std::string(e.what()));
    // The parser's complaint about a reply quotes the byte it stumbled over.
    RuntimeError parse = errorOf(answer(PW_OK, "{\"containers\":\xfe]}"));
    CPPUNIT_ASSERT_EQUAL(PW_INTERNAL, parse.status());
    CPPUNIT_ASSERT_MESSAGE(parse.what(), std::string(parse.what()).find('\xfe') == std::string::npos);
    json::ObjectPtr status = new json::Object();
    status->set("message", std::string(e.what()));
    status->set("reason", std::string(parse.what()));
    json::ObjectPtr back = json::parseObject(json::stringify(status));
    CPPUNIT_ASSERT_EQUAL(std::string(e.what()), json::getString(back, "message"));
    CPPUNIT_ASSERT_EQUAL(std::string(parse.what()), json::getString(back, "reason"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginRuntimeTest);
