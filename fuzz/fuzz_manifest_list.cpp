// fuzz_manifest_list: a URL body (one Pod, a PodList, a List, several YAML documents; YAML or JSON) through
// manifest::parseManifestList, as the reconciler parses what source-url fetched.
#include <cstdio>
#include <cstdlib>
#include <set>

#include "FuzzCore.h"
#include "FuzzInput.h"
#include "manifest/Manifest.h"

namespace pm = podwarden::manifest;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  podwarden::fuzz::quietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pm::SourceRef ref{"http", "https://manifests.example/node-1/pods.yaml"};
  pm::ParseOptions opts;
  opts.nodeName = "node-1";
  opts.seenUnixNs = 1700000000000000000;
  pm::ParseListResult r = pm::parseManifestList(podwarden::fuzz::bytes(data, size), ref, opts);
  for (const auto& p : r.errors) (void)p.toString();
  for (const auto& p : r.warnings) (void)p.toString();
  // Manifest.h: pods empty when errors is non-empty; duplicates of <name>_<namespace> are dropped.
  if (!r.errors.empty() && !r.pods.empty()) std::abort();
  std::set<std::string> names;
  for (const auto& pod : r.pods) {
    if (pod.pod.isNull() || !names.insert(pod.fullName()).second) std::abort();
    podwarden::fuzz::readsBack(pod.pod);
  }
  return 0;
}
