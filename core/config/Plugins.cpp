#include "config/Plugins.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <regex>
#include <cstdlib>
#include <set>

#include "util/Json.h"

namespace podwarden::config {

using plugin::PluginError;
using plugin::PluginLibrary;

namespace {

// std::regex (the only ECMAScript engine at hand) recurses once per input character; above this length a
// plugin's `pattern` could overflow the stack, so such values are refused before the regex runs.
constexpr size_t kMaxPatternInput = 4096;

bool isRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string joinDirs(const std::vector<std::string>& dirs) {
  std::string out;
  for (const auto& d : dirs) out += (out.empty() ? "" : ", ") + d;
  return out.empty() ? "(no directories)" : out;
}

// Loads each distinct .so once, remembering failures so that a library named by several roles is tried once.
class LibraryCache {
 public:
  explicit LibraryCache(const std::vector<std::string>& dirs) : dirs_(dirs) {}

  std::shared_ptr<PluginLibrary> get(const std::string& plugin) {
    std::string path = resolvePluginPath(plugin, dirs_);
    auto it = loaded_.find(path);
    if (it != loaded_.end()) {
      if (!it->second.error.empty()) throw PluginError(it->second.error);
      return it->second.library;
    }
    Slot& slot = loaded_[path];
    try {
      slot.library = PluginLibrary::load(path);
    } catch (const PluginError& e) {
      slot.error = e.what();
      throw;
    }
    return slot.library;
  }

