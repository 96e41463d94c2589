// CriRuntimeScenarios - the CRI scenarios that mean the same on every runtime plugin, written once and run
// against each runtime by a per-runtime suite (DockerRuntimeTest, ContainerdRuntimeTest) that derives from
// this abstract fixture with CPPUNIT_TEST_SUB_SUITE. The derived suite says which plugin, endpoint and
// hints to use (CriRuntime) and adds what only its runtime shows through the hooks below and its own tests.
// Every pod gets a random uid; tearDown removes the sandboxes a test made and their log directories.
#pragma once

#include <Poco/JSON/Object.h>
#include <cppunit/extensions/HelperMacros.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"

namespace podwarden::test {

using ObjectPtr = Poco::JSON::Object::Ptr;

constexpr const char* kBusybox = "podwarden.local/busybox:1.36";
constexpr const char* kPause = "podwarden.local/pause:3.9";

std::string env(const char* name, const std::string& fallback);
// "unix:///a/b.sock" -> "/a/b.sock"; anything else unchanged.
std::string socketPathOf(const std::string& endpoint);
std::string randomHex(size_t n);
int randomPort();  // in [20000, 40000)
ObjectPtr parse(const std::string& text);
std::string str(const ObjectPtr& o, const std::string& key);
// Waits up to `seconds` for `pred`; true if it held.
bool waitFor(const std::function<bool()>& pred, int seconds = 30);
// GET http://<host>:<port>/ ; empty on any failure.
std::string httpGet(const std::string& host, int port);
std::string base64Decode(const std::string& in);
std::string readFile(const std::string& path);
// True for a unix-ns timestamp within 10 minutes of now: a sanity check on units, not timing.
bool nsNear(long long ns);

// What a derived suite tells the shared scenarios about its runtime.
struct CriRuntime {
  std::string kind;                 // factory name; the plugin is <PODWARDEN_PLUGIN_DIR>/runtime-<kind>.so
  std::string endpoint;             // the test daemon's endpoint, unix://...
  std::string daemonName;           // for messages: "the test Docker daemon"
  std::string startHint;            // how to start the test daemon
  std::string imagesHint;           // how to load the test images into it
  std::string unreachableEndpoint;  // a socket nobody listens on
};

// One host-network pod of the lifecycle scenario.
struct LifecyclePod {
  std::string uid;
  std::string pod;
  std::string sandboxId;
  std::string containerId;
};

class CriRuntimeScenarios : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CriRuntimeScenarios);
  CPPUNIT_TEST(testVersion);
  CPPUNIT_TEST(testConfigErrors);
  CPPUNIT_TEST(testUnreachableRuntimeIsUnavailable);
  CPPUNIT_TEST(testHostNetworkPodLifecycle);
  CPPUNIT_TEST(testExitCodeAndReason);
  CPPUNIT_TEST(testMissingImageIsNotFound);
  CPPUNIT_TEST(testExecSync);
  CPPUNIT_TEST(testConcurrentCalls);
  CPPUNIT_TEST(testImages);
  CPPUNIT_TEST_SUITE_END_ABSTRACT();

 public:
  explicit CriRuntimeScenarios(CriRuntime runtime) : rt_(std::move(runtime)) {}

  void setUp() override;
  void tearDown() override;

  void testVersion();
  void testConfigErrors();
  void testUnreachableRuntimeIsUnavailable();
  void testHostNetworkPodLifecycle();
  void testExitCodeAndReason();
  void testMissingImageIsNotFound();
  void testExecSync();
  void testConcurrentCalls();
  void testImages();

 protected:
  // Hooks: what only this runtime shows, checked at that point of the shared scenario.
  virtual void checkVersion(const ObjectPtr& version) = 0;
  virtual void moreConfigErrors() {}
  // Text the error of a call to rt_.unreachableEndpoint must contain.
  virtual std::string unreachableError() const = 0;
  virtual void lifecycleStarting() {}
  virtual void checkSandboxCreated(const LifecyclePod&, const ObjectPtr& /*status*/) {}
  virtual void checkContainerCreated(const LifecyclePod&) {}
  virtual void checkContainerRunning(const LifecyclePod&, const ObjectPtr& /*status*/) {}
  // From a stopped (CONTAINER_EXITED) httpd in a ready sandbox to nothing left, the runtime's way.
  virtual void finishLifecycle(const LifecyclePod&) = 0;
  // After `failing` (exit 3, printed "bye") and `passing` (exit 0) exited in `sandboxId`.
  virtual void afterExits(const std::string& sandboxId, const std::string& sandboxConfig,
                          const std::string& failing, const std::string& passing) = 0;
  virtual void checkMissingImage(const podwarden::plugin::CallResult& /*createResult*/,
                                 const std::string& /*uid*/) {}
  virtual void checkBusyboxImage(const ObjectPtr& /*image*/) {}

  std::string config() const;
  // A call that must succeed.
  podwarden::plugin::CallResult call(podwarden::plugin::RuntimeCall which, const std::string& request);
  static std::string logRoot(const std::string& uid);
  // A PodSandboxConfig as the host sends it; its logDirectory is removed in tearDown.
  std::string podConfig(const std::string& pod, const std::string& uid, const std::string& network,
                        const std::string& extra);
  std::string runSandbox(const std::string& sandboxConfig);
  std::string createContainer(const std::string& sandboxId, const std::string& sandboxConfig,
                              const std::string& name, const std::string& image, int attempt,
                              const std::string& extra);
  ObjectPtr containerStatus(const std::string& id);
  ObjectPtr sandboxStatus(const std::string& id);

  const CriRuntime rt_;
  std::shared_ptr<podwarden::plugin::PluginLibrary> library_;
  std::unique_ptr<podwarden::plugin::RuntimeInstance> runtime_;
  std::vector<std::string> sandboxes_;  // stopped and removed in tearDown
  std::vector<std::string> uids_;
};

}  // namespace podwarden::test
