// Manifest.h - one static pod manifest (file bytes or one URL body) -> validated, defaulted v1 Pod with the
// identity the kubelet gives static pods (name suffix, config hash, UID, config.* annotations).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/Json.h"

namespace podwarden::manifest {

// One finding about a manifest. `field` is a Kubernetes-style field path ("spec.containers[0].image");
// line/column are 1-based positions in the document when known (0 = unknown).
struct Problem {
  std::string origin;  // file path or URL
  std::string field;
  int line = 0;
  int column = 0;
  std::string message;
  // "origin:line:column: field: message" (parts that are empty/0 left out)
  std::string toString() const;
};

struct SourceRef {
  std::string source;  // "file" or "http" (kubernetes.io/config.source)
  std::string origin;  // absolute file path or URL
};

struct ParseOptions {
  std::string nodeName;    // already lowercased
  int64_t seenUnixNs = 0;  // value for kubernetes.io/config.seen
  size_t maxBytes = 10 * 1024 * 1024;
};

struct StaticPod {
  std::string uid;         // = config hash unless the manifest pins metadata.uid
  std::string configHash;  // kubernetes.io/config.hash (== uid)
  bool uidPinned = false;
  std::string manifestName;                                 // metadata.name as written
  std::string name;                                         // <manifestName>-<node>
  std::string ns;                                           // namespace (default "default")
  std::string fullName() const { return name + "_" + ns; }  // kubelet's internal full name
  SourceRef ref;
  json::ObjectPtr pod;  // the defaulted v1 Pod
};

struct ParseResult {
  std::optional<StaticPod> pod;
  std::vector<Problem> errors;  // non-empty => pod is empty
  std::vector<Problem> warnings;
};

// Parses one manifest file's bytes (YAML or JSON; JSON when the first non-blank byte is '{').
// Never throws for bad input: every problem becomes a Problem, all validation errors of one pass are
// collected.
ParseResult parseManifest(std::string_view bytes, const SourceRef& ref, const ParseOptions& opts);

struct ParseListResult {
  std::vector<StaticPod> pods;  // in document order; empty when errors is non-empty
  std::vector<Problem> errors;
  std::vector<Problem> warnings;
};

// A URL body: one Pod, or a PodList / List of Pods (the kubelet's HTTP source accepts both). An invalid item
// rejects the whole body, as the kubelet does. Items are hashed one by one, each with `url:<origin>`. A
// second item with the same <name>_<namespace> is dropped with a warning (the kubelet keeps the first).
ParseListResult parseManifestList(std::string_view bytes, const SourceRef& ref, const ParseOptions& opts);

}  // namespace podwarden::manifest
