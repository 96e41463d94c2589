// CriJson.h - the one codec between the core's CRI structs (Cri.h) and the protobuf JSON mapping the
// runtime plugins take over the ABI (docs/abi.md): enums by name, int64 as numbers (strings are read too),
// bytes base64, absent fields as their zero value.
//
// Encoders write every field the core sets; decoders never throw on a missing or mistyped field (the
// zero value is read), because a plugin's answer is outside the host's control. Pure and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "runtime/Cri.h"
#include "util/Json.h"

namespace podwarden::runtime::crijson {

json::ObjectPtr encode(const PodSandboxConfig& config);
json::ObjectPtr encode(const ContainerConfig& config);

// {"filter": {"labelSelector": {...}}}, the ListPodSandbox and ListContainers request.
json::ObjectPtr listRequest(const StringMap& labelSelector);
// {"<key>": id}, e.g. {"containerId": "..."}.
json::ObjectPtr idRequest(const char* key, const std::string& id);
// {"image": {"image": ref}}, the ImageStatus and PullImage request.
json::ObjectPtr imageRequest(const std::string& image);

std::vector<PodSandbox> decodeSandboxes(const json::ObjectPtr& listPodSandboxResponse);
std::vector<Container> decodeContainers(const json::ObjectPtr& listContainersResponse);
PodSandboxStatus decodeSandboxStatus(const json::ObjectPtr& podSandboxStatusResponse);
ContainerStatus decodeContainerStatus(const json::ObjectPtr& containerStatusResponse);
ExecSyncResult decodeExecSync(const json::ObjectPtr& execSyncResponse);
VersionInfo decodeVersion(const json::ObjectPtr& versionResponse);
// ImageStatusResponse: an image with an id.
bool decodeImagePresent(const json::ObjectPtr& imageStatusResponse);

// CONTAINER_RUNNING and its kin; an unknown name is kUnknown.
ContainerState containerState(const std::string& name);
const char* containerStateName(ContainerState state);

}  // namespace podwarden::runtime::crijson
