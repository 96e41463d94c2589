#include "manifest/Validate.h"

#include <Poco/Types.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "util/Quantity.h"

namespace podwarden::manifest {

namespace {

using Var = Poco::Dynamic::Var;

// ---- value kinds
// ----------------------------------------------------------------------------------------------

bool isObject(const Var& v) {
  return v.type() == typeid(json::ObjectPtr);
}
bool isArray(const Var& v) {
  return v.type() == typeid(json::ArrayPtr);
}
bool isString(const Var& v) {
  return v.type() == typeid(std::string);
}
bool isInt(const Var& v) {
  return v.type() == typeid(Poco::Int64) || v.type() == typeid(int);
}
bool isDouble(const Var& v) {
  return v.type() == typeid(double);
}
bool isBool(const Var& v) {
  return v.type() == typeid(bool);
}

std::string kindOf(const Var& v) {
  if (v.isEmpty()) return "null";
  if (isObject(v)) return "an object";
  if (isArray(v)) return "a list";
  if (isString(v)) return "a string";
  if (isBool(v)) return "a boolean";
  if (isInt(v) || isDouble(v)) return "a number";
  return "an unknown value";
}

// A value as it appears in a message: quoted, and cut after 200 characters so that a 1 MiB value does not
// become a 1 MiB log line.
std::string quoted(const std::string& s) {
  constexpr size_t kShown = 200;
  if (s.size() <= kShown) return "\"" + s + "\"";
  return "\"" + s.substr(0, kShown) + "...\" (" + std::to_string(s.size()) + " characters)";
}

std::string doubleText(double d) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, res.ptr);
}

// The text of a scalar as the user meant it (numbers as written in shortest form).
std::string scalarText(const Var& v) {
  if (isString(v)) return v.extract<std::string>();
  if (isInt(v)) return std::to_string(v.convert<Poco::Int64>());
  if (isDouble(v)) return doubleText(v.extract<double>());
  if (isBool(v)) return v.extract<bool>() ? "true" : "false";
  return json::stringify(v);
}

std::string supported(std::initializer_list<const char*> values) {
  std::string out = "supported values: ";
  bool first = true;
  for (const char* v : values) {
    if (!first) out += ", ";
    out += quoted(v);
    first = false;
  }
  return out;
}

bool oneOf(const std::string& s, std::initializer_list<const char*> values) {
  for (const char* v : values) {
    if (s == v) return true;
  }
  return false;
}

// ---- Kubernetes name formats (apimachinery validation wording)
// ----------------------------------------------

const char* const kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and "
    "end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
const char* const kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com')";
const char* const kQualifiedNameMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
const char* const kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')";
const char* const kEnvNameMsg =
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and "
    "must not start with a digit (e.g. 'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1')";

// Character classes of the Kubernetes name formats. Plain loops, never std::regex: libstdc++'s executor
// recurses once per character, and a 30,000-character name overflowed the stack.
bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}
bool isLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isLabelChar(char c) {
  return isLowerAlnum(c) || c == '-';
}
bool isQualifiedChar(char c) {
  return isAlnum(c) || c == '-' || c == '_' || c == '.';
}

template <typename Pred>
bool allOf(std::string_view s, Pred pred) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

