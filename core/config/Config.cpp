#include "config/Config.h"

#include <limits.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "util/Json.h"
#include "util/ScalarForms.h"
#include "util/Utf8.h"

namespace podwarden::config {

namespace {

constexpr const char* kPodwardenApiVersion = "podwarden.io/v1alpha1";
constexpr const char* kPodwardenKind = "PodwardenConfig";
constexpr const char* kKubeletApiVersion = "kubelet.config.k8s.io/v1beta1";
constexpr const char* kKubeletKind = "KubeletConfiguration";

constexpr const char* kSourceDir = "source-dir";
constexpr const char* kSourceUrl = "source-url";
constexpr const char* kRuntimeDocker = "runtime-docker";
constexpr const char* kRuntimeContainerd = "runtime-containerd";
constexpr const char* kSinkFile = "sink-file";
constexpr const char* kSinkApiserver = "sink-apiserver";

constexpr const char* kDefaultRuntimeEndpoint = "unix:///var/run/docker.sock";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string quote(const std::string& s) {
  return "\"" + s + "\"";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string hostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return lower(buf);
}

std::string selfExe() {
  char buf[PATH_MAX + 1] = {};
  ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string parentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A relative path written in a config file is taken relative to the file's directory (the kubelet does the
// same for the paths in its config file).
std::string resolveAgainst(const std::string& origin, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return parentDir(origin) + "/" + path;
}

// "runtime-docker" for "runtime-docker", "runtime-docker.so" and "/opt/x/runtime-docker.so".
std::string pluginBaseName(const std::string& plugin) {
  std::string base =
      plugin.substr(plugin.find_last_of('/') == std::string::npos ? 0 : plugin.find_last_of('/') + 1);
  const std::string so = ".so";
  if (base.size() > so.size() && base.compare(base.size() - so.size(), so.size(), so) == 0) {
    base.resize(base.size() - so.size());
  }
  return base;
}

json::ObjectPtr configObject(const PluginUse& use, const std::string& what) {
  try {
    return json::parseObject(use.configJson.empty() ? "{}" : use.configJson);
  } catch (const std::exception& e) {
    throw ConfigError(what + ": plugin " + use.plugin + " config block: " + e.what());
  }
}

// Sets `key` in the plugin's config block, keeping every other key it already has.
void setConfigKey(PluginUse& use, const std::string& key, const Poco::Dynamic::Var& value,
                  const std::string& what) {
  json::ObjectPtr object = configObject(use, what);
  object->set(key, value);
  use.configJson = json::stringify(object);
}

bool isSourceDir(const PluginUse& use) {
  return pluginBaseName(use.plugin) == kSourceDir && (use.type.empty() || use.type == "dir");
}
bool isSourceUrl(const PluginUse& use) {
  return pluginBaseName(use.plugin) == kSourceUrl && (use.type.empty() || use.type == "url");
}
bool isSinkFile(const PluginUse& use) {
  return pluginBaseName(use.plugin) == kSinkFile && (use.type.empty() || use.type == "file");
}
bool isSinkApiserver(const PluginUse& use) {
  return pluginBaseName(use.plugin) == kSinkApiserver && (use.type.empty() || use.type == "apiserver");
}

// The first sink the predicate accepts; none configured -> one of `plugin` is added.
PluginUse& sinkFor(Config& config, bool (*matches)(const PluginUse&), const char* plugin) {
  auto it = std::find_if(config.sinks.begin(), config.sinks.end(), matches);
  if (it != config.sinks.end()) return *it;
  PluginUse use;
  use.plugin = plugin;
  config.sinks.push_back(use);
  return config.sinks.back();
}

// The source-dir source for a static pod path (kubelet staticPodPath / --pod-manifest-path): the first one
// configured gets the new path, keeping its other settings; none configured -> one is added.
void setStaticPodPath(Config& config, const std::string& path, const std::string& what) {
  for (auto& use : config.sources) {
    if (isSourceDir(use)) {
      setConfigKey(use, "path", path, what);
      return;
    }
  }
  PluginUse use;
  use.plugin = kSourceDir;
  use.type = "dir";
  json::ObjectPtr object = new json::Object();
  object->set("path", path);
  if (config.fileCheckSeconds > 0) object->set("rescanSeconds", Poco::Int64(config.fileCheckSeconds));
  use.configJson = json::stringify(object);
  config.sources.push_back(use);
}

PluginUse& urlSource(Config& config, const std::string& url) {
  for (auto& use : config.sources) {
    if (isSourceUrl(use)) return use;
  }
  PluginUse use;
  use.plugin = kSourceUrl;
  use.type = "url";
  json::ObjectPtr object = new json::Object();
  object->set("url", url);
  if (config.httpCheckSeconds > 0) object->set("checkSeconds", Poco::Int64(config.httpCheckSeconds));
  use.configJson = json::stringify(object);
  config.sources.push_back(use);
  return config.sources.back();
}

// Runtime selection from a kubelet-style endpoint (--container-runtime-endpoint, containerRuntimeEndpoint).
void selectRuntime(Config& config, const std::string& endpointIn, const std::string& what) {
  std::string endpoint = trim(endpointIn);
  // The kubelet takes a bare path as a unix socket (with a deprecation warning); so do we.
  if (!endpoint.empty() && endpoint[0] == '/') endpoint = "unix://" + endpoint;
  std::string plugin;
  if (endpoint.find("containerd") != std::string::npos) {
    plugin = kRuntimeContainerd;
  } else if (endpoint.find("docker") != std::string::npos) {
    plugin = kRuntimeDocker;
  } else {
    throw ConfigError(
        what + ": no runtime plugin known for endpoint " + quote(endpointIn) +
        "; known: an endpoint naming docker (e.g. unix:///var/run/docker.sock) -> " + kRuntimeDocker +
        ", an endpoint naming containerd (e.g. unix:///run/containerd/containerd.sock) -> " +
        kRuntimeContainerd + "; other runtimes: name the plugin in the config file's runtime block");
  }
  if (pluginBaseName(config.runtime.plugin) == plugin) {
    setConfigKey(config.runtime, "endpoint", endpoint, what);
    return;
  }
  json::ObjectPtr old = configObject(config.runtime, what);
  std::vector<std::string> dropped;
  for (const auto& kv : *old) {
    if (kv.first != "endpoint") dropped.push_back(kv.first);
  }
  if (!dropped.empty()) {
    config.warnings.push_back(what + ": runtime changes from " + config.runtime.plugin + " to " + plugin +
                              "; its config keys " + join(dropped, ", ") + " were dropped");
  }
  PluginUse use;
  use.plugin = plugin;
  json::ObjectPtr object = new json::Object();
  object->set("endpoint", endpoint);
  use.configJson = json::stringify(object);
  config.runtime = use;
}

// A restart backoff duration: at least 100ms (tests and impatient operators shorten the kubelet's 10s/300s).
int64_t backoffMs(const std::string& text, const std::string& what) {
  int64_t ms = parseDurationMs(text, what);
  if (ms < 100) throw ConfigError(what + ": " + quote(text) + " is too short: the minimum is 100ms");
  return ms;
}

int64_t positiveSeconds(const std::string& text, const std::string& what) {
  int64_t ms = parseDurationMs(text, what);
  if (ms < 1000) throw ConfigError(what + ": " + quote(text) + " is too short: the minimum is 1s");
  // Whole seconds, rounded up: the plugins and the relist loop count in seconds.
  return (ms + 999) / 1000;
}

void checkLogLevel(const std::string& level, const std::string& what) {
  if (level != "error" && level != "warning" && level != "info" && level != "debug") {
    throw ConfigError(what + ": unknown log level " + quote(level) + " (use error, warning, info or debug)");
  }
}

// ---- YAML -> JSON -----------------------------------------------------------------------------------

// "origin:line:column" (1-based) or just "origin" when yaml-cpp has no position.
std::string position(const std::string& origin, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return origin;
  return origin + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

[[noreturn]] void failAt(const std::string& origin, const YAML::Mark& mark, const std::string& field,
                         const std::string& message) {
  throw ConfigError(position(origin, mark) + ": " + (field.empty() ? "" : field + ": ") + message);
}

// A scalar typed by the YAML 1.2 core schema: quoted (or !!str) -> string; null, true/false, integers
// (decimal, 0o octal, 0x hex) and floats as JSON values; everything else a string.
Poco::Dynamic::Var scalarToJson(const YAML::Node& node, const std::string& origin, const std::string& field) {
  const std::string& s = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return s;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Poco::Dynamic::Var();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  auto integer = [&](const std::string& digits, int base) -> Poco::Dynamic::Var {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(digits.c_str(), &end, base);
    if (errno == ERANGE) failAt(origin, node.Mark(), field, "integer " + s + " does not fit in 64 bits");
    return Poco::Int64(v);
  };
  if (scalar::isDecimal(s)) return integer(s, 10);
  if (scalar::isOctal12(s)) return integer(s.substr(2), 8);
  if (scalar::isHex(s)) return integer(s.substr(2), 16);
  if (scalar::isFloat(s)) {
    // Beyond a double's range (1e400) the scalar stays the string written, as in manifests (go-yaml);
    // strtod's inf would not be JSON.
    std::optional<double> d = scalar::finiteFloat(s);
    if (!d) return s;
    return *d;
  }
  if (scalar::isSpecialFloat(s)) {
    failAt(origin, node.Mark(), field, s + " cannot be represented in JSON (quote it to pass a string)");
  }
  return s;
}

Poco::Dynamic::Var yamlToJson(const YAML::Node& node, const std::string& origin, const std::string& field,
                              const YAML::Mark& mark) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return Poco::Dynamic::Var();
    case YAML::NodeType::Scalar:
      return scalarToJson(node, origin, field);
    case YAML::NodeType::Sequence: {
      json::ArrayPtr array = new json::Array();
      for (size_t i = 0; i < node.size(); ++i) {
        array->add(yamlToJson(node[i], origin, field + "[" + std::to_string(i) + "]", node[i].Mark()));
      }
      return array;
    }
    case YAML::NodeType::Map: {
      json::ObjectPtr object = new json::Object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) failAt(origin, it->first.Mark(), field, "keys must be strings");
        const std::string& key = it->first.Scalar();
        std::string path = field + "." + key;
        if (object->has(key)) failAt(origin, it->first.Mark(), path, "duplicate key");
        object->set(key, yamlToJson(it->second, origin, path, it->first.Mark()));
      }
      return object;
    }
  }
  failAt(origin, mark, field, "unsupported YAML node");
}

