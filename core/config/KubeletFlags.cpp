#include "config/KubeletFlags.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "util/Json.h"

namespace podwarden::config {

namespace {

using R = Role;
using C = Convert;
using A = Apply;

// Every flag and KubeletConfiguration field podwarden understands. Rows apply top to bottom: a row that
// needs a plugin comes after the row that may add it (--pod-manifest-path before --file-check-frequency,
// --manifest-url before its headers, --kubeconfig before --register-node), the endpoint before the sandbox
// image (a runtime switch drops the old plugin's keys). A KubeletConfiguration field without a row is
// reported as unused. docs/configuration.md ("Flags and kubelet fields") mirrors this table.
// clang-format off
const Setting kSettings[] = {
    // {flag, KubeletConfiguration field, role, key, conversion, how it applies,
    //  Config string member, Config number member, message when no plugin takes it,
    //  --help: argument, repeatable, text},
    {"config", nullptr, R::kDaemon, "", C::kPath, A::kConfigFile,
     nullptr, nullptr, nullptr,
     "FILE", false,
     "config file: a PodwardenConfig (podwarden.io/v1alpha1) or a kubelet KubeletConfiguration"},
    {"pod-manifest-path", "staticPodPath", R::kSourceDir, "path", C::kPath, A::kFirstOrAdd,
     nullptr, nullptr, nullptr,
     "PATH", false, "directory (or single file) of static pod manifests (kubelet flag)"},
    {"file-check-frequency", "fileCheckFrequency", R::kSourceDir, "rescanSeconds", C::kSeconds,
     A::kEveryRemembered,
     nullptr, &Config::fileCheckSeconds, "no source-dir source is configured",
     "DURATION", false, "full rescan period of the manifest directory, e.g. 20s"},
    {"manifest-url", "staticPodURL", R::kSourceUrl, "url", C::kText, A::kFirstOrAdd,
     nullptr, nullptr, nullptr,
     "URL", false, "URL serving a Pod or a PodList (kubelet flag)"},
    {"manifest-url-header", "staticPodURLHeader", R::kSourceUrl, "headers", C::kHeaders, A::kEveryRequired,
     nullptr, nullptr,
     "no URL source to apply it to (give --manifest-url, or staticPodURL in the config file)",
     "'NAME:VALUE,...'", true,
     "HTTP headers for --manifest-url; repeatable, a name given twice keeps both values"},
    {"http-check-frequency", "httpCheckFrequency", R::kSourceUrl, "checkSeconds", C::kSeconds,
     A::kEveryRemembered,
     nullptr, &Config::httpCheckSeconds, "no source-url source is configured",
     "DURATION", false, "poll period of --manifest-url, e.g. 20s"},
    {"hostname-override", nullptr, R::kDaemon, "nodeName", C::kNodeName, A::kDaemon,
     &Config::nodeName, nullptr, nullptr,
     "NAME", false, "node name (lowercased); default: the host name"},
    {"container-runtime-endpoint", "containerRuntimeEndpoint", R::kRuntime, "endpoint", C::kText,
     A::kSelectRuntime,
     nullptr, nullptr, nullptr,
     "URL", false,
     "runtime socket: docker.sock selects runtime-docker, containerd.sock runtime-containerd (see docs)"},
    {"pod-infra-container-image", nullptr, R::kRuntime, "sandboxImage", C::kText, A::kRuntime,
     nullptr, nullptr, nullptr,
     "IMAGE", false, "image of the pod sandbox (pause) container"},
    {"status-file", nullptr, R::kSinkFile, "path", C::kPath, A::kFirstOrAdd,
     nullptr, nullptr, nullptr,
     "PATH", false, "write every static pod's status as JSON to PATH (sink-file plugin)"},
    {"kubeconfig", nullptr, R::kSinkApiserver, "kubeconfig", C::kPath, A::kFirstOrAdd,
     nullptr, nullptr, nullptr,
     "FILE", false,
     "publish mirror pods to the API server of this kubeconfig (sink-apiserver plugin; kubelet flag)"},
    {"register-node", nullptr, R::kSinkApiserver, "registerNode", C::kBool, A::kEveryRequired,
     nullptr, nullptr,
     "no API server to register with (give --kubeconfig, or a sink-apiserver sink in the config file)",
     "BOOL", false,
     "true: create the Node object when it is missing (tainted NoSchedule); default false: wait for it"},
    {"plugin-dir", nullptr, R::kDaemon, "pluginDirs", C::kDirList, A::kDaemon,
     nullptr, nullptr, nullptr,
     "DIR", true, "search DIR for plugins before the default directories; repeatable"},
    {"pods-dir", nullptr, R::kDaemon, "podsDir", C::kRequiredPath, A::kDaemon,
     &Config::podsDir, nullptr, nullptr,
     "DIR", false, "per-pod host state (emptyDir volumes); default /var/lib/podwarden/pods"},
    {"log-dir", "podLogsDir", R::kDaemon, "logDir", C::kRequiredPath, A::kDaemon,
     &Config::logDir, nullptr, nullptr,
     "DIR", false, "container log root; default /var/log/pods"},
    {"log-level", nullptr, R::kDaemon, "logLevel", C::kLogLevel, A::kDaemon,
     &Config::logLevel, nullptr, nullptr,
     "LEVEL", false, "error, warning, info (default) or debug"},
    {"relist-period", nullptr, R::kDaemon, "relistSeconds", C::kSeconds, A::kDaemon,
     nullptr, &Config::relistSeconds, nullptr,
     "DURATION", false, "runtime relist period; default 10s with a runtime event stream, 1s without"},
    {"restart-backoff-initial", nullptr, R::kDaemon, "restartBackoffInitialMs", C::kBackoffMs, A::kDaemon,
     nullptr, &Config::restartBackoffInitialMs, nullptr,
     "DURATION", false,
     "first CrashLoopBackOff / image pull delay (doubles each time); default 10s like the kubelet"},
    {"restart-backoff-max", nullptr, R::kDaemon, "restartBackoffMaxMs", C::kBackoffMs, A::kDaemon,
     nullptr, &Config::restartBackoffMaxMs, nullptr,
     "DURATION", false, "cap of the restart and pull backoff; default 300s"},
};
// clang-format on

// The plugin that fills a source or sink role, matched by library base name and factory type (an entry
// without a type is the library's only factory of its kind).
struct RolePlugin {
  Role role;
  const char* plugin;
  const char* type;
  const char* addedType;  // the type an entry added by a flag or field gets ("": none, as before)
  std::vector<PluginUse> Config::*list;
};

const RolePlugin kRolePlugins[] = {
    {Role::kSourceDir, "source-dir", "dir", "dir", &Config::sources},
    {Role::kSourceUrl, "source-url", "url", "url", &Config::sources},
    {Role::kSinkFile, "sink-file", "file", "", &Config::sinks},
    {Role::kSinkApiserver, "sink-apiserver", "apiserver", "", &Config::sinks},
};

// Runtime selection from an endpoint. By the socket's file name first; cri-dockerd speaks CRI (not the
// Docker Engine API), so the CRI client serves it. Then by the directory holding the socket
// (/run/containerd/<any>.sock). Both built-in runtime plugins take only unix sockets.
struct EndpointRule {
  const char* name;
  const char* plugin;
};

const EndpointRule kSocketFiles[] = {
    {"docker.sock", kRuntimeDocker},
    {"containerd.sock", kRuntimeContainerd},
    {"cri-dockerd.sock", kRuntimeContainerd},
};
const EndpointRule kSocketDirs[] = {
    {"docker", kRuntimeDocker},
    {"containerd", kRuntimeContainerd},
};

const RolePlugin& rolePlugin(Role role) {
  for (const auto& r : kRolePlugins) {
    if (r.role == role) return r;
  }
  throw std::logic_error("core/config: no plugin for a source or sink role");
}

// "runtime-docker" for "runtime-docker", "runtime-docker.so" and "/opt/x/runtime-docker.so".
std::string pluginBaseName(const std::string& plugin) {
  size_t slash = plugin.find_last_of('/');
  std::string base = plugin.substr(slash == std::string::npos ? 0 : slash + 1);
  const std::string so = ".so";
  if (base.size() > so.size() && base.compare(base.size() - so.size(), so.size(), so) == 0) {
    base.resize(base.size() - so.size());
  }
  return base;
}

bool fills(const PluginUse& use, const RolePlugin& role) {
  return pluginBaseName(use.plugin) == role.plugin && (use.type.empty() || use.type == role.type);
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

// The first plugin filling `role`; none configured -> one is added, with the periods kept from earlier rows
// and layers (a kubelet config's fileCheckFrequency reaches the source --pod-manifest-path adds).
PluginUse& firstOrAdd(Config& config, Role role) {
  const RolePlugin& r = rolePlugin(role);
  std::vector<PluginUse>& list = config.*r.list;
  auto it = std::find_if(list.begin(), list.end(), [&](const PluginUse& use) { return fills(use, r); });
  if (it != list.end()) return *it;
  PluginUse use;
  use.plugin = r.plugin;
  use.type = r.addedType;
  json::ObjectPtr object = new json::Object();
  for (const Setting& s : settings()) {
    if (s.role == role && s.apply == Apply::kEveryRemembered && config.*s.number > 0) {
      object->set(s.key, Poco::Int64(config.*s.number));
    }
  }
  use.configJson = json::stringify(object);
  list.push_back(use);
  return list.back();
}

void setOnEvery(Config& config, const Setting& s, const Poco::Dynamic::Var& value, const std::string& what,
                bool lastLayer) {
  const RolePlugin& r = rolePlugin(s.role);
  bool any = false;
  for (auto& use : config.*r.list) {
    if (!fills(use, r)) continue;
    setConfigKey(use, s.key, value, what);
    any = true;
  }
  if (any || !lastLayer) return;
  if (s.apply == Apply::kEveryRequired) throw ConfigError(what + ": " + s.absent);
  config.warnings.push_back(what + ": " + s.absent);
}

void storeDaemon(Config& config, const Setting& s, const Poco::Dynamic::Var& value) {
  if (s.convert == Convert::kDirList) {
    std::vector<std::string> dirs;
    for (const auto& dir : *value.extract<json::ArrayPtr>()) dirs.push_back(dir.toString());
    config.pluginDirs.insert(config.pluginDirs.begin(), dirs.begin(), dirs.end());
  } else if (s.text != nullptr) {
    config.*s.text = value.toString();
  } else {
    config.*s.number = value.convert<Poco::Int64>();
  }
}

std::string knownEndpoints() {
  std::string files, dirs;
  for (const auto& r : kSocketFiles)
    files += (files.empty() ? "" : ", ") + std::string(r.name) + " -> " + r.plugin;
  for (const auto& r : kSocketDirs)
    dirs += (dirs.empty() ? "" : ", ") + std::string(r.name) + " -> " + r.plugin;
  return "a unix socket (unix:///path or /path) named " + files + ", else by its directory: " + dirs;
}

bool isBuiltinRuntime(const std::string& plugin) {
  const std::string base = pluginBaseName(plugin);
  return std::any_of(std::begin(kSocketFiles), std::end(kSocketFiles),
                     [&](const EndpointRule& r) { return base == r.plugin; });
}

// The runtime becomes `plugin` at `endpoint`; the keys the old plugin had are dropped, with a warning.
void switchRuntime(Config& config, const std::string& plugin, const std::string& endpoint,
                   const std::string& what) {
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

// A kubelet-style endpoint (--container-runtime-endpoint, containerRuntimeEndpoint). A runtime plugin
// outside the endpoint table, named in the config file, keeps the role and gets the endpoint; a built-in
// one follows the endpoint (flags override the file).
void selectRuntime(Config& config, const std::string& given, const std::string& what) {
  std::string endpoint = trim(given);
  // The kubelet takes a bare path as a unix socket (with a deprecation warning); so do we.
  if (!endpoint.empty() && endpoint[0] == '/') endpoint = "unix://" + endpoint;
  if (!isBuiltinRuntime(config.runtime.plugin)) {
    setConfigKey(config.runtime, "endpoint", endpoint, what);
    return;
  }
  const std::string plugin = runtimeForEndpoint(endpoint);
  if (plugin.empty()) {
    throw ConfigError(what + ": no runtime plugin known for endpoint " + quote(given) +
                      "; known: " + knownEndpoints() +
                      "; other runtimes: name the plugin in the config file's runtime block");
  }
  if (pluginBaseName(config.runtime.plugin) == plugin) {
    setConfigKey(config.runtime, "endpoint", endpoint, what);
  } else {
    switchRuntime(config, plugin, endpoint, what);
  }
}

// --manifest-url-header 'NAME:VALUE,...' into `headers` ({name: [values]}); a name given twice keeps both.
void addHeaderFlag(const std::string& text, const std::string& what, json::ObjectPtr headers) {
  std::istringstream in(text);
  std::string pair;
  while (std::getline(in, pair, ',')) {
    if (trim(pair).empty()) continue;
    size_t colon = pair.find(':');
    if (colon == std::string::npos) {
      throw ConfigError(what + ": malformed header " + quote(pair) + ": expected NAME:VALUE");
    }
    std::string name = trim(pair.substr(0, colon));
    if (name.empty()) throw ConfigError(what + ": malformed header " + quote(pair) + ": the name is empty");
    json::ArrayPtr values = json::getArray(headers, name);
    if (values.isNull()) {
      values = new json::Array();
      headers->set(name, values);
    }
    values->add(trim(pair.substr(colon + 1)));
  }
}

bool boolFlag(const std::string& text, const std::string& what) {
  const std::string value = lower(trim(text));
  if (value != "true" && value != "false")
    throw ConfigError(what + ": " + quote(text) + " is not true or false");
  return value == "true";
}

}  // namespace

SettingTable settings() {
  return {std::begin(kSettings), std::end(kSettings)};
}

const Setting* findFlag(const std::string& name) {
  for (const auto& s : kSettings) {
    if (s.flag != nullptr && name == s.flag) return &s;
  }
  return nullptr;
}

const Setting* findField(const std::string& name) {
  for (const auto& s : kSettings) {
    if (s.field != nullptr && name == s.field) return &s;
  }
  return nullptr;
}

std::optional<Poco::Dynamic::Var> flagValue(const Setting& setting, const std::vector<std::string>& values,
                                            const std::string& what) {
  const std::string& last = values.back();
  switch (setting.convert) {
    case Convert::kText:
    case Convert::kPath:
    case Convert::kRequiredPath:
      return trim(last);  // parseFlags refuses an empty value
    case Convert::kNodeName: {
      std::string name = lower(trim(last));
      if (name.empty()) return std::nullopt;
      return name;
    }
    case Convert::kSeconds:
      return Poco::Int64(positiveSeconds(last, what));
    case Convert::kBackoffMs:
      return Poco::Int64(backoffMs(last, what));
    case Convert::kHeaders: {
      json::ObjectPtr headers = new json::Object();
      for (const auto& v : values) addHeaderFlag(v, what, headers);
      return headers;
    }
    case Convert::kBool:
      return boolFlag(last, what);
    case Convert::kLogLevel:
      checkLogLevel(last, what);
      return last;
    case Convert::kDirList: {
      json::ArrayPtr dirs = new json::Array();
      for (const auto& v : values) dirs->add(v);
      return dirs;
    }
  }
  throw std::logic_error("core/config: a flag conversion is not handled");
}

void applySetting(Config& config, const Setting& setting, const Poco::Dynamic::Var& value,
                  const std::string& what, bool lastLayer) {
  switch (setting.apply) {
    case Apply::kConfigFile:
      return;
    case Apply::kFirstOrAdd:
      setConfigKey(firstOrAdd(config, setting.role), setting.key, value, what);
      return;
    case Apply::kEveryRemembered:
      config.*setting.number = value.convert<Poco::Int64>();
      setOnEvery(config, setting, value, what, lastLayer);
      return;
    case Apply::kEveryRequired:
      setOnEvery(config, setting, value, what, lastLayer);
      return;
    case Apply::kSelectRuntime:
      selectRuntime(config, value.toString(), what);
      return;
    case Apply::kRuntime:
      setConfigKey(config.runtime, setting.key, value, what);
      return;
    case Apply::kDaemon:
      storeDaemon(config, setting, value);
      return;
  }
}

std::string runtimeForEndpoint(const std::string& endpoint) {
  const std::string scheme = "unix://";
  const std::string path =
      endpoint.compare(0, scheme.size(), scheme) == 0 ? endpoint.substr(scheme.size()) : endpoint;
  if (path.empty() || path[0] != '/' || path.back() == '/') return "";
  const size_t slash = path.find_last_of('/');
  const std::string file = path.substr(slash + 1);
  const std::string parent = path.substr(0, slash);
  const std::string dir = parent.substr(parent.find_last_of('/') + 1);  // "" for /x.sock
  for (const auto& r : kSocketFiles) {
    if (file == r.name) return r.plugin;
  }
  for (const auto& r : kSocketDirs) {
    if (dir == r.name) return r.plugin;
  }
  return "";
}

int64_t backoffMs(const std::string& text, const std::string& what) {
  // At least 100ms: tests and impatient operators shorten the kubelet's 10s/300s.
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

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
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

}  // namespace podwarden::config
