// LifecycleSupport.h - what the lifecycle suites add to the e2e helpers: a daemon with a shortened restart
// backoff on the runtime PODWARDEN_E2E_RUNTIME selects (TestRuntime), status polling that fails with
// diagnostics, and a watcher for a container's exit event (exit code and time as the runtime saw them, even
// after podwarden removed the container): Docker's `die` event, containerd's /tasks/exit event.
//
// Everything except the exit watchers' reader threads runs on the test thread.
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "E2eSupport.h"
#include "TestRuntime.h"

#include <memory>
#include <sys/types.h>

namespace podwarden::lifecycle {

using e2e::StatusPod;
using e2e::TestNode;
using e2e::TestRuntime;

// Restart backoff used by every suite: 1 s doubling to a 4 s cap (kubelet: 10 s / 300 s).
constexpr int kBackoffInitialSeconds = 1;
constexpr int kBackoffMaxSeconds = 4;
std::vector<std::string> shortBackoffFlags();
// --relist-period for a runtime without an event stream (containerd): the kubelet's generic PLEG period.
constexpr int kRelistSecondsWithoutEvents = 1;

// `lines` joined, each ended by a newline (manifests are written line by line).
std::string yamlLines(std::initializer_list<std::string> lines);

// Pod `name` in namespace default, hostNetwork, grace 2 s, one busybox container running `script` with
// /bin/sh -c (the script goes into a double-quoted YAML string: no double quotes or backslashes).
std::string oneContainerPod(const std::string& name, const std::string& policy, const std::string& container,
                            const std::string& script);
// The node's app containers (all states) of pod-spec container `container`, as the runtime lists them.
std::vector<e2e::PodContainer> appContainers(TestRuntime& rt, TestNode& node, const std::string& container);

// The runtime from PODWARDEN_E2E_RUNTIME, made the node's --container-runtime-endpoint and part of its
// diagnostics. The node keeps a pointer to it: destroy the node first (releaseNode).
std::unique_ptr<TestRuntime> attachRuntime(TestNode& node);
// Destroys the node (stops its daemon), then removes what is left of its containers in the runtime.
void releaseNode(std::unique_ptr<TestNode>& node, std::unique_ptr<TestRuntime>& rt);
// Starts the node's daemon with shortBackoffFlags() after checking the runtime and the images.
void startNode(TestNode& node, TestRuntime& rt);
// "<kind>://<id>" of `container` in the status, the id alone; empty when absent or of another runtime.
std::string statusContainerId(const StatusPod& pod, TestRuntime& rt, const std::string& container);

// Polls the status file until `predicate` holds for pod `<manifestName>-<node>` in `ns`; fails the test
// (CppUnit) naming `what`, with the node's diagnostics, after `timeoutSeconds`. Returns the matching view.
StatusPod waitStatus(TestNode& node, const std::string& manifestName, const std::string& ns,
                     const std::function<bool(const StatusPod&)>& predicate, const std::string& what,
                     int timeoutSeconds = e2e::kPodStartTimeoutSeconds);

// containerStatuses[] entry (or initContainerStatuses[] when `init`) named `name`; null when absent.
json::ObjectPtr containerStatus(const StatusPod& pod, const std::string& name, bool init = false);
// state.<kind> (or lastState.<kind>) of a container status: kind is running, waiting or terminated.
json::ObjectPtr stateOf(const json::ObjectPtr& containerStatus, const std::string& kind, bool last = false);
// The status.conditions[] entry of `type`; null when absent.
json::ObjectPtr condition(const StatusPod& pod, const std::string& type);

// Unix nanoseconds of an RFC 3339 time with optional fraction ("2026-11-26T21:40:01.123456789Z"); 0 when
// the text is not such a time or is Docker's zero time.
int64_t parseTimeNs(const std::string& text);
int64_t wallNowNs();

// Creates `path` (and parents) as a directory; returns it.
std::string makeDir(const std::string& path);

// What the runtime recorded about container `id` (the test fails when the runtime does not know it).
e2e::ContainerRecord recordOf(TestRuntime& rt, TestNode& node, const std::string& id);

// The exit of one container's main process as the runtime announces it, watched from construction on.
// One reader thread; the destructor stops the stream and joins it.
class ExitWatcher {
 public:
  virtual ~ExitWatcher() = default;
  // Waits up to `timeoutSeconds` for the event; true when it arrived.
  bool wait(int timeoutSeconds);
  // Valid once wait() returned true.
  int exitCode() const;
  int64_t timeNs() const;
  // Why the stream ended without an event (connection errors), for failure messages.
  std::string error() const;

 protected:
  explicit ExitWatcher(const std::string& containerId) : containerId_(containerId) {}
  void recordExit(int exitCode, int64_t timeNs);
  void recordError(const std::string& error);
  void finish();

  std::string containerId_;
  mutable std::mutex mutex_;
  std::atomic<bool> done_{false};
  bool seen_ = false;
  int exitCode_ = -1;
  int64_t timeNs_ = 0;
  std::string error_;
};

// Docker: the `die` event; containerd: the /tasks/exit event of the container's init process.
std::unique_ptr<ExitWatcher> watchExit(TestRuntime& rt, const std::string& containerId, int timeoutSeconds);

// Streams Docker's `die` events for one container (Docker replays events since the construction time, so a
// die that happens while the request is being set up is not lost).
class DieWatcher : public ExitWatcher {
 public:
  DieWatcher(const std::string& endpoint, const std::string& containerId, int timeoutSeconds);
  ~DieWatcher() override;
  DieWatcher(const DieWatcher&) = delete;
  DieWatcher& operator=(const DieWatcher&) = delete;

 private:
  void read();

  Poco::Net::StreamSocket socket_;
  std::thread reader_;
  bool connected_ = false;
  std::string pathAndQuery_;
};

// `ctr events` against containerd, waiting for /tasks/exit of the container's init process (id ==
// container_id; exec'd hooks have their own ids). containerd does not replay events: the constructor
// returns once the stream demonstrably delivers (it creates and removes a scratch namespace and waits for
// that event). The child process is ours; the destructor kills and reaps it.
class TaskExitWatcher : public ExitWatcher {
 public:
  TaskExitWatcher(const std::string& socketPath, const std::string& containerId);
  ~TaskExitWatcher() override;
  TaskExitWatcher(const TaskExitWatcher&) = delete;
  TaskExitWatcher& operator=(const TaskExitWatcher&) = delete;

 private:
  void read();

  std::string socketPath_;
  pid_t child_ = -1;
  int fd_ = -1;
  std::thread reader_;
  std::string syncNamespace_;
  bool synced_ = false;
};

}  // namespace podwarden::lifecycle
