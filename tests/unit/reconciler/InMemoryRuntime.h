// InMemoryRuntime.h - a CRI runtime held in memory, for unit tests of the reconciler.
//
// Implements runtime::Runtime on the structs, with the edge behaviour of plugins/runtime-docker: NOT_FOUND
// for unknown ids on status/start/stop-container, idempotent stop/remove of sandboxes and remove of
// containers, name conflicts (dockershim names) resolved by removing the leftover, ImageStatus `{}` for an
// absent image, NOT_FOUND from CreateContainer when the image is absent, reasons "Completed"/"Error" for
// exited containers. Containers never run anything: they stay running until a test makes them exit
// (exitContainer) or the syncer stops them.
//
// All times come from a FakeClock the test shares with SyncOptions. Thread-safe (PodSyncer::terminate
// stops containers from several threads).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "plugin/Instances.h"
#include "runtime/CriJson.h"
#include "runtime/Runtime.h"

namespace podwarden::runtime {

// For CPPUNIT_ASSERT_EQUAL on states.
inline std::ostream& operator<<(std::ostream& out, ContainerState state) {
  return out << crijson::containerStateName(state);
}

}  // namespace podwarden::runtime

namespace podwarden::test {

// Wall (unix ns) and monotonic (ns) time that move only when the test says so.
class FakeClock {
 public:
  int64_t wallNs() const { return wall_.load(); }
  int64_t monotonicNs() const { return mono_.load(); }
  void advance(std::chrono::nanoseconds d) {
    wall_ += d.count();
    mono_ += d.count();
  }

 private:
  std::atomic<int64_t> wall_{1700000000000000000LL};  // 2023-11-14T22:13:20Z
  std::atomic<int64_t> mono_{5000000000000LL};
};

using runtime::StringMap;

struct SandboxRecord {
  std::string id;
  std::string dockerName;  // k8s_POD_<name>_<namespace>_<uid>_<attempt>
  std::string name, uid, ns;
  int64_t attempt = 0;
  bool ready = true;
  bool hostNetwork = false;
  std::string ip;  // "" for host network
  int64_t createdAt = 0;
  StringMap labels;
  StringMap annotations;
};

struct ContainerRecord {
  std::string id;
  std::string dockerName;  // k8s_<container>_<pod name>_<namespace>_<uid>_<attempt>
  std::string sandboxId;
  std::string name;
  int64_t attempt = 0;
  std::string image;
  std::string imageRef;
  runtime::ContainerState state = runtime::ContainerState::kCreated;
  int64_t createdAt = 0, startedAt = 0, finishedAt = 0;
  int64_t exitCode = 0;
  bool oomKilled = false;
  StringMap labels;
  StringMap annotations;
  runtime::ContainerConfig config;      // the CreateContainer config as sent
  std::vector<int64_t> stopTimeouts;    // the `timeout` of every StopContainer call on it
};

class InMemoryRuntime : public runtime::Runtime {
 public:
  explicit InMemoryRuntime(FakeClock& clock) : clock_(clock) {}

  runtime::VersionInfo version() override;
  std::string runPodSandbox(const runtime::PodSandboxConfig& config) override;
  void stopPodSandbox(const std::string& id) override;
  void removePodSandbox(const std::string& id) override;
  runtime::PodSandboxStatus podSandboxStatus(const std::string& id) override;
  std::vector<runtime::PodSandbox> listPodSandbox(const StringMap& labelSelector) override;
  std::string createContainer(const std::string& podSandboxId, const runtime::ContainerConfig& config,
                              const runtime::PodSandboxConfig& sandboxConfig) override;
  void startContainer(const std::string& id) override;
  void stopContainer(const std::string& id, int64_t timeoutSeconds) override;
  void removeContainer(const std::string& id) override;
  std::vector<runtime::Container> listContainers(const StringMap& labelSelector) override;
  runtime::ContainerStatus containerStatus(const std::string& id) override;
  // Nothing runs in these containers, so there is nothing to exec in: UNIMPLEMENTED.
  runtime::ExecSyncResult execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                                   std::chrono::seconds timeout) override;
  bool imagePresent(const std::string& image) override;
  void pullImage(const std::string& image) override;

  // Images. A present image is found by ImageStatus and usable by CreateContainer; a registry image
  // becomes present when pulled. Pulling anything else fails with NOT_FOUND, as Docker's "pull access
  // denied" does. References are compared verbatim (no docker.io/library normalisation).
  void addImage(const std::string& ref);
  void addRegistryImage(const std::string& ref);
  void removeImage(const std::string& ref);
  bool hasImage(const std::string& ref) const;

  // The next call of `which` fails with `status` (counted like any call). Several queue up in order.
  void failNext(plugin::RuntimeCall which, pw_status status, const std::string& message);
  int calls(plugin::RuntimeCall which) const;
  void resetCalls();

