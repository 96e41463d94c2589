// E2eSupport.h - what every end-to-end suite needs: a private "node" (its own node name, manifest
// directory, status file and podwarden process), polling with generous timeouts, and readable failure
// diagnostics (daemon log tail, status file, the node's containers as Docker lists them).
//
// Isolation: every TestNode has a unique --hostname-override, so its pods (named <pod>-<node>) and its
// containers (label io.podwarden.node=<node>) never collide with another test, a parallel ctest run or
// leftovers of an earlier run. Everything runs on the test thread.
#pragma once

#include "DaemonProcess.h"
#include "DockerClient.h"
#include "util/Json.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace podwarden::e2e {

// Environment variable or `fallback`.
std::string env(const char* name, const std::string& fallback = "");
// Environment variable that ctest sets (PODWARDEN_BIN, ...); throws naming it when missing.
std::string requireEnv(const char* name);

std::string readFile(const std::string& path);
// Plain open-truncate-write, as `cp` or an editor without atomic save does it.
void writeFile(const std::string& path, const std::string& content);
// Writes a temp dot-file next to `path` and renames it into place (what kubeadm does).
void writeFileAtomic(const std::string& path, const std::string& content);
bool fileExists(const std::string& path);

// Polls `condition` every 200 ms until it is true or `timeoutSeconds` pass. Returns the last result.
bool waitFor(const std::function<bool()>& condition, int timeoutSeconds);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
int freeLoopbackPort();

struct CommandResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr interleaved
};
// Runs `command` with /bin/sh, capturing stdout+stderr.
CommandResult runCommand(const std::string& command);
std::string shellQuote(const std::string& s);

// GET http://127.0.0.1:<port><path>; returns the HTTP status, or 0 when nothing answers.
int httpGetStatus(int port, const std::string& path);

// Generous upper bounds for things that normally take a second or two.
constexpr int kPodStartTimeoutSeconds = 120;
constexpr int kPodStopTimeoutSeconds = 120;

constexpr const char* kPauseImage = "podwarden.local/pause:3.9";
constexpr const char* kBusyboxImage = "podwarden.local/busybox:1.36";
constexpr const char* kSamplePort = "16443";

// The node's view of one pod in the status file.
struct StatusPod {
  json::ObjectPtr pod;  // null when the status file does not list it
  std::string uid() const;
  std::string phase() const;
  json::ObjectPtr containerStatus(const std::string& container) const;
  // Docker id from containerStatuses[].containerID ("docker://<id>"), empty when absent.
  std::string containerId(const std::string& container) const;
  // Id from containerStatuses[].containerID when it reads "<scheme>://<id>", else empty.
  std::string containerIdOf(const std::string& container, const std::string& scheme) const;
  int64_t restartCount(const std::string& container) const;
  bool containerRunning(const std::string& container) const;
};

class TestNode {
 public:
  // `tag` becomes part of the node name: e2e-<tag>-<pid>-<n>.
  explicit TestNode(const std::string& tag);
  // Stops the daemon and force-removes every container labelled with this node. Deletes the work
  // directory unless PODWARDEN_E2E_KEEP=1.
  ~TestNode();

  const std::string& name() const { return name_; }
  const std::string& workDir() const { return workDir_; }
  const std::string& manifestDir() const { return manifestDir_; }
  const std::string& statusPath() const { return statusPath_; }
  const std::string& logPath() const { return logPath_; }
  DockerClient& docker() { return docker_; }

  // The --container-runtime-endpoint the daemon gets; default: the test dockerd's.
  void setRuntimeEndpoint(const std::string& endpoint) { runtimeEndpoint_ = endpoint; }
  // Appended to diagnostics(), e.g. the containers as a runtime other than Docker lists them.
  void setDiagnosticsHook(std::function<std::string()> hook) { diagnosticsHook_ = std::move(hook); }

  // Fails (std::runtime_error) with what to run when the test dockerd or the local images are missing.
  void requireDocker();

  // `podwarden run` with this node's flags, plus `extraArgs`.
  std::vector<std::string> runCommand(const std::vector<std::string>& extraArgs = {}) const;
  void startDaemon(const std::vector<std::string>& extraArgs = {});
  DaemonProcess& daemon();
  bool daemonRunning();
  // SIGTERM with a grace period; returns true when the daemon exited on its own.
  bool stopDaemon();
  // SIGKILL.
  void killDaemon();

  // waitFor() that gives up early when this node's daemon has exited (diagnostics() then says so).
  bool waitFor(const std::function<bool()>& condition, int timeoutSeconds);

  // Parsed status file, or null when missing / not (yet) valid JSON.
  json::ObjectPtr status() const;
  // Pod `<manifestName>-<node>` in `ns` from the status file.
  StatusPod statusPod(const std::string& manifestName, const std::string& ns) const;
  std::string podName(const std::string& manifestName) const { return manifestName + "-" + name_; }

  // This node's containers as Docker lists them, optionally narrowed by more `label=value` filters.
  std::vector<DockerContainer> containers(bool all, const std::vector<std::string>& moreLabels = {});
  // The one container named `name` among this node's containers, if any.
  std::optional<DockerContainer> containerNamed(const std::string& name, bool all);

  // samples/manifests/kube-apiserver.yaml with its port (16443) replaced by `port`, so tests never
  // collide on the host network with each other or with a running sample.
  std::string sampleManifest(int port) const;
  // A small valid pod: one busybox container sleeping (exits promptly on SIGTERM).
  static std::string sleeperManifest(const std::string& name, const std::string& ns = "default");

  // Daemon log tail, status file and this node's containers, for assertion messages.
  std::string diagnostics();

 private:
  std::string name_;
  std::string workDir_;
  std::string manifestDir_;
  std::string statusPath_;
  std::string logPath_;
  DockerClient docker_;
  std::string runtimeEndpoint_;
  std::function<std::string()> diagnosticsHook_;
  std::unique_ptr<DaemonProcess> daemon_;
};

// Container names the dockershim convention gives (what users grep `docker ps` for).
std::string sandboxContainerName(const std::string& podName, const std::string& ns, const std::string& uid,
                                 int attempt);
std::string appContainerName(const std::string& container, const std::string& podName, const std::string& ns,
                             const std::string& uid, int restartCount);

}  // namespace podwarden::e2e
