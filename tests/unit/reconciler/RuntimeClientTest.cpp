// RuntimeClientTest - how the host reads a runtime plugin's answer (parseRuntimeResult): the response
// object, or RuntimeError with the plugin's status and a message that is safe to put into pod status JSON.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "reconciler/RuntimeClient.h"
#include "util/Json.h"

using namespace podwarden;
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

}  // namespace

class RuntimeClientTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(RuntimeClientTest);
  CPPUNIT_TEST(testAnswerIsParsed);
  CPPUNIT_TEST(testEmptyAnswerIsEmptyObject);
  CPPUNIT_TEST(testAnswerThatIsNotAnObjectIsInternal);
  CPPUNIT_TEST(testFailedCallKeepsStatusAndMessage);
  CPPUNIT_TEST(testMessageThatIsNotUtf8IsRepaired);
  CPPUNIT_TEST_SUITE_END();

 public:
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

CPPUNIT_TEST_SUITE_REGISTRATION(RuntimeClientTest);
