#include "Patch.h"

#include "ApiError.h"
#include "util/Json.h"

#include <map>

namespace podwarden::fakeapi {

using Poco::Dynamic::Var;
using ObjectPtr = Poco::JSON::Object::Ptr;
using ArrayPtr = Poco::JSON::Array::Ptr;

namespace {

bool isObject(const Var& v) { return v.type() == typeid(ObjectPtr) && !v.extract<ObjectPtr>().isNull(); }
bool isArray(const Var& v) { return v.type() == typeid(ArrayPtr) && !v.extract<ArrayPtr>().isNull(); }

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Keys of the list items that merge instead of being replaced, as the Go types declare them
// (patchStrategy:"merge" patchMergeKey:"..."), for the fields pods and nodes use.
const std::map<std::string, std::string>& mergeKeys() {
  static const std::map<std::string, std::string> keys = {
      {"Pod:metadata.ownerReferences", "uid"},
      {"Pod:spec.containers", "name"},
      {"Pod:spec.initContainers", "name"},
      {"Pod:spec.ephemeralContainers", "name"},
      {"Pod:spec.containers[].env", "name"},
      {"Pod:spec.initContainers[].env", "name"},
      {"Pod:spec.containers[].ports", "containerPort"},
      {"Pod:spec.initContainers[].ports", "containerPort"},
      {"Pod:spec.containers[].volumeMounts", "mountPath"},
      {"Pod:spec.initContainers[].volumeMounts", "mountPath"},
      {"Pod:spec.volumes", "name"},
      {"Pod:spec.imagePullSecrets", "name"},
      {"Pod:spec.hostAliases", "ip"},
      {"Pod:status.conditions", "type"},
      {"Pod:status.podIPs", "ip"},
      {"Pod:status.hostIPs", "ip"},
      {"Node:metadata.ownerReferences", "uid"},
      {"Node:status.conditions", "type"},
      {"Node:status.addresses", "type"},
      {"Pod:metadata.finalizers", ""},
      {"Node:metadata.finalizers", ""},
      {"Event:metadata.ownerReferences", "uid"},
  };
  return keys;
}

Var strategicMerge(const Var& target, const Var& patch, const std::string& kind, const std::string& path);

// Merges list `patch` into list `target` by `key`.
ArrayPtr mergeList(const ArrayPtr& target, const ArrayPtr& patch, const std::string& key, const std::string& kind,
                   const std::string& path) {
  ArrayPtr out = new Poco::JSON::Array();
  if (!target.isNull()) {
    for (const auto& v : *target) out->add(json::deepCopy(v));
  }
  auto keyOf = [&](const Var& item) -> std::string {
    if (!isObject(item)) return json::stringify(item);
    ObjectPtr o = item.extract<ObjectPtr>();
    return o->has(key) ? o->get(key).toString() : std::string();
  };
  for (const auto& item : *patch) {
    if (!isObject(item)) {
      // A primitive list with a merge strategy: add the value unless present.
      bool present = false;
      for (const auto& existing : *out) present = present || json::stringify(existing) == json::stringify(item);
      if (!present) out->add(item);
      continue;
    }
    ObjectPtr patchItem = item.extract<ObjectPtr>();
    std::string directive = json::getString(patchItem, "$patch");
    std::string k = keyOf(item);
    size_t found = out->size();
    for (size_t i = 0; i < out->size(); ++i) {
      if (keyOf(out->get(static_cast<unsigned>(i))) == k) {
        found = i;
        break;
      }
    }
    if (directive == "delete") {
      if (found < out->size()) out->remove(static_cast<unsigned>(found));
      continue;
    }
    if (!directive.empty() && directive != "replace" && directive != "merge") {
      throw badRequest("unknown patch type: " + directive + " in map: " + json::stringify(patchItem));
    }
    if (found < out->size()) {
      Var base = directive == "replace" ? Var(ObjectPtr(new Poco::JSON::Object())) : out->get(static_cast<unsigned>(found));
      out->set(static_cast<unsigned>(found), strategicMerge(base, item, kind, path + "[]"));
    } else {
      out->add(strategicMerge(Var(ObjectPtr(new Poco::JSON::Object())), item, kind, path + "[]"));
    }
  }
  return out;
}

Var strategicMerge(const Var& target, const Var& patch, const std::string& kind, const std::string& path) {
  if (!isObject(patch)) return json::deepCopy(patch);
  ObjectPtr p = patch.extract<ObjectPtr>();
  std::string directive = json::getString(p, "$patch");
  ObjectPtr out = isObject(target) && directive != "replace" ? json::deepCopy(target.extract<ObjectPtr>())
                                                             : ObjectPtr(new Poco::JSON::Object());
  if (directive == "delete") return Var();  // the caller drops the key
  if (!directive.empty() && directive != "replace" && directive != "merge") {
    throw badRequest("unknown patch type: " + directive + " in map: " + json::stringify(p));
  }
  for (const auto& kv : *p) {
    const std::string& key = kv.first;
    if (key == "$patch" || key == "$retainKeys" || startsWith(key, "$setElementOrder/")) continue;
    if (startsWith(key, "$deleteFromPrimitiveList/")) {
      std::string field = key.substr(std::string("$deleteFromPrimitiveList/").size());
      ArrayPtr list = json::getArray(out, field);
      if (!list.isNull() && isArray(kv.second)) {
        ArrayPtr kept = new Poco::JSON::Array();
        ArrayPtr drop = kv.second.extract<ArrayPtr>();
        for (const auto& v : *list) {
          bool remove = false;
          for (const auto& d : *drop) remove = remove || json::stringify(d) == json::stringify(v);
          if (!remove) kept->add(v);
        }
        out->set(field, kept);
      }
      continue;
    }
    if (startsWith(key, "$")) throw badRequest("unknown patch directive: " + key);
    std::string childPath = path.empty() ? key : path + "." + key;
    if (kv.second.isEmpty()) {
      out->remove(key);
      continue;
    }
    Var current = out->has(key) ? out->get(key) : Var();
    if (isArray(kv.second)) {
      auto it = mergeKeys().find(kind + ":" + childPath);
      if (it != mergeKeys().end() && isArray(current)) {
        out->set(key, mergeList(current.extract<ArrayPtr>(), kv.second.extract<ArrayPtr>(), it->second, kind, childPath));
      } else {
        // Replaced as a whole; "$patch" items in a replaced list carry no meaning and are dropped.
        ArrayPtr replaced = new Poco::JSON::Array();
        for (const auto& item : *kv.second.extract<ArrayPtr>()) {
          if (isObject(item) && item.extract<ObjectPtr>()->has("$patch")) continue;
          replaced->add(strategicMerge(Var(), item, kind, childPath + "[]"));
        }
        out->set(key, replaced);
      }
      continue;
    }
    if (isObject(kv.second)) {
      Var merged = strategicMerge(current, kv.second, kind, childPath);
      if (merged.isEmpty()) {
        out->remove(key);
      } else {
        out->set(key, merged);
      }
      continue;
    }
    out->set(key, kv.second);
  }
  return out;
}

}  // namespace

Var mergePatch(const Var& target, const Var& patch) {
  if (!isObject(patch)) return json::deepCopy(patch);
  ObjectPtr out = isObject(target) ? json::deepCopy(target.extract<ObjectPtr>()) : ObjectPtr(new Poco::JSON::Object());
  for (const auto& kv : *patch.extract<ObjectPtr>()) {
    if (kv.second.isEmpty()) {
      out->remove(kv.first);
    } else {
      out->set(kv.first, mergePatch(out->has(kv.first) ? out->get(kv.first) : Var(), kv.second));
    }
  }
  return out;
}

ObjectPtr strategicMergePatch(const ObjectPtr& target, const ObjectPtr& patch, const std::string& kind) {
  Var merged = strategicMerge(Var(target), Var(patch), kind, "");
  if (!isObject(merged)) return new Poco::JSON::Object();
  return merged.extract<ObjectPtr>();
}

std::string patchMergeKey(const std::string& kind, const std::string& path) {
  auto it = mergeKeys().find(kind + ":" + path);
  return it == mergeKeys().end() ? "" : it->second;
}

}  // namespace podwarden::fakeapi
