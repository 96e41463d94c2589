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
#include <stdexcept>
#include <utility>

#include "config/KubeletFlags.h"
#include "util/Json.h"
#include "util/ScalarForms.h"
#include "util/Utf8.h"

namespace podwarden::config {

namespace {

constexpr const char* kPodwardenApiVersion = "podwarden.io/v1alpha1";
constexpr const char* kPodwardenKind = "PodwardenConfig";
constexpr const char* kKubeletApiVersion = "kubelet.config.k8s.io/v1beta1";
constexpr const char* kKubeletKind = "KubeletConfiguration";

constexpr const char* kDefaultRuntimeEndpoint = "unix:///var/run/docker.sock";

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
  std::string logLevel(const YAML::Node& node, const YAML::Mark& mark, const std::string& field) const {
    std::string level = nonEmpty(node, mark, field);
    try {
      checkLogLevel(level, field);
    } catch (const ConfigError& e) {
      fail(mark, "", e.what());
    }
    return level;
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
      config.logLevel = ctx.logLevel(e.value, e.mark, e.key);
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

// A KubeletConfiguration field's value, converted as its row in KubeletFlags.cpp says; nullopt: not set.
std::optional<Poco::Dynamic::Var> fieldValue(const FileContext& ctx, const Setting& s, const Entry& e) {
  switch (s.convert) {
    case Convert::kText:
    case Convert::kPath: {
      std::string text = trim(ctx.string(e.value, e.mark, e.key));
      if (text.empty()) return std::nullopt;
      return s.convert == Convert::kPath ? resolveAgainst(ctx.origin, text) : text;
    }
    case Convert::kRequiredPath:
      return resolveAgainst(ctx.origin, ctx.nonEmpty(e.value, e.mark, e.key));
    case Convert::kNodeName: {
      std::string name = lower(trim(ctx.string(e.value, e.mark, e.key)));
      if (name.empty()) return std::nullopt;
      return name;
    }
    case Convert::kSeconds:
      return Poco::Int64(ctx.seconds(e.value, e.mark, e.key));
    case Convert::kBackoffMs:
      return Poco::Int64(ctx.backoff(e.value, e.mark, e.key));
    case Convert::kHeaders:
      return parseUrlHeaders(ctx, e);
    case Convert::kBool:
      return ctx.boolean(e.value, e.mark, e.key);
    case Convert::kLogLevel:
      return ctx.logLevel(e.value, e.mark, e.key);
    case Convert::kDirList: {
      json::ArrayPtr dirs = new json::Array();
      for (const auto& d : ctx.strings(e.value, e.mark, e.key)) dirs->add(resolveAgainst(ctx.origin, d));
      return dirs;
    }
  }
  throw std::logic_error("core/config: a field conversion is not handled");
}

// Fields go through the same table as the flags. All are converted first (errors in file order), then
// applied in the table's order, as the flags are. Fields without a row are named in one warning.
void applyKubeletConfig(const FileContext& ctx, const std::vector<Entry>& top, Config& config) {
  struct Given {
    const Setting* setting;
    Poco::Dynamic::Var value;
    std::string what;  // "origin:line:column: field"
  };
  std::vector<Given> given;
  std::vector<std::string> ignored;
  for (const auto& e : top) {
    if (e.key == "apiVersion" || e.key == "kind") continue;
    const Setting* s = findField(e.key);
    if (s == nullptr) {
      ignored.push_back(e.key);
    } else if (std::optional<Poco::Dynamic::Var> v = fieldValue(ctx, *s, e)) {
      given.push_back({s, *v, position(ctx.origin, e.mark) + ": " + e.key});
    }
  }
  std::stable_sort(given.begin(), given.end(),
                   [](const Given& a, const Given& b) { return a.setting < b.setting; });
  for (const auto& g : given) applySetting(config, *g.setting, g.value, g.what, false);
  if (!ignored.empty()) {
    config.warnings.push_back(ctx.origin + ": " + kKubeletKind +
                              " fields podwarden does not use (ignored): " + join(ignored, ", "));
  }
}

// ---- Flags ------------------------------------------------------------------------------------------

// Flag values by name, in command-line order.
using FlagValues = std::map<std::string, std::vector<std::string>>;

// One "--name=value" or "--name value" at args[i]; advances i past what it used.
std::pair<const Setting*, std::string> nextFlag(const std::vector<std::string>& args, size_t& i) {
  const std::string& arg = args[i++];
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
  const Setting* spec = findFlag(name);
  if (spec == nullptr) throw ConfigError("unknown flag --" + name + "; see podwarden run --help");
  if (!value) {
    if (i >= args.size()) throw ConfigError("flag --" + name + " needs a value (" + spec->arg + ")");
    value = args[i++];
  }
  // An empty --hostname-override means the host name, as with the kubelet; elsewhere it is a mistake.
  if (trim(*value).empty() && spec->convert != Convert::kNodeName) {
    throw ConfigError("flag --" + name + ": the value must not be empty");
  }
  return {spec, *value};
}

FlagValues parseFlags(const std::vector<std::string>& args) {
  FlagValues values;
  for (size_t i = 0; i < args.size();) {
    auto [spec, value] = nextFlag(args, i);
    auto& list = values[spec->flag];
    if (!spec->repeatable) list.clear();  // the last one wins, as with the kubelet's flags
    list.push_back(value);
  }
  return values;
}

// Every flag but --config, in the table's order (not the command line's), onto `config`.
void applyFlags(const FlagValues& flags, Config& config) {
  for (const Setting& s : settings()) {
    if (s.flag == nullptr || s.apply == Apply::kConfigFile) continue;
    auto it = flags.find(s.flag);
    if (it == flags.end() || it->second.empty()) continue;
    const std::string what = std::string("flag --") + s.flag;
    if (std::optional<Poco::Dynamic::Var> v = flagValue(s, it->second, what)) {
      applySetting(config, s, *v, what, true);
    }
  }
}

std::string readFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(what + " " + path + ": cannot read: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw ConfigError(what + " " + path + ": cannot read: " + std::strerror(errno));
  return buf.str();
}

// The top-level mapping of a config file: UTF-8 (as go-yaml; yaml-cpp would pass bytes through into the
// plugins' JSON), valid YAML, not empty.
YAML::Node parseRoot(std::string_view yamlText, const std::string& origin) {
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
  return root;
}

const Entry* findEntry(const std::vector<Entry>& top, const std::string& key) {
  for (const auto& e : top) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

// The file's kind, after checking it and its apiVersion.
std::string checkKind(const FileContext& ctx, const std::vector<Entry>& top) {
  const Entry* kind = findEntry(top, "kind");
  const std::string expectedKinds = std::string(" (expected ") + kPodwardenKind + " or " + kKubeletKind + ")";
  if (kind == nullptr) throw ConfigError(ctx.origin + ": kind: missing" + expectedKinds);
  std::string kindName = ctx.string(kind->value, kind->mark, "kind");
  std::string expectedApi;
  if (kindName == kPodwardenKind) {
    expectedApi = kPodwardenApiVersion;
  } else if (kindName == kKubeletKind) {
    expectedApi = kKubeletApiVersion;
  } else {
    ctx.fail(kind->mark, "kind", "unsupported kind " + quote(kindName) + expectedKinds);
  }
  const Entry* apiVersion = findEntry(top, "apiVersion");
  if (apiVersion == nullptr)
    throw ConfigError(ctx.origin + ": apiVersion: missing (expected " + expectedApi + ")");
  std::string api = ctx.string(apiVersion->value, apiVersion->mark, "apiVersion");
  if (api != expectedApi) {
    ctx.fail(
        apiVersion->mark, "apiVersion",
        "unsupported apiVersion " + quote(api) + " for kind " + kindName + " (expected " + expectedApi + ")");
  }
  return kindName;
}

void checkBackoffOrder(const Config& config) {
  if (config.restartBackoffMaxMs < config.restartBackoffInitialMs) {
    throw ConfigError("restartBackoffMax (" + std::to_string(config.restartBackoffMaxMs) +
                      "ms) is shorter than restartBackoffInitial (" +
                      std::to_string(config.restartBackoffInitialMs) + "ms)");
  }
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
  YAML::Node root = parseRoot(yamlText, origin);
  std::vector<Entry> top = entries(ctx, root, root.Mark(), "");
  if (checkKind(ctx, top) == kPodwardenKind) {
    applyPodwardenConfig(ctx, top, base);
  } else {
    applyKubeletConfig(ctx, top, base);
  }
  return base;
}

Config load(const std::vector<std::string>& args) {
  FlagValues flags = parseFlags(args);
  Config config = defaults();
  if (auto it = flags.find("config"); it != flags.end()) {
    const std::string& file = it->second.back();
    config = applyFile(readFile(file, "--config"), file, std::move(config));
  }
  applyFlags(flags, config);
  checkBackoffOrder(config);
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
  for (const Setting& s : settings()) {
    if (s.flag != nullptr) out << "  --" << s.flag << " " << s.arg << "\n        " << s.help << "\n";
  }
  out << "Flags take --name=value or --name value. Flags override the config file.\n";
  return out.str();
}

}  // namespace podwarden::config
