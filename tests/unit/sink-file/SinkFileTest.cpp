// SinkFileTest - the sink-file plugin loaded through the ABI, writing real files.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "util/Json.h"

using podwarden::plugin::CallResult;
using podwarden::plugin::isRetryable;
using podwarden::plugin::PluginError;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::SinkInstance;
namespace json = podwarden::json;
namespace fs = std::filesystem;

namespace {

std::string pluginPath() {
  const char* dir = std::getenv("PODWARDEN_PLUGIN_DIR");
  CPPUNIT_ASSERT_MESSAGE("PODWARDEN_PLUGIN_DIR is not set", dir != nullptr);
  return std::string(dir) + "/sink-file.so";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pw-sink-file-XXXXXX";
    CPPUNIT_ASSERT(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string pod(const std::string& ns, const std::string& name, const std::string& uid,
                const std::string& phase = "Pending") {
  return "{\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"" + ns + "\",\"uid\":\"" + uid +
         "\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]},\"status\":{\"phase\":\"" +
         phase + "\"},\"podwarden\":{\"source\":\"file\",\"origin\":\"/etc/kubernetes/manifests/" + name +
         ".yaml\"}}";
}

std::string batch(const std::vector<std::string>& pods, const std::string& errors = "") {
  std::string out = "{\"items\":[";
  for (size_t i = 0; i < pods.size(); ++i) out += (i ? "," : "") + pods[i];
  out += "]";
  if (!errors.empty()) out += ",\"errors\":" + errors;
  return out + "}";
}

// "2026-11-26T20:49:00Z": RFC 3339, UTC, whole seconds.
bool isRfc3339Seconds(const std::string& s) {
  const std::string shape = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != shape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(s[i])) : s[i] != shape[i]) return false;
  }
  return true;
}

json::ObjectPtr readStatus(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CPPUNIT_ASSERT_MESSAGE("cannot read " + path, in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parseObject(ss.str());
}

// "namespace/name" of each pod in the file, in file order.
std::vector<std::string> podKeys(const json::ObjectPtr& status) {
  std::vector<std::string> keys;
  json::ArrayPtr pods = json::getArray(status, "pods");
  CPPUNIT_ASSERT(!pods.isNull());
  for (size_t i = 0; i < pods->size(); ++i) {
    json::ObjectPtr meta = json::getObject(pods->getObject(i), "metadata");
    keys.push_back(json::getString(meta, "namespace") + "/" + json::getString(meta, "name"));
  }
  return keys;
}

json::ObjectPtr podByUid(const json::ObjectPtr& status, const std::string& uid) {
  json::ArrayPtr pods = json::getArray(status, "pods");
  for (size_t i = 0; i < pods->size(); ++i) {
    if (json::getString(json::getObject(pods->getObject(i), "metadata"), "uid") == uid)
      return pods->getObject(i);
  }
  return nullptr;
}

}  // namespace

class SinkFileTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SinkFileTest);
  CPPUNIT_TEST(testReportWritesSortedPods);
  CPPUNIT_TEST(testChangedPodReplacesItsEntry);
  CPPUNIT_TEST(testErrorsListReplaced);
  CPPUNIT_TEST(testRemove);
  CPPUNIT_TEST(testParentCreatedAndNoTempFileLeft);
  CPPUNIT_TEST(testUnwritablePathIsRetryable);
  CPPUNIT_TEST(testBadBatchRejectedWithoutChange);
  CPPUNIT_TEST(testBadConfigRejected);
  CPPUNIT_TEST(testOtherSinksStatesLandInFile);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override { library_ = PluginLibrary::load(pluginPath()); }
  void tearDown() override { library_.reset(); }

  void testReportWritesSortedPods() {
    TempDir dir;
    const std::string path = dir / "status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    auto r = sink.report(batch({pod("kube-system", "b-node-1", "u1"), pod("default", "z-node-1", "u2"),
                                pod("kube-system", "a-node-1", "u3")}));
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());

    json::ObjectPtr status = readStatus(path);
    CPPUNIT_ASSERT_EQUAL(std::string("podwarden.io/v1alpha1"), json::getString(status, "apiVersion"));
    CPPUNIT_ASSERT_EQUAL(std::string("NodeStatus"), json::getString(status, "kind"));
    CPPUNIT_ASSERT_EQUAL(std::string("node-1"), json::getString(status, "node"));
    std::string updateTime = json::getString(status, "updateTime");
    CPPUNIT_ASSERT_MESSAGE(updateTime, isRfc3339Seconds(updateTime));
    std::vector<std::string> expected = {"default/z-node-1", "kube-system/a-node-1", "kube-system/b-node-1"};
    CPPUNIT_ASSERT(expected == podKeys(status));
    CPPUNIT_ASSERT_EQUAL(size_t(0), json::getArray(status, "errors")->size());
    // The whole pod object is kept, not just its identity.
    json::ObjectPtr p = podByUid(status, "u1");
    CPPUNIT_ASSERT_EQUAL(std::string("file"), json::getString(json::getObject(p, "podwarden"), "source"));
    CPPUNIT_ASSERT_EQUAL(
        std::string("busybox"),
        json::getString(json::getArray(json::getObject(p, "spec"), "containers")->getObject(0), "image"));

    // Pretty-printed for people reading it with cat.
    std::ifstream in(path);
    std::string first, second;
    std::getline(in, first);
    std::getline(in, second);
    CPPUNIT_ASSERT_EQUAL(std::string("{"), first);
    CPPUNIT_ASSERT_EQUAL(std::string("  \"apiVersion\": \"podwarden.io/v1alpha1\","), second);
  }

  void testChangedPodReplacesItsEntry() {
    TempDir dir;
    const std::string path = dir / "status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    CPPUNIT_ASSERT(sink.report(batch({pod("default", "a", "u1"), pod("default", "b", "u2")})).ok());
    // Only the changed pod comes in the next batch; the other one stays in the file.
    CPPUNIT_ASSERT(sink.report(batch({pod("default", "b", "u2", "Running")})).ok());
    json::ObjectPtr status = readStatus(path);
    CPPUNIT_ASSERT_EQUAL(size_t(2), podKeys(status).size());
    CPPUNIT_ASSERT_EQUAL(std::string("Running"),
                         json::getString(json::getObject(podByUid(status, "u2"), "status"), "phase"));
    CPPUNIT_ASSERT_EQUAL(std::string("Pending"),
                         json::getString(json::getObject(podByUid(status, "u1"), "status"), "phase"));
  }

  void testErrorsListReplaced() {
    TempDir dir;
    const std::string path = dir / "status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    const std::string two =
        "[{\"origin\":\"/m/a.yaml\",\"message\":\"bad a\"},{\"origin\":\"/m/b.yaml\",\"message\":\"bad b\"}]";
    CPPUNIT_ASSERT(sink.report(batch({pod("default", "a", "u1")}, two)).ok());
    CPPUNIT_ASSERT_EQUAL(size_t(2), json::getArray(readStatus(path), "errors")->size());

    CPPUNIT_ASSERT(sink.report(batch({}, "[{\"origin\":\"/m/b.yaml\",\"message\":\"bad b\"}]")).ok());
    json::ArrayPtr errors = json::getArray(readStatus(path), "errors");
    CPPUNIT_ASSERT_EQUAL(size_t(1), errors->size());
    CPPUNIT_ASSERT_EQUAL(std::string("/m/b.yaml"), json::getString(errors->getObject(0), "origin"));

    // A batch without "errors" leaves the list alone; an empty list clears it.
    CPPUNIT_ASSERT(sink.report(batch({pod("default", "a", "u1", "Running")})).ok());
    CPPUNIT_ASSERT_EQUAL(size_t(1), json::getArray(readStatus(path), "errors")->size());
    CPPUNIT_ASSERT(sink.report(batch({}, "[]")).ok());
    CPPUNIT_ASSERT_EQUAL(size_t(0), json::getArray(readStatus(path), "errors")->size());
    CPPUNIT_ASSERT_EQUAL(size_t(1), podKeys(readStatus(path)).size());
  }

  void testRemove() {
    TempDir dir;
    const std::string path = dir / "status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    CPPUNIT_ASSERT(sink.report(batch({pod("default", "a", "u1"), pod("default", "b", "u2"),
                                      pod("kube-system", "c", "u3")}))
                       .ok());
    auto r = sink.remove("{\"items\":[{\"namespace\":\"default\",\"name\":\"a\",\"uid\":\"u1\"}]}");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    std::vector<std::string> expected = {"default/b", "kube-system/c"};
    CPPUNIT_ASSERT(expected == podKeys(readStatus(path)));

    // Without a uid, namespace + name identify the pod.
    CPPUNIT_ASSERT(sink.remove("{\"items\":[{\"namespace\":\"kube-system\",\"name\":\"c\"}]}").ok());
    expected = {"default/b"};
    CPPUNIT_ASSERT(expected == podKeys(readStatus(path)));

    // Removing a pod the sink never saw is not an error.
    CPPUNIT_ASSERT(
        sink.remove("{\"items\":[{\"namespace\":\"default\",\"name\":\"x\",\"uid\":\"nope\"}]}").ok());
    CPPUNIT_ASSERT(expected == podKeys(readStatus(path)));
  }

  void testParentCreatedAndNoTempFileLeft() {
    TempDir dir;
    const std::string path = dir / "var/lib/podwarden/status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    for (int i = 0; i < 5; ++i) {
      CPPUNIT_ASSERT(sink.report(batch({pod("default", "a", "u1", i % 2 ? "Running" : "Pending")})).ok());
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir / "var/lib/podwarden")) {
      names.push_back(entry.path().filename().string());
    }
    CPPUNIT_ASSERT_EQUAL(size_t(1), names.size());
    CPPUNIT_ASSERT_EQUAL(std::string("status.json"), names[0]);
    struct stat st {};
    CPPUNIT_ASSERT(::stat(path.c_str(), &st) == 0);
    CPPUNIT_ASSERT_EQUAL(0644u, static_cast<unsigned>(st.st_mode & 0777));
    CPPUNIT_ASSERT_EQUAL(
        std::string("Pending"),
        json::getString(json::getObject(podByUid(readStatus(path), "u1"), "status"), "phase"));
  }

  void testUnwritablePathIsRetryable() {
    TempDir dir;
    // A regular file where a directory should be: fails even for root.
    std::ofstream(dir / "blocker") << "x";
    const std::string path = dir / "blocker/status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    auto r = sink.report(batch({pod("default", "a", "u1")}));
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_UNAVAILABLE), r.status);
    CPPUNIT_ASSERT(isRetryable(r.status));
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find(path) != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("Not a directory") != std::string::npos);

    // Once the path is usable, the next call writes everything it was told before.
    fs::remove(dir / "blocker");
    r = sink.report(batch({pod("default", "b", "u2")}));
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    std::vector<std::string> expected = {"default/a", "default/b"};
    CPPUNIT_ASSERT(expected == podKeys(readStatus(path)));
  }

  void testBadBatchRejectedWithoutChange() {
    TempDir dir;
    const std::string path = dir / "status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    CPPUNIT_ASSERT(sink.report(batch({pod("default", "a", "u1")})).ok());

    auto r = sink.report("{\"items\":[" + pod("default", "b", "u2") + ",{\"metadata\":{\"name\":\"c\"}}]}");
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_INVALID_ARGUMENT), r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("items[1].metadata.uid") != std::string::npos);
    r = sink.report("not json");
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_INVALID_ARGUMENT), r.status);
    r = sink.remove("{\"items\":[{\"namespace\":\"default\"}]}");
    CPPUNIT_ASSERT_EQUAL(static_cast<pw_status>(PW_INVALID_ARGUMENT), r.status);
    CPPUNIT_ASSERT_MESSAGE(r.err, r.err.find("items[0]") != std::string::npos);

    std::vector<std::string> expected = {"default/a"};
    CPPUNIT_ASSERT(expected == podKeys(readStatus(path)));
  }

  void testBadConfigRejected() {
    try {
      SinkInstance sink(library_, "file", "{\"path\":\"/tmp/x.json\",\"fsync\":false}", "node-1");
    } catch (const PluginError& e) {
      std::string message = e.what();
      CPPUNIT_ASSERT_MESSAGE(message, message.find("INVALID_ARGUMENT") != std::string::npos);
      CPPUNIT_ASSERT_MESSAGE(message, message.find("unknown key \"fsync\"") != std::string::npos);
      return;
    }
    CPPUNIT_FAIL("an unknown config key was accepted");
  }

  // ABI minor 1: what other sinks published about a pod travels in its podwarden.sinks block, and the
  // file keeps it as it came; a later version of the pod without it replaces it.
  void testOtherSinksStatesLandInFile() {
    TempDir dir;
    const std::string path = dir / "status.json";
    SinkInstance sink(library_, "file", "{\"path\":\"" + path + "\"}", "node-1");
    CallResult started = sink.start([](std::vector<podwarden::plugin::SinkStateItem>) {});
    CPPUNIT_ASSERT_MESSAGE(started.describe(), started.ok());
    std::string withState = pod("kube-system", "kube-apiserver-node-1", "u1", "Running");
    const std::string block = "\"podwarden\":{";
    withState.replace(withState.find(block), block.size(),
                      block + R"("sinks":{"sink-apiserver":{"mirror":{"phase":"Created","uid":"m-1"},)"
                              R"("lastError":null},"vendor-x#2":{"n":3}},)");
    auto r = sink.report(batch({withState, pod("default", "other", "u2")}));
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());

    json::ObjectPtr p = podByUid(readStatus(path), "u1");
    json::ObjectPtr sinks = json::getObject(json::getObject(p, "podwarden"), "sinks");
    CPPUNIT_ASSERT(!sinks.isNull());
    json::ObjectPtr mirror = json::getObject(json::getObject(sinks, "sink-apiserver"), "mirror");
    CPPUNIT_ASSERT_EQUAL(std::string("Created"), json::getString(mirror, "phase"));
    CPPUNIT_ASSERT_EQUAL(std::string("m-1"), json::getString(mirror, "uid"));
    json::ObjectPtr apiserver = json::getObject(sinks, "sink-apiserver");
    CPPUNIT_ASSERT(apiserver->has("lastError") && apiserver->isNull("lastError"));  // kept, as null
    CPPUNIT_ASSERT_EQUAL(int64_t{3}, json::getInt(json::getObject(sinks, "vendor-x#2"), "n"));
    // The rest of the podwarden block is untouched, and other pods have no sinks block.
    CPPUNIT_ASSERT_EQUAL(std::string("file"), json::getString(json::getObject(p, "podwarden"), "source"));
    CPPUNIT_ASSERT(!json::has(json::getObject(podByUid(readStatus(path), "u2"), "podwarden"), "sinks"));

    // The state was cleared: the pod comes again without it.
    CPPUNIT_ASSERT(sink.report(batch({pod("kube-system", "kube-apiserver-node-1", "u1", "Running")})).ok());
    CPPUNIT_ASSERT(!json::has(json::getObject(podByUid(readStatus(path), "u1"), "podwarden"), "sinks"));
    sink.stop();
  }

 private:
  std::shared_ptr<PluginLibrary> library_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SinkFileTest);