// ---- Config files -----------------------------------------------------------------------------------

// Error context for one file: "origin:line:column: field: message".
struct FileContext {
  std::string origin;

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& field, const std::string& message) const {
    failAt(origin, mark, field, message);
  }
  std::string string(const YAML::Node& node, const YAML::Mark& mark, const std::string& field) const {
    if (!node.IsScalar()) fail(mark, field, "must be a string");
    return node.Scalar();
  }
  std::string nonEmpty(const YAML::Node& node, const YAML::Mark& mark, const std::string& field) const {
    std::string s = trim(string(node, mark, field));
    if (s.empty()) fail(mark, field, "must not be empty");
    return s;
  }
  bool boolean(const YAML::Node& node, const YAML::Mark& mark, const std::string& field) const {
    if (node.IsScalar() && node.Tag() != "!") {
      const std::string& s = node.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    fail(mark, field, "must be true or false");
  }
  std::vector<std::string> strings(const YAML::Node& node, const YAML::Mark& mark,
                                   const std::string& field) const {
    if (!node.IsSequence()) fail(mark, field, "must be a list of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < node.size(); ++i) {
      out.push_back(nonEmpty(node[i], node[i].Mark(), field + "[" + std::to_string(i) + "]"));
    }
    return out;
  }
  int64_t backoff(const YAML::Node& node, const YAML::Mark& mark, const std::string& field) const {
    std::string text = string(node, mark, field);
    try {
      return backoffMs(text, field);
    } catch (const ConfigError& e) {
      fail(mark, "", e.what());
    }
  }
  int64_t seconds(const YAML::Node& node, const YAML::Mark& mark, const std::string& field) const {
    std::string text = string(node, mark, field);
    try {
      return positiveSeconds(text, field);
    } catch (const ConfigError& e) {
      fail(mark, "", e.what());
    }
  }
};

