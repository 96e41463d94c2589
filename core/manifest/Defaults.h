// Defaults.h - the Kubernetes API defaults a v1 Pod gets on creation, applied to a validated static pod.
#pragma once

#include <string>

#include "util/Json.h"

namespace podwarden::manifest {

// Fills in defaults the API server would (restartPolicy, dnsPolicy, grace period, scheduler, service links,
// securityContext, per-container pull policy, termination message, port protocol, probe timings, httpGet
// scheme/path, requests copied from limits, hostPath.type) and, for file pods, the NoExecute toleration the
// kubelet adds. Only absent (or, for probe numbers, zero) fields change. `pod` must have passed validatePod.
void applyDefaults(json::ObjectPtr pod, bool filePod);

// Always when the image tag is "latest" or there is neither tag nor digest, else IfNotPresent.
std::string defaultPullPolicy(const std::string& image);

}  // namespace podwarden::manifest
