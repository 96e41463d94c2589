// SourceUrlE2ETest - `podwarden run --manifest-url` against a real HTTP server in the test process and the
// private test dockerd: a PodList served over HTTP drives real containers, and a failing URL leaves them be.
#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "E2eSupport.h"
#include "UrlTestServer.h"

using namespace podwarden;
using namespace podwarden::e2e;
using podwarden::test::Answer;
using podwarden::test::UrlTestServer;

namespace {

constexpr const char* kContainer = "sleeper";  // the container of TestNode::sleeperManifest

// A YAML PodList of sleeper pods named `names`.
std::string podList(const std::vector<std::string>& names) {
  std::string out = "apiVersion: v1\nkind: PodList\nitems:\n";
  for (const auto& name : names) {
    std::istringstream in(TestNode::sleeperManifest(name));
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      out += (first ? "- " : "  ") + line + "\n";
      first = false;
    }
  }
  return out;
}

// The status file's errors, each as JSON text.
std::vector<std::string> statusErrors(TestNode& node) {
  std::vector<std::string> out;
  json::ArrayPtr errors = json::getArray(node.status(), "errors");
  for (size_t i = 0; errors && i < errors->size(); ++i) {
    out.push_back(json::stringify(errors->get(static_cast<unsigned>(i))));
  }
  return out;
}

bool dockerRunning(TestNode& node, const std::string& id) {
  json::ObjectPtr c = node.docker().inspect(id);
  return c && json::getBool(json::getObject(c, "State"), "Running");
}

}  // namespace