 private:
  struct Slot {
    std::shared_ptr<PluginLibrary> library;
    std::string error;
  };
  const std::vector<std::string>& dirs_;
  std::map<std::string, Slot> loaded_;
};

// The factory type serving `kind` for `use`: the configured type, or the library's only factory of that kind.
std::string pickFactoryType(const PluginLibrary& library, int32_t kind, const PluginUse& use) {
  const auto& info = library.info();
  std::vector<std::string> ofKind;
  std::string offered;
  for (const auto& f : info.factories) {
    if (f.kind == kind) ofKind.push_back(f.type);
    offered += (offered.empty() ? "" : ", ") + std::string(plugin::kindName(f.kind)) + "/" + f.type;
  }
  if (!use.type.empty()) {
    if (library.findFactory(kind, use.type) == nullptr) {
      throw PluginError("plugin " + info.path + " (" + info.name + ") has no " + plugin::kindName(kind) +
                        " factory of type \"" + use.type +
                        "\" (it offers: " + (offered.empty() ? "nothing" : offered) + ")");
    }
    return use.type;
  }
  if (ofKind.empty()) {
    throw PluginError("plugin " + info.path + " (" + info.name + ") has no " + plugin::kindName(kind) +
                      " factory (it offers: " + (offered.empty() ? "nothing" : offered) + ")");
  }
  if (ofKind.size() > 1) {
    std::string types;
    for (const auto& t : ofKind) types += (types.empty() ? "" : ", ") + t;
    throw PluginError("plugin " + info.path + " (" + info.name + ") has several " + plugin::kindName(kind) +
                      " factories (" + types + "): set `type` to choose one");
  }
  return ofKind.front();
}

// ---- Config block vs the plugin's JSON Schema ---------------------------------------------------------
//
// The subset plugins use: type (one or a list), properties, additionalProperties (bool or schema), required,
// enum, minimum/maximum, minLength/maxLength, pattern, items, minItems/maxItems. Other keywords are ignored,
// so a schema that uses more is checked less, never wrongly refused.

bool isObject(const Poco::Dynamic::Var& v) {
  return v.type() == typeid(json::ObjectPtr);
}
bool isArray(const Poco::Dynamic::Var& v) {
  return v.type() == typeid(json::ArrayPtr);
}

bool isIntegral(const Poco::Dynamic::Var& v) {
  if (v.isBoolean() || v.isString()) return false;
  if (v.isInteger()) return true;
  if (v.isNumeric()) {
    double d = v.convert<double>();
    return d == static_cast<double>(static_cast<int64_t>(d));
  }
  return false;
}

bool hasType(const Poco::Dynamic::Var& v, const std::string& type) {
  if (type == "null") return v.isEmpty();
  if (v.isEmpty()) return false;
  if (type == "object") return isObject(v);
  if (type == "array") return isArray(v);
  if (type == "string") return v.isString();
  if (type == "boolean") return v.isBoolean();
  if (type == "integer") return isIntegral(v);
  if (type == "number") return !v.isBoolean() && !v.isString() && v.isNumeric();
  return true;  // a type name we do not know: do not refuse
}

std::string typeOf(const Poco::Dynamic::Var& v) {
  if (v.isEmpty()) return "null";
  if (isObject(v)) return "an object";
  if (isArray(v)) return "an array";
  if (v.isString()) return "a string";
  if (v.isBoolean()) return "a boolean";
  return "a number";
}

// Appends "field: message" for every violation of `schema` by `value` at `field`.
void checkSchema(const Poco::Dynamic::Var& value, const json::ObjectPtr& schema, const std::string& field,
                 std::vector<std::string>& problems) {
  if (schema.isNull()) return;
  auto fail = [&](const std::string& message) { problems.push_back(field + ": " + message); };
  if (schema->has("type")) {
    Poco::Dynamic::Var type = schema->get("type");
    std::vector<std::string> types;
    if (isArray(type)) {
      for (const auto& t : *type.extract<json::ArrayPtr>()) types.push_back(t.toString());
    } else {
      types.push_back(type.toString());
    }
    bool ok =
        std::any_of(types.begin(), types.end(), [&](const std::string& t) { return hasType(value, t); });
    if (!ok) {
      std::string expected;
      for (const auto& t : types) expected += (expected.empty() ? "" : " or ") + t;
      return fail("must be " + expected + ", not " + typeOf(value));
    }
  }
  if (json::ArrayPtr options = json::getArray(schema, "enum"); !options.isNull()) {
    std::string text = json::stringify(value);
    bool found = false;
    std::string listed;
    for (const auto& o : *options) {
      std::string option = json::stringify(o);
      found = found || option == text;
      listed += (listed.empty() ? "" : ", ") + option;
    }
    if (!found) fail("must be one of " + listed + ", not " + text);
  }
  if (!value.isString() && !value.isBoolean() && !value.isEmpty() && !isObject(value) && !isArray(value) &&
      value.isNumeric()) {
    double d = value.convert<double>();
    if (schema->has("minimum") && d < schema->getValue<double>("minimum")) {
      fail("must be >= " + schema->get("minimum").toString() + ", not " + value.toString());
    }
    if (schema->has("maximum") && d > schema->getValue<double>("maximum")) {
      fail("must be <= " + schema->get("maximum").toString() + ", not " + value.toString());
    }
  }
  if (value.isString()) {
    std::string s = value.toString();
    if (schema->has("minLength") && static_cast<int64_t>(s.size()) < json::getInt(schema, "minLength")) {
      fail(s.empty() ? "must not be empty"
                     : "must be at least " + schema->get("minLength").toString() + " characters");
    }
    if (schema->has("maxLength") && static_cast<int64_t>(s.size()) > json::getInt(schema, "maxLength")) {
      fail("must be at most " + schema->get("maxLength").toString() + " characters");
    }
    if (schema->has("pattern") && s.size() > kMaxPatternInput) {
      fail("is " + std::to_string(s.size()) +
           " characters long; a setting checked against a pattern may have at most " +
           std::to_string(kMaxPatternInput));
    } else if (schema->has("pattern")) {
      std::string pattern = json::getString(schema, "pattern");
      try {
        if (!std::regex_search(s, std::regex(pattern, std::regex::ECMAScript))) {
          fail("\"" + s + "\" does not match the pattern " + pattern);
        }
      } catch (const std::regex_error&) {
        // A pattern std::regex cannot compile is left to the plugin.
      }
    }
  }
  if (isArray(value)) {
    json::ArrayPtr items = value.extract<json::ArrayPtr>();
    if (schema->has("minItems") && static_cast<int64_t>(items->size()) < json::getInt(schema, "minItems")) {
      fail("must have at least " + schema->get("minItems").toString() + " items");
    }
    if (schema->has("maxItems") && static_cast<int64_t>(items->size()) > json::getInt(schema, "maxItems")) {
      fail("must have at most " + schema->get("maxItems").toString() + " items");
    }
    if (json::ObjectPtr itemSchema = json::getObject(schema, "items"); !itemSchema.isNull()) {
      for (size_t i = 0; i < items->size(); ++i) {
        checkSchema(items->get(static_cast<unsigned>(i)), itemSchema, field + "[" + std::to_string(i) + "]",
                    problems);
      }
    }
  }
  if (isObject(value)) {
    json::ObjectPtr object = value.extract<json::ObjectPtr>();
    json::ObjectPtr properties = json::getObject(schema, "properties");
    if (json::ArrayPtr required = json::getArray(schema, "required"); !required.isNull()) {
      for (const auto& name : *required) {
        if (!object->has(name.toString())) problems.push_back(field + "." + name.toString() + ": required");
      }
    }
    Poco::Dynamic::Var additional =
        schema->has("additionalProperties") ? schema->get("additionalProperties") : Poco::Dynamic::Var(true);
    for (const auto& [key, child] : *object) {
      std::string path = field + "." + key;
      if (!properties.isNull() && properties->has(key)) {
        checkSchema(child, json::getObject(properties, key), path, problems);
      } else if (additional.isBoolean() && !additional.convert<bool>()) {
        std::string known;
        if (!properties.isNull()) {
          for (const auto& p : *properties) known += (known.empty() ? "" : ", ") + p.first;
        }
        problems.push_back(path + ": unknown key (known: " + (known.empty() ? "none" : known) + ")");
      } else if (isObject(additional)) {
        checkSchema(child, additional.extract<json::ObjectPtr>(), path, problems);
      }
    }
  }
}

// Throws PluginError listing every way `configJson` breaks the library's published schema.
void validateConfig(const PluginLibrary& library, const std::string& configJson) {
  const auto& info = library.info();
  if (info.configSchemaJson.empty()) return;
  json::ObjectPtr schema;
  try {
    schema = json::parseObject(info.configSchemaJson);
  } catch (const std::exception& e) {
    throw PluginError("plugin " + info.path + " (" + info.name +
                      ") publishes a config schema that is not a JSON "
                      "object: " +
                      e.what());
  }
  Poco::Dynamic::Var value;
  try {
    value = json::parse(configJson.empty() ? "{}" : configJson);
  } catch (const std::exception& e) {
    throw PluginError("config block of " + info.name + ": " + e.what());
  }
  std::vector<std::string> problems;
  checkSchema(value, schema, "config", problems);
  if (problems.empty()) return;
  std::string message = "plugin " + info.path + " (" + info.name + "): invalid config block: ";
  for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
  throw PluginError(message);
}

// kubernetes.io/config.source for a source factory type: the kubelet's names for its two built-in sources.
std::string configSourceName(const std::string& type) {
  if (type == "dir") return "file";
  if (type == "url") return "http";
  return type;
}

}  // namespace

std::string resolvePluginPath(const std::string& pluginName, const std::vector<std::string>& dirs) {
  if (pluginName.find('/') != std::string::npos) {
    if (!isRegularFile(pluginName)) throw PluginError("plugin " + pluginName + ": no such file");
    return pluginName;
  }
  std::string file = endsWith(pluginName, ".so") ? pluginName : pluginName + ".so";
  for (const auto& dir : dirs) {
    std::string path = dir + "/" + file;
    if (isRegularFile(path)) return path;
  }
  throw PluginError("plugin " + pluginName + ": " + file + " not found in the plugin search path (" +
                    joinDirs(dirs) + "); add a directory with --plugin-dir or pluginDirs, or give a path");
}

LoadedPlugins instantiate(const Config& config) {
  LoadedPlugins out;
  LibraryCache cache(config.pluginDirs);

  // Runs `make` for one role; a required failure throws with the role named, an optional one is recorded.
  auto attempt = [&](const PluginUse& use, const std::string& role, const auto& make) {
    try {
      make();
    } catch (const PluginError& e) {
      std::string message = role + " (" + use.plugin + "): " + e.what();
      if (use.required) throw PluginError(message);
      out.skipped.push_back(message);
    }
  };

  for (size_t i = 0; i < config.sources.size(); ++i) {
    const PluginUse& use = config.sources[i];
    attempt(use, "sources[" + std::to_string(i) + "]", [&] {
      auto library = cache.get(use.plugin);
      std::string type = pickFactoryType(*library, PW_KIND_SOURCE, use);
      validateConfig(*library, use.configJson);
      LoadedSource loaded;
      loaded.instance =
          std::make_unique<plugin::SourceInstance>(library, type, use.configJson, config.nodeName);
      loaded.name = loaded.instance->displayName();
      loaded.source = configSourceName(type);
      out.sources.push_back(std::move(loaded));
    });
  }
  {
    PluginUse runtime = config.runtime;
    runtime.required = true;  // there is nothing to run pods with otherwise
    if (runtime.plugin.empty()) throw PluginError("runtime: no runtime plugin is configured");
    attempt(runtime, "runtime", [&] {
      auto library = cache.get(runtime.plugin);
      std::string type = pickFactoryType(*library, PW_KIND_RUNTIME, runtime);
      validateConfig(*library, runtime.configJson);
      out.runtime =
          std::make_unique<plugin::RuntimeInstance>(library, type, runtime.configJson, config.nodeName);
    });
  }
  for (size_t i = 0; i < config.sinks.size(); ++i) {
    const PluginUse& use = config.sinks[i];
    attempt(use, "sinks[" + std::to_string(i) + "]", [&] {
      auto library = cache.get(use.plugin);
      std::string type = pickFactoryType(*library, PW_KIND_SINK, use);
      validateConfig(*library, use.configJson);
      out.sinks.push_back(
          std::make_unique<plugin::SinkInstance>(library, type, use.configJson, config.nodeName));
    });
  }
  return out;
}

std::vector<Discovered> discover(const std::vector<std::string>& dirs) {
  std::vector<Discovered> out;
  std::set<std::string> seen;
  for (const auto& dir : dirs) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;  // a missing directory on the search path is not an error
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name[0] != '.' && endsWith(name, ".so")) names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string path = dir + "/" + name;
      // The same directory may be on the path twice under different spellings (relative, symlinked).
      char* real = ::realpath(path.c_str(), nullptr);
      std::string key = real ? std::string(real) : path;
      std::free(real);
      if (!isRegularFile(path) || !seen.insert(key).second) continue;
      Discovered found;
      found.path = path;
      try {
        found.library = PluginLibrary::load(path);
      } catch (const PluginError& e) {
        found.error = e.what();
      }
      out.push_back(std::move(found));
    }
  }
  return out;
}

}  // namespace podwarden::config
