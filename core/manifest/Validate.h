// Validate.h - static pod validation: the v1 Pod rules that matter on a node, plus the static-pod refusals
// (API-object references) the kubelet applies since kubernetes PR #131837.
#pragma once

#include <string>

#include "manifest/Document.h"
#include "util/Json.h"

namespace podwarden::manifest {

// Validates `pod` (the manifest as written, before defaulting). `base` is the pod's field path inside its
// document ("" for a file, "items[2]" for a list item): every Problem's field starts with it. `nodeName` is
// used for the length of the final <name>-<node> pod name. Adds every error found to `reporter`.
void validatePod(const json::ObjectPtr& pod, const std::string& base, const std::string& nodeName,
                 Reporter& reporter);

}  // namespace podwarden::manifest
