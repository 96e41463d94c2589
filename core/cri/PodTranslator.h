// PodTranslator.h - a defaulted static v1 Pod as CRI runtime.v1 requests, and the host side of its volumes.
//
// What the kubelet's kuberuntime does between "this pod should run" and the CRI calls: the
// PodSandboxConfig and ContainerConfig messages (runtime/Cri.h; runtime/CriJson.h writes them as the
// runtime plugins take them over the ABI), the labels and annotations through which a runtime's containers
// are recognised again after a restart, and the directories hostPath and emptyDir volumes need.
//
// Everything here is a pure function of its inputs except prepareVolumes/removePodDir (filesystem) and
// env resourceFieldRef defaults (read the host's CPU count and memory size). Thread-safe.
//
// Out of scope, unlike the kubelet: the managed /etc/hosts mount, the termination-message file mount
// (the caller mounts a host file at terminationMessagePath if it wants one), service-link environment
// variables, runAsNonRoot image checks, seccomp/AppArmor/SELinux profiles, device plugins, and tmpfs for
// emptyDir medium Memory.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/Cri.h"
#include "util/Json.h"

namespace podwarden::cri {

struct TranslateOptions {
  std::string nodeName;
  std::string podsDir = "/var/lib/podwarden/pods";  // per-pod host dirs: <podsDir>/<uid>/volumes/...
  std::string logDir = "/var/log/pods";
  std::string hostIP;  // env fieldRef status.hostIP; also status.podIP for hostNetwork pods
  // The sandbox's IP (PodSandboxStatus) for fieldRef status.podIP of pod-network pods; empty until known.
  std::string podIP;
  // The host resolver configuration merged with spec.dnsConfig for dnsPolicy Default/ClusterFirst.
  std::string resolvConf = "/etc/resolv.conf";
};

// Labels on sandboxes and containers (kubelet pkg/kubelet/types/labels.go).
inline constexpr const char* kPodNameLabel = "io.kubernetes.pod.name";
inline constexpr const char* kPodNamespaceLabel = "io.kubernetes.pod.namespace";
inline constexpr const char* kPodUidLabel = "io.kubernetes.pod.uid";
inline constexpr const char* kContainerNameLabel = "io.kubernetes.container.name";
// Ours: the node the owning podwarden runs as, so that several instances sharing one runtime each list
// and garbage-collect only their own sandboxes and containers.
inline constexpr const char* kNodeLabel = "io.podwarden.node";

// Container annotations (kubelet pkg/kubelet/kuberuntime/labels.go).
inline constexpr const char* kContainerHashAnnotation = "io.kubernetes.container.hash";
inline constexpr const char* kContainerRestartCountAnnotation = "io.kubernetes.container.restartCount";
inline constexpr const char* kContainerTerminationMessagePathAnnotation =
    "io.kubernetes.container.terminationMessagePath";
inline constexpr const char* kContainerTerminationMessagePolicyAnnotation =
    "io.kubernetes.container.terminationMessagePolicy";
inline constexpr const char* kContainerPortsAnnotation = "io.kubernetes.container.ports";  // JSON array
inline constexpr const char* kContainerPreStopHandlerAnnotation =
    "io.kubernetes.container.preStopHandler";  // JSON object
inline constexpr const char* kPodTerminationGracePeriodAnnotation =
    "io.kubernetes.pod.terminationGracePeriod";
inline constexpr const char* kPodDeletionGracePeriodAnnotation = "io.kubernetes.pod.deletionGracePeriod";

// Static pods are critical pods: the kubelet gives their containers the Guaranteed OOM score adjustment
// whatever their QoS class.
inline constexpr int64_t kCriticalOomScoreAdj = -997;
inline constexpr int64_t kCpuPeriodUs = 100000;  // CFS period the kubelet uses by default

// A pod field that cannot be translated. field() is the JSON path ("spec.containers[1].env[0].valueFrom").
class TranslateError : public std::runtime_error {
 public:
  TranslateError(const std::string& field, const std::string& message)
      : std::runtime_error(field + ": " + message), field_(field) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// PodSandboxConfig for RunPodSandboxRequest.config. `attempt` counts sandbox re-creations of this pod.
// Throws TranslateError.
runtime::PodSandboxConfig sandboxConfig(const json::ObjectPtr& pod, uint32_t attempt,
                                        const TranslateOptions& opts);

// The ContainerConfig of container `c` (an element of spec.containers or spec.initContainers of `pod`) at
// restart count `restartCount`. Throws TranslateError.
runtime::ContainerConfig containerConfig(const json::ObjectPtr& pod, const json::ObjectPtr& c,
                                         uint32_t restartCount, const TranslateOptions& opts);

// The container's spec hash: FNV-32a hex of the canonical (sorted-key, compact) JSON of `c` as given.
// Stable across runs and processes; any change of the container spec changes it.
std::string containerHash(const json::ObjectPtr& c);

// The pod's QoS class, "Guaranteed", "Burstable" or "BestEffort", by the kubelet's rules over the cpu and
// memory requests and limits of all containers and init containers. Throws TranslateError on a bad quantity.
std::string qosClass(const json::ObjectPtr& pod);

// The container's environment as the runtime gets it: spec env in order (a repeated name keeps its first
// position and its last value), values $(VAR)-expanded against the variables defined before them,
// valueFrom resolved. Throws TranslateError.
struct EnvVar {
  std::string name;
  std::string value;
};
std::vector<EnvVar> containerEnv(const json::ObjectPtr& pod, const json::ObjectPtr& c,
                                 const TranslateOptions& opts);

// Host paths of per-pod state.
std::string podDir(const std::string& uid, const TranslateOptions& opts);
std::string emptyDirPath(const std::string& uid, const std::string& volume, const TranslateOptions& opts);

// Creates what the pod's volumes need on the host before any container starts: hostPath `type` checks and
// creation as the kubelet's hostPath plugin does them, emptyDir directories, and missing subPath
// directories of every container's volumeMounts. Never throws: each failing volume gives one problem;
// `warning` problems (emptyDir medium Memory served from disk) do not stop the pod.
struct VolumeProblem {
  std::string volume;
  std::string message;
  bool warning = false;
};
std::vector<VolumeProblem> prepareVolumes(const json::ObjectPtr& pod, const TranslateOptions& opts);

// Removes <podsDir>/<uid> and everything below it once the pod is gone. Absent is fine. Refuses (throws
// std::runtime_error naming the path) when something is still mounted below it, as the kubelet does,
// so a leftover bind mount never gets its host contents deleted.
void removePodDir(const std::string& uid, const TranslateOptions& opts);

}  // namespace podwarden::cri