// Key/value pairs of a mapping with the key's position, refusing duplicate keys (yaml-cpp keeps both).
struct Entry {
  std::string key;
  YAML::Mark mark;
  YAML::Node value;
};

std::vector<Entry> entries(const FileContext& ctx, const YAML::Node& map, const YAML::Mark& mark,
                           const std::string& field) {
  if (!map.IsMap()) ctx.fail(mark, field, "must be a mapping");
  std::vector<Entry> out;
  std::map<std::string, YAML::Mark> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) ctx.fail(it->first.Mark(), field, "keys must be strings");
    Entry e{it->first.Scalar(), it->first.Mark(), it->second};
    std::string path = field.empty() ? e.key : field + "." + e.key;
    auto [pos, fresh] = seen.emplace(e.key, e.mark);
    if (!fresh) {
      ctx.fail(e.mark, path, "duplicate key (first at line " + std::to_string(pos->second.line + 1) + ")");
    }
    out.push_back(std::move(e));
  }
  return out;
}

PluginUse parsePluginUse(const FileContext& ctx, const YAML::Node& node, const YAML::Mark& mark,
                         const std::string& field, bool isRuntime) {
  PluginUse use;
  bool havePlugin = false;
  for (const auto& e : entries(ctx, node, mark, field)) {
    std::string path = field + "." + e.key;
    if (e.key == "plugin") {
      use.plugin = ctx.nonEmpty(e.value, e.mark, path);
      if (use.plugin.find('/') != std::string::npos) use.plugin = resolveAgainst(ctx.origin, use.plugin);
      havePlugin = true;
    } else if (e.key == "type") {
      use.type = ctx.nonEmpty(e.value, e.mark, path);
    } else if (e.key == "required") {
      use.required = ctx.boolean(e.value, e.mark, path);
      if (isRuntime && !use.required) ctx.fail(e.mark, path, "the runtime is always required");
    } else if (e.key == "config") {
      if (e.value.IsNull()) continue;
      if (!e.value.IsMap()) ctx.fail(e.mark, path, "must be a mapping (the plugin's own settings)");
      use.configJson = json::stringify(yamlToJson(e.value, ctx.origin, path, e.mark));
    } else {
      ctx.fail(e.mark, path, "unknown key (known: plugin, type, required, config)");
    }
  }
  if (!havePlugin)
    ctx.fail(mark, field + ".plugin", "missing (a plugin name such as source-dir, or a path to a .so)");
  return use;
}

