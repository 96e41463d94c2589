// VolumePaths.h - where a pod's volumes and volume mounts live on the host (shared by the container
// translation and the host preparation; not part of the cri API).
#pragma once

#include <string>
#include <vector>

#include "cri/PodTranslator.h"

namespace podwarden::cri::detail {

// "spec.containers[2]" / "spec.initContainers[0]" for `c` (found by identity, then by name).
std::string containerField(const json::ObjectPtr& pod, const json::ObjectPtr& c);

// The spec.volumes entry named `name` and its field path; null when there is none.
json::ObjectPtr findVolume(const json::ObjectPtr& pod, const std::string& name, std::string* field);

// The host directory or file a volume provides: a hostPath's path, an emptyDir's per-pod directory.
// Throws TranslateError (at `field`) for volume types a static pod cannot use.
std::string volumeHostPath(const json::ObjectPtr& pod, const json::ObjectPtr& volume,
                           const std::string& field, const TranslateOptions& opts);

// The validated subPath of a volumeMount (subPathExpr expanded against `env` like the kubelet: every
// referenced variable must be defined and non-empty); empty when the mount has none. Throws TranslateError.
std::string mountSubPath(const json::ObjectPtr& mount, const std::vector<EnvVar>& env,
                         const std::string& field);

// Lexically joins `base` and a relative `sub` the way Go's filepath.Join does (cleaned, no trailing '/').
std::string joinPath(const std::string& base, const std::string& sub);

}  // namespace podwarden::cri::detail
