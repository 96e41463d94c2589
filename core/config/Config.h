// Config.h - the daemon's configuration: podwarden YAML config, KubeletConfiguration files, and flags.
//
// Precedence: built-in defaults < the --config file < command-line flags. Every setting is documented in
// docs/configuration.md.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace podwarden::config {

// Bad configuration: the message names the file (or flag) and the field.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One plugin bound to a role (a source, the runtime, a sink).
struct PluginUse {
  // Library name, found as <plugin>.so on the plugin search path, or a path to a .so (contains '/').
  std::string plugin;
  // Factory type within the library; empty = the library's only factory of the role's kind.
  std::string type;
  // true: failing to load/create stops the daemon before anything starts. false: skipped with a warning.
  bool required = true;
  // The plugin's own config block, as a JSON object.
  std::string configJson = "{}";
};

struct Config {
  std::string nodeName;                 // lowercased; default: the host name
  std::vector<std::string> pluginDirs;  // plugin search path, in order
  std::vector<PluginUse> sources;
  PluginUse runtime;
  std::vector<PluginUse> sinks;
  std::string podsDir = "/var/lib/podwarden/pods";  // per-pod host state (emptyDir volumes)
  std::string logDir = "/var/log/pods";             // CRI log directory root
  // Runtime relist period. 0 (default): 10 s when the runtime has an event stream (the relist is only a
  // safety net), 1 s when it has none (the relist is how exits are seen; the kubelet's PLEG period).
  int64_t relistSeconds = 0;
  int64_t restartBackoffInitialMs = 10000;          // CrashLoopBackOff / image pull backoff: first delay
  int64_t restartBackoffMaxMs = 300000;             // ... and its cap (kubelet: 10s, 300s)
  int64_t shutdownGraceSeconds = 0;                 // unused in v1: pods keep running when podwarden stops
  std::string logLevel = "info";                    // error|warning|info|debug
  // Kubelet fileCheckFrequency / httpCheckFrequency in seconds (0 = the plugin's default), kept so that a
  // source added later (by --pod-manifest-path after a kubelet config file) gets the period too.
  int64_t fileCheckSeconds = 0;
  int64_t httpCheckSeconds = 0;
  std::vector<std::string> warnings;                // non-fatal notes found while loading (logged at start)
};

// The default config: node = host name lowercased; plugin dirs = $PODWARDEN_PLUGIN_PATH (colon separated),
// then the build tree's plugin dir (when running from a build), then the install dir; runtime =
// runtime-docker at unix:///var/run/docker.sock; no sources; no sinks.
Config defaults();

// Builds the config from `args` (flags after the subcommand: --config FILE, --pod-manifest-path DIR,
// --hostname-override NAME, --container-runtime-endpoint URL, --pod-infra-container-image IMAGE,
// --status-file PATH, --plugin-dir DIR (repeatable, searched first), --log-level L, ...). `--config` accepts
// a podwarden config (kind: PodwardenConfig) or a kubelet config (kind: KubeletConfiguration). Flags and
// KubeletConfiguration fields translate through one table, config/KubeletFlags.cpp. Throws ConfigError.
Config load(const std::vector<std::string>& args);

// Applies a config file's text onto `base`. `origin` names the file in errors.
Config applyFile(std::string_view yamlText, const std::string& origin, Config base);

// Go-style duration ("20s", "1m30s", "500ms") to milliseconds. Throws ConfigError naming `what`.
int64_t parseDurationMs(const std::string& text, const std::string& what);

// Help text for the flags `load` understands.
std::string flagsHelp();

}  // namespace podwarden::config