std::vector<PluginUse> parsePluginList(const FileContext& ctx, const YAML::Node& node, const YAML::Mark& mark,
                                       const std::string& field) {
  std::vector<PluginUse> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) ctx.fail(mark, field, "must be a list of plugin entries");
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(parsePluginUse(ctx, node[i], node[i].Mark(), field + "[" + std::to_string(i) + "]", false));
  }
  return out;
}

void applyPodwardenConfig(const FileContext& ctx, const std::vector<Entry>& top, Config& config) {
  static const char* const kKnown =
      "apiVersion, kind, nodeName, pluginDirs, podsDir, logDir, relistPeriod, restartBackoffInitial, "
      "restartBackoffMax, logLevel, sources, runtime, sinks";
  for (const auto& e : top) {
    if (e.key == "apiVersion" || e.key == "kind") continue;
    if (e.key == "nodeName") {
      config.nodeName = lower(ctx.nonEmpty(e.value, e.mark, e.key));
    } else if (e.key == "pluginDirs") {
      // Searched before the built-in directories, which stay as a fallback.
      std::vector<std::string> dirs = ctx.strings(e.value, e.mark, e.key);
      for (auto& d : dirs) d = resolveAgainst(ctx.origin, d);
      config.pluginDirs.insert(config.pluginDirs.begin(), dirs.begin(), dirs.end());
    } else if (e.key == "podsDir") {
      config.podsDir = resolveAgainst(ctx.origin, ctx.nonEmpty(e.value, e.mark, e.key));
    } else if (e.key == "logDir") {
      config.logDir = resolveAgainst(ctx.origin, ctx.nonEmpty(e.value, e.mark, e.key));
    } else if (e.key == "relistPeriod") {
      config.relistSeconds = ctx.seconds(e.value, e.mark, e.key);
    } else if (e.key == "restartBackoffInitial") {
      config.restartBackoffInitialMs = ctx.backoff(e.value, e.mark, e.key);
    } else if (e.key == "restartBackoffMax") {
      config.restartBackoffMaxMs = ctx.backoff(e.value, e.mark, e.key);
    } else if (e.key == "logLevel") {
      std::string level = ctx.nonEmpty(e.value, e.mark, e.key);
      try {
        checkLogLevel(level, e.key);
      } catch (const ConfigError& err) {
        ctx.fail(e.mark, "", err.what());
      }
      config.logLevel = level;
    } else if (e.key == "sources") {
      config.sources = parsePluginList(ctx, e.value, e.mark, e.key);
    } else if (e.key == "runtime") {
      config.runtime = parsePluginUse(ctx, e.value, e.mark, e.key, true);
    } else if (e.key == "sinks") {
      config.sinks = parsePluginList(ctx, e.value, e.mark, e.key);
    } else {
      ctx.fail(e.mark, e.key, std::string("unknown key in a ") + kPodwardenKind + " (known: " + kKnown + ")");
    }
  }
}

// staticPodURLHeader: map[string][]string in the kubelet's config.
json::ObjectPtr parseUrlHeaders(const FileContext& ctx, const Entry& e) {
  json::ObjectPtr headers = new json::Object();
  if (e.value.IsNull()) return headers;
  for (const auto& h : entries(ctx, e.value, e.mark, e.key)) {
    std::string path = e.key + "." + h.key;
    json::ArrayPtr values = new json::Array();
    if (h.value.IsScalar()) {
      values->add(h.value.Scalar());
    } else {
      for (const auto& v : ctx.strings(h.value, h.mark, path)) values->add(v);
    }
    headers->set(h.key, values);
  }
  return headers;
}

