// SdkInstallTest: installs the SDK component of this build into a temporary prefix, builds the sample
// plugin samples/plugins/sink-jsonl from a copy outside the tree against that prefix only, then loads the
// resulting sink-jsonl.so through the host and checks the JSON lines it writes.
#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "util/Json.h"

#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using podwarden::plugin::CallResult;
using podwarden::plugin::PluginError;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::SinkInstance;
namespace json = podwarden::json;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') throw std::runtime_error(std::string(name) + " is not set (run through ctest)");
  return v;
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command; throws with the command and its combined output when it fails.
std::string run(const std::string& command) {
  std::string output;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) throw std::runtime_error("cannot run: " + command);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output.append(buf, n);
  int rc = pclose(p);
  if (rc != 0) {
    throw std::runtime_error("command failed (status " + std::to_string(rc) + "): " + command + "\n" + output);
  }
  return output;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> readLines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(readFile(path));
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// One temporary tree per test process: prefix/ (the installed SDK), src/ (a copy of the sample),
// build/ and out/. Removed at exit unless PODWARDEN_KEEP_TEST_DIRS is set.
class Workspace {
 public:
  static Workspace& get() {
    static Workspace w;
    return w;
  }
  const std::string& root() const { return root_; }
  // Builds the sample once; later calls return the same path, or rethrow the first failure.
  const std::string& plugin() {
    if (!built_) {
      built_ = true;
      try {
        plugin_ = build();
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    }
    if (!error_.empty()) throw std::runtime_error(error_);
    return plugin_;
  }
  // The install and build logs, for assertions about what the build used.
  const std::string& log() const { return log_; }

 private:
  Workspace() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/podwarden-sdk-test-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern + " failed");
    root_ = buf.data();
  }
  ~Workspace() {
    if (std::getenv("PODWARDEN_KEEP_TEST_DIRS") == nullptr && !root_.empty()) {
      std::system(("rm -rf " + quote(root_)).c_str());
    }
  }

  std::string build() {
    const std::string cmake = quote(PODWARDEN_TEST_CMAKE);
    log_ += run(cmake + " --install " + quote(env("PODWARDEN_BINARY_DIR")) + " --component sdk --prefix " +
                quote(root_ + "/prefix"));
    // Built from a copy outside the source tree: a path that reaches back into the tree cannot resolve.
    run("cp -R " + quote(env("PODWARDEN_SOURCE_DIR") + "/samples/plugins/sink-jsonl") + " " + quote(root_ + "/src"));
    log_ += run(cmake + " -S " + quote(root_ + "/src") + " -B " + quote(root_ + "/build") + " -G " +
                quote(PODWARDEN_TEST_GENERATOR) + " -DCMAKE_CXX_COMPILER=" + quote(PODWARDEN_TEST_CXX) +
                " -DCMAKE_PREFIX_PATH=" + quote(root_ + "/prefix") +
                " -DCMAKE_COMPILE_WARNING_AS_ERROR=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON");
    log_ += run(cmake + " --build " + quote(root_ + "/build"));
    std::string so = root_ + "/build/sink-jsonl.so";
    if (access(so.c_str(), R_OK) != 0) throw std::runtime_error("the sample build produced no " + so + "\n" + log_);
    return so;
  }

  std::string root_;
  bool built_ = false;
  std::string plugin_;
  std::string error_;
  std::string log_;
};

json::ObjectPtr objectAt(const json::ArrayPtr& a, unsigned i) {
  json::ObjectPtr o = a->getObject(i);
  if (o.isNull()) throw std::runtime_error("element " + std::to_string(i) + " is not an object");
  return o;
}

// A report batch shaped like the host's: full pods with status, plus rejected manifests.
const char kReportBatch[] = R"({
  "items": [
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "etcd-node1", "namespace": "kube-system", "uid": "0123456789abcdef0123456789abcdef"},
     "spec": {"nodeName": "node1", "containers": [{"name": "etcd", "image": "etcd:3.5"},
                                                  {"name": "sidecar", "image": "busybox"}]},
     "status": {"phase": "Running",
                "containerStatuses": [
                  {"name": "etcd", "restartCount": 2, "ready": true,
                   "state": {"running": {"startedAt": "2026-01-02T03:04:05Z"}}},
                  {"name": "sidecar", "restartCount": 5, "ready": false,
                   "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
     "podwarden": {"source": "dir", "origin": "/etc/kubernetes/manifests/etcd.yaml"}},
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "we\"ird\\name-node1", "namespace": "default", "uid": "u2"},
     "status": {"phase": "Pending"}}
  ],
  "errors": [{"origin": "/etc/kubernetes/manifests/bad.yaml", "message": "not a Pod"}]
})";

}  // namespace

class SdkInstallTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SdkInstallTest);
  CPPUNIT_TEST(testSampleBuildsAgainstInstalledSdkOnly);
  CPPUNIT_TEST(testSampleLoadsAndWritesJsonLines);
  CPPUNIT_TEST(testSampleRejectsBadConfig);
  CPPUNIT_TEST(testSampleReportsFailuresWithStatus);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testSampleBuildsAgainstInstalledSdkOnly() {
    Workspace& ws = Workspace::get();
    std::string so = ws.plugin();
    const std::string prefix = ws.root() + "/prefix";
    for (const char* installed : {"/include/podwarden/abi.h", "/include/podwarden/plugin.hpp"}) {
      CPPUNIT_ASSERT_MESSAGE(std::string("SDK install lacks ") + installed,
                             access((prefix + installed).c_str(), R_OK) == 0);
    }
    // The compile lines may name the prefix, never the podwarden tree.
    const std::string commands = readFile(ws.root() + "/build/compile_commands.json");
    CPPUNIT_ASSERT_MESSAGE("no compile_commands.json in the sample build", !commands.empty());
    CPPUNIT_ASSERT_MESSAGE("sample build reaches into the podwarden tree:\n" + commands,
                           commands.find(env("PODWARDEN_SOURCE_DIR") + "/") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE("sample build does not use the installed SDK:\n" + commands,
                           commands.find(prefix + "/include") != std::string::npos);
  }

  void testSampleLoadsAndWritesJsonLines() {
    Workspace& ws = Workspace::get();
    auto lib = PluginLibrary::load(ws.plugin());
    CPPUNIT_ASSERT_EQUAL(std::string("sink-jsonl"), lib->info().name);
    CPPUNIT_ASSERT_EQUAL(std::string("1.0.0"), lib->info().version);
    CPPUNIT_ASSERT(!lib->info().configSchemaJson.empty());
    json::parseObject(lib->info().configSchemaJson);  // the published schema is JSON
    CPPUNIT_ASSERT(lib->findFactory(PW_KIND_SINK, "jsonl") != nullptr);

    const std::string out = ws.root() + "/status.jsonl";
    SinkInstance sink(lib, "jsonl", R"({"path":")" + out + R"("})", "node1");

    CallResult r = sink.report(kReportBatch);
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    std::vector<std::string> lines = readLines(out);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, lines.size());

    json::ObjectPtr first = json::parseObject(lines[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("report"), json::getString(first, "event"));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), json::getString(first, "namespace"));
    CPPUNIT_ASSERT_EQUAL(std::string("etcd-node1"), json::getString(first, "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("0123456789abcdef0123456789abcdef"), json::getString(first, "uid"));
    CPPUNIT_ASSERT_EQUAL(std::string("Running"), json::getString(first, "phase"));
    const std::string time = json::getString(first, "time");
    CPPUNIT_ASSERT_MESSAGE("time should be RFC 3339 UTC, got " + time,
                           time.size() >= 20 && time[4] == '-' && time[10] == 'T' && time.back() == 'Z');
    json::ArrayPtr containers = json::getArray(first, "containers");
    CPPUNIT_ASSERT(!containers.isNull());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, containers->size());
    CPPUNIT_ASSERT_EQUAL(std::string("etcd"), json::getString(objectAt(containers, 0), "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("running"), json::getString(objectAt(containers, 0), "state"));
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, json::getInt(objectAt(containers, 0), "restartCount", -1));
    CPPUNIT_ASSERT_EQUAL(std::string("sidecar"), json::getString(objectAt(containers, 1), "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("waiting"), json::getString(objectAt(containers, 1), "state"));
    CPPUNIT_ASSERT_EQUAL(int64_t{5}, json::getInt(objectAt(containers, 1), "restartCount", -1));

    json::ObjectPtr second = json::parseObject(lines[1]);
    CPPUNIT_ASSERT_EQUAL(std::string("we\"ird\\name-node1"), json::getString(second, "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("Pending"), json::getString(second, "phase"));
    CPPUNIT_ASSERT_EQUAL(size_t{0}, json::getArray(second, "containers")->size());

    r = sink.remove(R"({"items":[{"namespace":"kube-system","name":"etcd-node1","uid":"0123456789abcdef0123456789abcdef"}]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    lines = readLines(out);
    CPPUNIT_ASSERT_EQUAL(size_t{3}, lines.size());
    json::ObjectPtr removed = json::parseObject(lines[2]);
    CPPUNIT_ASSERT_EQUAL(std::string("remove"), json::getString(removed, "event"));
    CPPUNIT_ASSERT_EQUAL(std::string("kube-system"), json::getString(removed, "namespace"));
    CPPUNIT_ASSERT_EQUAL(std::string("etcd-node1"), json::getString(removed, "name"));
    CPPUNIT_ASSERT_EQUAL(std::string("0123456789abcdef0123456789abcdef"), json::getString(removed, "uid"));

    // An empty batch appends nothing.
    r = sink.report(R"({"items":[]})");
    CPPUNIT_ASSERT_MESSAGE(r.describe(), r.ok());
    CPPUNIT_ASSERT_EQUAL(size_t{3}, readLines(out).size());
  }

  void testSampleRejectsBadConfig() {
    Workspace& ws = Workspace::get();
    auto lib = PluginLibrary::load(ws.plugin());
    struct Case {
      std::string config;
      std::string needle;
    } cases[] = {
        {"{}", "\"path\" is required"},
        {R"({"path":"relative/file.jsonl"})", "relative/file.jsonl"},
        {R"({"path":"/tmp/x.jsonl","mode":"0600"})", "\"mode\""},
        {R"({"path":")" + ws.root() + R"(/no/such/dir/x.jsonl"})", ws.root() + "/no/such/dir/x.jsonl"},
        {"[1,2", "config"},
    };
    for (const Case& c : cases) {
      try {
        SinkInstance sink(lib, "jsonl", c.config, "node1");
        CPPUNIT_FAIL("config " + c.config + " should have been rejected");
      } catch (const PluginError& e) {
        std::string message = e.what();
        CPPUNIT_ASSERT_MESSAGE("rejection of " + c.config + " should mention " + c.needle + ", got: " + message,
                               message.find(c.needle) != std::string::npos);
      }
    }
  }

  void testSampleReportsFailuresWithStatus() {
    Workspace& ws = Workspace::get();
    auto lib = PluginLibrary::load(ws.plugin());
    const std::string dir = ws.root() + "/vanishing";
    CPPUNIT_ASSERT_EQUAL(0, mkdir(dir.c_str(), 0755));
    const std::string out = dir + "/status.jsonl";
    SinkInstance sink(lib, "jsonl", R"({"path":")" + out + R"("})", "node1");

    CallResult bad = sink.report("{\"items\": [");
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_INVALID_ARGUMENT}, bad.status);
    CPPUNIT_ASSERT_MESSAGE(bad.describe(), bad.err.find("report batch") != std::string::npos);

    // The directory goes away (an unmounted volume): retryable, and the message names the file.
    CPPUNIT_ASSERT_EQUAL(0, std::remove(out.c_str()));
    CPPUNIT_ASSERT_EQUAL(0, rmdir(dir.c_str()));
    CallResult gone = sink.report(kReportBatch);
    CPPUNIT_ASSERT_EQUAL(pw_status{PW_UNAVAILABLE}, gone.status);
    CPPUNIT_ASSERT_MESSAGE(gone.describe(), gone.err.find(out) != std::string::npos);

    // Back again: the next report succeeds without recreating the instance.
    CPPUNIT_ASSERT_EQUAL(0, mkdir(dir.c_str(), 0755));
    CallResult back = sink.report(kReportBatch);
    CPPUNIT_ASSERT_MESSAGE(back.describe(), back.ok());
    CPPUNIT_ASSERT_EQUAL(size_t{2}, readLines(out).size());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SdkInstallTest);
