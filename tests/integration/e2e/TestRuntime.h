// TestRuntime.h - the runtime-neutral view the daemon scenarios take of what podwarden did: one interface,
// implemented over Docker's own API (DockerClient) and over CRI on containerd (the runtime-containerd plugin
// as an independent client, plus containerd's `ctr`), so the same scenario code runs against both.
//
// PODWARDEN_E2E_RUNTIME selects the implementation: "docker" (default; PODWARDEN_DOCKER_HOST) or
// "containerd" (PODWARDEN_CONTAINERD_ENDPOINT). Everything runs on the test thread.
#pragma once

#include "util/Json.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace podwarden::e2e {

// A sandbox or app container of one node, as the runtime itself lists it.
struct PodContainer {
  std::string id;       // full id, without the "docker://" / "containerd://" scheme
  std::string name;     // the name the runtime shows (see TestRuntime::sandboxName / appName)
  bool sandbox = false;
  bool running = false;  // Docker "running"; CRI CONTAINER_RUNNING or SANDBOX_READY
  std::string podUid;    // io.kubernetes.pod.uid
  std::string container;  // the pod spec's container name; empty for a sandbox
  int attempt = -1;       // restart attempt: the last field of the name (CRI metadata.attempt)
};

// One container's lifecycle as the runtime records it (Docker State; CRI ContainerStatus).
struct ContainerRecord {
  bool exists = false;
  bool running = false;
  int exitCode = -1;       // valid when finishedNs != 0
  int64_t startedNs = 0;   // unix ns; 0 when never started
  int64_t finishedNs = 0;  // unix ns; 0 while not finished
  bool oomKilled = false;  // Docker State.OOMKilled; CRI reason "OOMKilled"
  std::string imageRef;    // Docker's Image (sha256:...); CRI imageRef
};

// The cgroup settings the runtime applies to a container (Docker HostConfig; the OCI spec's
// linux.resources that containerd holds). 0 when not set. CPU quota/period in microseconds.
struct ResourceLimits {
  int64_t cpuShares = 0;
  int64_t cpuQuota = 0;
  int64_t cpuPeriod = 0;
  int64_t memoryBytes = 0;
};

class TestRuntime {
 public:
  virtual ~TestRuntime() = default;

  // "docker" or "containerd": also the scheme of containerID in the status file.
  virtual std::string kind() const = 0;
  // The --container-runtime-endpoint value that makes podwarden use this runtime.
  virtual std::string endpoint() const = 0;
  // Throws std::runtime_error saying what to run when the runtime or the local images are missing.
  virtual void require() = 0;

  // Sandboxes and containers labelled io.podwarden.node=<node>; `all` includes stopped ones.
  virtual std::vector<PodContainer> listPodContainers(const std::string& node, bool all) = 0;
  // Start time as the runtime reports it (Docker State.StartedAt; CRI startedAt, for a sandbox its
  // createdAt, in ns). Empty when the container does not exist.
  virtual std::string containerStartedAt(const std::string& id) = 0;
  virtual bool containerExists(const std::string& id) = 0;
  virtual bool containerRunning(const std::string& id) = 0;
  // The process's argv as the runtime will exec it (entrypoint + args).
  virtual std::vector<std::string> containerArgv(const std::string& id) = 0;
  // SIGKILL to the container's process, behind podwarden's back.
  virtual void killContainer(const std::string& id) = 0;
  // Stops and removes every sandbox and container of `node`; errors are ignored (cleanup).
  virtual void removeNodeContainers(const std::string& node) = 0;

  // The names the runtime shows for the kubelet's sandbox / app container of a pod. Docker: dockershim's
  // k8s_POD_<pod>_<ns>_<uid>_<attempt> and k8s_<container>_<pod>_<ns>_<uid>_<restarts>. CRI has no names,
  // only metadata; the containerd implementation spells that metadata the way containerd's CRI plugin
  // names its own records (no k8s_ prefix): <pod>_<ns>_<uid>_<attempt> and
  // <container>_<pod>_<ns>_<uid>_<attempt>, the pod part taken from the container's sandbox.
  virtual std::string sandboxName(const std::string& pod, const std::string& ns, const std::string& uid,
                                  int attempt) const = 0;
  virtual std::string appName(const std::string& container, const std::string& pod, const std::string& ns,
                              const std::string& uid, int attempt) const = 0;

  // What the runtime recorded about container `id`; exists == false when it does not know the id.
  virtual ContainerRecord containerRecord(const std::string& id) = 0;
  // The resources applied to app container `id`; throws when the runtime does not know it.
  virtual ResourceLimits containerResources(const std::string& id) = 0;

  // The node's containers one per line, for assertion messages.
  std::string describe(const std::string& node);

  std::optional<PodContainer> containerNamed(const std::string& node, const std::string& name, bool all);
};

// Unix ns of an RFC 3339 UTC time with optional fraction; 0 for other text and Docker's zero time
// ("0001-01-01T00:00:00Z").
int64_t parseRfc3339Ns(const std::string& text);

// From PODWARDEN_E2E_RUNTIME; throws naming the variable for an unknown value.
std::unique_ptr<TestRuntime> makeTestRuntime();
std::unique_ptr<TestRuntime> makeDockerTestRuntime(const std::string& endpoint);
// Loads <PODWARDEN_PLUGIN_DIR>/runtime-containerd.so as the CRI client.
std::unique_ptr<TestRuntime> makeContainerdTestRuntime(const std::string& endpoint);

}  // namespace podwarden::e2e