void applyKubeletConfig(const FileContext& ctx, const std::vector<Entry>& top, Config& config) {
  std::optional<std::string> staticPodPath, staticPodUrl, runtimeEndpoint;
  json::ObjectPtr urlHeaders;
  std::vector<std::string> ignored;
  YAML::Mark endpointMark;
  for (const auto& e : top) {
    if (e.key == "apiVersion" || e.key == "kind") continue;
    if (e.key == "staticPodPath") {
      std::string path = trim(ctx.string(e.value, e.mark, e.key));
      if (!path.empty()) staticPodPath = resolveAgainst(ctx.origin, path);
    } else if (e.key == "fileCheckFrequency") {
      config.fileCheckSeconds = ctx.seconds(e.value, e.mark, e.key);
    } else if (e.key == "staticPodURL") {
      std::string url = trim(ctx.string(e.value, e.mark, e.key));
      if (!url.empty()) staticPodUrl = url;
    } else if (e.key == "staticPodURLHeader") {
      urlHeaders = parseUrlHeaders(ctx, e);
    } else if (e.key == "httpCheckFrequency") {
      config.httpCheckSeconds = ctx.seconds(e.value, e.mark, e.key);
    } else if (e.key == "containerRuntimeEndpoint") {
      std::string endpoint = trim(ctx.string(e.value, e.mark, e.key));
      if (!endpoint.empty()) runtimeEndpoint = endpoint;
      endpointMark = e.mark;
    } else if (e.key == "podLogsDir") {
      config.logDir = resolveAgainst(ctx.origin, ctx.nonEmpty(e.value, e.mark, e.key));
    } else {
      ignored.push_back(e.key);
    }
  }
  if (staticPodPath) setStaticPodPath(config, *staticPodPath, ctx.origin + ": staticPodPath");
  for (auto& use : config.sources) {
    if (isSourceDir(use) && config.fileCheckSeconds > 0) {
      setConfigKey(use, "rescanSeconds", Poco::Int64(config.fileCheckSeconds),
                   ctx.origin + ": fileCheckFrequency");
    }
  }
  if (staticPodUrl) {
    PluginUse& use = urlSource(config, *staticPodUrl);
    std::string what = ctx.origin + ": staticPodURL";
    setConfigKey(use, "url", *staticPodUrl, what);
    if (urlHeaders) setConfigKey(use, "headers", urlHeaders, what);
    if (config.httpCheckSeconds > 0)
      setConfigKey(use, "checkSeconds", Poco::Int64(config.httpCheckSeconds), what);
  }
  if (runtimeEndpoint) {
    try {
      selectRuntime(config, *runtimeEndpoint, "containerRuntimeEndpoint");
    } catch (const ConfigError& err) {
      ctx.fail(endpointMark, "", err.what());
    }
  }
  if (!ignored.empty()) {
    config.warnings.push_back(ctx.origin + ": " + kKubeletKind +
                              " fields podwarden does not use (ignored): " + join(ignored, ", "));
  }
}

// ---- Flags ------------------------------------------------------------------------------------------

struct FlagSpec {
  const char* name;
  const char* arg;
  bool repeatable;
  const char* help;
};

const FlagSpec kFlags[] = {
    {"config", "FILE", false,
     "config file: a PodwardenConfig (podwarden.io/v1alpha1) or a kubelet KubeletConfiguration"},
    {"pod-manifest-path", "PATH", false, "directory (or single file) of static pod manifests (kubelet flag)"},
    {"file-check-frequency", "DURATION", false, "full rescan period of the manifest directory, e.g. 20s"},
    {"manifest-url", "URL", false, "URL serving a Pod or a PodList (kubelet flag)"},
    {"manifest-url-header", "'NAME:VALUE,...'", true,
     "HTTP headers for --manifest-url; repeatable, a name given twice keeps both values"},
    {"http-check-frequency", "DURATION", false, "poll period of --manifest-url, e.g. 20s"},
    {"hostname-override", "NAME", false, "node name (lowercased); default: the host name"},
    {"container-runtime-endpoint", "URL", false,
     "runtime socket: a docker endpoint selects runtime-docker, a containerd one runtime-containerd"},
    {"pod-infra-container-image", "IMAGE", false, "image of the pod sandbox (pause) container"},
    {"status-file", "PATH", false, "write every static pod's status as JSON to PATH (sink-file plugin)"},
    {"kubeconfig", "FILE", false,
     "publish mirror pods to the API server of this kubeconfig (sink-apiserver plugin; kubelet flag)"},
    {"register-node", "BOOL", false,
     "true: create the Node object when it is missing (tainted NoSchedule); default false: wait for it"},
    {"plugin-dir", "DIR", true, "search DIR for plugins before the default directories; repeatable"},
    {"pods-dir", "DIR", false, "per-pod host state (emptyDir volumes); default /var/lib/podwarden/pods"},
    {"log-dir", "DIR", false, "container log root; default /var/log/pods"},
    {"log-level", "LEVEL", false, "error, warning, info (default) or debug"},
    {"relist-period", "DURATION", false,
     "runtime relist period; default 10s with a runtime event stream, 1s without"},
    {"restart-backoff-initial", "DURATION", false,
     "first CrashLoopBackOff / image pull delay (doubles each time); default 10s like the kubelet"},
    {"restart-backoff-max", "DURATION", false, "cap of the restart and pull backoff; default 300s"},
};

