// DockerNames.h - the dockershim conventions for container names and labels. Users (and tools written
// for the kubelet's dockershim) find pods in `docker ps` by these, so they are reproduced exactly:
//   sandbox:   k8s_POD_<pod>_<namespace>_<uid>_<attempt>
//   container: k8s_<container>_<pod>_<namespace>_<uid>_<restartCount>
// Kubernetes names, namespaces and uids never contain '_', which makes the names parseable.
#pragma once

#include <cstdint>
#include <string>

#include "JsonUtil.h"

namespace podwarden::docker {

constexpr const char* kTypeLabel = "io.kubernetes.docker.type";
constexpr const char* kTypeSandbox = "podsandbox";
constexpr const char* kTypeContainer = "container";
constexpr const char* kSandboxIdLabel = "io.kubernetes.sandbox.id";
// Absolute path of the kubelet-style log symlink (sandbox logDirectory + container logPath).
constexpr const char* kLogPathLabel = "io.kubernetes.container.logpath";
// CRI annotations are stored as Docker labels with this prefix (Docker has no annotations).
constexpr const char* kAnnotationPrefix = "annotation.";
// Fallback metadata labels the kubelet puts on every pod's containers.
constexpr const char* kPodNameLabel = "io.kubernetes.pod.name";
constexpr const char* kPodNamespaceLabel = "io.kubernetes.pod.namespace";
constexpr const char* kPodUidLabel = "io.kubernetes.pod.uid";
constexpr const char* kContainerNameLabel = "io.kubernetes.container.name";

std::string sandboxName(const std::string& pod, const std::string& ns, const std::string& uid,
                        int64_t attempt);
std::string containerName(const std::string& container, const std::string& pod, const std::string& ns,
                          const std::string& uid, int64_t attempt);

struct ParsedName {
  bool ok = false;
  std::string container;  // "POD" for a sandbox
  std::string pod;
  std::string ns;
  std::string uid;
  int64_t attempt = 0;
};
// Parses a dockershim name (with or without Docker's leading '/').
ParsedName parseName(const std::string& dockerName);

// Docker labels for a CRI object: its labels, each annotation as "annotation.<key>", then `extra`
// (which wins).
StringMap toDockerLabels(const StringMap& labels, const StringMap& annotations, const StringMap& extra);
// The inverse: CRI labels (without the plugin's own bookkeeping labels) and annotations.
void fromDockerLabels(const StringMap& dockerLabels, StringMap& labels, StringMap& annotations);

}  // namespace podwarden::docker
