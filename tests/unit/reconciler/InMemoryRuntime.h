// InMemoryRuntime.h - a CRI runtime held in memory, for unit tests of the reconciler.
//
// Speaks the same request/response JSON as plugins/runtime-docker on the paths PodSyncer uses, with the
// same edge behaviour: NOT_FOUND for unknown ids on status/start/stop-container, idempotent
// stop/remove of sandboxes and remove of containers, name conflicts (dockershim names) resolved by
// removing the leftover, ImageStatus `{}` for an absent image, NOT_FOUND from CreateContainer when the
// image is absent, reasons "Completed"/"Error" for exited containers. Containers never run anything:
// they stay running until a test makes them exit (exitContainer) or the syncer stops them.
//
// All times come from a FakeClock the test shares with SyncOptions. Thread-safe (PodSyncer::terminate
// stops containers from several threads).
#pragma once

#include "reconciler/RuntimeClient.h"
#include "util/Json.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

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

using StringMap = std::map<std::string, std::string>;

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
  std::string state = "CONTAINER_CREATED";  // CONTAINER_CREATED | CONTAINER_RUNNING | CONTAINER_EXITED
  int64_t createdAt = 0, startedAt = 0, finishedAt = 0;
  int64_t exitCode = 0;
  bool oomKilled = false;
  StringMap labels;
  StringMap annotations;
  json::ObjectPtr config;               // the CreateContainer config as sent
  std::vector<int64_t> stopTimeouts;    // the `timeout` of every StopContainer call on it
};

class InMemoryRuntime : public RuntimeClient {
 public:
  explicit InMemoryRuntime(FakeClock& clock) : clock_(clock) {}

  json::ObjectPtr call(plugin::RuntimeCall which, const json::ObjectPtr& request,
                       std::chrono::milliseconds timeout) override;
  using RuntimeClient::call;

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
  // Adds a sandbox/container directly (another node's or a leftover pod). Returns the id.
  std::string runSandbox(const json::ObjectPtr& config);
  std::string createContainer(const std::string& sandboxId, const json::ObjectPtr& config,
                              const json::ObjectPtr& sandboxConfig, bool start);

  std::vector<SandboxRecord> sandboxes() const;
  std::vector<ContainerRecord> containers() const;
  std::optional<ContainerRecord> container(const std::string& id) const;
  std::optional<SandboxRecord> sandbox(const std::string& id) const;
  // Containers of pod `uid` named `name` (label io.kubernetes.container.name), latest attempt first.
  std::vector<ContainerRecord> containersOf(const std::string& uid, const std::string& name) const;
  // Every StopContainer call that reached a container: (id, timeout seconds), kept after removal.
  std::vector<std::pair<std::string, int64_t>> stopLog() const;

 private:
  json::ObjectPtr dispatch(plugin::RuntimeCall which, const json::ObjectPtr& req);
  json::ObjectPtr runPodSandbox(const json::ObjectPtr& req);
  json::ObjectPtr stopPodSandbox(const json::ObjectPtr& req);
  json::ObjectPtr removePodSandbox(const json::ObjectPtr& req);
  json::ObjectPtr podSandboxStatus(const json::ObjectPtr& req);
  json::ObjectPtr listPodSandbox(const json::ObjectPtr& req);
  json::ObjectPtr createContainerCall(const json::ObjectPtr& req);
  json::ObjectPtr startContainer(const json::ObjectPtr& req);
  json::ObjectPtr stopContainer(const json::ObjectPtr& req);
  json::ObjectPtr removeContainer(const json::ObjectPtr& req);
  json::ObjectPtr listContainers(const json::ObjectPtr& req);
  json::ObjectPtr containerStatus(const json::ObjectPtr& req);
  json::ObjectPtr imageStatus(const json::ObjectPtr& req);
  json::ObjectPtr pullImage(const json::ObjectPtr& req);
  json::ObjectPtr version(const json::ObjectPtr& req);

  std::string runSandboxLocked(const json::ObjectPtr& config);
  std::string createContainerLocked(const std::string& sandboxId, const json::ObjectPtr& config,
                                    const json::ObjectPtr& sandboxConfig);
  void startLocked(ContainerRecord& c);
  void removeContainerLocked(const std::string& id);
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

}  // namespace podwarden::test
