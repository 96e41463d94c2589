// fuzz_manifest_list: a URL body (one Pod, a PodList, a List, several YAML documents; YAML or JSON) through
// manifest::parseManifestList, as the reconciler parses what source-url fetched.
#include <cstdio>
#include <cstdlib>
#include <set>

#include "FuzzInput.h"
#include "manifest/Manifest.h"
#include "util/Log.h"

namespace pm = podwarden::manifest;

namespace {

// The pod goes to the sink plugins and the status file as JSON text, which must read back.
void readsBack(const podwarden::json::ObjectPtr& pod) {
  const std::string text = podwarden::json::stringify(pod);
  try {
    (void)podwarden::json::parseObject(text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the pod's JSON does not read back: %s\n", e.what());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  podwarden::Log::setLevel(podwarden::LogLevel::kDebug);
  podwarden::Log::setSink([](podwarden::LogLevel, std::string_view, std::string_view) {});
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
    readsBack(pod.pod);
  }
  return 0;
}
