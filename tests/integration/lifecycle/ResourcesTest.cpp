// ResourcesTest - requests/limits on a real runtime (issue 3: "Limits are visible in `docker inspect`
// (NanoCpus/CpuQuota, Memory) and a container exceeding its memory limit is reported OOMKilled where the
// machine's cgroups allow it"), plus the qosClass the status derives from them. On containerd the limits
// are read from the container's OCI spec (linux.resources) and OOMKilled from the CRI status reason.
#include "LifecycleSupport.h"

#include <cppunit/extensions/HelperMacros.h>

#include <fstream>
#include <iostream>
#include <sstream>


using namespace podwarden;
using namespace podwarden::lifecycle;

namespace {
constexpr const char* kNs = "default";
constexpr const char* kSleepForever = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";

std::string podWithResources(const std::string& name, const std::string& policy, const std::string& script,
                             const std::string& resources) {
  return yamlLines({
             "apiVersion: v1",
             "kind: Pod",
             "metadata:",
             "  name: " + name,
             std::string("  namespace: ") + kNs,
             "spec:",
             "  hostNetwork: true",
             "  restartPolicy: " + policy,
             "  terminationGracePeriodSeconds: 2",
             "  containers:",
             "  - name: main",
             std::string("    image: ") + e2e::kBusyboxImage,
             "    command: [\"/bin/sh\", \"-c\", \"" + script + "\"]",
             "    resources:",
         }) +
         resources;
}

// Whether this machine's cgroups enforce memory limits, and why (or why not).
bool memoryLimitsEnforced(std::string* why) {
  if (e2e::fileExists("/sys/fs/cgroup/cgroup.controllers")) {
    std::string controllers = e2e::readFile("/sys/fs/cgroup/cgroup.controllers");
    std::istringstream words(controllers);
    for (std::string w; words >> w;) {
      if (w == "memory") {
        *why = "cgroup v2 with the memory controller";
        return true;
      }
    }
    *why = "cgroup v2 without the memory controller (/sys/fs/cgroup/cgroup.controllers: " + controllers + ")";
    return false;
  }
  std::ifstream cgroups("/proc/cgroups");
  for (std::string line; std::getline(cgroups, line);) {
    std::istringstream fields(line);
    std::string name, hierarchy, count, enabled;
    if (fields >> name >> hierarchy >> count >> enabled && name == "memory") {
      if (enabled == "1" && e2e::fileExists("/sys/fs/cgroup/memory")) {
        *why = "cgroup v1 with the memory controller mounted";
        return true;
      }
      *why = "cgroup v1 memory controller " + std::string(enabled == "1" ? "not mounted" : "disabled");
      return false;
    }
  }
  *why = "no memory cgroup controller in /proc/cgroups";
  return false;
}

e2e::ResourceLimits limitsOf(TestRuntime& rt, TestNode& node, const StatusPod& sp) {
  const std::string id = statusContainerId(sp, rt, "main");
  if (id.empty()) CPPUNIT_FAIL("no " + rt.kind() + ":// containerID for main in the status" + node.diagnostics());
  return rt.containerResources(id);
}

std::string describe(const e2e::ResourceLimits& l) {
  return "\nlimits: cpu shares " + std::to_string(l.cpuShares) + ", quota " + std::to_string(l.cpuQuota) +
         " per period " + std::to_string(l.cpuPeriod) + " us, memory " + std::to_string(l.memoryBytes);
}

// CPU limit as the CRI carries it: quota per 100 ms period.
void expectCpuLimit(const e2e::ResourceLimits& l, int64_t milliCpu, const std::string& dump) {
  CPPUNIT_ASSERT_MESSAGE("cpu limit " + std::to_string(milliCpu) + "m not applied" + dump,
                         l.cpuPeriod == 100000 && l.cpuQuota == milliCpu * 100);
}
}  // namespace

class ResourcesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ResourcesTest);
  CPPUNIT_TEST(testLimitsVisibleInRuntime);
  CPPUNIT_TEST(testMemoryLimitExceededIsOOMKilled);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    node_ = std::make_unique<TestNode>("res");
    rt_ = attachRuntime(*node_);
  }
  void tearDown() override { releaseNode(node_, rt_); }

  // Burstable: requests cpu 250m → CpuShares 256 (milliCPU × 1024 / 1000); limits cpu 500m → quota 50000 per
  // 100000 µs period; limits memory 64Mi → Memory 67108864. Guaranteed (limits only, requests default to
  // them): cpu 1 → shares 1024, quota 100000; memory 48Mi → 50331648.
  void testLimitsVisibleInRuntime() {
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(node.manifestDir() + "/burstable.yaml",
                   podWithResources("burstable", "Always", kSleepForever,
                                    "      requests:\n"
                                    "        cpu: 250m\n"
                                    "        memory: 32Mi\n"
                                    "      limits:\n"
                                    "        cpu: 500m\n"
                                    "        memory: 64Mi\n"));
    e2e::writeFile(node.manifestDir() + "/guaranteed.yaml",
                   podWithResources("guaranteed", "Always", kSleepForever,
                                    "      limits:\n"
                                    "        cpu: \"1\"\n"
                                    "        memory: 48Mi\n"));
    auto running = [](const StatusPod& p) { return p.phase() == "Running" && p.containerRunning("main"); };

    StatusPod burst = waitStatus(node, "burstable", kNs, running, "container main Running");
    e2e::ResourceLimits l = limitsOf(*rt_, node, burst);
    std::string dump = describe(l) + node.diagnostics();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("cpu shares for requests.cpu 250m" + dump, int64_t(256), l.cpuShares);
    expectCpuLimit(l, 500, dump);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("memory for limits.memory 64Mi" + dump, int64_t(64) << 20, l.memoryBytes);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("qosClass" + dump, std::string("Burstable"),
                                 json::getString(json::getObject(burst.pod, "status"), "qosClass"));

    StatusPod guaranteed = waitStatus(node, "guaranteed", kNs, running, "container main Running");
    l = limitsOf(*rt_, node, guaranteed);
    dump = describe(l) + node.diagnostics();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("cpu shares for cpu 1 (requests default to limits)" + dump, int64_t(1024),
                                 l.cpuShares);
    expectCpuLimit(l, 1000, dump);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("memory for limits.memory 48Mi" + dump, int64_t(48) << 20, l.memoryBytes);
    CPPUNIT_ASSERT_EQUAL_MESSAGE("qosClass" + dump, std::string("Guaranteed"),
                                 json::getString(json::getObject(guaranteed.pod, "status"), "qosClass"));
  }

  // limits.memory 20Mi and `tail` buffering 100 MiB without a newline: the kernel OOM-kills it; the runtime
  // says OOMKilled and the status says terminated/OOMKilled (restartPolicy Never keeps it that way).
  void testMemoryLimitExceededIsOOMKilled() {
    std::string why;
    if (!memoryLimitsEnforced(&why)) {
      std::cout << "\n  OOM CHECK NOT RUN: this machine does not enforce memory limits (" << why
                << "); only the limit itself is checked" << std::endl;
    } else {
      std::cout << "\n  memory limits enforced here: " << why << std::endl;
    }
    TestNode& node = *node_;
    startNode(node, *rt_);
    e2e::writeFile(node.manifestDir() + "/hog.yaml",
                   podWithResources("hog", "Never", "head -c 100m /dev/zero | tail",
                                    "      limits:\n"
                                    "        memory: 20Mi\n"));
    StatusPod sp = waitStatus(
        node, "hog", kNs,
        [](const StatusPod& p) { return stateOf(containerStatus(p, "main"), "terminated") != nullptr; },
        "container main terminated");
    e2e::ResourceLimits l = limitsOf(*rt_, node, sp);
    std::string dump = "\n" + json::stringify(sp.pod) + describe(l) + node.diagnostics();
    CPPUNIT_ASSERT_EQUAL_MESSAGE("memory for limits.memory 20Mi" + dump, int64_t(20) << 20, l.memoryBytes);
    if (!memoryLimitsEnforced(&why)) return;

    e2e::ContainerRecord r = recordOf(*rt_, node, statusContainerId(sp, *rt_, "main"));
    CPPUNIT_ASSERT_MESSAGE(rt_->kind() + " does not report OOMKilled" + dump, r.oomKilled);
    json::ObjectPtr term = stateOf(containerStatus(sp, "main"), "terminated");
    CPPUNIT_ASSERT_EQUAL_MESSAGE("terminated reason" + dump, std::string("OOMKilled"),
                                 json::getString(term, "reason"));
    CPPUNIT_ASSERT_EQUAL_MESSAGE("terminated exitCode" + dump, int64_t(137),
                                 json::getInt(term, "exitCode", -1));
    waitStatus(
        node, "hog", kNs, [](const StatusPod& p) { return p.phase() == "Failed"; },
        "phase Failed (restartPolicy Never, OOM-killed)");
  }

 private:
  std::unique_ptr<TestNode> node_;
  std::unique_ptr<TestRuntime> rt_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ResourcesTest);
