// BadManifestsE2ETest - a manifest directory holding one good pod next to bad files, the way a real
// /etc/kubernetes/manifests gets messy: broken YAML, a Deployment, a secret volume, two files with the
// same pod name, an editor swap file, an 11 MiB file, a 30,000-character name and a file of 30,000 digits.
// The good pods run; every bad file gets an error naming it in the daemon log and the status file;
// `podwarden validate` reports each with file and position; fixing a file heals it without a restart.
#include "E2eSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>

using namespace podwarden;
using namespace podwarden::e2e;

namespace {

const char* const kBrokenYaml =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: broken\n"
    "spec:\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: [podwarden.local/busybox:1.36\n"
    "    command: [sleep, '3600']\n";

const char* const kDeployment =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata:\n"
    "  name: web\n"
    "spec:\n"
    "  replicas: 1\n"
    "  selector:\n"
    "    matchLabels: {app: web}\n"
    "  template:\n"
    "    metadata:\n"
    "      labels: {app: web}\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: web\n"
    "        image: podwarden.local/busybox:1.36\n";

const char* const kSecretVolume =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata:\n"
    "  name: uses-secret\n"
    "spec:\n"
    "  containers:\n"
    "  - name: app\n"
    "    image: podwarden.local/busybox:1.36\n"
    "    volumeMounts:\n"
    "    - {name: creds, mountPath: /creds}\n"
    "  volumes:\n"
    "  - name: creds\n"
    "    secret:\n"
    "      secretName: db-password\n";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string regexEscape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

// Every entry of the status file's `errors`, as compact JSON (the entry's shape is the sink's business;
// what matters here is that it names the file and says what is wrong).
std::vector<std::string> statusErrors(TestNode& node) {
  std::vector<std::string> out;
  json::ArrayPtr errors = json::getArray(node.status(), "errors");
  for (size_t i = 0; errors && i < errors->size(); ++i) out.push_back(json::stringify(errors->get(static_cast<unsigned>(i))));
  return out;
}

// The status error naming `path` (followed by a quote or ':' so that x.yaml does not match x.yaml.swp).
std::string errorFor(const std::vector<std::string>& errors, const std::string& path) {
  for (const auto& e : errors) {
    for (size_t pos = e.find(path); pos != std::string::npos; pos = e.find(path, pos + 1)) {
      char next = pos + path.size() < e.size() ? e[pos + path.size()] : '"';
      if (next == '"' || next == ':' || next == ' ') return e;
    }
  }
  return "";
}

}  // namespace

