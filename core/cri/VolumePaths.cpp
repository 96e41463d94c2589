#include "cri/VolumePaths.h"

#include <filesystem>
#include <map>
#include <set>

#include "cri/Expansion.h"

namespace podwarden::cri {

std::string podDir(const std::string& uid, const TranslateOptions& opts) {
  return detail::joinPath(opts.podsDir, uid);
}

std::string emptyDirPath(const std::string& uid, const std::string& volume, const TranslateOptions& opts) {
  return detail::joinPath(podDir(uid, opts), "volumes/kubernetes.io~empty-dir/" + volume);
}

namespace detail {

std::string containerField(const json::ObjectPtr& pod, const json::ObjectPtr& c) {
  json::ObjectPtr spec = json::getObject(pod, "spec");
  static const char* const kLists[] = {"initContainers", "containers"};
  for (int byName = 0; byName < 2; ++byName) {
    for (const char* list : kLists) {
      json::ArrayPtr arr = json::getArray(spec, list);
      if (arr.isNull()) continue;
      for (size_t i = 0; i < arr->size(); ++i) {
        json::ObjectPtr item = arr->getObject(static_cast<unsigned>(i));
        if (item.isNull()) continue;
        bool same =
            byName ? json::getString(item, "name") == json::getString(c, "name") : item.get() == c.get();
        if (same) return std::string("spec.") + list + "[" + std::to_string(i) + "]";
      }
    }
  }
  return "container \"" + json::getString(c, "name") + "\"";
}

json::ObjectPtr findVolume(const json::ObjectPtr& pod, const std::string& name, std::string* field) {
  json::ArrayPtr volumes = json::getArray(json::getObject(pod, "spec"), "volumes");
  if (volumes.isNull()) return nullptr;
  for (size_t i = 0; i < volumes->size(); ++i) {
    json::ObjectPtr v = volumes->getObject(static_cast<unsigned>(i));
    if (!v.isNull() && json::getString(v, "name") == name) {
      if (field) *field = "spec.volumes[" + std::to_string(i) + "]";
      return v;
    }
  }
  return nullptr;
}

std::string volumeHostPath(const json::ObjectPtr& pod, const json::ObjectPtr& volume,
                           const std::string& field, const TranslateOptions& opts) {
  if (json::has(volume, "hostPath")) {
    std::string path = json::getString(json::getObject(volume, "hostPath"), "path");
    if (path.empty()) throw TranslateError(field + ".hostPath.path", "required");
    if (path.front() != '/')
      throw TranslateError(field + ".hostPath.path", "\"" + path + "\" is not absolute");
    return joinPath(path, "");
  }
  if (json::has(volume, "emptyDir")) {
    std::string uid = json::getString(json::getObject(pod, "metadata"), "uid");
    if (uid.empty()) throw TranslateError("metadata.uid", "required for emptyDir volumes");
    return emptyDirPath(uid, json::getString(volume, "name"), opts);
  }
  std::string kind;
  for (const auto& kv : *volume) {
    if (kv.first != "name") kind = kv.first;
  }
  throw TranslateError(field,
                       "volume \"" + json::getString(volume, "name") + "\" of type " +
                           (kind.empty() ? std::string("(none)") : kind) +
                           " is not supported: static pods may use hostPath and emptyDir volumes only");
}

std::string mountSubPath(const json::ObjectPtr& mount, const std::vector<EnvVar>& env,
                         const std::string& field) {
  std::string subPath = json::getString(mount, "subPath");
  std::string expr = json::getString(mount, "subPathExpr");
  std::string at = field + ".subPath";
  if (!expr.empty()) {
    if (!subPath.empty()) throw TranslateError(field, "subPath and subPathExpr are mutually exclusive");
    at = field + ".subPathExpr";
    std::map<std::string, std::string> vars;
    for (const EnvVar& e : env) vars[e.name] = e.value;
    std::set<std::string> missing;
    subPath = expandReferences(expr, [&](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end() || it->second.empty()) {
        missing.insert(name);
        return std::string();
      }
      return it->second;
    });
    if (!missing.empty()) {
      std::string names;
      for (const std::string& n : missing) names += (names.empty() ? "" : ", ") + n;
      throw TranslateError(at, "missing value for " + names);
    }
  }
  if (subPath.empty()) return subPath;
  if (subPath.front() == '/') throw TranslateError(at, "\"" + subPath + "\" must be a relative path");
  for (const auto& part : std::filesystem::path(subPath)) {
    if (part == "..") throw TranslateError(at, "\"" + subPath + "\" must not contain \"..\"");
  }
  return subPath;
}

std::string joinPath(const std::string& base, const std::string& sub) {
  std::string joined = sub.empty() ? base : base + "/" + sub;
  std::string clean = std::filesystem::path(joined).lexically_normal().string();
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  return clean;
}

}  // namespace detail
}  // namespace podwarden::cri
