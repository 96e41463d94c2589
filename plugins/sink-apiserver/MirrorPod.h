// MirrorPod.h - the pure parts of mirror pods: what a mirror of a static pod looks like, how a mirror
// read back from the API server is summarized, and how an API error is read. No I/O here.
#pragma once

#include <Poco/JSON/Object.h>

#include <optional>
#include <string>
#include <vector>

namespace podwarden::sink_apiserver {

constexpr const char* kMirrorAnnotation = "kubernetes.io/config.mirror";
constexpr const char* kHashAnnotation = "kubernetes.io/config.hash";
constexpr const char* kSeenAnnotation = "kubernetes.io/config.seen";

// A static pod as the host reported it, reduced to what the sink needs.
struct StaticPod {
  std::string uid;        // the static pod's UID (the config hash unless the manifest pins one)
  std::string ns;
  std::string name;       // <manifest name>-<node>
  std::string hash;       // kubernetes.io/config.hash: what the mirror's config.mirror must say
  std::string seen;       // kubernetes.io/config.seen (RFC3339Nano): the newer of two same-name pods wins
  std::string mirrorJson; // the mirror to create, without its ownerReference (added once the Node's UID is known)
  std::string statusJson; // the status to publish, canonical JSON (sorted keys), "" when the pod has none
  std::string fullName() const { return ns + "/" + name; }
};

// Reads one pod of a report batch. Throws std::invalid_argument naming `where` and the field.
StaticPod staticPodFrom(const Poco::JSON::Object::Ptr& pod, const std::string& where);

// The create body: the mirror JSON plus the one ownerReference NodeRestriction demands
// {apiVersion: v1, kind: Node, name, uid, controller: true} (blockOwnerDeletion unset).
std::string mirrorCreateBody(const StaticPod& pod, const std::string& nodeName, const std::string& nodeUid);

// What the sink remembers of a mirror pod seen on the API server.
struct MirrorInfo {
  std::string ns;
  std::string name;
  std::string uid;
  std::string hash;  // its kubernetes.io/config.mirror
  std::string resourceVersion;
  std::string creationTimestamp;
  bool deleting = false;  // metadata.deletionTimestamp is set (e.g. `kubectl delete`)
  std::vector<std::string> podIPs;   // status.podIPs[].ip as the API server has them
  std::vector<std::string> hostIPs;  // status.hostIPs[].ip
  std::string fullName() const { return ns + "/" + name; }
};

// The mirror summary of an API pod object, or nothing when the pod is not a mirror pod (no
// kubernetes.io/config.mirror annotation): such pods are never touched.
std::optional<MirrorInfo> mirrorInfoFrom(const Poco::JSON::Object::Ptr& pod);

// The strategic-merge patch of pods/status that makes `mirror`'s status equal `statusJson`. podIPs and
// hostIPs merge by `ip` on the API server, so an address the mirror has and the status no longer lists is
// deleted explicitly ($patch: delete) and the order is given ($setElementOrder), as the kubelet's patches
// do; otherwise a changed host IP would leave the old one first and fail validation (hostIPs[0] must be
// hostIP). Conditions merge by type and are only ever added or updated: the ones other components set stay.
std::string statusPatch(const std::string& statusJson, const MirrorInfo& mirror);

// A Kubernetes Status (error) body: reason and message; both empty when the body is not a Status.
struct ApiStatus {
  std::string reason;
  std::string message;
};
ApiStatus parseStatus(const std::string& body);

// "403 Forbidden: pods \"x\" is forbidden: ..." from a code and a body (a Status, or anything else).
std::string describeFailure(int code, const std::string& body);

// Percent-encodes a query value.
std::string urlEncode(const std::string& value);

}  // namespace podwarden::sink_apiserver
