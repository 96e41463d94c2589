// fuzz_config: the text of a --config file (kind PodwardenConfig or KubeletConfiguration) through
// config::applyFile, onto the built-in defaults, as `podwarden run --config FILE` reads it.
#include <cstdio>
#include <cstdlib>

#include "FuzzCore.h"
#include "FuzzInput.h"
#include "config/Config.h"
#include "util/Json.h"

namespace pc = podwarden::config;

namespace {
const pc::Config* gDefaults = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  podwarden::fuzz::quietLogs();
  gDefaults = new pc::Config(pc::defaults());  // host name and environment: read once
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pc::Config c;
  try {
    c = pc::applyFile(podwarden::fuzz::bytes(data, size), "/etc/podwarden/config.yaml", *gDefaults);
  } catch (const pc::ConfigError&) {
    return 0;  // Config.h: bad configuration is a ConfigError. Anything else escaping is a finding.
  }
  // Config.h: each plugin's config block is a JSON object (the plugin parses it at create).
  auto check = [](const pc::PluginUse& use) {
    try {
      (void)podwarden::json::parseObject(use.configJson);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "the config block of plugin %s is not a JSON object: %s\n", use.plugin.c_str(),
                   e.what());
      std::abort();
    }
  };
  for (const auto& s : c.sources) check(s);
  for (const auto& s : c.sinks) check(s);
  check(c.runtime);
  return 0;
}