class SourceUrlE2ETest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SourceUrlE2ETest);
  CPPUNIT_TEST(testPodListDrivesPods);
  CPPUNIT_TEST(testSameNameFromDirAndUrlIsAConflict);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("url");
    node_->requireDocker();
  }
  void tearDown() override { node_.reset(); }

  void testPodListDrivesPods() {
    UrlTestServer server;
    server.setBody(podList({"url-a", "url-b"}), "application/yaml");
    node_->startDaemon({"--manifest-url=" + server.url(), "--http-check-frequency=1s",
                        "--manifest-url-header=X-Node:one,X-Other:x", "--manifest-url-header=X-Node:two"});

    std::string idA = waitRunning("url-a");
    std::string idB = waitRunning("url-b");
    // kubelet --manifest-url-header: repeatable, a name given twice keeps both values in order.
    std::vector<std::string> node = server.lastHeader("X-Node");
    CPPUNIT_ASSERT_EQUAL(size_t(2), node.size());
    CPPUNIT_ASSERT_EQUAL(std::string("one"), node[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("two"), node[1]);
    CPPUNIT_ASSERT_EQUAL(std::string("x"), server.lastHeader("X-Other").at(0));

    // One pod removed from the list: it stops, the other keeps its container.
    server.setBody(podList({"url-a"}), "application/yaml");
    bool gone = node_->waitFor(
        [&] { return !node_->statusPod("url-b", "default").pod && !dockerRunning(*node_, idB); },
        kPodStopTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("url-b did not stop after it left the PodList" + node_->diagnostics(), gone);
    CPPUNIT_ASSERT_MESSAGE("url-a was disturbed" + node_->diagnostics(), dockerRunning(*node_, idA));
    CPPUNIT_ASSERT_EQUAL(idA, node_->statusPod("url-a", "default").containerId(kContainer));

    // Each way the server can fail: the error reaches the log and the status file, the running pod stays;
    // then the server recovers (same body) and the error goes away.
    const struct {
      Answer answer;
      const char* word;  // in the status error and the daemon log
    } failures[] = {{Answer::kError500, "answered 500"},
                    {Answer::kHang, "timeout of 10 s"},  // the kubelet's 10 s client timeout
                    {Answer::kCloseMidBody, "connection closed after"},
                    {Answer::kHuge, "larger than the limit of 10 MiB"}};
    for (const auto& f : failures) {
      server.setAnswer(f.answer);
      bool reported = node_->waitFor([&] { return !urlErrors(server, f.word).empty(); }, 60);
      CPPUNIT_ASSERT_MESSAGE(std::string("no error saying '") + f.word + "' for " + server.url() +
                                 " in the status file" + node_->diagnostics(),
                             reported);
      CPPUNIT_ASSERT_MESSAGE(std::string("the daemon log does not say '") + f.word + "'",
                             node_->daemon().log().find(f.word) != std::string::npos);
      uint64_t seen = server.requests();
      CPPUNIT_ASSERT(server.waitForRequests(seen + 1, 60));  // at least one more failed poll
      CPPUNIT_ASSERT_MESSAGE(
          std::string("url-a stopped while the URL failed with '") + f.word + "'" + node_->diagnostics(),
          dockerRunning(*node_, idA));
      CPPUNIT_ASSERT_EQUAL(idA, node_->statusPod("url-a", "default").containerId(kContainer));

      server.setAnswer(Answer::kServe);
      bool cleared = node_->waitFor([&] { return urlErrors(server, "").empty(); }, 60);
      CPPUNIT_ASSERT_MESSAGE("the URL error stayed after recovery" + node_->diagnostics(), cleared);
      CPPUNIT_ASSERT(dockerRunning(*node_, idA));
      CPPUNIT_ASSERT_EQUAL(idA, node_->statusPod("url-a", "default").containerId(kContainer));
    }
  }

  void testSameNameFromDirAndUrlIsAConflict() {
    writeFileAtomic(node_->manifestDir() + "/dup.yaml", TestNode::sleeperManifest("dup"));
    node_->startDaemon();
    std::string id = waitRunning("dup");
    CPPUNIT_ASSERT(node_->stopDaemon());

    UrlTestServer server;
    server.setBody(podList({"dup", "url-only"}), "application/yaml");
    node_->startDaemon({"--manifest-url=" + server.url(), "--http-check-frequency=1s"});
    waitRunning("url-only");
    bool reported = node_->waitFor(
        [&] {
          for (const auto& e : statusErrors(*node_)) {
            if (e.find("dup") != std::string::npos && e.find("uplicate") != std::string::npos) return true;
          }
          return false;
        },
        60);
    CPPUNIT_ASSERT_MESSAGE("no duplicate-name conflict in the status file" + node_->diagnostics(), reported);
    // No flapping: several polls later the pod from the directory still runs in its first container.
    uint64_t seen = server.requests();
    CPPUNIT_ASSERT(server.waitForRequests(seen + 3));
    CPPUNIT_ASSERT_MESSAGE("the dir pod was replaced" + node_->diagnostics(), dockerRunning(*node_, id));
    CPPUNIT_ASSERT_EQUAL(id, node_->statusPod("dup", "default").containerId(kContainer));
  }

 private:
  // Waits until `name` runs its sleeper container; returns the Docker id.
  std::string waitRunning(const std::string& name) {
    std::string id;
    bool ok = node_->waitFor(
        [&] {
          StatusPod sp = node_->statusPod(name, "default");
          if (!sp.pod || sp.phase() != "Running" || !sp.containerRunning(kContainer)) return false;
          id = sp.containerId(kContainer);
          return !id.empty() && dockerRunning(*node_, id);
        },
        kPodStartTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("pod " + name + " did not start" + node_->diagnostics(), ok);
    return id;
  }

  // Status-file errors naming the server's URL and containing `word`.
  std::vector<std::string> urlErrors(UrlTestServer& server, const std::string& word) {
    std::vector<std::string> out;
    for (const auto& e : statusErrors(*node_)) {
      if (e.find(server.url()) != std::string::npos && e.find(word) != std::string::npos) out.push_back(e);
    }
    return out;
  }

  std::unique_ptr<TestNode> node_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SourceUrlE2ETest);