const FlagSpec* findFlag(const std::string& name) {
  for (const auto& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

// Flag values by name, in command-line order.
using FlagValues = std::map<std::string, std::vector<std::string>>;

FlagValues parseFlags(const std::vector<std::string>& args) {
  FlagValues values;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      throw ConfigError("unexpected argument " + quote(arg) + "; see podwarden run --help");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = findFlag(name);
    if (spec == nullptr) throw ConfigError("unknown flag --" + name + "; see podwarden run --help");
    if (!value) {
      if (i + 1 >= args.size()) throw ConfigError("flag --" + name + " needs a value (" + spec->arg + ")");
      value = args[++i];
    }
    if (trim(*value).empty() && name != "hostname-override") {
      throw ConfigError("flag --" + name + ": the value must not be empty");
    }
    auto& list = values[name];
    if (!spec->repeatable) list.clear();  // the last one wins, as with the kubelet's flags
    list.push_back(*value);
  }
  return values;
}

const std::string* lastValue(const FlagValues& values, const std::string& name) {
  auto it = values.find(name);
  return it == values.end() || it->second.empty() ? nullptr : &it->second.back();
}

std::string readFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(what + " " + path + ": cannot read: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw ConfigError(what + " " + path + ": cannot read: " + std::strerror(errno));
  return buf.str();
}

json::ObjectPtr parseUrlHeaderFlag(const std::string& text, const std::string& what,
                                   json::ObjectPtr headers) {
  if (headers.isNull()) headers = new json::Object();
  std::istringstream in(text);
  std::string pair;
  while (std::getline(in, pair, ',')) {
    if (trim(pair).empty()) continue;
    size_t colon = pair.find(':');
    if (colon == std::string::npos) {
      throw ConfigError(what + ": malformed header " + quote(pair) + ": expected NAME:VALUE");
    }
    std::string name = trim(pair.substr(0, colon));
    std::string value = trim(pair.substr(colon + 1));
    if (name.empty()) throw ConfigError(what + ": malformed header " + quote(pair) + ": the name is empty");
    json::ArrayPtr values = json::getArray(headers, name);
    if (values.isNull()) {
      values = new json::Array();
      headers->set(name, values);
    }
    values->add(value);
  }
  return headers;
}

}  // namespace

Config defaults() {
  Config config;
  config.nodeName = hostName();
  if (const char* env = std::getenv("PODWARDEN_PLUGIN_PATH")) {
    std::istringstream in(env);
    std::string dir;
    while (std::getline(in, dir, ':')) {
      if (!dir.empty()) config.pluginDirs.push_back(dir);
    }
  }
  // A binary inside the build tree (the daemon, a test) finds the plugins built next to it.
  const std::string buildRoot = parentDir(PODWARDEN_BUILD_PLUGIN_DIR) + "/";
  if (selfExe().compare(0, buildRoot.size(), buildRoot) == 0)
    config.pluginDirs.push_back(PODWARDEN_BUILD_PLUGIN_DIR);
  config.pluginDirs.push_back(PODWARDEN_INSTALL_PLUGIN_DIR);
  config.runtime.plugin = kRuntimeDocker;
  json::ObjectPtr runtimeConfig = new json::Object();
  runtimeConfig->set("endpoint", kDefaultRuntimeEndpoint);
  config.runtime.configJson = json::stringify(runtimeConfig);
  return config;
}

