// DockerRepliesTest: Docker Engine API replies -> the CRI JSON the host reads (DockerReplies.h), including
// the replies fuzz/fuzz_docker_json found that a broken daemon could send: times beyond 64-bit nanoseconds
// and exec frames that announce gigabytes.
#include "DockerReplies.h"

#include <Poco/Exception.h>
#include <cppunit/extensions/HelperMacros.h>

#include <cstdint>
#include <limits>
#include <podwarden/plugin.hpp>
#include <sstream>
#include <string>

using namespace podwarden::docker;

namespace {

Poco::Dynamic::Var reply(const std::string& json) {
  return parseReply(json, "test");
}

std::string str(const ArrayPtr& a) {
  return stringify(Poco::Dynamic::Var(a));
}

}  // namespace

class DockerRepliesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DockerRepliesTest);
  CPPUNIT_TEST(containersFromListSummaries);
  CPPUNIT_TEST(sandboxesFromListFiltersByState);
  CPPUNIT_TEST(sandboxStatusTakesTheFirstNetworkIp);
  CPPUNIT_TEST(containerStatusFromInspect);
  CPPUNIT_TEST(imageRefAndImageStatus);
  CPPUNIT_TEST(pullErrorFindsTheFirstError);
  CPPUNIT_TEST(eventsBecomeCriEvents);
  CPPUNIT_TEST(execOutputIsDemultiplexed);
  CPPUNIT_TEST(timesBeyond64BitNanosecondsReadAsUnknown);
  CPPUNIT_TEST(execFrameLargerThanTheLimitFailsBeforeReading);
  CPPUNIT_TEST_SUITE_END();

 public:
  void containersFromListSummaries() {
    ArrayPtr items = containersFromList(
        asArray(reply(R"([{"Id":"c1","Names":["/k8s_app_web-n1_default_u1_2"],"Image":"nginx:1.25",)"
                      R"("ImageID":"sha256:6e","Created":1700000000,"State":"exited","Labels":{)"
                      R"("io.kubernetes.sandbox.id":"s1","annotation.a/b":"x","l":"v","n":7}},7,)"
                      R"({"Id":"c2","Names":["/other"],"State":"running",)"
                      R"("Labels":{"io.kubernetes.container.name":"side"}}])")),
        "");
    CPPUNIT_ASSERT_EQUAL(
        std::string(
            R"([{"annotations":{"a/b":"x"},"createdAt":"1700000000000000000","id":"c1",)"
            R"("image":{"image":"nginx:1.25"},"imageRef":"sha256:6e","labels":{"l":"v"},)"
            R"("metadata":{"attempt":2,"name":"app"},"podSandboxId":"s1","state":"CONTAINER_EXITED"},)"
            R"({"annotations":{},"createdAt":"0","id":"","image":{"image":""},"imageRef":"",)"
            R"("labels":{},"metadata":{"attempt":0,"name":""},"podSandboxId":"",)"
            R"("state":"CONTAINER_UNKNOWN"},)"
            R"({"annotations":{},"createdAt":"0","id":"c2","image":{"image":""},"imageRef":"",)"
            R"("labels":{"io.kubernetes.container.name":"side"},"metadata":{"attempt":0,"name":"side"},)"
            R"("podSandboxId":"","state":"CONTAINER_RUNNING"}])"),
        str(items));
    CPPUNIT_ASSERT_EQUAL(
        size_t(1),
        containersFromList(
            items.isNull() ? ArrayPtr() : asArray(reply(R"([{"State":"running"},{"State":"created"}])")),
            "CONTAINER_CREATED")
            ->size());
  }

  void sandboxesFromListFiltersByState() {
    ArrayPtr all = asArray(reply(R"([{"Id":"s1","Names":["/k8s_POD_web-n1_default_u1_0"],"State":"running"},)"
                                 R"({"Id":"s0","Names":["/k8s_POD_web-n1_default_u1_x"],"State":"exited",)"
                                 R"("Labels":{"io.kubernetes.pod.name":"web-n1"}}])"));
    ArrayPtr ready = sandboxesFromList(all, "SANDBOX_READY");
    CPPUNIT_ASSERT_EQUAL(size_t(1), ready->size());
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"attempt":0,"name":"web-n1","namespace":"default","uid":"u1"})"),
                         stringify(getObject(ready->getObject(0), "metadata")));
    ArrayPtr notReady = sandboxesFromList(all, "SANDBOX_NOTREADY");
    CPPUNIT_ASSERT_EQUAL(size_t(1), notReady->size());
    // Not a dockershim name: the metadata comes from the labels.
    CPPUNIT_ASSERT_EQUAL(std::string("web-n1"),
                         getString(getObject(notReady->getObject(0), "metadata"), "name"));
  }

  void sandboxStatusTakesTheFirstNetworkIp() {
    ObjectPtr status = sandboxStatusFromInspect(asObject(
        reply(R"({"Id":"s1","Created":"2026-11-26T20:54:43.537476248Z","State":{"Status":"running"},)"
              R"("HostConfig":{"NetworkMode":"bridge","IpcMode":"host"},)"
              R"("NetworkSettings":{"IPAddress":"","Networks":{"bridge":{"IPAddress":"172.17.0.2"}}}})")));
    CPPUNIT_ASSERT_EQUAL(std::string("SANDBOX_READY"), getString(status, "state"));
    CPPUNIT_ASSERT_EQUAL(std::string("1795726483537476248"), getString(status, "createdAt"));
    CPPUNIT_ASSERT_EQUAL(std::string("172.17.0.2"), getString(getObject(status, "network"), "ip"));
    CPPUNIT_ASSERT_EQUAL(
        std::string(R"({"ipc":"NODE","network":"POD","pid":"POD"})"),
        stringify(getObject(getObject(getObject(status, "linux"), "namespaces"), "options")));
  }

  void containerStatusFromInspect() {
    ObjectPtr status = podwarden::docker::containerStatusFromInspect(
        asObject(
            reply(R"({"Id":"c1","Name":"/k8s_app_web-n1_default_u1_3","Created":"2026-11-26T20:54:45+02:00",)"
                  R"("State":{"Status":"exited","ExitCode":137,"OOMKilled":true,"Error":"boom"},)"
                  R"("Mounts":[{"Type":"bind","Source":"/srv","Destination":"/data","RW":false,)"
                  R"("Propagation":"rslave"},{"Type":"volume"}],)"
                  R"("Config":{"Image":"nginx","Labels":{"io.kubernetes.container.logpath":"/l/3.log"}}})")),
        "docker-pullable://nginx@sha256:ab");
    CPPUNIT_ASSERT_EQUAL(std::string("CONTAINER_EXITED"), getString(status, "state"));
    CPPUNIT_ASSERT_EQUAL(std::string("1795719285000000000"), getString(status, "createdAt"));
    CPPUNIT_ASSERT_EQUAL(std::string("0"), getString(status, "startedAt"));
    CPPUNIT_ASSERT_EQUAL(int64_t(137), getInt(status, "exitCode"));
    CPPUNIT_ASSERT_EQUAL(std::string("OOMKilled"), getString(status, "reason"));
    CPPUNIT_ASSERT_EQUAL(std::string("boom"), getString(status, "message"));
    CPPUNIT_ASSERT_EQUAL(std::string("docker-pullable://nginx@sha256:ab"), getString(status, "imageRef"));
    CPPUNIT_ASSERT_EQUAL(std::string("/l/3.log"), getString(status, "logPath"));
    CPPUNIT_ASSERT_EQUAL(std::string(R"([{"containerPath":"/data","hostPath":"/srv",)"
                                     R"("propagation":"PROPAGATION_HOST_TO_CONTAINER","readonly":true}])"),
                         str(getArray(status, "mounts")));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"attempt":3,"name":"app"})"),
                         stringify(getObject(status, "metadata")));
  }

  void imageRefAndImageStatus() {
    ObjectPtr img = asObject(reply(R"({"Id":"sha256:6e","RepoTags":["nginx:1.25"],)"
                                   R"("RepoDigests":["nginx@sha256:ab","x@sha256:cd"],"Size":187654321})"));
    CPPUNIT_ASSERT_EQUAL(std::string("docker-pullable://nginx@sha256:ab"), imageRefOf("sha256:6e", img));
    CPPUNIT_ASSERT_EQUAL(std::string("sha256:6e"), imageRefOf("sha256:6e", ObjectPtr()));
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"id":"sha256:6e","repoDigests":["nginx@sha256:ab","x@sha256:cd"],)"
                                     R"("repoTags":["nginx:1.25"],"size":"187654321"})"),
                         stringify(imageFromInspect(img)));
  }

  void pullErrorFindsTheFirstError() {
    CPPUNIT_ASSERT_EQUAL(std::string(""), pullError("{\"status\":\"Pulling\"}\n{\"status\":\"Done\"}\n"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("manifest unknown"),
        pullError("{\"status\":\"Pulling\"}\n\"error not json\n"
                  "{\"errorDetail\":{\"message\":\"manifest unknown\"}}\n{\"error\":\"later\"}"));
  }

  void eventsBecomeCriEvents() {
    int64_t last = 5;
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"containerEventType":"CONTAINER_STOPPED_EVENT","containerId":"c1",)"
                                     R"("createdAt":"1700000000000000000"})"),
                         criEventFromLine(R"({"Action":"die","Actor":{"ID":"c1"},"time":1700000000})", last));
    CPPUNIT_ASSERT_EQUAL(int64_t(1700000000000000000), last);
    CPPUNIT_ASSERT_EQUAL(std::string(""), criEventFromLine(R"({"Action":"exec_start: sh","id":"c1"})", last));
    CPPUNIT_ASSERT_EQUAL(std::string(""), criEventFromLine("[1]", last));
    CPPUNIT_ASSERT_THROW(criEventFromLine("not json", last), Poco::Exception);
  }

  void execOutputIsDemultiplexed() {
    std::istringstream in(
        std::string("\x01\0\0\0\0\0\0\x03out\x02\0\0\0\0\0\0\x03"
                    "err\x01\0\0\0\0\0\0\x09trunc",
                    32));
    std::string out, err;
    demuxExecOutput(in, out, err, 100, "exec");
    CPPUNIT_ASSERT_EQUAL(std::string("out"), out);
    CPPUNIT_ASSERT_EQUAL(std::string("err"), err);
    std::istringstream big(
        std::string("\x01\0\0\0\0\0\0\x05"
                    "12345",
                    13));
    CPPUNIT_ASSERT_THROW(demuxExecOutput(big, out, err, 6, "exec"), pw::Error);
  }

  // Found by fuzz/fuzz_docker_json: seconds * 1e9 overflowed int64 (undefined behaviour) for a Created,
  // an event time or an RFC 3339 year after 2262.
  void timesBeyond64BitNanosecondsReadAsUnknown() {
    CPPUNIT_ASSERT_EQUAL(int64_t(0), parseRfc3339Ns("9999-12-31T23:59:59Z"));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), parseRfc3339Ns("1000-01-01T00:00:00Z"));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), parseRfc3339Ns("0001-01-01T00:00:00Z"));
    CPPUNIT_ASSERT_EQUAL(int64_t(9223372036000000000), parseRfc3339Ns("2262-04-11T23:47:16Z"));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), unixNs(std::numeric_limits<int64_t>::max()));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), unixNs(std::numeric_limits<int64_t>::min()));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), unixNs(9223372036, 999999999));
    CPPUNIT_ASSERT_EQUAL(int64_t(-1000000000), unixNs(-1));
    CPPUNIT_ASSERT_EQUAL(int64_t(0),
                         fromSummary(asObject(reply(R"({"Created":9223372036854775807})"))).createdNs);
    CPPUNIT_ASSERT_EQUAL(int64_t(0),
                         fromSummary(asObject(reply(R"({"Created":"-9223372036854775808"})"))).createdNs);
    int64_t last = 0;
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"containerEventType":"CONTAINER_STARTED_EVENT","containerId":"c",)"
                                     R"("createdAt":"0"})"),
                         criEventFromLine(R"({"Action":"start","id":"c","time":30000000000})", last));
  }

  // Found by fuzz/fuzz_docker_json: a frame header announcing 4 GiB was allocated before the limit was
  // checked.
  void execFrameLargerThanTheLimitFailsBeforeReading() {
    std::istringstream in(
        std::string("\x01\0\0\0\xff\xff\xff\xff"
                    "abc",
                    11));
    std::string out, err;
    try {
      demuxExecOutput(in, out, err, 16 * 1024 * 1024, "exec in container c1");
      CPPUNIT_FAIL("a 4 GiB frame was accepted");
    } catch (const pw::Error& e) {
      CPPUNIT_ASSERT_EQUAL(PW_RESOURCE_EXHAUSTED, e.code());
      CPPUNIT_ASSERT_EQUAL(std::string("exec in container c1: output exceeds 16777216 bytes"),
                           std::string(e.what()));
    }
    CPPUNIT_ASSERT(out.empty());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DockerRepliesTest);
