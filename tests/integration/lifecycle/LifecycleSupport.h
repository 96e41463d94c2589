// LifecycleSupport.h - what the lifecycle suites add to the e2e helpers: a daemon with a shortened restart
// backoff, status polling that fails with diagnostics, Docker's own timestamps and a watcher for a
// container's `die` event (exit code and time as Docker saw them, even after podwarden removed the
// container).
//
// Everything except DieWatcher's reader thread runs on the test thread.
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

namespace podwarden::lifecycle {

using e2e::StatusPod;
using e2e::TestNode;

// Restart backoff used by every suite: 1 s doubling to a 4 s cap (kubelet: 10 s / 300 s).
constexpr int kBackoffInitialSeconds = 1;
constexpr int kBackoffMaxSeconds = 4;
std::vector<std::string> shortBackoffFlags();

// `lines` joined, each ended by a newline (manifests are written line by line).
std::string yamlLines(std::initializer_list<std::string> lines);

// Pod `name` in namespace default, hostNetwork, grace 2 s, one busybox container running `script` with
// /bin/sh -c (the script goes into a double-quoted YAML string: no double quotes or backslashes).
std::string oneContainerPod(const std::string& name, const std::string& policy, const std::string& container,
                            const std::string& script);
// Attempt number from a dockershim container name k8s_<container>_<pod>_<ns>_<uid>_<attempt>; -1 if none.
int attemptOf(const std::string& dockerName);
// The node's Docker containers (all states) of container `container`.
std::vector<e2e::DockerContainer> appContainers(TestNode& node, const std::string& container);

// Starts the node's daemon with shortBackoffFlags() after checking Docker and the images.
void startNode(TestNode& node);

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

// Docker's State.StartedAt / FinishedAt / ExitCode of container `id` (the test fails when it is gone).
json::ObjectPtr dockerState(TestNode& node, const std::string& id);

// Streams Docker's `die` events for one container from construction on (Docker replays events since the
// construction time, so a die that happens while the request is being set up is not lost). One reader
// thread; the destructor shuts the socket down and joins it.
class DieWatcher {
 public:
  DieWatcher(const std::string& endpoint, const std::string& containerId, int timeoutSeconds);
  ~DieWatcher();
  DieWatcher(const DieWatcher&) = delete;
  DieWatcher& operator=(const DieWatcher&) = delete;

  // Waits up to `timeoutSeconds` for the event; true when it arrived.
  bool wait(int timeoutSeconds);
  // Valid once wait() returned true.
  int exitCode() const;
  int64_t timeNs() const;
  // Why the stream ended without an event (connection errors), for failure messages.
  std::string error() const;

 private:
  void read();

  std::string containerId_;
  Poco::Net::StreamSocket socket_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::atomic<bool> done_{false};
  bool seen_ = false;
  int exitCode_ = -1;
  int64_t timeNs_ = 0;
  bool connected_ = false;
  std::string error_;
  std::string pathAndQuery_;
};

}  // namespace podwarden::lifecycle
