// CriJsonTest - the codec between the core's CRI structs and the plugins' JSON: what the encoders write
// (optional fields only when set, enums by name) and how leniently the decoders read a plugin's answer.
#include <cppunit/extensions/HelperMacros.h>

#include <limits>
#include <string>

#include "runtime/CriJson.h"

using namespace podwarden;
using namespace podwarden::runtime;

namespace {

json::ObjectPtr parse(const std::string& text) {
  return json::parseObject(text);
}

}  // namespace

class CriJsonTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CriJsonTest);
  CPPUNIT_TEST(testSandboxConfigEncoding);
  CPPUNIT_TEST(testContainerConfigOptionalFields);
  CPPUNIT_TEST(testEnumNames);
  CPPUNIT_TEST(testContainerListDecoding);
  CPPUNIT_TEST(testAttemptsAreClampedIntoUint32);
  CPPUNIT_TEST(testMistypedFieldsReadAsZero);
  CPPUNIT_TEST(testContainerStatusDecoding);
  CPPUNIT_TEST(testExecOutputIsBase64);
  CPPUNIT_TEST(testImagePresence);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testSandboxConfigEncoding() {
    PodSandboxConfig c;
    c.metadata = {"web", "u1", "kube-system", 4};
    c.hostname = "web";
    c.logDirectory = "/var/log/pods/x";
    c.portMappings.push_back({Protocol::kUdp, 53, 5353, "127.0.0.1"});
    c.labels = {{"app", "web"}};
    c.linuxConfig.securityContext.namespaceOptions.network = NamespaceMode::kNode;
    c.linuxConfig.securityContext.runAsUser = 0;
    c.linuxConfig.sysctls = {{"net.core.somaxconn", "1024"}};
    CPPUNIT_ASSERT_EQUAL(
        std::string(
            R"({"annotations":{},"hostname":"web","labels":{"app":"web"},"linux":{"cgroupParent":"",)"
            R"("securityContext":{"namespaceOptions":{"ipc":"POD","network":"NODE","pid":"CONTAINER"},)"
            R"("privileged":false,"runAsUser":{"value":0}},"sysctls":{"net.core.somaxconn":"1024"}},)"
            R"("logDirectory":"/var/log/pods/x","metadata":{"attempt":4,"name":"web","namespace":"kube-system",)"
            R"("uid":"u1"},"portMappings":[{"containerPort":53,"hostIp":"127.0.0.1","hostPort":5353,)"
            R"("protocol":"UDP"}]})"),
        json::stringify(crijson::encode(c)));
    c.dnsConfig = DnsConfig{{"10.0.0.1"}, {}, {"ndots:2"}};
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"options":["ndots:2"],"searches":[],"servers":["10.0.0.1"]})"),
                         json::stringify(json::getObject(crijson::encode(c), "dnsConfig")));
  }

  void testContainerConfigOptionalFields() {
    ContainerConfig c;
    c.metadata = {"app", 1};
    c.image = "busybox";
    json::ObjectPtr bare = crijson::encode(c);
    for (const char* absent : {"command", "args", "workingDir"}) {
      CPPUNIT_ASSERT_MESSAGE(absent, !bare->has(absent));
    }
    json::ObjectPtr sc = json::getObject(json::getObject(bare, "linux"), "securityContext");
    for (const char* absent :
         {"capabilities", "runAsUser", "runAsGroup", "noNewPrivs", "supplementalGroups"}) {
      CPPUNIT_ASSERT_MESSAGE(absent, !sc->has(absent));
    }
    // Set but empty is not absent: an empty args list overrides the image's CMD.
    c.command = std::vector<std::string>{"sh"};
    c.args = std::vector<std::string>{};
    c.workingDir = "";
    c.linuxConfig.securityContext.noNewPrivs = false;
    c.linuxConfig.securityContext.capabilities = Capability{{"NET_ADMIN"}, {"ALL"}};
    c.linuxConfig.securityContext.supplementalGroups = {5, 6};
    c.stdinOpen = true;
    json::ObjectPtr full = crijson::encode(c);
    CPPUNIT_ASSERT_EQUAL(std::string(R"(["sh"])"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(full, "command"))));
    CPPUNIT_ASSERT_EQUAL(std::string("[]"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(full, "args"))));
    CPPUNIT_ASSERT(full->has("workingDir"));
    CPPUNIT_ASSERT(json::getBool(full, "stdin"));
    sc = json::getObject(json::getObject(full, "linux"), "securityContext");
    CPPUNIT_ASSERT(sc->has("noNewPrivs"));
    CPPUNIT_ASSERT(!json::getBool(sc, "noNewPrivs", true));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"addCapabilities":["NET_ADMIN"],"dropCapabilities":["ALL"]})"),
                         json::stringify(json::getObject(sc, "capabilities")));
    CPPUNIT_ASSERT_EQUAL(std::string("[5,6]"),
                         json::stringify(Poco::Dynamic::Var(json::getArray(sc, "supplementalGroups"))));
  }

  void testEnumNames() {
    ContainerConfig c;
    c.mounts = {{"/a", "/h/a", false, MountPropagation::kPrivate},
                {"/b", "/h/b", true, MountPropagation::kHostToContainer},
                {"/c", "/h/c", false, MountPropagation::kBidirectional}};
    json::ArrayPtr mounts = json::getArray(crijson::encode(c), "mounts");
    const char* expected[] = {"PROPAGATION_PRIVATE", "PROPAGATION_HOST_TO_CONTAINER",
                              "PROPAGATION_BIDIRECTIONAL"};
    for (unsigned i = 0; i < 3; ++i) {
      CPPUNIT_ASSERT_EQUAL(std::string(expected[i]), json::getString(mounts->getObject(i), "propagation"));
    }
    const std::pair<const char*, ContainerState> states[] = {{"CONTAINER_CREATED", ContainerState::kCreated},
                                                             {"CONTAINER_RUNNING", ContainerState::kRunning},
                                                             {"CONTAINER_EXITED", ContainerState::kExited},
                                                             {"CONTAINER_UNKNOWN", ContainerState::kUnknown}};
    for (const auto& [name, state] : states) {
      CPPUNIT_ASSERT(crijson::containerState(name) == state);
      CPPUNIT_ASSERT_EQUAL(std::string(name), std::string(crijson::containerStateName(state)));
    }
    CPPUNIT_ASSERT(crijson::containerState("CONTAINER_PAUSED") == ContainerState::kUnknown);
    CPPUNIT_ASSERT(crijson::containerState("") == ContainerState::kUnknown);
  }

  void testContainerListDecoding() {
    auto list = crijson::decodeContainers(parse(
        R"({"containers":[{"id":"c1","podSandboxId":"s1","metadata":{"name":"app","attempt":2},)"
        R"("image":{"image":"busybox"},"imageRef":"sha256:9","state":"CONTAINER_RUNNING","createdAt":"1700000000000000000",)"
        R"("labels":{"io.kubernetes.pod.uid":"u1","n":7},"annotations":{"h":"x"}},)"
        R"(7,null,{"id":"c2"}]})"));
    CPPUNIT_ASSERT_EQUAL(size_t{2}, list.size());  // items that are not objects are skipped
    const Container& c = list[0];
    CPPUNIT_ASSERT_EQUAL(
        std::string("c1 s1 app busybox sha256:9"),
        c.id + " " + c.podSandboxId + " " + c.metadata.name + " " + c.image + " " + c.imageRef);
    CPPUNIT_ASSERT_EQUAL(uint32_t{2}, c.metadata.attempt);
    CPPUNIT_ASSERT(c.state == ContainerState::kRunning);
    CPPUNIT_ASSERT_EQUAL(int64_t{1700000000000000000}, c.createdAt);  // int64 as a string: protobuf JSON
    CPPUNIT_ASSERT_EQUAL(size_t{1}, c.labels.size());  // a label that is not a string is dropped
    CPPUNIT_ASSERT_EQUAL(std::string("x"), c.annotations.at("h"));
    CPPUNIT_ASSERT(list[1].state == ContainerState::kUnknown);
    CPPUNIT_ASSERT(crijson::decodeContainers(parse(R"({"containers":{}})")).empty());
    CPPUNIT_ASSERT(crijson::decodeSandboxes(parse("{}")).empty());
  }

  void testAttemptsAreClampedIntoUint32() {
    const std::pair<const char*, uint32_t> rows[] = {{"3", 3},
                                                     {"-1", 0},
                                                     {"\"12\"", 12},
                                                     {"4294967295", std::numeric_limits<uint32_t>::max()},
                                                     {"99999999999", std::numeric_limits<uint32_t>::max()},
                                                     {"\"x\"", 0},
                                                     {"true", 1},
                                                     {"null", 0}};
    for (const auto& [text, want] : rows) {
      auto s = crijson::decodeSandboxes(
          parse(std::string(R"({"items":[{"id":"s","metadata":{"attempt":)") + text + "}}]}"));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(text, want, s.at(0).metadata.attempt);
    }
  }

  void testMistypedFieldsReadAsZero() {
    auto s = crijson::decodeSandboxes(parse(
        R"({"items":[{"id":5,"metadata":"x","state":1,"createdAt":{},"labels":[],"annotations":"a"}]})"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, s.size());
    CPPUNIT_ASSERT_EQUAL(std::string(), s[0].id);
    CPPUNIT_ASSERT(s[0].state == SandboxState::kNotReady);
    CPPUNIT_ASSERT_EQUAL(int64_t{0}, s[0].createdAt);
    CPPUNIT_ASSERT(s[0].labels.empty() && s[0].annotations.empty());
    PodSandboxStatus st = crijson::decodeSandboxStatus(parse(R"({"status":{"network":{"ip":7}}})"));
    CPPUNIT_ASSERT_EQUAL(std::string(), st.ip);
    VersionInfo v = crijson::decodeVersion(parse(R"({"runtimeName":["docker"]})"));
    CPPUNIT_ASSERT_EQUAL(std::string(), v.runtimeName);
  }

  void testContainerStatusDecoding() {
    ContainerStatus st = crijson::decodeContainerStatus(parse(
        R"({"status":{"id":"c1","metadata":{"name":"app","attempt":1},"state":"CONTAINER_EXITED",)"
        R"("createdAt":1,"startedAt":2,"finishedAt":"3","exitCode":137,"reason":"OOMKilled","message":"m",)"
        R"("image":{"image":"busybox"},"imageRef":"sha256:9"}})"));
    CPPUNIT_ASSERT(st.state == ContainerState::kExited);
    CPPUNIT_ASSERT_EQUAL(int64_t{6}, st.createdAt + st.startedAt + st.finishedAt);
    CPPUNIT_ASSERT_EQUAL(int64_t{137}, st.exitCode);
    CPPUNIT_ASSERT_EQUAL(
        std::string("OOMKilled m busybox sha256:9 app"),
        st.reason + " " + st.message + " " + st.image + " " + st.imageRef + " " + st.metadata.name);
    CPPUNIT_ASSERT(crijson::decodeContainerStatus(parse("{}")).state == ContainerState::kUnknown);
  }

  void testExecOutputIsBase64() {
    ExecSyncResult r = crijson::decodeExecSync(parse(R"({"stdout":"aGk=","stderr":"","exitCode":"2"})"));
    CPPUNIT_ASSERT_EQUAL(std::string("hi"), r.out);
    CPPUNIT_ASSERT_EQUAL(std::string(), r.err);
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, r.exitCode);
    // Output that is not base64 ends where decoding stops; it never throws.
    r = crijson::decodeExecSync(parse(R"({"stdout":"aGk=!!!*","exitCode":1})"));
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, r.exitCode);
    CPPUNIT_ASSERT(r.out.rfind("hi", 0) == 0);
  }

  void testImagePresence() {
    const std::pair<const char*, bool> rows[] = {{"{}", false},
                                                 {R"({"image":null})", false},
                                                 {R"({"image":{}})", false},
                                                 {R"({"image":{"id":""}})", false},
                                                 {R"({"image":{"id":"sha256:1"}})", true}};
    for (const auto& [text, want] : rows) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(text, want, crijson::decodeImagePresent(parse(text)));
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CriJsonTest);
