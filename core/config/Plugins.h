// Plugins.h - from configuration to live plugin instances: search path, loading, factory selection.
#pragma once

#include "config/Config.h"
#include "plugin/Instances.h"

#include <memory>
#include <string>
#include <vector>

namespace podwarden::config {

struct LoadedSource {
  std::string name;    // "source-dir/dir" style, for logs
  std::string source;  // kubernetes.io/config.source value: "file" for type dir, "http" for type url, else type
  std::unique_ptr<plugin::SourceInstance> instance;
};

struct LoadedPlugins {
  std::vector<LoadedSource> sources;
  std::unique_ptr<plugin::RuntimeInstance> runtime;
  std::vector<std::unique_ptr<plugin::SinkInstance>> sinks;
  // Optional (required: false) plugins that were skipped, each with the reason.
  std::vector<std::string> skipped;
};

// The .so path for `plugin` (a name searched as <name>.so in `dirs`, or a path). Throws PluginError
// listing the directories searched.
std::string resolvePluginPath(const std::string& plugin, const std::vector<std::string>& dirs);

// Loads and creates every plugin the config names. A required plugin that fails throws PluginError
// (the message names the file and the reason); an optional one is skipped and listed in `skipped`.
// A runtime is always required.
LoadedPlugins instantiate(const Config& config);

// Every *.so found on the search path, loaded (or the reason it was refused), for `podwarden plugins`.
struct Discovered {
  std::string path;
  std::shared_ptr<plugin::PluginLibrary> library;  // null when refused
  std::string error;
};
std::vector<Discovered> discover(const std::vector<std::string>& dirs);

}  // namespace podwarden::config
