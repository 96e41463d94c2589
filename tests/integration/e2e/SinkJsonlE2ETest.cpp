// SinkJsonlE2ETest - the daemon loads the out-of-tree sample plugin samples/plugins/sink-jsonl when its
// config names it: the SDK is installed from this build tree into a temp prefix, the sample is built
// against it exactly as a vendor would, and `podwarden run --config` points a sink at the resulting .so.
#include "E2eSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <sstream>

using namespace podwarden;
using namespace podwarden::e2e;

namespace {

// The first JSON line of `path` with the given event for pod `name`, or null.
json::ObjectPtr findEvent(const std::string& path, const std::string& event, const std::string& name,
                          const std::string& phase) {
  if (!fileExists(path)) return nullptr;
  std::istringstream in(readFile(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json::ObjectPtr o;
    try {
      o = json::parseObject(line);
    } catch (const std::exception&) {
      continue;
    }
    if (json::getString(o, "event") == event && json::getString(o, "name") == name &&
        (phase.empty() || json::getString(o, "phase") == phase)) {
      return o;
    }
  }
  return nullptr;
}

}  // namespace

// Global namespace: ctest runs the suite by its plain name.
class SinkJsonlE2ETest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SinkJsonlE2ETest);
  CPPUNIT_TEST(testDaemonLoadsOutOfTreeSink);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("jsonl");
    node_->requireDocker();
  }
  void tearDown() override { node_.reset(); }

  void testDaemonLoadsOutOfTreeSink() {
    TestNode& node = *node_;
    const std::string sampleDir = requireEnv("PODWARDEN_SOURCE_DIR") + "/samples/plugins/sink-jsonl";
    CPPUNIT_ASSERT_MESSAGE(sampleDir + "/CMakeLists.txt is missing", fileExists(sampleDir + "/CMakeLists.txt"));
    const std::string prefix = node.workDir() + "/sdk-prefix";
    const std::string buildDir = node.workDir() + "/sink-jsonl-build";

    CommandResult install = runCommand("cmake --install " + shellQuote(requireEnv("PODWARDEN_BINARY_DIR")) +
                                       " --component sdk --prefix " + shellQuote(prefix));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("installing the SDK failed:\n" + install.output, 0, install.exitCode);
    CommandResult configure = runCommand("cmake -S " + shellQuote(sampleDir) + " -B " + shellQuote(buildDir) +
                                         " -G Ninja -DCMAKE_PREFIX_PATH=" + shellQuote(prefix));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("configuring sink-jsonl failed:\n" + configure.output, 0, configure.exitCode);
    CommandResult build = runCommand("cmake --build " + shellQuote(buildDir));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("building sink-jsonl failed:\n" + build.output, 0, build.exitCode);
    CommandResult found = runCommand("find " + shellQuote(buildDir) + " -name sink-jsonl.so -type f");
    std::string plugin = found.output.substr(0, found.output.find('\n'));
    CPPUNIT_ASSERT_MESSAGE("no sink-jsonl.so under " + buildDir + ":\n" + found.output, fileExists(plugin));

    const std::string events = node.workDir() + "/events.jsonl";
    const std::string configPath = node.workDir() + "/podwarden.yaml";
    writeFile(configPath,
              "apiVersion: podwarden.io/v1alpha1\n"
              "kind: PodwardenConfig\n"
              "sinks:\n"
              "  - plugin: " + plugin + "\n"
              "    required: true\n"
              "    config:\n"
              "      path: " + events + "\n");
    node.startDaemon({"--config=" + configPath});

    const std::string manifest = node.manifestDir() + "/jsonl.yaml";
    const std::string podName = node.podName("jsonl");
    writeFile(manifest, TestNode::sleeperManifest("jsonl"));
    CPPUNIT_ASSERT_MESSAGE("sink-jsonl never wrote the pod Running to " + events + node.diagnostics(),
                           node.waitFor([&] { return findEvent(events, "report", podName, "Running") != nullptr; },
                                   kPodStartTimeoutSeconds));
    // The in-tree sink configured by --status-file runs next to it.
    CPPUNIT_ASSERT_MESSAGE("the status file sink did not get the pod" + node.diagnostics(),
                           node.waitFor([&] { return node.statusPod("jsonl", "default").phase() == "Running"; }, 60));

    CPPUNIT_ASSERT_EQUAL(0, ::unlink(manifest.c_str()));
    CPPUNIT_ASSERT_MESSAGE("sink-jsonl never wrote the removal to " + events + node.diagnostics(),
                           node.waitFor([&] { return findEvent(events, "remove", podName, "") != nullptr; },
                                   kPodStopTimeoutSeconds));
  }

 private:
  std::unique_ptr<TestNode> node_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SinkJsonlE2ETest);