// Global namespace: ctest runs the suite by its plain name.
class BadManifestsE2ETest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(BadManifestsE2ETest);
  CPPUNIT_TEST(testGoodPodsRunAndBadFilesAreReported);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("bad");
    node_->requireDocker();
  }
  void tearDown() override { node_.reset(); }

  void testGoodPodsRunAndBadFilesAreReported() {
    TestNode& node = *node_;
    const std::string dir = node.manifestDir();
    const int port = freeLoopbackPort();
    const std::string good = dir + "/kube-apiserver.yaml";
    const std::string broken = dir + "/broken.yaml";
    const std::string deployment = dir + "/deployment.yaml";
    const std::string secret = dir + "/secret-volume.yaml";
    const std::string dupA = dir + "/dup-a.yaml";
    const std::string dupB = dir + "/dup-b.yaml";
    const std::string swap = dir + "/kube-apiserver.yaml.swp";
    const std::string big = dir + "/big.yaml";
    const std::string longName = dir + "/long-name.yaml";
    const std::string digits = dir + "/digits.yaml";

    writeFile(good, node.sampleManifest(port));
    writeFile(broken, kBrokenYaml);
    writeFile(deployment, kDeployment);
    writeFile(secret, kSecretVolume);
    // Same pod name in two files: the lexicographically first file wins, the other one is an error.
    writeFile(dupA, TestNode::sleeperManifest("dup"));
    writeFile(dupB, TestNode::sleeperManifest("dup"));
    // What vim leaves behind: a binary header, then fragments of the buffer.
    std::string swapContent = "b0VIM 9.0";
    swapContent.append(64, '\0');
    swapContent += "root\nnode-1\n/etc/kubernetes/manifests/kube-apiserver.yaml\n";
    swapContent.append(32, '\0');
    swapContent += "U3210#\"! ";
    writeFile(swap, swapContent);
    // 11 MiB: a valid beginning padded with comments, over the kubelet's 10 MiB limit.
    std::string bigContent = TestNode::sleeperManifest("big");
    const std::string padding = "# " + std::string(1022, 'x') + "\n";
    while (bigContent.size() < 11u * 1024 * 1024) bigContent += padding;
    writeFile(big, bigContent);
    // Long runs of one character class (they once overflowed std::regex's stack and killed the daemon).
    std::string longNameContent = TestNode::sleeperManifest("long");
    longNameContent.replace(longNameContent.find("name: long"), 10, "name: " + std::string(30000, 'a'));
    writeFile(longName, longNameContent);
    writeFile(digits, std::string(30000, '7'));

    node.startDaemon();

    // The good pods run despite their neighbours.
    const std::string apiserverPod = node.podName("kube-apiserver");
    bool goodRunning = node.waitFor(
        [&] {
          StatusPod api = node.statusPod("kube-apiserver", "kube-system");
          StatusPod dup = node.statusPod("dup", "default");
          return api.phase() == "Running" && api.containerRunning("kube-apiserver") && dup.phase() == "Running" &&
                 dup.containerRunning("sleeper") && !api.containerId("kube-apiserver").empty() &&
                 node.docker().inspect(api.containerId("kube-apiserver")) != nullptr;
        },
        kPodStartTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("the good pods did not run next to the bad manifests" + node.diagnostics(), goodRunning);

    // Every bad file has an error in the status file that names it and says what is wrong.
    const std::vector<std::string> badFiles = {broken, deployment, secret, dupB, swap, big, longName, digits};
    std::vector<std::string> errors;
    bool allReported = node.waitFor(
        [&] {
          errors = statusErrors(node);
          for (const auto& f : badFiles) {
            if (errorFor(errors, f).empty()) return false;
          }
          return true;
        },
        60);
    std::string missing;
    for (const auto& f : badFiles) {
      if (errorFor(errors, f).empty()) missing += " " + f;
    }
    CPPUNIT_ASSERT_MESSAGE("the status file has no error for:" + missing + node.diagnostics(), allReported);
    CPPUNIT_ASSERT_MESSAGE("the good manifest is reported as an error" + node.diagnostics(),
                           errorFor(errors, good).empty());
    const std::map<std::string, std::string> expectedWords = {{deployment, "deployment"},
                                                              {secret, "secret"},
                                                              {dupB, "duplicate"},
                                                              {big, "10 mib"},
                                                              {longName, "no more than 253 characters"},
                                                              {digits, "must be a mapping"}};
    for (const auto& [file, word] : expectedWords) {
      CPPUNIT_ASSERT_MESSAGE("the error for " + file + " does not say '" + word + "': " + errorFor(errors, file),
                             lower(errorFor(errors, file)).find(word) != std::string::npos);
    }

    // Where the YAML gives a position, the status file carries it (the secret volume is on line 13).
    CPPUNIT_ASSERT_MESSAGE("no line 2 for " + deployment + ": " + errorFor(errors, deployment),
                           errorFor(errors, deployment).find("\"line\":2,") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE("no line 13 for " + secret + ": " + errorFor(errors, secret),
                           errorFor(errors, secret).find("\"line\":13,") != std::string::npos);

    // ... and the daemon log names every bad file.
    const std::string log = node.daemon().log();
    for (const auto& f : badFiles) {
      CPPUNIT_ASSERT_MESSAGE("the log does not mention " + f + node.diagnostics(), log.find(f) != std::string::npos);
    }

    // `podwarden validate` on the same directory: exit 1, every bad file named, with line:column where the
    // text has one.
    CommandResult v = runCommand(shellQuote(requireEnv("PODWARDEN_BIN")) + " validate --hostname-override " +
                                 node.name() + " " + shellQuote(dir));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("podwarden validate " + dir + ":\n" + v.output, 1, v.exitCode);
    const std::map<std::string, std::string> positions = {
        {broken, R"(\d+:\d+)"}, {deployment, "2:1"}, {secret, "13:5"}};
    for (const auto& [f, position] : positions) {
      std::regex positioned(regexEscape(f) + ":" + position + ": ");
      CPPUNIT_ASSERT_MESSAGE("validate gives no file:line:column for " + f + ":\n" + v.output,
                             std::regex_search(v.output, positioned));
    }
    for (const auto& f : {dupB, swap, big, longName, digits}) {
      CPPUNIT_ASSERT_MESSAGE("validate does not name " + f + ":\n" + v.output, v.output.find(f) != std::string::npos);
    }
    CPPUNIT_ASSERT_MESSAGE("validate does not report the duplicate pod name:\n" + v.output,
                           lower(v.output).find("duplicate") != std::string::npos);
    CPPUNIT_ASSERT_MESSAGE("validate's summary is missing:\n" + v.output,
                           v.output.find("10 manifests checked") != std::string::npos);

    // Fixing a bad file heals it in place: the pod starts and its error leaves the status file.
    writeFile(broken, TestNode::sleeperManifest("broken"));
    bool healed = node.waitFor(
        [&] {
          StatusPod fixed = node.statusPod("broken", "default");
          return fixed.phase() == "Running" && errorFor(statusErrors(node), broken).empty();
        },
        kPodStartTimeoutSeconds);
    CPPUNIT_ASSERT_MESSAGE("fixing " + broken + " did not start its pod and clear its error" + node.diagnostics(),
                           healed);
    CPPUNIT_ASSERT_MESSAGE("the good pod " + apiserverPod + " stopped" + node.diagnostics(),
                           node.statusPod("kube-apiserver", "kube-system").phase() == "Running");
  }

 private:
  std::unique_ptr<TestNode> node_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(BadManifestsE2ETest);
