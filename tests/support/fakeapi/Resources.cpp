// Resources.cpp - the API operations on pods, nodes, events and namespaces: create, get, list, update,
// patch, delete, with the pod strategy's defaulting and validation, graceful deletion, preconditions and
// NodeRestriction admission.
#include "Patch.h"
#include "PodStatus.h"
#include "Selectors.h"
#include "ServerState.h"
#include "util/Json.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <set>
#include <sstream>

namespace podwarden::fakeapi {

using ObjectPtr = Poco::JSON::Object::Ptr;
using ArrayPtr = Poco::JSON::Array::Ptr;
using Poco::Dynamic::Var;

namespace {

constexpr const char* kMirrorAnnotation = "kubernetes.io/config.mirror";

ObjectPtr newObject() { return new Poco::JSON::Object(); }

ObjectPtr meta(const ObjectPtr& o) { return json::getObject(o, "metadata"); }
std::string nameOf(const ObjectPtr& o) { return json::getString(meta(o), "name"); }
std::string namespaceOf(const ObjectPtr& o) { return json::getString(meta(o), "namespace"); }
std::string uidOf(const ObjectPtr& o) { return json::getString(meta(o), "uid"); }
std::string rvOf(const ObjectPtr& o) { return json::getString(meta(o), "resourceVersion"); }

std::string newUid() { return Poco::UUIDGenerator::defaultGenerator().createRandom().toString(); }

std::string nowRfc3339() { return json::rfc3339(nowNanos()); }

std::string randomSuffix() {
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string uid = newUid();
  std::string out;
  for (size_t i = 0; out.size() < 5 && i < uid.size(); ++i) {
    if (uid[i] == '-') continue;
    out += alphabet[static_cast<unsigned char>(uid[i]) % (sizeof(alphabet) - 1)];
  }
  return out;
}

bool isAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool isDns1123Label(const std::string& s) {
  if (s.empty() || s.size() > 63 || !isAlnumLower(s.front()) || !isAlnumLower(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isAlnumLower(c) || c == '-'; });
}

// Labels joined by dots, at most 253 characters.
bool isDns1123Subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!isDns1123Label(label)) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

const char* kSubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char* kLabelMessage =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

std::map<std::string, std::string> annotationsOf(const ObjectPtr& o) {
  std::map<std::string, std::string> out;
  auto a = json::getObject(meta(o), "annotations");
  if (a.isNull()) return out;
  for (const auto& kv : *a) out[kv.first] = kv.second.isEmpty() ? "" : kv.second.toString();
  return out;
}

bool sameJson(const Var& a, const Var& b) { return json::stringify(a) == json::stringify(b); }

Var field(const ObjectPtr& o, const std::string& key) { return o.isNull() || !o->has(key) ? Var() : o->get(key); }

// The object without fields that change on every write, for "did anything change" comparisons.
std::string comparable(const ObjectPtr& o) {
  ObjectPtr copy = json::deepCopy(o);
  auto m = meta(copy);
  if (!m.isNull()) {
    m->remove("resourceVersion");
    m->remove("managedFields");
  }
  return json::stringify(copy);
}

ObjectPtr parseBody(const std::string& body) {
  if (body.empty()) throw badRequest("the request body is empty");
  try {
    return json::parseObject(body);
  } catch (const std::exception& e) {
    throw badRequest(std::string("the object provided could not be decoded: ") + e.what());
  }
}

std::string mediaType(const std::string& contentType) {
  std::string t = contentType.substr(0, contentType.find(';'));
  t.erase(std::remove_if(t.begin(), t.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }),
          t.end());
  std::transform(t.begin(), t.end(), t.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

bool isNode(const UserInfo& user) { return !nodeNameOf(user).empty(); }

// --- pods: defaulting, validation, admission ---

std::string qosClass(const ObjectPtr& spec) {
  bool any = false, guaranteed = true;
  ArrayPtr containers = json::getArray(spec, "containers");
  if (containers.isNull()) return "BestEffort";
  for (const auto& c : *containers) {
    ObjectPtr res = json::getObject(c.extract<ObjectPtr>(), "resources");
    ObjectPtr req = json::getObject(res, "requests");
    ObjectPtr lim = json::getObject(res, "limits");
    if ((!req.isNull() && req->size() > 0) || (!lim.isNull() && lim->size() > 0)) any = true;
    for (const char* r : {"cpu", "memory"}) {
      std::string l = json::getString(lim, r);
      std::string q = json::getString(req, r, l);
      if (l.empty() || q != l) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

void defaultContainers(const ArrayPtr& containers) {
  if (containers.isNull()) return;
  for (const auto& v : *containers) {
    if (v.type() != typeid(ObjectPtr)) continue;
    ObjectPtr c = v.extract<ObjectPtr>();
    if (!c->has("terminationMessagePath")) c->set("terminationMessagePath", "/dev/termination-log");
    if (!c->has("terminationMessagePolicy")) c->set("terminationMessagePolicy", "File");
    if (!c->has("resources")) c->set("resources", newObject());
    if (!c->has("imagePullPolicy")) {
      std::string image = json::getString(c, "image");
      std::string last = image.substr(image.find_last_of('/') == std::string::npos ? 0 : image.find_last_of('/'));
      bool latest = image.find('@') == std::string::npos &&
                    (last.find(':') == std::string::npos ||
                     (image.size() >= 7 && image.substr(image.size() - 7) == ":latest"));
      c->set("imagePullPolicy", latest ? "Always" : "IfNotPresent");
    }
    ArrayPtr ports = json::getArray(c, "ports");
    if (!ports.isNull()) {
      for (const auto& p : *ports) {
        if (p.type() != typeid(ObjectPtr)) continue;
        ObjectPtr port = p.extract<ObjectPtr>();
        if (!port->has("protocol")) port->set("protocol", "TCP");
      }
    }
  }
}

void defaultPod(const ObjectPtr& pod) {
  ObjectPtr spec = json::ensureObject(pod, "spec");
  if (!spec->has("restartPolicy")) spec->set("restartPolicy", "Always");
  if (!spec->has("terminationGracePeriodSeconds")) spec->set("terminationGracePeriodSeconds", 30);
  if (!spec->has("dnsPolicy")) spec->set("dnsPolicy", "ClusterFirst");
  if (!spec->has("schedulerName")) spec->set("schedulerName", "default-scheduler");
  if (!spec->has("securityContext")) spec->set("securityContext", newObject());
  if (!spec->has("enableServiceLinks")) spec->set("enableServiceLinks", true);
  if (!spec->has("priority")) spec->set("priority", 0);
  if (!spec->has("preemptionPolicy")) spec->set("preemptionPolicy", "PreemptLowerPriority");
  defaultContainers(json::getArray(spec, "containers"));
  defaultContainers(json::getArray(spec, "initContainers"));
}

void validateOwnerReferences(const ObjectPtr& object, std::vector<StatusCause>& causes) {
  ArrayPtr refs = json::getArray(meta(object), "ownerReferences");
  if (refs.isNull()) return;
  int controllers = 0;
  for (const auto& v : *refs) {
    if (v.type() != typeid(ObjectPtr)) continue;
    ObjectPtr ref = v.extract<ObjectPtr>();
    for (const char* f : {"apiVersion", "kind", "name"}) {
      if (json::getString(ref, f).empty()) {
        causes.push_back(fieldInvalid(std::string("metadata.ownerReferences.") + f, "", std::string(f) + " must not be empty"));
      }
    }
    if (json::getString(ref, "uid").empty()) {
      causes.push_back(fieldInvalid("metadata.ownerReferences.uid", "", "uid must not be empty"));
    }
    if (json::getBool(ref, "controller")) ++controllers;
  }
  if (controllers > 1) {
    causes.push_back(fieldInvalid("metadata.ownerReferences", json::stringify(Var(refs)),
                                  "Only one reference can have Controller set to true"));
  }
}

void validateName(const ObjectPtr& object, std::vector<StatusCause>& causes) {
  std::string name = nameOf(object);
  if (name.empty()) {
    causes.push_back(fieldRequired("metadata.name", "name or generateName is required"));
  } else if (!isDns1123Subdomain(name)) {
    causes.push_back(fieldInvalid("metadata.name", name, kSubdomainMessage));
  }
}

void validateContainers(const ArrayPtr& containers, const std::string& path, bool required,
                        std::set<std::string>& names, std::vector<StatusCause>& causes) {
  if (containers.isNull() || containers->size() == 0) {
    if (required) causes.push_back(fieldRequired(path));
    return;
  }
  for (unsigned i = 0; i < containers->size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    Var v = containers->get(i);
    if (v.type() != typeid(ObjectPtr)) {
      causes.push_back(fieldInvalid(p, json::stringify(v), "must be an object"));
      continue;
    }
    ObjectPtr c = v.extract<ObjectPtr>();
    std::string name = json::getString(c, "name");
    if (name.empty()) {
      causes.push_back(fieldRequired(p + ".name"));
    } else if (!isDns1123Label(name)) {
      causes.push_back(fieldInvalid(p + ".name", name, kLabelMessage));
    } else if (!names.insert(name).second) {
      causes.push_back(fieldDuplicate(p + ".name", name));
    }
    if (json::getString(c, "image").empty()) causes.push_back(fieldRequired(p + ".image"));
  }
}

// ValidatePodCreate, the parts a mirror pod touches.
std::vector<StatusCause> validatePod(const ObjectPtr& pod) {
  std::vector<StatusCause> causes;
  validateName(pod, causes);
  validateOwnerReferences(pod, causes);
  ObjectPtr spec = json::getObject(pod, "spec");
  std::set<std::string> names;
  validateContainers(json::getArray(spec, "containers"), "spec.containers", true, names, causes);
  validateContainers(json::getArray(spec, "initContainers"), "spec.initContainers", false, names, causes);
  auto annotations = annotationsOf(pod);
  auto mirror = annotations.find(kMirrorAnnotation);
  if (mirror != annotations.end() && json::getString(spec, "nodeName").empty()) {
    causes.push_back(fieldInvalid(std::string("metadata.annotations[") + kMirrorAnnotation + "]", mirror->second,
                                  "must set spec.nodeName if mirror pod annotation is set"));
  }
  std::string restart = json::getString(spec, "restartPolicy");
  if (restart != "Always" && restart != "OnFailure" && restart != "Never") {
    causes.push_back(StatusCause{"FieldValueNotSupported",
                                 "Unsupported value: \"" + restart +
                                     "\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                                 "spec.restartPolicy"});
  }
  return causes;
}

// The mirror pod annotation can be neither added, removed nor changed by an update.
void validateMirrorAnnotationUpdate(const ObjectPtr& updated, const ObjectPtr& old, std::vector<StatusCause>& causes) {
  auto before = annotationsOf(old), after = annotationsOf(updated);
  std::string path = std::string("metadata.annotations[") + kMirrorAnnotation + "]";
  auto b = before.find(kMirrorAnnotation), a = after.find(kMirrorAnnotation);
  if (b != before.end() && (a == after.end() || a->second != b->second)) {
    causes.push_back(fieldForbidden(path, "may not remove or update mirror pod annotation"));
  } else if (b == before.end() && a != after.end()) {
    causes.push_back(fieldForbidden(path, "may not add mirror pod annotation"));
  }
}

// ValidatePodUpdate: the spec is immutable except container images, activeDeadlineSeconds, added
// tolerations and terminationGracePeriodSeconds.
void validatePodSpecUpdate(const ObjectPtr& updated, const ObjectPtr& old, std::vector<StatusCause>& causes) {
  ObjectPtr newSpec = json::deepCopy(json::getObject(updated, "spec"));
  ObjectPtr oldSpec = json::getObject(old, "spec");
  if (newSpec.isNull() || oldSpec.isNull()) return;
  for (const char* list : {"containers", "initContainers"}) {
    ArrayPtr n = json::getArray(newSpec, list), o = json::getArray(oldSpec, list);
    if (n.isNull() || o.isNull() || n->size() != o->size()) continue;
    for (unsigned i = 0; i < n->size(); ++i) {
      if (n->get(i).type() == typeid(ObjectPtr) && o->get(i).type() == typeid(ObjectPtr)) {
        ObjectPtr container = n->get(i).extract<ObjectPtr>();
        container->set("image", field(o->get(i).extract<ObjectPtr>(), "image"));
      }
    }
  }
  for (const char* f : {"activeDeadlineSeconds", "terminationGracePeriodSeconds", "tolerations"}) {
    if (oldSpec->has(f)) {
      newSpec->set(f, oldSpec->get(f));
    } else {
      newSpec->remove(f);
    }
  }
  if (!sameJson(Var(newSpec), Var(oldSpec))) {
    causes.push_back(fieldForbidden(
        "spec",
        "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
        "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
        "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"));
  }
}

// NodeRestriction admission of a pod created by node `node` (plugin/pkg/admission/noderestriction).
void admitNodePodCreate(const std::string& node, const ObjectPtr& pod, const ObjectStore& store) {
  std::string name = nameOf(pod);
  auto deny = [&](const std::string& why) { return forbidden("pods", name, why); };
  auto annotations = annotationsOf(pod);
  if (annotations.find(kMirrorAnnotation) == annotations.end()) {
    throw deny("pod does not have \"" + std::string(kMirrorAnnotation) + "\" annotation, node \"" + node +
               "\" can only create mirror pods");
  }
  ObjectPtr spec = json::getObject(pod, "spec");
  if (json::getString(spec, "nodeName") != node) {
    throw deny("node \"" + node + "\" can only create pods with spec.nodeName set to itself");
  }
  ArrayPtr owners = json::getArray(meta(pod), "ownerReferences");
  size_t count = owners.isNull() ? 0 : owners->size();
  if (count > 1) throw deny("node \"" + node + "\" can only create pods with a single owner reference set to itself");
  if (count == 0) throw deny("node \"" + node + "\" can only create pods with an owner reference set to itself");
  ObjectPtr owner = owners->get(0).type() == typeid(ObjectPtr) ? owners->get(0).extract<ObjectPtr>() : newObject();
  if (json::getString(owner, "apiVersion") != "v1" || json::getString(owner, "kind") != "Node" ||
      json::getString(owner, "name") != node) {
    throw deny("node \"" + node + "\" can only create pods with an owner reference set to itself");
  }
  if (!json::getBool(owner, "controller")) {
    throw deny("node \"" + node + "\" can only create pods with a controller owner reference set to itself");
  }
  if (json::getBool(owner, "blockOwnerDeletion")) {
    throw deny("node \"" + node + "\" must not set blockOwnerDeletion on an owner reference");
  }
  ObjectPtr nodeObject = store.get("nodes", "", node);
  if (nodeObject.isNull()) throw notFound("nodes", node);
  if (json::getString(owner, "uid") != uidOf(nodeObject)) {
    throw deny("node " + node + " UID mismatch: expected " + json::getString(owner, "uid") + " got " +
               uidOf(nodeObject));
  }
  if (!json::getString(spec, "serviceAccountName").empty() || !json::getString(spec, "serviceAccount").empty()) {
    throw deny("node \"" + node + "\" can not create pods that reference a service account");
  }
  // References to other objects: secrets, configmaps, persistentvolumeclaims.
  bool secrets = false, configMaps = false, claims = false;
  ArrayPtr pullSecrets = json::getArray(spec, "imagePullSecrets");
  if (!pullSecrets.isNull() && pullSecrets->size() > 0) secrets = true;
  auto scanProjection = [&](const ObjectPtr& projected) {
    ArrayPtr sources = json::getArray(projected, "sources");
    if (sources.isNull()) return;
    for (const auto& s : *sources) {
      if (s.type() != typeid(ObjectPtr)) continue;
      ObjectPtr src = s.extract<ObjectPtr>();
      if (json::has(src, "secret")) secrets = true;
      if (json::has(src, "configMap")) configMaps = true;
      if (json::has(src, "clusterTrustBundle")) {
        throw deny("node \"" + node + "\" can not create pods that reference clustertrustbundles");
      }
    }
  };
  ArrayPtr volumes = json::getArray(spec, "volumes");
  if (!volumes.isNull()) {
    for (const auto& v : *volumes) {
      if (v.type() != typeid(ObjectPtr)) continue;
      ObjectPtr vol = v.extract<ObjectPtr>();
      if (json::has(vol, "secret")) secrets = true;
      if (json::has(vol, "configMap")) configMaps = true;
      if (json::has(vol, "persistentVolumeClaim")) claims = true;
      if (json::has(vol, "projected")) scanProjection(json::getObject(vol, "projected"));
      // Volume plugins that name a secret.
      for (const char* plugin : {"azureFile", "cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO",
                                 "storageos", "csi"}) {
        ObjectPtr p = json::getObject(vol, plugin);
        if (!p.isNull() && (json::has(p, "secretRef") || json::has(p, "secretName") ||
                            json::has(p, "nodePublishSecretRef"))) {
          secrets = true;
        }
      }
    }
  }
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    ArrayPtr containers = json::getArray(spec, list);
    if (containers.isNull()) continue;
    for (const auto& cv : *containers) {
      if (cv.type() != typeid(ObjectPtr)) continue;
      ObjectPtr c = cv.extract<ObjectPtr>();
      ArrayPtr envFrom = json::getArray(c, "envFrom");
      if (!envFrom.isNull()) {
        for (const auto& e : *envFrom) {
          if (e.type() != typeid(ObjectPtr)) continue;
          if (json::has(e.extract<ObjectPtr>(), "secretRef")) secrets = true;
          if (json::has(e.extract<ObjectPtr>(), "configMapRef")) configMaps = true;
        }
      }
      ArrayPtr env = json::getArray(c, "env");
      if (!env.isNull()) {
        for (const auto& e : *env) {
          if (e.type() != typeid(ObjectPtr)) continue;
          ObjectPtr from = json::getObject(e.extract<ObjectPtr>(), "valueFrom");
          if (json::has(from, "secretKeyRef")) secrets = true;
          if (json::has(from, "configMapKeyRef")) configMaps = true;
        }
      }
    }
  }
  if (secrets) throw deny("node \"" + node + "\" can not create pods that reference secrets");
  if (configMaps) throw deny("node \"" + node + "\" can not create pods that reference configmaps");
  if (claims) throw deny("node \"" + node + "\" can not create pods that reference persistentvolumeclaims");
}

std::string encodeContinue(size_t offset) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc << "{\"v\":\"fakeapi\",\"offset\":" << offset << "}";
  enc.close();
  return out.str();
}

size_t decodeContinue(const std::string& token) {
  try {
    std::istringstream in(token);
    Poco::Base64Decoder dec(in);
    std::string text((std::istreambuf_iterator<char>(dec)), std::istreambuf_iterator<char>());
    ObjectPtr o = json::parseObject(text);
    if (json::getString(o, "v") == "fakeapi") return static_cast<size_t>(json::getInt(o, "offset"));
  } catch (...) {
  }
  throw badRequest("continue key is not valid: " + token);
}

class Operations {
 public:
  Operations(FakeApiServer::State& state, const ApiRequest& req, const ResourceInfo& info)
      : state_(state), store_(state.store), req_(req), info_(info) {}

  ApiResponse run() {
    const std::string& verb = req_.verb;
    if (req_.resource == "namespaces" && verb != "get" && verb != "list" && verb != "create") throw methodNotAllowed();
    if (verb == "get") return {200, getExisting()};
    if (verb == "list") return {200, list()};
    if (verb == "create") return {201, create()};
    if (verb == "update") return {200, update(decodeObject(parseBody(req_.body)))};
    if (verb == "patch") return {200, patch()};
    if (verb == "delete") return remove();
    if (verb == "deletecollection") return {200, deleteCollection()};
    throw methodNotAllowed();
  }

 private:
  ObjectPtr getExisting() {
    ObjectPtr o = store_.get(info_.name, info_.namespaced ? req_.ns : "", req_.name);
    if (o.isNull()) throw notFound(info_.name, req_.name);
    return o;
  }

  ObjectPtr list() {
    LabelSelector labels = LabelSelector::parse(req_.query.count("labelSelector") ? req_.query.at("labelSelector") : "");
    FieldSelector fields = FieldSelector::parse(req_.query.count("fieldSelector") ? req_.query.at("fieldSelector") : "",
                                                info_.fieldSelectors);
    std::vector<ObjectPtr> matching;
    for (const auto& o : store_.list(info_.name, info_.namespaced ? req_.ns : "")) {
      if (labels.matches(labelsOf(o)) && fields.matches(selectableFields(info_.name, o))) matching.push_back(o);
    }
    size_t offset = 0;
    auto cont = req_.query.find("continue");
    if (cont != req_.query.end() && !cont->second.empty()) offset = decodeContinue(cont->second);
    int64_t limit = 0;
    auto lim = req_.query.find("limit");
    if (lim != req_.query.end() && !lim->second.empty()) {
      try {
        limit = std::stoll(lim->second);
      } catch (...) {
        throw badRequest("limit: Invalid value: \"" + lim->second + "\"");
      }
    }
    ObjectPtr listObject = newObject();
    listObject->set("kind", info_.kind + "List");
    listObject->set("apiVersion", "v1");
    ObjectPtr listMeta = newObject();
    listMeta->set("resourceVersion", std::to_string(store_.resourceVersion()));
    ArrayPtr items = new Poco::JSON::Array();
    size_t end = matching.size();
    if (limit > 0 && offset + static_cast<size_t>(limit) < matching.size()) {
      end = offset + static_cast<size_t>(limit);
      listMeta->set("continue", encodeContinue(end));
      listMeta->set("remainingItemCount", static_cast<int64_t>(matching.size() - end));
    }
    for (size_t i = offset; i < end; ++i) items->add(withKind(matching[i]));
    listObject->set("metadata", listMeta);
    listObject->set("items", items);
    return listObject;
  }

  // Objects are stored with kind and apiVersion set.
  ObjectPtr withKind(const ObjectPtr& o) { return o; }

  // The decoding of a v1 object that JSON parsing alone does not model: a pod's metav1.Time fields must be
  // RFC 3339 (metav1.Time.UnmarshalJSON). For POST and PUT the handler's transformDecodeError answers 400
  // `Pod in version "v1" cannot be handled as a Pod: <decode error>`.
  ObjectPtr decodeObject(ObjectPtr o) {
    if (info_.name == "pods") {
      if (auto error = podTimeDecodeError(o)) {
        throw badRequest(info_.kind + " in version \"v1\" cannot be handled as a " + info_.kind + ": " +
                         *error);
      }
    }
    return o;
  }

  ObjectPtr decodeNewObject() {
    ObjectPtr o = decodeObject(parseBody(req_.body));
    std::string kind = json::getString(o, "kind");
    std::string apiVersion = json::getString(o, "apiVersion");
    if ((!kind.empty() && kind != info_.kind) || (!apiVersion.empty() && apiVersion != "v1")) {
      throw badRequest("the API version in the data (" + apiVersion + ") does not match the expected API version (v1)" +
                       (kind.empty() || kind == info_.kind ? "" : " or kind " + kind + " is not " + info_.kind));
    }
    o->set("kind", info_.kind);
    o->set("apiVersion", "v1");
    ObjectPtr m = json::ensureObject(o, "metadata");
    if (info_.namespaced) {
      std::string ns = json::getString(m, "namespace");
      if (!ns.empty() && ns != req_.ns) {
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      m->set("namespace", req_.ns);
    } else {
      m->remove("namespace");
    }
    return o;
  }

  ObjectPtr create() {
    if (!req_.name.empty()) throw methodNotAllowed();
    ObjectPtr o = decodeNewObject();
    ObjectPtr m = meta(o);
    if (json::getString(m, "name").empty() && !json::getString(m, "generateName").empty()) {
      m->set("name", json::getString(m, "generateName") + randomSuffix());
    }
    std::string name = json::getString(m, "name");
    // PrepareForCreate: the server owns these.
    m->set("uid", newUid());
    m->set("creationTimestamp", nowRfc3339());
    m->remove("deletionTimestamp");
    m->remove("deletionGracePeriodSeconds");
    m->remove("resourceVersion");
    m->remove("selfLink");
    m->remove("managedFields");
    std::string node = nodeNameOf(req_.user);
    if (info_.name == "pods") {
      m->set("generation", 1);
      defaultPod(o);
      ObjectPtr status = newObject();
      status->set("phase", "Pending");
      status->set("qosClass", qosClass(json::getObject(o, "spec")));
      o->set("status", status);
      if (!node.empty()) admitNodePodCreate(node, o, store_);
      auto causes = validatePod(o);
      if (!causes.empty()) throw invalid("Pod", name, causes);
      if (state_.podAdmission) {
        auto reason = state_.podAdmission(o, req_.user);
        if (reason) throw forbidden("pods", name, *reason);
      }
    } else if (info_.name == "nodes") {
      if (!node.empty() && node != name) {
        throw forbidden("nodes", name, "node \"" + node + "\" is not allowed to modify node \"" + name + "\"");
      }
      std::vector<StatusCause> causes;
      validateName(o, causes);
      if (!causes.empty()) throw invalid("Node", name, causes);
    } else {
      std::vector<StatusCause> causes;
      validateName(o, causes);
      if (info_.name == "namespaces" && causes.empty() && !isDns1123Label(name)) {
        causes.push_back(fieldInvalid("metadata.name", name, kLabelMessage));
      }
      if (!causes.empty()) throw invalid(info_.kind, name, causes);
      if (info_.name == "namespaces") {
        ObjectPtr spec = newObject();
        ArrayPtr finalizers = new Poco::JSON::Array();
        finalizers->add("kubernetes");
        spec->set("finalizers", finalizers);
        o->set("spec", spec);
        ObjectPtr status = newObject();
        status->set("phase", "Active");
        o->set("status", status);
      }
    }
    if (!store_.get(info_.name, info_.namespaced ? req_.ns : "", name).isNull()) throw alreadyExists(info_.name, name);
    if (info_.namespaced) ensureNamespace(req_.ns);
    return store_.put(info_.name, o);
  }

  void ensureNamespace(const std::string& ns) {
    if (!store_.get("namespaces", "", ns).isNull()) return;
    ObjectPtr o = newObject();
    o->set("kind", "Namespace");
    o->set("apiVersion", "v1");
    ObjectPtr m = newObject();
    m->set("name", ns);
    m->set("uid", newUid());
    m->set("creationTimestamp", nowRfc3339());
    ObjectPtr labels = newObject();
    labels->set("kubernetes.io/metadata.name", ns);
    m->set("labels", labels);
    o->set("metadata", m);
    ObjectPtr status = newObject();
    status->set("phase", "Active");
    o->set("status", status);
    store_.put("namespaces", o);
  }

  ObjectPtr patch() {
    ObjectPtr old = getExisting();
    std::string type = mediaType(req_.contentType);
    ObjectPtr patchObject;
    if (type == "application/merge-patch+json" || type == "application/strategic-merge-patch+json") {
      patchObject = parseBody(req_.body);
    } else {
      throw unsupportedMediaType(req_.contentType);
    }
    ObjectPtr patched;
    if (type == "application/merge-patch+json") {
      Var merged = mergePatch(Var(old), Var(patchObject));
      patched = merged.extract<ObjectPtr>();
    } else {
      patched = strategicMergePatch(old, patchObject, info_.kind);
    }
    // The patched object is decoded like a body, but a decode error is answered as the patch handler does
    // (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go, jsonPatcher and applyPatchToObject):
    // 422 Invalid on the field "patch", with the patched object (merge patch) or the patch map printed by
    // Go's %+v (strategic merge patch) as the value.
    if (info_.name == "pods") {
      bool isMergePatch = type == "application/merge-patch+json";
      if (auto error = podTimeDecodeError(patched, isMergePatch)) {
        std::string value = isMergePatch ? json::stringify(patched) : goFormat(Var(patchObject));
        throw invalid("", "", {fieldInvalid("patch", value, *error)});
      }
    }
    return update(patched, old);
  }

  // PUT (or the result of a PATCH): `updated` is the whole new object.
  ObjectPtr update(ObjectPtr updated, ObjectPtr old = nullptr) {
    if (old.isNull()) old = getExisting();
    ObjectPtr m = json::ensureObject(updated, "metadata");
    std::string name = json::getString(m, "name");
    if (name != req_.name) {
      throw badRequest("the name of the object (" + name + ") does not match the name on the URL (" + req_.name + ")");
    }
    if (info_.namespaced) {
      std::string ns = json::getString(m, "namespace");
      if (!ns.empty() && ns != req_.ns) {
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
    }
    std::string rv = json::getString(m, "resourceVersion");
    if (!rv.empty() && rv != rvOf(old)) {
      throw conflict(info_.name, req_.name,
                     "the object has been modified; please apply your changes to the latest version and try again");
    }
    std::string uid = json::getString(m, "uid");
    if (!uid.empty() && uid != uidOf(old)) {
      throw conflict(info_.name, req_.name,
                     "Precondition failed: UID in precondition: " + uid + ", UID in object meta: " + uidOf(old));
    }
    bool statusOnly = req_.subresource == "status";
    ObjectPtr result = json::deepCopy(old);
    ObjectPtr rm = meta(result);
    if (statusOnly) {
      // The status strategy: status, labels and annotations come from the request, the rest from storage.
      result->set("status", field(updated, "status"));
      if (result->isNull("status") || !result->has("status") || !result->isObject("status")) {
        result->set("status", newObject());
      }
      if (info_.name == "pods") convertPodIPs(json::getObject(result, "status"));
      for (const char* f : {"labels", "annotations"}) {
        if (m->has(f) && !m->isNull(f)) {
          rm->set(f, m->get(f));
        } else {
          rm->remove(f);
        }
      }
    } else {
      // The main resource: everything but status; server-owned metadata stays.
      for (const auto& kv : *updated) {
        if (kv.first == "status" || kv.first == "metadata" || kv.first == "kind" || kv.first == "apiVersion") continue;
        result->set(kv.first, kv.second);
      }
      for (auto it = result->begin(); it != result->end();) {
        const std::string key = it->first;
        ++it;
        if (key != "status" && key != "metadata" && key != "kind" && key != "apiVersion" && !updated->has(key)) {
          result->remove(key);
        }
      }
      for (const char* f : {"labels", "annotations", "ownerReferences", "finalizers"}) {
        if (m->has(f) && !m->isNull(f)) {
          rm->set(f, m->get(f));
        } else {
          rm->remove(f);
        }
      }
      if (info_.name == "events") {
        // Events have no status: the whole object is data.
        if (updated->has("status")) result->set("status", updated->get("status"));
      }
    }
    if (info_.name == "pods") admitPodUpdate(result, old, statusOnly);
    if (info_.name == "nodes") admitNodeUpdate();
    if (comparable(result) == comparable(old)) return old;  // a no-op update writes nothing
    if (info_.name == "pods" && !statusOnly &&
        !sameJson(field(result, "spec"), field(old, "spec"))) {
      rm->set("generation", json::getInt(rm, "generation", 1) + 1);
    }
    ObjectPtr stored = store_.put(info_.name, result);
    return finishDeletionIfDue(stored);
  }

  void admitPodUpdate(const ObjectPtr& result, const ObjectPtr& old, bool statusOnly) {
    std::string node = nodeNameOf(req_.user);
    if (!node.empty()) {
      if (!statusOnly) {
        throw forbidden("pods", req_.name,
                        "unexpected operation \"UPDATE\", node \"" + node + "\" can only create and delete mirror pods");
      }
      if (json::getString(json::getObject(old, "spec"), "nodeName") != node) {
        throw forbidden("pods", req_.name,
                        "node \"" + node + "\" can only update pod status for pods with spec.nodeName set to itself");
      }
      if (labelsOf(result) != labelsOf(old)) {
        throw forbidden("pods", req_.name, "node \"" + node + "\" cannot update labels through pod status");
      }
    }
    std::vector<StatusCause> causes;
    validateMirrorAnnotationUpdate(result, old, causes);
    // ValidatePodStatusUpdate: the status rules (PodStatus.cpp). A create drops the status and a PUT or
    // PATCH of the pod itself keeps the stored one, so only pods/status writes are checked.
    if (statusOnly) validatePodStatusUpdate(result, old, causes);
    if (!statusOnly) {
      validatePodSpecUpdate(result, old, causes);
      std::set<std::string> names;
      validateOwnerReferences(result, causes);
    }
    if (!causes.empty()) throw invalid("Pod", req_.name, causes);
  }

  void admitNodeUpdate() {
    std::string node = nodeNameOf(req_.user);
    if (!node.empty() && node != req_.name) {
      throw forbidden("nodes", req_.name, "node \"" + node + "\" is not allowed to modify node \"" + req_.name + "\"");
    }
  }

  // An object marked for deletion goes once its grace period is 0 and no finalizer is left.
  ObjectPtr finishDeletionIfDue(const ObjectPtr& stored) {
    ObjectPtr m = meta(stored);
    if (!json::has(m, "deletionTimestamp") || json::getInt(m, "deletionGracePeriodSeconds", 0) != 0) return stored;
    ArrayPtr finalizers = json::getArray(m, "finalizers");
    if (!finalizers.isNull() && finalizers->size() > 0) return stored;
    ObjectPtr last = store_.remove(info_.name, namespaceOf(stored), nameOf(stored));
    return last.isNull() ? stored : last;
  }

  struct DeleteOptions {
    std::optional<int64_t> gracePeriodSeconds;
    std::string uidPrecondition, rvPrecondition;
  };

  DeleteOptions deleteOptions() {
    DeleteOptions opts;
    auto g = req_.query.find("gracePeriodSeconds");
    if (g != req_.query.end() && !g->second.empty()) {
      try {
        opts.gracePeriodSeconds = std::stoll(g->second);
      } catch (...) {
        throw badRequest("gracePeriodSeconds: Invalid value: \"" + g->second + "\"");
      }
    }
    if (req_.query.count("dryRun")) throw badRequest("dryRun is not supported by this server");
    if (!req_.body.empty()) {
      ObjectPtr body = parseBody(req_.body);
      if (body->has("gracePeriodSeconds") && !body->isNull("gracePeriodSeconds")) {
        opts.gracePeriodSeconds = json::getInt(body, "gracePeriodSeconds");
      }
      ObjectPtr pre = json::getObject(body, "preconditions");
      opts.uidPrecondition = json::getString(pre, "uid");
      opts.rvPrecondition = json::getString(pre, "resourceVersion");
      ArrayPtr dryRun = json::getArray(body, "dryRun");
      if (!dryRun.isNull() && dryRun->size() > 0) throw badRequest("dryRun is not supported by this server");
    }
    return opts;
  }

  ApiResponse remove() {
    DeleteOptions opts = deleteOptions();
    ObjectPtr old = getExisting();
    std::string node = nodeNameOf(req_.user);
    if (!node.empty()) {
      if (info_.name == "pods" && json::getString(json::getObject(old, "spec"), "nodeName") != node) {
        throw forbidden("pods", req_.name, "node \"" + node + "\" can only delete pods with spec.nodeName set to itself");
      }
      if (info_.name == "nodes" && req_.name != node) {
        throw forbidden("nodes", req_.name, "node \"" + node + "\" is not allowed to modify node \"" + req_.name + "\"");
      }
    }
    if (!opts.uidPrecondition.empty() && opts.uidPrecondition != uidOf(old)) {
      throw conflict(info_.name, req_.name,
                     "Precondition failed: UID in precondition: " + opts.uidPrecondition +
                         ", UID in object meta: " + uidOf(old));
    }
    if (!opts.rvPrecondition.empty() && opts.rvPrecondition != rvOf(old)) {
      throw conflict(info_.name, req_.name,
                     "Precondition failed: ResourceVersion in precondition: " + opts.rvPrecondition +
                         ", ResourceVersion in object meta: " + rvOf(old));
    }
    if (info_.name != "pods") {
      ObjectPtr last = store_.remove(info_.name, namespaceOf(old), nameOf(old));
      ObjectPtr status = newObject();
      status->set("kind", "Status");
      status->set("apiVersion", "v1");
      status->set("metadata", newObject());
      status->set("status", "Success");
      ObjectPtr details = newObject();
      details->set("name", req_.name);
      details->set("kind", info_.name);
      details->set("uid", uidOf(old));
      status->set("details", details);
      return {200, status};
    }
    return {200, deletePod(old, opts)};
  }

  // The pod strategy's graceful deletion (CheckGracefulDelete + rest.BeforeDelete).
  ObjectPtr deletePod(const ObjectPtr& old, const DeleteOptions& opts) {
    ObjectPtr spec = json::getObject(old, "spec");
    ObjectPtr oldMeta = meta(old);
    std::string phase = json::getString(json::getObject(old, "status"), "phase");
    int64_t period = opts.gracePeriodSeconds ? *opts.gracePeriodSeconds
                                             : json::getInt(spec, "terminationGracePeriodSeconds", 0);
    if (json::getString(spec, "nodeName").empty() || phase == "Succeeded" || phase == "Failed") period = 0;
    if (period < 0) period = 1;
    int64_t now = nowNanos();
    ObjectPtr updated = json::deepCopy(old);
    ObjectPtr m = meta(updated);
    if (json::has(oldMeta, "deletionTimestamp")) {
      if (!json::has(oldMeta, "deletionGracePeriodSeconds")) return removeNow(updated);
      int64_t current = json::getInt(oldMeta, "deletionGracePeriodSeconds");
      if (!opts.gracePeriodSeconds || period >= current) return old;  // pending: nothing changes
      int64_t deadline = parseRfc3339(json::getString(oldMeta, "deletionTimestamp")) - current * 1000000000LL +
                         period * 1000000000LL;
      m->set("deletionTimestamp", json::rfc3339(deadline));
      m->set("deletionGracePeriodSeconds", period);
    } else {
      m->set("deletionTimestamp", json::rfc3339(now + period * 1000000000LL));
      m->set("deletionGracePeriodSeconds", period);
    }
    ArrayPtr finalizers = json::getArray(m, "finalizers");
    bool pendingFinalizers = !finalizers.isNull() && finalizers->size() > 0;
    if (period == 0 && !pendingFinalizers) return removeNow(updated);
    return store_.put("pods", updated);
  }

  ObjectPtr removeNow(const ObjectPtr& lastState) {
    // One DELETED event, carrying the final state (with the deletion timestamp).
    return store_.remove("pods", namespaceOf(lastState), nameOf(lastState), lastState);
  }

  ObjectPtr deleteCollection() {
    LabelSelector labels = LabelSelector::parse(req_.query.count("labelSelector") ? req_.query.at("labelSelector") : "");
    FieldSelector fields = FieldSelector::parse(req_.query.count("fieldSelector") ? req_.query.at("fieldSelector") : "",
                                                info_.fieldSelectors);
    DeleteOptions opts = deleteOptions();
    ObjectPtr listObject = newObject();
    listObject->set("kind", info_.kind + "List");
    listObject->set("apiVersion", "v1");
    ArrayPtr items = new Poco::JSON::Array();
    for (const auto& o : store_.list(info_.name, info_.namespaced ? req_.ns : "")) {
      if (!labels.matches(labelsOf(o)) || !fields.matches(selectableFields(info_.name, o))) continue;
      if (info_.name == "pods") {
        items->add(deletePod(o, opts));
      } else {
        items->add(store_.remove(info_.name, namespaceOf(o), nameOf(o)));
      }
    }
    ObjectPtr listMeta = newObject();
    listMeta->set("resourceVersion", std::to_string(store_.resourceVersion()));
    listObject->set("metadata", listMeta);
    listObject->set("items", items);
    return listObject;
  }

  FakeApiServer::State& state_;
  ObjectStore& store_;
  const ApiRequest& req_;
  const ResourceInfo& info_;
};

}  // namespace

const std::vector<ResourceInfo>& resources() {
  static const std::vector<ResourceInfo> all = {
      {"pods", "Pod", "pod", true,
       {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
        "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}},
      {"nodes", "Node", "node", false, {"metadata.name", "spec.unschedulable"}},
      {"events", "Event", "event", true,
       {"metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
        "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}},
      {"namespaces", "Namespace", "namespace", false, {"metadata.name", "status.phase"}},
  };
  return all;
}

const ResourceInfo* findResource(const std::string& name) {
  for (const auto& r : resources()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

std::map<std::string, std::string> selectableFields(const std::string& resource, const ObjectPtr& o) {
  std::map<std::string, std::string> f;
  f["metadata.name"] = nameOf(o);
  f["metadata.namespace"] = namespaceOf(o);
  ObjectPtr spec = json::getObject(o, "spec");
  ObjectPtr status = json::getObject(o, "status");
  if (resource == "pods") {
    f["spec.nodeName"] = json::getString(spec, "nodeName");
    f["spec.restartPolicy"] = json::getString(spec, "restartPolicy");
    f["spec.schedulerName"] = json::getString(spec, "schedulerName");
    f["spec.serviceAccountName"] = json::getString(spec, "serviceAccountName");
    f["spec.hostNetwork"] = json::getBool(spec, "hostNetwork") ? "true" : "false";
    f["status.phase"] = json::getString(status, "phase");
    f["status.podIP"] = json::getString(status, "podIP");
    f["status.nominatedNodeName"] = json::getString(status, "nominatedNodeName");
  } else if (resource == "nodes") {
    f["spec.unschedulable"] = json::getBool(spec, "unschedulable") ? "true" : "false";
  } else if (resource == "events") {
    ObjectPtr involved = json::getObject(o, "involvedObject");
    for (const char* k : {"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"}) {
      f[std::string("involvedObject.") + k] = json::getString(involved, k);
    }
    f["reason"] = json::getString(o, "reason");
    f["reportingComponent"] = json::getString(o, "reportingComponent");
    f["source"] = json::getString(json::getObject(o, "source"), "component");
    f["type"] = json::getString(o, "type");
  } else if (resource == "namespaces") {
    f["status.phase"] = json::getString(status, "phase");
  }
  return f;
}

std::string nodeNameOf(const UserInfo& user) {
  static const std::string prefix = "system:node:";
  if (!user.inGroup("system:nodes") || user.name.compare(0, prefix.size(), prefix) != 0) return "";
  return user.name.substr(prefix.size());
}

void authorize(const ApiRequest& req) {
  const UserInfo& user = req.user;
  if (user.inGroup("system:masters")) return;
  std::string resource = req.subresource.empty() ? req.resource : req.resource + "/" + req.subresource;
  if (isNode(user)) {
    static const std::map<std::string, std::set<std::string>> nodeRole = {
        {"pods", {"get", "list", "watch", "create", "delete"}},
        {"pods/status", {"update", "patch"}},
        {"nodes", {"get", "list", "watch", "create", "delete", "update", "patch"}},
        {"nodes/status", {"update", "patch"}},
        {"events", {"create", "update", "patch"}},
    };
    auto it = nodeRole.find(resource);
    if (it != nodeRole.end() && it->second.count(req.verb)) return;
  }
  const ResourceInfo* info = findResource(req.resource);
  std::string scope = info && info->namespaced && !req.ns.empty() ? " in the namespace \"" + req.ns + "\""
                                                                  : " at the cluster scope";
  throw forbidden(req.resource, req.name,
                  "User \"" + user.name + "\" cannot " + req.verb + " resource \"" + resource +
                      "\" in API group \"\"" + scope);
}

ApiResponse FakeApiServer::State::serve(const ApiRequest& request) {
  const ResourceInfo* info = findResource(request.resource);
  if (info == nullptr) throw pathNotFound();
  authorize(request);
  std::unique_lock<std::mutex> lock(mutex);
  Operations ops(*this, request, *info);
  uint64_t before = store.resourceVersion();
  ApiResponse response = ops.run();
  if (store.resourceVersion() != before) changed.notify_all();
  // Hand out copies: stored objects are shared with the watch history.
  if (!response.body.isNull()) response.body = json::deepCopy(response.body);
  return response;
}

int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t parseRfc3339(const std::string& text) {
  std::tm tm{};
  if (text.size() < 20) return 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000LL;
}

bool UserInfo::inGroup(const std::string& group) const {
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

}  // namespace podwarden::fakeapi