// Non-empty, every character in `inner`, first and last in `edge`.
template <typename Inner, typename Edge>
bool framed(std::string_view s, Inner inner, Edge edge) {
  return !s.empty() && edge(s.front()) && edge(s.back()) && allOf(s, inner);
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool isLabelShape(std::string_view s) {
  return framed(s, isLabelChar, isLowerAlnum);
}

// Labels joined by '.'.
bool isSubdomainShape(std::string_view s) {
  while (true) {
    size_t dot = s.find('.');
    if (!isLabelShape(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// Returns the reasons `s` is not a valid value, empty when it is valid.
std::vector<std::string> dns1123Label(const std::string& s) {
  std::vector<std::string> out;
  if (s.size() > 63) out.push_back("must be no more than 63 characters");
  if (!isLabelShape(s)) out.push_back(kLabelMsg);
  return out;
}

std::vector<std::string> dns1123Subdomain(const std::string& s) {
  std::vector<std::string> out;
  if (s.size() > 253) out.push_back("must be no more than 253 characters");
  if (!isSubdomainShape(s)) out.push_back(kSubdomainMsg);
  return out;
}

// Label and annotation keys: [prefix/]name.
std::vector<std::string> qualifiedName(const std::string& s) {
  std::vector<std::string> out;
  std::string name = s;
  size_t slash = s.find('/');
  if (slash != std::string::npos) {
    std::string prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    if (prefix.empty()) {
      out.push_back("prefix part must be non-empty");
    } else {
      for (const auto& m : dns1123Subdomain(prefix)) out.push_back("prefix part " + m);
    }
    if (name.find('/') != std::string::npos) {
      out.push_back(std::string("a qualified name ") + kQualifiedNameMsg +
                    " with an optional DNS subdomain prefix "
                    "and '/' (e.g. 'example.com/MyName')");
      return out;
    }
  }
  if (name.empty()) {
    out.push_back("name part must be non-empty");
  } else {
    if (name.size() > 63) out.push_back("name part must be no more than 63 characters");
    if (!framed(name, isQualifiedChar, isAlnum)) out.push_back(kQualifiedNameMsg);
  }
  return out;
}

std::vector<std::string> labelValue(const std::string& s) {
  std::vector<std::string> out;
  if (s.size() > 63) out.push_back("must be no more than 63 characters");
  if (!s.empty() && !framed(s, isQualifiedChar, isAlnum)) out.push_back(kLabelValueMsg);
  return out;
}

// IANA_SVC_NAME (port names, named probe ports).
std::vector<std::string> ianaServiceName(const std::string& s) {
  std::vector<std::string> out;
  if (s.size() > 15) out.push_back("must be no more than 15 characters");
  if (s.empty() || !allOf(s, isLabelChar)) {
    out.push_back("must contain only lowercase alphanumeric characters or '-'");
  }
  if (s.find("--") != std::string::npos) out.push_back("must not contain consecutive hyphens");
  if (!std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    out.push_back("must contain at least one letter (a-z)");
  }
  if (!s.empty() && (s.front() == '-' || s.back() == '-'))
    out.push_back("must not begin or end with a hyphen");
  return out;
}

// [-._a-zA-Z][-._a-zA-Z0-9]*
std::vector<std::string> envVarName(const std::string& s) {
  auto first = [](char c) { return isLetter(c) || c == '-' || c == '.' || c == '_'; };
  if (!s.empty() && first(s[0]) && allOf(s, isQualifiedChar)) return {};
  return {kEnvNameMsg};
}

// ---- the validator
// -----------------------------------------------------------------------------------------------

// Volume sources of v1.VolumeSource; a volume holds exactly one.
const std::set<std::string>& volumeSources() {
  static const std::set<std::string> kSources = {"hostPath",
                                                 "emptyDir",
                                                 "gcePersistentDisk",
                                                 "awsElasticBlockStore",
                                                 "gitRepo",
                                                 "secret",
                                                 "nfs",
                                                 "iscsi",
                                                 "glusterfs",
                                                 "persistentVolumeClaim",
                                                 "rbd",
                                                 "flexVolume",
                                                 "cinder",
                                                 "cephfs",
                                                 "flocker",
                                                 "downwardAPI",
                                                 "fc",
                                                 "azureFile",
                                                 "configMap",
                                                 "vsphereVolume",
                                                 "quobyte",
                                                 "azureDisk",
                                                 "photonPersistentDisk",
                                                 "projected",
                                                 "portworxVolume",
                                                 "scaleIO",
                                                 "storageos",
                                                 "csi",
                                                 "ephemeral",
                                                 "image"};
  return kSources;
}

struct ContainerScope {
  std::set<std::string> volumeNames;
  std::set<std::string> containerNames;  // across initContainers and containers
  bool hostNetwork = false;
};

class Validator {
 public:
  Validator(Reporter& r, std::string node) : r_(r), node_(std::move(node)) {}

  void pod(const json::ObjectPtr& pod, const std::string& base) {
    std::optional<std::string> apiVersion = string(pod, "apiVersion", base, true);
    std::optional<std::string> kind = string(pod, "kind", base, true);
    if (!kind || !apiVersion) return;
    if (*kind != "Pod") {
      std::string hint;
      if (*kind == "PodList" || *kind == "List") {
        hint = " (a manifest file holds one Pod; lists are accepted only from a URL source)";
      }
      r_.error(fieldPath(base, "kind"),
               "kind " + *kind + " is not supported: a static pod manifest must be a v1 Pod" + hint);
      return;
    }
    if (*apiVersion != "v1") {
      r_.error(fieldPath(base, "apiVersion"),
               "Unsupported value: " + quoted(*apiVersion) +
                   ": a static pod manifest must be a v1 Pod (apiVersion: v1)");
      return;
    }
    metadata(object(pod, "metadata", base, true), fieldPath(base, "metadata"));
    spec(object(pod, "spec", base, true), fieldPath(base, "spec"));
  }

 private:
  // ---- typed access: a wrong type is an error naming the field; absence is an error only when required
  // --------

  Var value(const json::ObjectPtr& parent, const std::string& key) const {
    if (parent.isNull() || !parent->has(key)) return Var();
    return parent->get(key);
  }

  json::ObjectPtr object(const json::ObjectPtr& parent, const std::string& key, const std::string& base,
                         bool required) {
    Var v = value(parent, key);
    std::string path = fieldPath(base, key);
    if (v.isEmpty()) {
      if (required && !parent.isNull()) r_.error(path, "Required value");
      return nullptr;
    }
    if (!isObject(v)) {
      r_.error(path, "must be an object, not " + kindOf(v));
      return nullptr;
    }
    return v.extract<json::ObjectPtr>();
  }

  json::ArrayPtr list(const json::ObjectPtr& parent, const std::string& key, const std::string& base) {
    Var v = value(parent, key);
    if (v.isEmpty()) return nullptr;
    if (!isArray(v)) {
      r_.error(fieldPath(base, key), "must be a list, not " + kindOf(v));
      return nullptr;
    }
    return v.extract<json::ArrayPtr>();
  }

  std::optional<std::string> stringValue(const Var& v, const std::string& path) {
    if (v.isEmpty()) return std::nullopt;
    if (isString(v)) return v.extract<std::string>();
    if (isInt(v) || isDouble(v) || isBool(v)) {
      r_.error(path, "must be a string, not " + kindOf(v) + "; quote it (" + quoted(scalarText(v)) + ")");
    } else {
      r_.error(path, "must be a string, not " + kindOf(v));
    }
    return std::nullopt;
  }

  std::optional<std::string> string(const json::ObjectPtr& parent, const std::string& key,
                                    const std::string& base, bool required) {
    Var v = value(parent, key);
    std::string path = fieldPath(base, key);
    if (v.isEmpty() || (isString(v) && v.extract<std::string>().empty())) {
      if (required && !parent.isNull()) {
        r_.error(path, "Required value");
        return std::nullopt;
      }
      return v.isEmpty() ? std::nullopt : std::optional<std::string>(std::string());
    }
    return stringValue(v, path);
  }

  std::optional<int64_t> integer(const json::ObjectPtr& parent, const std::string& key,
                                 const std::string& base) {
    Var v = value(parent, key);
    if (v.isEmpty()) return std::nullopt;
    if (isInt(v)) return v.convert<Poco::Int64>();
    std::string path = fieldPath(base, key);
    if (isString(v)) {
      r_.error(path, "must be an integer, not a string; remove the quotes");
    } else {
      r_.error(path, "must be an integer, not " + kindOf(v));
    }
    return std::nullopt;
  }

  std::optional<bool> boolean(const json::ObjectPtr& parent, const std::string& key,
                              const std::string& base) {
    Var v = value(parent, key);
    if (v.isEmpty()) return std::nullopt;
    if (isBool(v)) return v.extract<bool>();
    r_.error(fieldPath(base, key), "must be a boolean (true or false), not " + kindOf(v));
    return std::nullopt;
  }

  void stringList(const json::ObjectPtr& parent, const std::string& key, const std::string& base) {
    json::ArrayPtr arr = list(parent, key, base);
    if (arr.isNull()) return;
    std::string path = fieldPath(base, key);
    for (size_t i = 0; i < arr->size(); ++i) {
      Var v = arr->get(static_cast<unsigned>(i));
      if (v.isEmpty()) {
        r_.error(indexPath(path, i), "must be a string, not null");
      } else {
        stringValue(v, indexPath(path, i));
      }
    }
  }

  void nonNegative(const json::ObjectPtr& parent, const std::string& key, const std::string& base) {
    std::optional<int64_t> v = integer(parent, key, base);
    if (v && *v < 0) {
      r_.error(fieldPath(base, key),
               "Invalid value: " + std::to_string(*v) + ": must be greater than or equal to 0");
    }
  }

  void invalid(const std::string& path, const std::string& value, const std::vector<std::string>& reasons) {
    for (const auto& why : reasons) r_.error(path, "Invalid value: " + quoted(value) + ": " + why);
  }

  void refuse(const std::string& path, const std::string& what) {
    r_.error(path, "static pods cannot reference API objects: " + what +
                       " (the kubelet refuses it and the API server would reject its mirror pod)");
  }

  // ---- metadata
  // -------------------------------------------------------------------------------------------------

  void metadata(const json::ObjectPtr& meta, const std::string& base) {
    if (meta.isNull()) return;
    std::optional<std::string> name = string(meta, "name", base, true);
    std::string namePath = fieldPath(base, "name");
    if (name) {
      std::vector<std::string> reasons = dns1123Subdomain(*name);
      invalid(namePath, *name, reasons);
      if (reasons.empty()) {
        // The kubelet always appends "-<node>" (even when the name already ends with it); the result must
        // still be a valid pod name, so a long node name can make a valid manifest invalid.
        std::string full = *name + "-" + node_;
        if (full.size() > 253) {
          r_.error(namePath, "Invalid value: " + quoted(*name) + ": with the node suffix \"-" + node_ +
                                 "\" the pod name is " + std::to_string(full.size()) +
                                 " characters; must be no more than 253");
        } else if (!dns1123Subdomain(full).empty()) {
          r_.error(namePath, "Invalid value: " + quoted(full) +
                                 ": the pod name with the node suffix is not a "
                                 "valid name (check the node name): " +
                                 kSubdomainMsg);
        }
      }
    }
    std::optional<std::string> ns = string(meta, "namespace", base, false);
    if (ns && !ns->empty()) invalid(fieldPath(base, "namespace"), *ns, dns1123Label(*ns));
    string(meta, "uid", base, false);

    json::ObjectPtr labels = object(meta, "labels", base, false);
    std::string labelsPath = fieldPath(base, "labels");
    if (!labels.isNull()) {
      for (const auto& kv : *labels) {
        std::string path = fieldPath(labelsPath, kv.first);
        invalid(path, kv.first, qualifiedName(kv.first));
        if (kv.second.isEmpty()) {
          r_.error(path, "must be a string, not null; write \"\" for an empty value");
          continue;
        }
        std::optional<std::string> v = stringValue(kv.second, path);
        if (v) invalid(path, *v, labelValue(*v));
      }
    }
    json::ObjectPtr annotations = object(meta, "annotations", base, false);
    std::string annPath = fieldPath(base, "annotations");
    if (!annotations.isNull()) {
      size_t total = 0;
      for (const auto& kv : *annotations) {
        std::string path = fieldPath(annPath, kv.first);
        std::string lower = kv.first;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        invalid(path, kv.first, qualifiedName(lower));
        total += kv.first.size();
        if (kv.second.isEmpty()) {
          r_.error(path, "must be a string, not null; write \"\" for an empty value");
          continue;
        }
        std::optional<std::string> v = stringValue(kv.second, path);
        if (v) total += v->size();
        if (oneOf(kv.first, {"kubernetes.io/config.hash", "kubernetes.io/config.source",
                             "kubernetes.io/config.seen", "kubernetes.io/config.mirror"})) {
          r_.warn(path, "is set by podwarden; the written value is replaced");
        }
      }
      if (total > 256 * 1024) {
        r_.error(annPath,
                 "Too long: must have at most 262144 bytes (annotations hold " + std::to_string(total) + ")");
      }
    }
  }

  // ---- spec
  // -----------------------------------------------------------------------------------------------------

  void spec(const json::ObjectPtr& spec, const std::string& base) {
    if (spec.isNull()) return;
    ContainerScope scope;
    scope.hostNetwork = boolean(spec, "hostNetwork", base).value_or(false);
    boolean(spec, "hostPID", base);
    boolean(spec, "hostIPC", base);
    volumes(spec, base, scope);

    json::ArrayPtr init = list(spec, "initContainers", base);
    if (!init.isNull()) {
      std::string path = fieldPath(base, "initContainers");
      for (size_t i = 0; i < init->size(); ++i) {
        container(init->get(static_cast<unsigned>(i)), indexPath(path, i), true, scope);
      }
    }
    json::ArrayPtr containers = list(spec, "containers", base);
    std::string containersPath = fieldPath(base, "containers");
    if (containers.isNull() || containers->size() == 0) {
      if (containers.isNull() && json::has(spec, "containers")) {
        // wrong type, already reported
      } else {
        r_.error(containersPath, "Required value: a pod needs at least one container");
      }
    } else {
      for (size_t i = 0; i < containers->size(); ++i) {
        container(containers->get(static_cast<unsigned>(i)), indexPath(containersPath, i), false, scope);
      }
    }

    std::optional<std::string> restart = string(spec, "restartPolicy", base, false);
    if (restart && !restart->empty() && !oneOf(*restart, {"Always", "OnFailure", "Never"})) {
      r_.error(fieldPath(base, "restartPolicy"),
               "Unsupported value: " + quoted(*restart) + ": " + supported({"Always", "OnFailure", "Never"}));
    }
    std::optional<std::string> dns = string(spec, "dnsPolicy", base, false);
    if (dns && !dns->empty() &&
        !oneOf(*dns, {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"})) {
      r_.error(fieldPath(base, "dnsPolicy"),
               "Unsupported value: " + quoted(*dns) + ": " +
                   supported({"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}));
    }
    nonNegative(spec, "terminationGracePeriodSeconds", base);
    std::optional<int64_t> deadline = integer(spec, "activeDeadlineSeconds", base);
    if (deadline && *deadline < 1) {
      r_.error(fieldPath(base, "activeDeadlineSeconds"),
               "Invalid value: " + std::to_string(*deadline) + ": must be greater than or equal to 1");
    }
    std::optional<std::string> nodeName = string(spec, "nodeName", base, false);
    if (nodeName && !nodeName->empty() && *nodeName != node_) {
      r_.warn(fieldPath(base, "nodeName"), "is replaced by this node's name \"" + node_ + "\"");
    }
    tolerations(spec, base);

    // API-object references (kubelet admission since PR #131837; NodeRestriction rejects the mirror pod).
    for (const char* key : {"serviceAccountName", "serviceAccount"}) {
      std::optional<std::string> sa = string(spec, key, base, false);
      if (sa && !sa->empty()) refuse(fieldPath(base, key), "service account " + quoted(*sa));
    }
    for (const char* key : {"imagePullSecrets", "ephemeralContainers", "resourceClaims"}) {
      json::ArrayPtr arr = list(spec, key, base);
      if (arr.isNull() || arr->size() == 0) continue;
      std::string what = std::string(key) == "imagePullSecrets"      ? "image pull secrets"
                         : std::string(key) == "ephemeralContainers" ? "ephemeral containers"
                                                                     : "resource claims";
      refuse(fieldPath(base, key), what);
    }
  }

  void tolerations(const json::ObjectPtr& spec, const std::string& base) {
    json::ArrayPtr arr = list(spec, "tolerations", base);
    if (arr.isNull()) return;
    std::string path = fieldPath(base, "tolerations");
    for (size_t i = 0; i < arr->size(); ++i) {
      Var v = arr->get(static_cast<unsigned>(i));
      std::string item = indexPath(path, i);
      if (!isObject(v)) {
        r_.error(item, "must be an object, not " + kindOf(v));
        continue;
      }
      json::ObjectPtr t = v.extract<json::ObjectPtr>();
      std::optional<std::string> op = string(t, "operator", item, false);
      if (op && !op->empty() && !oneOf(*op, {"Exists", "Equal"})) {
        r_.error(fieldPath(item, "operator"),
                 "Unsupported value: " + quoted(*op) + ": " + supported({"Equal", "Exists"}));
      }
      std::optional<std::string> effect = string(t, "effect", item, false);
      if (effect && !effect->empty() && !oneOf(*effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"})) {
        r_.error(fieldPath(item, "effect"), "Unsupported value: " + quoted(*effect) + ": " +
                                                supported({"NoSchedule", "PreferNoSchedule", "NoExecute"}));
      }
      string(t, "key", item, false);
      string(t, "value", item, false);
      integer(t, "tolerationSeconds", item);
    }
  }

  // ---- volumes
  // --------------------------------------------------------------------------------------------------

  void volumes(const json::ObjectPtr& spec, const std::string& base, ContainerScope& scope) {
    json::ArrayPtr arr = list(spec, "volumes", base);
    if (arr.isNull()) return;
    std::string path = fieldPath(base, "volumes");
    for (size_t i = 0; i < arr->size(); ++i) {
      Var v = arr->get(static_cast<unsigned>(i));
      std::string item = indexPath(path, i);
      if (!isObject(v)) {
        r_.error(item, "must be an object, not " + kindOf(v));
        continue;
      }
      json::ObjectPtr vol = v.extract<json::ObjectPtr>();
      std::optional<std::string> name = string(vol, "name", item, true);
      std::string namePath = fieldPath(item, "name");
      std::string label = name ? *name : std::to_string(i);
      if (name) {
        invalid(namePath, *name, dns1123Label(*name));
        if (!scope.volumeNames.insert(*name).second) r_.error(namePath, "Duplicate value: " + quoted(*name));
      }
      std::vector<std::string> sources;
      for (const auto& kv : *vol) {
        if (kv.first == "name") continue;
        if (volumeSources().count(kv.first) == 0) {
          r_.warn(fieldPath(item, kv.first), "unknown field \"" + kv.first + "\" (ignored)");
          continue;
        }
        if (kv.second.isEmpty()) continue;  // "emptyDir:" with nothing after it is an empty object in Go
        sources.push_back(kv.first);
      }
      if (sources.empty()) {
        // A bare "emptyDir:" (null) still selects emptyDir.
        if (vol->has("emptyDir")) continue;
        r_.error(item, "must specify a volume type (e.g. hostPath or emptyDir)");
        continue;
      }
      if (sources.size() > 1) {
        r_.error(fieldPath(item, sources[1]), "Forbidden: may not specify more than 1 volume type (found " +
                                                  sources[0] + " and " + sources[1] + ")");
        continue;
      }
      const std::string& type = sources[0];
      std::string srcPath = fieldPath(item, type);
      if (type == "secret" || type == "configMap" || type == "persistentVolumeClaim" || type == "projected" ||
          type == "ephemeral") {
        refuse(srcPath, type + " volume " + quoted(label));
        continue;
      }
      Var srcVar = vol->get(type);
      if (!isObject(srcVar)) {
        r_.error(srcPath, "must be an object, not " + kindOf(srcVar));
        continue;
      }
      json::ObjectPtr src = srcVar.extract<json::ObjectPtr>();
      if (type == "csi" && json::has(src, "nodePublishSecretRef")) {
        refuse(fieldPath(srcPath, "nodePublishSecretRef"), "csi volume " + quoted(label) + " with a secret");
        continue;
      }
      // Other in-tree sources that name a Secret (cephfs, rbd, iscsi, flexVolume, cinder, scaleIO, storageos:
      // secretRef; azureFile: secretName) are refused the same way by NodeRestriction.
      bool refused = false;
      for (const char* ref : {"secretRef", "secretName"}) {
        if (json::has(src, ref)) {
          refuse(fieldPath(srcPath, ref), type + " volume " + quoted(label) + " with a secret");
          refused = true;
        }
      }
      if (refused) continue;
      if (type == "hostPath") {
        std::optional<std::string> p = string(src, "path", srcPath, true);
        if (p) noBacksteps(*p, fieldPath(srcPath, "path"));
        std::optional<std::string> t = string(src, "type", srcPath, false);
        if (t && !oneOf(*t, {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                             "CharDevice", "BlockDevice"})) {
          r_.error(fieldPath(srcPath, "type"),
                   "Unsupported value: " + quoted(*t) + ": " +
                       supported({"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                                  "FileOrCreate", "Socket"}));
        }
      } else if (type == "emptyDir") {
        std::optional<std::string> medium = string(src, "medium", srcPath, false);
        if (medium && !oneOf(*medium, {"", "Memory", "HugePages"}) && medium->rfind("HugePages-", 0) != 0) {
          r_.error(fieldPath(srcPath, "medium"),
                   "Unsupported value: " + quoted(*medium) + ": " + supported({"", "Memory", "HugePages"}));
        }
        if (json::has(src, "sizeLimit"))
          quantity(src->get("sizeLimit"), fieldPath(srcPath, "sizeLimit"), false);
      }
    }
  }

  // validatePathNoBacksteps: no '/'-separated element of the path may be "..".
  void noBacksteps(const std::string& path, const std::string& field) {
    std::string_view rest = path;
    while (true) {
      size_t slash = rest.find('/');
      if (rest.substr(0, slash) == "..") {
        r_.error(field, "Invalid value: " + quoted(path) + ": must not contain '..'");
        return;
      }
      if (slash == std::string_view::npos) return;
      rest.remove_prefix(slash + 1);
    }
  }

  // ---- containers
  // -----------------------------------------------------------------------------------------------

  void container(const Var& v, const std::string& base, bool init, ContainerScope& scope) {
    if (!isObject(v)) {
      r_.error(base, "must be an object, not " + kindOf(v));
      return;
    }
    json::ObjectPtr c = v.extract<json::ObjectPtr>();
    std::optional<std::string> name = string(c, "name", base, true);
    std::string namePath = fieldPath(base, "name");
    if (name) {
      invalid(namePath, *name, dns1123Label(*name));
      if (!scope.containerNames.insert(*name).second) r_.error(namePath, "Duplicate value: " + quoted(*name));
    }
    std::optional<std::string> image = string(c, "image", base, true);
    if (image && !image->empty() &&
        (std::isspace(static_cast<unsigned char>(image->front())) ||
         std::isspace(static_cast<unsigned char>(image->back())))) {
      r_.error(fieldPath(base, "image"),
               "Invalid value: " + quoted(*image) + ": must not have leading or trailing whitespace");
    }
    stringList(c, "command", base);
    stringList(c, "args", base);
    string(c, "workingDir", base, false);

    std::optional<std::string> pull = string(c, "imagePullPolicy", base, false);
    if (pull && !pull->empty() && !oneOf(*pull, {"Always", "IfNotPresent", "Never"})) {
      r_.error(fieldPath(base, "imagePullPolicy"),
               "Unsupported value: " + quoted(*pull) + ": " + supported({"Always", "IfNotPresent", "Never"}));
    }
    std::optional<std::string> tmp = string(c, "terminationMessagePolicy", base, false);
    if (tmp && !tmp->empty() && !oneOf(*tmp, {"File", "FallbackToLogsOnError"})) {
      r_.error(fieldPath(base, "terminationMessagePolicy"),
               "Unsupported value: " + quoted(*tmp) + ": " + supported({"File", "FallbackToLogsOnError"}));
    }
    std::optional<std::string> cRestart = string(c, "restartPolicy", base, false);
    bool sidecar = init && cRestart && *cRestart == "Always";
    if (cRestart && !cRestart->empty() && init && *cRestart != "Always") {
      r_.error(fieldPath(base, "restartPolicy"),
               "Unsupported value: " + quoted(*cRestart) + ": " + supported({"Always"}));
    }

    env(c, base);
    envFrom(c, base);
    std::set<std::string> portNames = ports(c, base, scope.hostNetwork);
    volumeMounts(c, base, scope);
    resources(c, base);
    for (const char* probeKey : {"livenessProbe", "readinessProbe", "startupProbe"}) {
      json::ObjectPtr p = object(c, probeKey, base, false);
      if (p.isNull()) continue;
      std::string path = fieldPath(base, probeKey);
      if (init && !sidecar) {
        r_.error(path, "Forbidden: may not be set for init containers without restartPolicy=Always");
        continue;
      }
      probe(p, path, std::string(probeKey) != "readinessProbe", portNames);
    }
    json::ObjectPtr lifecycle = object(c, "lifecycle", base, false);
    if (!lifecycle.isNull()) {
      std::string lpath = fieldPath(base, "lifecycle");
      for (const char* hook : {"postStart", "preStop"}) {
        json::ObjectPtr h = object(lifecycle, hook, lpath, false);
        if (!h.isNull())
          handler(h, fieldPath(lpath, hook), {"exec", "httpGet", "tcpSocket", "sleep"}, portNames);
      }
    }
  }

  void env(const json::ObjectPtr& c, const std::string& base) {
    json::ArrayPtr arr = list(c, "env", base);
    if (arr.isNull()) return;
    std::string path = fieldPath(base, "env");
    for (size_t i = 0; i < arr->size(); ++i) {
      Var v = arr->get(static_cast<unsigned>(i));
      std::string item = indexPath(path, i);
      if (!isObject(v)) {
        r_.error(item, "must be an object, not " + kindOf(v));
        continue;
      }
      json::ObjectPtr e = v.extract<json::ObjectPtr>();
      std::optional<std::string> name = string(e, "name", item, true);
      if (name) invalid(fieldPath(item, "name"), *name, envVarName(*name));
      std::optional<std::string> val = string(e, "value", item, false);
      json::ObjectPtr from = object(e, "valueFrom", item, false);
      if (from.isNull()) continue;
      std::string fromPath = fieldPath(item, "valueFrom");
      if (val && !val->empty()) {
        r_.error(fromPath, "Invalid value: \"\": may not be specified when `value` is not empty");
      }
      std::string envName = name ? *name : std::to_string(i);
      int handlers = 0;
      for (const auto& kv : *from) {
        if (kv.second.isEmpty()) continue;
        ++handlers;
        std::string refPath = fieldPath(fromPath, kv.first);
        if (kv.first == "secretKeyRef") {
          refuse(refPath, "secret for env " + quoted(envName));
        } else if (kv.first == "configMapKeyRef") {
          refuse(refPath, "config map for env " + quoted(envName));
        } else if (kv.first == "fieldRef") {
          json::ObjectPtr ref = object(from, "fieldRef", fromPath, false);
          string(ref, "fieldPath", refPath, true);
        } else if (kv.first == "resourceFieldRef") {
          json::ObjectPtr ref = object(from, "resourceFieldRef", fromPath, false);
          string(ref, "resource", refPath, true);
        } else {
          r_.warn(refPath, "unknown field \"" + kv.first + "\" (ignored)");
          --handlers;
        }
      }
      if (handlers == 0) {
        r_.error(fromPath,
                 "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, "
                 "`configMapKeyRef` or `secretKeyRef`");
      } else if (handlers > 1) {
        r_.error(fromPath, "Invalid value: \"\": may not have more than one field specified at a time");
      }
    }
  }

  void envFrom(const json::ObjectPtr& c, const std::string& base) {
    json::ArrayPtr arr = list(c, "envFrom", base);
    if (arr.isNull()) return;
    std::string path = fieldPath(base, "envFrom");
    for (size_t i = 0; i < arr->size(); ++i) {
      Var v = arr->get(static_cast<unsigned>(i));
      std::string item = indexPath(path, i);
      if (!isObject(v)) {
        r_.error(item, "must be an object, not " + kindOf(v));
        continue;
      }
      json::ObjectPtr e = v.extract<json::ObjectPtr>();
      bool any = false;
      for (const char* key : {"secretRef", "configMapRef"}) {
        if (!json::has(e, key)) continue;
        any = true;
        std::string refName = json::getString(json::getObject(e, key), "name");
        refuse(fieldPath(item, key), std::string(key) == "secretRef"
                                         ? "secret " + quoted(refName) + " in envFrom"
                                         : "config map " + quoted(refName) + " in envFrom");
      }
      if (!any) r_.error(item, "Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`");
    }
  }

  std::set<std::string> ports(const json::ObjectPtr& c, const std::string& base, bool hostNetwork) {
    std::set<std::string> names;
    json::ArrayPtr arr = list(c, "ports", base);
    if (arr.isNull()) return names;
    std::string path = fieldPath(base, "ports");
    for (size_t i = 0; i < arr->size(); ++i) {
      Var v = arr->get(static_cast<unsigned>(i));
      std::string item = indexPath(path, i);
      if (!isObject(v)) {
        r_.error(item, "must be an object, not " + kindOf(v));
        continue;
      }
      json::ObjectPtr p = v.extract<json::ObjectPtr>();
      std::optional<int64_t> containerPort = integer(p, "containerPort", item);
      std::string cpPath = fieldPath(item, "containerPort");
      if (!containerPort && !json::has(p, "containerPort")) {
        r_.error(cpPath, "Required value");
      } else if (containerPort && (*containerPort < 1 || *containerPort > 65535)) {
        r_.error(cpPath, "Invalid value: " + std::to_string(*containerPort) +
                             ": must be between 1 and 65535, inclusive");
      }
      std::optional<int64_t> hostPort = integer(p, "hostPort", item);
      std::string hpPath = fieldPath(item, "hostPort");
      if (hostPort && (*hostPort < 0 || *hostPort > 65535)) {
        r_.error(hpPath,
                 "Invalid value: " + std::to_string(*hostPort) + ": must be between 0 and 65535, inclusive");
      } else if (hostPort && *hostPort != 0 && hostNetwork && containerPort && *hostPort != *containerPort) {
        r_.error(hpPath, "Invalid value: " + std::to_string(*hostPort) +
                             ": must match `containerPort` when `hostNetwork` is true");
      }
      std::optional<std::string> proto = string(p, "protocol", item, false);
      if (proto && !proto->empty() && !oneOf(*proto, {"TCP", "UDP", "SCTP"})) {
        r_.error(fieldPath(item, "protocol"),
                 "Unsupported value: " + quoted(*proto) + ": " + supported({"SCTP", "TCP", "UDP"}));
      }
      string(p, "hostIP", item, false);
      std::optional<std::string> name = string(p, "name", item, false);
      if (name && !name->empty()) {
        std::string namePath = fieldPath(item, "name");
        invalid(namePath, *name, ianaServiceName(*name));
        if (!names.insert(*name).second) r_.error(namePath, "Duplicate value: " + quoted(*name));
      }
    }
    return names;
  }

  void volumeMounts(const json::ObjectPtr& c, const std::string& base, const ContainerScope& scope) {
    json::ArrayPtr arr = list(c, "volumeMounts", base);
    if (arr.isNull()) return;
    std::string path = fieldPath(base, "volumeMounts");
    std::set<std::string> mountPaths;
    for (size_t i = 0; i < arr->size(); ++i) {
      Var v = arr->get(static_cast<unsigned>(i));
      std::string item = indexPath(path, i);
      if (!isObject(v)) {
        r_.error(item, "must be an object, not " + kindOf(v));
        continue;
      }
      json::ObjectPtr m = v.extract<json::ObjectPtr>();
      std::optional<std::string> name = string(m, "name", item, true);
      if (name && scope.volumeNames.count(*name) == 0) {
        r_.error(fieldPath(item, "name"),
                 "Not found: " + quoted(*name) + " (no volume of that name in spec.volumes)");
      }
      std::optional<std::string> mountPath = string(m, "mountPath", item, true);
      if (mountPath && !mountPaths.insert(*mountPath).second) {
        r_.error(fieldPath(item, "mountPath"), "Invalid value: " + quoted(*mountPath) + ": must be unique");
      }
      boolean(m, "readOnly", item);
      std::optional<std::string> subPath = string(m, "subPath", item, false);
      if (subPath && !subPath->empty()) {
        if (subPath->front() == '/') {
          r_.error(fieldPath(item, "subPath"),
                   "Invalid value: " + quoted(*subPath) + ": must be a relative path");
        } else {
          noBacksteps(*subPath, fieldPath(item, "subPath"));
        }
      }
    }
  }

  std::optional<Quantity> quantity(const Var& v, const std::string& path, bool memory) {
    if (v.isEmpty()) {
      r_.error(path, "must be a quantity (e.g. 250m, 0.5, 128Mi), not null");
      return std::nullopt;
    }
    if (!isString(v) && !isInt(v) && !isDouble(v)) {
      r_.error(path, "must be a quantity (e.g. 250m, 0.5, 128Mi), not " + kindOf(v));
      return std::nullopt;
    }
    std::string text = scalarText(v);
    std::optional<Quantity> q = Quantity::tryParse(text);
    if (!q) {
      r_.error(
          path,
          "Invalid value: " + quoted(text) +
              ": must be a quantity: a number with an optional suffix "
              "m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent (e.g. 250m, 0.5, 128Mi, 1G, 1e3)");
      return std::nullopt;
    }
    if (q->negative()) {
      r_.error(path, "Invalid value: " + quoted(text) + ": must be greater than or equal to 0");
      return std::nullopt;
    }
    if (memory && q->hasFraction()) {
      r_.warn(path, quoted(text) + " is a fraction of a byte; did you mean " +
                        text.substr(0, text.size() - (text.back() == 'm' ? 1 : 0)) + "Mi?");
    }
    return q;
  }

  void resources(const json::ObjectPtr& c, const std::string& base) {
    json::ObjectPtr res = object(c, "resources", base, false);
    if (res.isNull()) return;
    std::string path = fieldPath(base, "resources");
    std::map<std::string, Quantity> limits;
    std::map<std::string, std::pair<Quantity, std::string>> requests;
    for (const char* part : {"limits", "requests"}) {
      json::ObjectPtr m = object(res, part, path, false);
      if (m.isNull()) continue;
      std::string partPath = fieldPath(path, part);
      for (const auto& kv : *m) {
        std::string qPath = fieldPath(partPath, kv.first);
        std::optional<Quantity> q = quantity(kv.second, qPath, kv.first == "memory");
        if (!q) continue;
        if (std::string(part) == "limits") {
          limits.emplace(kv.first, *q);
        } else {
          requests.emplace(kv.first, std::make_pair(*q, scalarText(kv.second)));
        }
      }
    }
    json::ObjectPtr limitsObj = json::getObject(res, "limits");
    for (const auto& kv : requests) {
      auto lim = limits.find(kv.first);
      if (lim == limits.end() || !(lim->second < kv.second.first)) continue;
      r_.error(fieldPath(fieldPath(path, "requests"), kv.first),
               "Invalid value: " + quoted(kv.second.second) + ": must be less than or equal to " + kv.first +
                   " limit of " + scalarText(limitsObj->get(kv.first)));
    }
  }

  void port(const Var& v, const std::string& path, const std::set<std::string>& portNames, bool allowName) {
    if (v.isEmpty()) {
      r_.error(path, "Required value");
      return;
    }
    if (isInt(v)) {
      int64_t p = v.convert<Poco::Int64>();
      if (p < 1 || p > 65535) {
        r_.error(path, "Invalid value: " + std::to_string(p) + ": must be between 1 and 65535, inclusive");
      }
      return;
    }
    if (isString(v) && allowName) {
      std::string name = v.extract<std::string>();
      std::vector<std::string> reasons = ianaServiceName(name);
      invalid(path, name, reasons);
      if (reasons.empty() && portNames.count(name) == 0) {
        r_.warn(path, "names port " + quoted(name) +
                          ", which this container does not declare in ports; the probe "
                          "will fail");
      }
      return;
    }
    r_.error(path, std::string("must be ") +
                       (allowName ? "a port number (1-65535) or a port name" : "a port number") + ", not " +
                       kindOf(v));
  }

  // Probe and lifecycle handlers: exactly one action.
  void handler(const json::ObjectPtr& h, const std::string& base, std::initializer_list<const char*> kinds,
               const std::set<std::string>& portNames) {
    std::vector<std::string> found;
    for (const char* k : kinds) {
      if (json::has(h, k)) found.push_back(k);
    }
    if (found.empty()) {
      std::string list;
      for (const char* k : kinds) list += std::string(list.empty() ? "" : ", ") + k;
      r_.error(base, "Required value: must specify a handler type (one of " + list + ")");
      return;
    }
    if (found.size() > 1) {
      r_.error(fieldPath(base, found[1]), "Forbidden: may not specify more than 1 handler type (found " +
                                              found[0] + " and " + found[1] + ")");
      return;
    }
    const std::string& k = found[0];
    std::string path = fieldPath(base, k);
    json::ObjectPtr a = object(h, k, base, true);
    if (a.isNull()) return;
    if (k == "exec") {
      json::ArrayPtr cmd = list(a, "command", path);
      if (cmd.isNull() || cmd->size() == 0) {
        if (!json::has(a, "command") || !cmd.isNull()) r_.error(fieldPath(path, "command"), "Required value");
      } else {
        stringList(a, "command", path);
      }
    } else if (k == "httpGet") {
      port(value(a, "port"), fieldPath(path, "port"), portNames, true);
      std::optional<std::string> scheme = string(a, "scheme", path, false);
      if (scheme && !scheme->empty() && !oneOf(*scheme, {"HTTP", "HTTPS"})) {
        r_.error(fieldPath(path, "scheme"),
                 "Unsupported value: " + quoted(*scheme) + ": " + supported({"HTTP", "HTTPS"}));
      }
      string(a, "path", path, false);
      string(a, "host", path, false);
      json::ArrayPtr headers = list(a, "httpHeaders", path);
      if (!headers.isNull()) {
        std::string hp = fieldPath(path, "httpHeaders");
        for (size_t i = 0; i < headers->size(); ++i) {
          Var hv = headers->get(static_cast<unsigned>(i));
          std::string item = indexPath(hp, i);
          if (!isObject(hv)) {
            r_.error(item, "must be an object, not " + kindOf(hv));
            continue;
          }
          json::ObjectPtr ho = hv.extract<json::ObjectPtr>();
          string(ho, "name", item, true);
          string(ho, "value", item, false);
        }
      }
    } else if (k == "tcpSocket") {
      port(value(a, "port"), fieldPath(path, "port"), portNames, true);
      string(a, "host", path, false);
    } else if (k == "grpc") {
      port(value(a, "port"), fieldPath(path, "port"), portNames, false);
      string(a, "service", path, false);
    } else if (k == "sleep") {
      nonNegative(a, "seconds", path);
    }
  }

  void probe(const json::ObjectPtr& p, const std::string& base, bool successMustBeOne,
             const std::set<std::string>& portNames) {
    handler(p, base, {"exec", "httpGet", "tcpSocket", "grpc"}, portNames);
    for (const char* key : {"initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
                            "failureThreshold", "terminationGracePeriodSeconds"}) {
      nonNegative(p, key, base);
    }
    if (successMustBeOne) {
      Var s = value(p, "successThreshold");
      if (isInt(s) && s.convert<Poco::Int64>() > 1) {
        r_.error(fieldPath(base, "successThreshold"),
                 "Invalid value: " + scalarText(s) + ": must be 1 for liveness and startup probes");
      }
    }
  }

  Reporter& r_;
  std::string node_;
};

}  // namespace

void validatePod(const json::ObjectPtr& pod, const std::string& base, const std::string& nodeName,
                 Reporter& reporter) {
  Validator(reporter, nodeName).pod(pod, base);
}

}  // namespace podwarden::manifest