Config applyFile(std::string_view yamlText, const std::string& origin, Config base) {
  FileContext ctx{origin};
  // As go-yaml: the file must be UTF-8; yaml-cpp would pass bytes through into the plugins' JSON.
  if (size_t bad = utf8::firstInvalid(yamlText); bad != std::string_view::npos) {
    const utf8::Position at = utf8::positionOf(yamlText, bad);
    throw ConfigError(origin + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                      ": the config file is not UTF-8 text (invalid byte sequence)");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yamlText));
  } catch (const YAML::Exception& e) {
    throw ConfigError(position(origin, e.mark) + ": invalid YAML: " + e.msg);
  }
  if (root.IsNull()) throw ConfigError(origin + ": the config file is empty");
  std::vector<Entry> top = entries(ctx, root, root.Mark(), "");
  const Entry* kind = nullptr;
  const Entry* apiVersion = nullptr;
  for (const auto& e : top) {
    if (e.key == "kind") kind = &e;
    if (e.key == "apiVersion") apiVersion = &e;
  }
  if (kind == nullptr) {
    throw ConfigError(origin + ": kind: missing (expected " + kPodwardenKind + " or " + kKubeletKind + ")");
  }
  std::string kindName = ctx.string(kind->value, kind->mark, "kind");
  std::string expectedApi;
  if (kindName == kPodwardenKind) {
    expectedApi = kPodwardenApiVersion;
  } else if (kindName == kKubeletKind) {
    expectedApi = kKubeletApiVersion;
  } else {
    ctx.fail(
        kind->mark, "kind",
        "unsupported kind " + quote(kindName) + " (expected " + kPodwardenKind + " or " + kKubeletKind + ")");
  }
  if (apiVersion == nullptr)
    throw ConfigError(origin + ": apiVersion: missing (expected " + expectedApi + ")");
  std::string api = ctx.string(apiVersion->value, apiVersion->mark, "apiVersion");
  if (api != expectedApi) {
    ctx.fail(
        apiVersion->mark, "apiVersion",
        "unsupported apiVersion " + quote(api) + " for kind " + kindName + " (expected " + expectedApi + ")");
  }
  if (kindName == kPodwardenKind) {
    applyPodwardenConfig(ctx, top, base);
  } else {
    applyKubeletConfig(ctx, top, base);
  }
  return base;
}

Config load(const std::vector<std::string>& args) {
  FlagValues flags = parseFlags(args);
  Config config = defaults();
  if (const std::string* file = lastValue(flags, "config")) {
    config = applyFile(readFile(*file, "--config"), *file, std::move(config));
  }

  if (const std::string* v = lastValue(flags, "hostname-override")) {
    std::string name = lower(trim(*v));
    if (!name.empty()) config.nodeName = name;
  }
  if (auto it = flags.find("plugin-dir"); it != flags.end()) {
    config.pluginDirs.insert(config.pluginDirs.begin(), it->second.begin(), it->second.end());
  }
  if (const std::string* v = lastValue(flags, "pods-dir")) config.podsDir = *v;
  if (const std::string* v = lastValue(flags, "log-dir")) config.logDir = *v;
  if (const std::string* v = lastValue(flags, "log-level")) {
    checkLogLevel(*v, "flag --log-level");
    config.logLevel = *v;
  }
  if (const std::string* v = lastValue(flags, "relist-period")) {
    config.relistSeconds = positiveSeconds(*v, "flag --relist-period");
  }
  if (const std::string* v = lastValue(flags, "restart-backoff-initial")) {
    config.restartBackoffInitialMs = backoffMs(*v, "flag --restart-backoff-initial");
  }
  if (const std::string* v = lastValue(flags, "restart-backoff-max")) {
    config.restartBackoffMaxMs = backoffMs(*v, "flag --restart-backoff-max");
  }
  if (config.restartBackoffMaxMs < config.restartBackoffInitialMs) {
    throw ConfigError("restartBackoffMax (" + std::to_string(config.restartBackoffMaxMs) +
                      "ms) is shorter than restartBackoffInitial (" + std::to_string(config.restartBackoffInitialMs) +
                      "ms)");
  }

  if (const std::string* v = lastValue(flags, "container-runtime-endpoint")) {
    selectRuntime(config, *v, "flag --container-runtime-endpoint");
  }
  if (const std::string* v = lastValue(flags, "pod-infra-container-image")) {
    setConfigKey(config.runtime, "sandboxImage", trim(*v), "flag --pod-infra-container-image");
  }

  if (const std::string* v = lastValue(flags, "file-check-frequency")) {
    config.fileCheckSeconds = positiveSeconds(*v, "flag --file-check-frequency");
  }
  if (const std::string* v = lastValue(flags, "pod-manifest-path")) {
    setStaticPodPath(config, trim(*v), "flag --pod-manifest-path");
  }
  if (lastValue(flags, "file-check-frequency") != nullptr) {
    bool any = false;
    for (auto& use : config.sources) {
      if (!isSourceDir(use)) continue;
      setConfigKey(use, "rescanSeconds", Poco::Int64(config.fileCheckSeconds), "flag --file-check-frequency");
      any = true;
    }
    if (!any) config.warnings.push_back("flag --file-check-frequency: no source-dir source is configured");
  }

  if (const std::string* v = lastValue(flags, "http-check-frequency")) {
    config.httpCheckSeconds = positiveSeconds(*v, "flag --http-check-frequency");
  }
  const std::string* url = lastValue(flags, "manifest-url");
  if (url != nullptr) setConfigKey(urlSource(config, trim(*url)), "url", trim(*url), "flag --manifest-url");
  bool haveUrlSource = std::any_of(config.sources.begin(), config.sources.end(), isSourceUrl);
  if (auto it = flags.find("manifest-url-header"); it != flags.end()) {
    if (!haveUrlSource) {
      throw ConfigError(
          "flag --manifest-url-header: no URL source to apply it to (give --manifest-url, or "
          "staticPodURL in the config file)");
    }
    json::ObjectPtr headers;
    for (const auto& v : it->second) headers = parseUrlHeaderFlag(v, "flag --manifest-url-header", headers);
    for (auto& use : config.sources) {
      if (isSourceUrl(use)) setConfigKey(use, "headers", headers, "flag --manifest-url-header");
    }
  }
  if (lastValue(flags, "http-check-frequency") != nullptr) {
    if (!haveUrlSource)
      config.warnings.push_back("flag --http-check-frequency: no source-url source is configured");
    for (auto& use : config.sources) {
      if (isSourceUrl(use)) {
        setConfigKey(use, "checkSeconds", Poco::Int64(config.httpCheckSeconds),
                     "flag --http-check-frequency");
      }
    }
  }

  if (const std::string* v = lastValue(flags, "status-file")) {
    setConfigKey(sinkFor(config, isSinkFile, kSinkFile), "path", trim(*v), "flag --status-file");
  }
  if (const std::string* v = lastValue(flags, "kubeconfig")) {
    setConfigKey(sinkFor(config, isSinkApiserver, kSinkApiserver), "kubeconfig", trim(*v), "flag --kubeconfig");
  }
  if (const std::string* v = lastValue(flags, "register-node")) {
    std::string value = lower(trim(*v));
    if (value != "true" && value != "false") {
      throw ConfigError("flag --register-node: " + quote(*v) + " is not true or false");
    }
    if (std::none_of(config.sinks.begin(), config.sinks.end(), isSinkApiserver)) {
      throw ConfigError("flag --register-node: no API server to register with (give --kubeconfig, or a "
                        "sink-apiserver sink in the config file)");
    }
    for (auto& use : config.sinks) {
      if (isSinkApiserver(use)) setConfigKey(use, "registerNode", value == "true", "flag --register-node");
    }
  }
  return config;
}

