// KubeletFlags.h - the one table of every command-line flag and KubeletConfiguration field podwarden
// understands, and where each value lands: a key of a plugin's config block (source-dir, source-url, the
// runtime, sink-file, sink-apiserver) or a setting of the daemon itself.
//
// Both readers go through the table: load() for flags, applyFile() for a KubeletConfiguration. A kubelet
// flag and its config field share one row, so they cannot land on different keys or convert differently.
// docs/configuration.md shows the same table to operators. Internal to core/config.
#pragma once

#include <Poco/Dynamic/Var.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/Config.h"

namespace podwarden::config {

inline constexpr const char* kRuntimeDocker = "runtime-docker";
inline constexpr const char* kRuntimeContainerd = "runtime-containerd";

// The part of podwarden a setting configures.
enum class Role { kDaemon, kSourceDir, kSourceUrl, kRuntime, kSinkFile, kSinkApiserver };

// How a flag's text or a field's YAML value becomes the stored value. "Not set": the row is skipped, as the
// kubelet treats an empty string field as unset.
enum class Convert {
  kText,          // trimmed string; empty: not set
  kPath,          // trimmed; in a config file relative to the file's directory; empty: not set
  kRequiredPath,  // as kPath, but empty is refused
  kNodeName,      // trimmed, lowercased; empty: not set (the host name stays, as with the kubelet)
  kSeconds,       // Go duration of at least 1s, rounded up to whole seconds
  kBackoffMs,     // Go duration of at least 100ms, in milliseconds
  kHeaders,       // flag: 'NAME:VALUE,...' (repeatable); field: map[string][]string. Both: {name: [values]}
  kBool,          // true or false
  kLogLevel,      // error, warning, info or debug
  kDirList,       // every value of a repeatable flag, in order
};

// How the value reaches its role. Layers apply in order (the --config file, then the flags); the flags are
// the last layer, after which nothing can add the plugin a value needs.
enum class Apply {
  kConfigFile,       // --config: read by load() before every other row
  kFirstOrAdd,       // the first plugin of the role gets the key; none configured: one is added
  kEveryRemembered,  // every plugin of the role; also kept in `number` for a plugin a later row or layer
                     // adds. None after the last layer: a warning (`absent`)
  kEveryRequired,    // every plugin of the role. None after the last layer: an error (`absent`); none
                     // after a config file: unused, as the kubelet leaves an unused field unused
  kSelectRuntime,    // the endpoint chooses the runtime plugin (see selectRuntime), then sets the key
  kRuntime,          // the key of the runtime plugin (there always is one)
  kDaemon,           // the Config member `text` or `number`; kDirList: put before pluginDirs
};

// One row. The table is a constant array: pointers to rows stay valid for the program's life.
struct Setting {
  const char* flag;   // without "--"; nullptr: no flag
  const char* field;  // KubeletConfiguration field; nullptr: the field is ignored (reported as unused)
  Role role;
  const char* key;  // the plugin config key; for Role::kDaemon the Config member's name
  Convert convert;
  Apply apply;
  std::string Config::*text;  // kDaemon: the string member set
  int64_t Config::*number;    // kDaemon: the number member set; kEveryRemembered: where the value is kept
  const char* absent;         // kEveryRemembered, kEveryRequired: the message when no plugin takes it
  const char* arg;            // --help: what the flag takes
  bool repeatable;            // true: every value of the flag is used; false: the last one wins
  const char* help;
};

// Every row, in the order they apply (a row may need the plugin an earlier row added).
struct SettingTable {
  const Setting* first;
  const Setting* last;
  const Setting* begin() const { return first; }
  const Setting* end() const { return last; }
};
SettingTable settings();
const Setting* findFlag(const std::string& name);
const Setting* findField(const std::string& name);

// The value of a flag given `values` (command-line order, never empty); nullopt: not set. Throws
// ConfigError starting with `what`.
std::optional<Poco::Dynamic::Var> flagValue(const Setting& setting, const std::vector<std::string>& values,
                                            const std::string& what);

// Stores `value` as the row says. `what` starts every message ("flag --kubeconfig",
// "/etc/kubelet.yaml:3:1: staticPodPath"); `lastLayer` is true for the flags. Throws ConfigError.
void applySetting(Config& config, const Setting& setting, const Poco::Dynamic::Var& value,
                  const std::string& what, bool lastLayer);

// The built-in runtime plugin for a kubelet-style endpoint, by the socket's file name, else by the name of
// the directory holding it (docs/configuration.md, "Choosing the runtime"); empty when none matches.
// `endpoint` is unix:///path or a bare /path; any other scheme matches nothing.
std::string runtimeForEndpoint(const std::string& endpoint);

// Checks shared by the flags and the config files. Each throws ConfigError starting with `what`.
int64_t positiveSeconds(const std::string& text, const std::string& what);  // >= 1s, whole seconds
int64_t backoffMs(const std::string& text, const std::string& what);        // >= 100ms
void checkLogLevel(const std::string& level, const std::string& what);

// Small text helpers of core/config.
std::string trim(const std::string& s);
std::string lower(std::string s);
std::string quote(const std::string& s);
std::string join(const std::vector<std::string>& items, const std::string& sep);

}  // namespace podwarden::config