  // The running container `id` exits with `exitCode` at `finishedAtNs` (default: the clock's now).
  void exitContainer(const std::string& id, int64_t exitCode, std::optional<int64_t> finishedAtNs = {},
                     bool oomKilled = false);
  // What a container stopped by StopContainer exits with (143: SIGTERM honoured).
  void setStopExitCode(int64_t code);
  // The sandbox's pause process dies: SANDBOX_NOTREADY, its containers untouched (Docker keeps them).
  void killSandbox(const std::string& id);
  // `docker rm -f` of the sandbox container alone: its containers stay.
  void deleteSandboxOnly(const std::string& id);
  // Adds a sandbox/container directly (another node's or a leftover pod), not counted as calls. Returns the
  // id.
  std::string runSandbox(const runtime::PodSandboxConfig& config);
  std::string createContainer(const std::string& sandboxId, const runtime::ContainerConfig& config,
                              const runtime::PodSandboxConfig& sandboxConfig, bool start);

  std::vector<SandboxRecord> sandboxes() const;
  std::vector<ContainerRecord> containers() const;
  std::optional<ContainerRecord> container(const std::string& id) const;
  std::optional<SandboxRecord> sandbox(const std::string& id) const;
  // Containers of pod `uid` named `name` (label io.kubernetes.container.name), latest attempt first.
  std::vector<ContainerRecord> containersOf(const std::string& uid, const std::string& name) const;
  // Every StopContainer call that reached a container: (id, timeout seconds), kept after removal.
  std::vector<std::pair<std::string, int64_t>> stopLog() const;

 private:
  // Takes the lock, counts the call and throws a queued failure of `which`.
  std::unique_lock<std::mutex> enter(plugin::RuntimeCall which);
  std::string runSandboxLocked(const runtime::PodSandboxConfig& config);
  std::string createContainerLocked(const std::string& sandboxId, const runtime::ContainerConfig& config,
                                    const runtime::PodSandboxConfig& sandboxConfig);
  void startLocked(ContainerRecord& c);
  ContainerRecord& containerLocked(const std::string& id, const char* what);
  std::string newId();
  static std::string imageId(const std::string& ref);

  FakeClock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, SandboxRecord> sandboxes_;
  std::map<std::string, ContainerRecord> containers_;
  std::set<std::string> images_;
  std::set<std::string> registry_;
  std::map<plugin::RuntimeCall, std::deque<std::pair<pw_status, std::string>>> failures_;
  std::map<plugin::RuntimeCall, int> calls_;
  std::vector<std::pair<std::string, int64_t>> stopLog_;
  uint64_t nextId_ = 1;
  int nextIp_ = 2;
  int64_t stopExitCode_ = 143;
};

// Forwards every call to `inner`; tests override the calls whose answers they change.
class ForwardingRuntime : public runtime::Runtime {
 public:
  explicit ForwardingRuntime(runtime::Runtime& inner) : inner_(inner) {}
  runtime::VersionInfo version() override { return inner_.version(); }
  std::string runPodSandbox(const runtime::PodSandboxConfig& c) override { return inner_.runPodSandbox(c); }
  void stopPodSandbox(const std::string& id) override { inner_.stopPodSandbox(id); }
  void removePodSandbox(const std::string& id) override { inner_.removePodSandbox(id); }
  runtime::PodSandboxStatus podSandboxStatus(const std::string& id) override {
    return inner_.podSandboxStatus(id);
  }
  std::vector<runtime::PodSandbox> listPodSandbox(const StringMap& sel) override {
    return inner_.listPodSandbox(sel);
  }
  std::string createContainer(const std::string& sandboxId, const runtime::ContainerConfig& c,
                              const runtime::PodSandboxConfig& sc) override {
    return inner_.createContainer(sandboxId, c, sc);
  }
  void startContainer(const std::string& id) override { inner_.startContainer(id); }
  void stopContainer(const std::string& id, int64_t timeout) override { inner_.stopContainer(id, timeout); }
  void removeContainer(const std::string& id) override { inner_.removeContainer(id); }
  std::vector<runtime::Container> listContainers(const StringMap& sel) override {
    return inner_.listContainers(sel);
  }
  runtime::ContainerStatus containerStatus(const std::string& id) override {
    return inner_.containerStatus(id);
  }
  runtime::ExecSyncResult execSync(const std::string& id, const std::vector<std::string>& cmd,
                                   std::chrono::seconds timeout) override {
    return inner_.execSync(id, cmd, timeout);
  }
  bool imagePresent(const std::string& image) override { return inner_.imagePresent(image); }
  void pullImage(const std::string& image) override { inner_.pullImage(image); }

 private:
  runtime::Runtime& inner_;
};

}  // namespace podwarden::test