int64_t parseDurationMs(const std::string& text, const std::string& what) {
  // Go's time.ParseDuration: [-+]? then one or more <decimal number><unit>; "0" alone needs no unit.
  auto bad = [&](const std::string& why) -> ConfigError {
    return ConfigError(what + ": invalid duration " + quote(text) + ": " + why +
                       " (examples: 20s, 1m30s, 500ms, 1h)");
  };
  std::string s = trim(text);
  if (s.empty()) throw bad("empty");
  size_t i = 0;
  bool negative = false;
  if (s[i] == '+' || s[i] == '-') negative = s[i++] == '-';
  if (s.substr(i) == "0") return 0;
  if (i >= s.size()) throw bad("no number");
  static const std::pair<const char*, double> kUnits[] = {
      {"ns", 1e-6}, {"us", 1e-3}, {"\xC2\xB5s", 1e-3}, {"\xCE\xBCs", 1e-3},
      {"ms", 1.0},  {"s", 1e3},   {"m", 60e3},         {"h", 3600e3}};
  double totalMs = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    std::string number = s.substr(start, i - start);
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      throw bad("expected a number at position " + std::to_string(start + 1));
    }
    size_t unitStart = i;
    while (i < s.size() && !std::isdigit(static_cast<unsigned char>(s[i])) && s[i] != '.') ++i;
    std::string unit = s.substr(unitStart, i - unitStart);
    if (unit.empty()) throw bad("missing unit after " + number);
    double scale = 0;
    for (const auto& [name, ms] : kUnits) {
      if (unit == name) scale = ms;
    }
    if (scale == 0) throw bad("unknown unit " + quote(unit) + " (use ns, us, ms, s, m, h)");
    totalMs += std::strtod(number.c_str(), nullptr) * scale;
  }
  if (totalMs > 9.2e15) throw bad("too large");
  auto ms = static_cast<int64_t>(totalMs);
  return negative ? -ms : ms;
}

std::string flagsHelp() {
  std::ostringstream out;
  for (const auto& f : kFlags) out << "  --" << f.name << " " << f.arg << "\n        " << f.help << "\n";
  out << "Flags take --name=value or --name value. Flags override the config file.\n";
  return out.str();
}

}  // namespace podwarden::config
