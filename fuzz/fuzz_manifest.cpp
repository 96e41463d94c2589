// fuzz_manifest: the bytes of one manifest file (YAML, or JSON when it starts with '{') through
// manifest::parseManifest, as the reconciler parses every file source-dir hands it.
#include <cstdio>
#include <cstdlib>

#include "FuzzCore.h"
#include "FuzzInput.h"
#include "manifest/Manifest.h"

namespace pm = podwarden::manifest;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  podwarden::fuzz::quietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pm::SourceRef ref{"file", "/etc/kubernetes/manifests/fuzz.yaml"};
  pm::ParseOptions opts;
  opts.nodeName = "node-1";
  opts.seenUnixNs = 1700000000000000000;
  pm::ParseResult r = pm::parseManifest(podwarden::fuzz::bytes(data, size), ref, opts);
  for (const auto& p : r.errors) (void)p.toString();
  for (const auto& p : r.warnings) (void)p.toString();
  // Manifest.h: errors non-empty => no pod; a pod has the kubelet's static pod identity.
  if (!r.errors.empty() && r.pod) std::abort();
  if (r.pod) {
    if (r.pod->pod.isNull() || r.pod->name != r.pod->manifestName + "-" + opts.nodeName) std::abort();
    if (!r.pod->uidPinned && r.pod->uid != r.pod->configHash) std::abort();
    podwarden::fuzz::readsBack(r.pod->pod);
  }
  return 0;
}
