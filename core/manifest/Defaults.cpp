#include "manifest/Defaults.h"

#include <Poco/Types.h>

namespace podwarden::manifest {

namespace {

using Var = Poco::Dynamic::Var;

bool absent(const json::ObjectPtr& o, const std::string& key) {
  if (!o->has(key)) return true;
  Var v = o->get(key);
  return v.isEmpty() || (v.type() == typeid(std::string) && v.extract<std::string>().empty());
}

void setIfAbsent(json::ObjectPtr o, const std::string& key, const Var& value) {
  if (absent(o, key)) o->set(key, value);
}

// Probe numbers: Kubernetes treats 0 as unset and defaults it.
void setIfZero(json::ObjectPtr o, const std::string& key, Poco::Int64 value) {
  if (absent(o, key) || json::getInt(o, key, 0) == 0) o->set(key, value);
}

json::ObjectPtr objectAt(const json::ObjectPtr& o, const std::string& key) {
  return json::getObject(o, key);
}

void httpGetDefaults(const json::ObjectPtr& handler) {
  json::ObjectPtr http = objectAt(handler, "httpGet");
  if (http.isNull()) return;
  setIfAbsent(http, "path", std::string("/"));
  setIfAbsent(http, "scheme", std::string("HTTP"));
}

void containerDefaults(json::ObjectPtr c, bool hostNetwork) {
  setIfAbsent(c, "imagePullPolicy", defaultPullPolicy(json::getString(c, "image")));
  setIfAbsent(c, "terminationMessagePath", std::string("/dev/termination-log"));
  setIfAbsent(c, "terminationMessagePolicy", std::string("File"));
  json::ArrayPtr ports = json::getArray(c, "ports");
  if (!ports.isNull()) {
    for (size_t i = 0; i < ports->size(); ++i) {
      json::ObjectPtr p = ports->getObject(static_cast<unsigned>(i));
      if (p.isNull()) continue;
      setIfAbsent(p, "protocol", std::string("TCP"));
      // hostNetwork pods listen on the host: the host port is the container port.
      if (hostNetwork && json::getInt(p, "hostPort", 0) == 0 && p->has("containerPort")) {
        p->set("hostPort", p->get("containerPort"));
      }
    }
  }
  for (const char* key : {"livenessProbe", "readinessProbe", "startupProbe"}) {
    json::ObjectPtr probe = objectAt(c, key);
    if (probe.isNull()) continue;
    setIfZero(probe, "timeoutSeconds", 1);
    setIfZero(probe, "periodSeconds", 10);
    setIfZero(probe, "successThreshold", 1);
    setIfZero(probe, "failureThreshold", 3);
    httpGetDefaults(probe);
  }
  json::ObjectPtr lifecycle = objectAt(c, "lifecycle");
  if (!lifecycle.isNull()) {
    for (const char* hook : {"postStart", "preStop"}) {
      json::ObjectPtr h = objectAt(lifecycle, hook);
      if (!h.isNull()) httpGetDefaults(h);
    }
  }
  // Requests default to limits per resource (API defaulting), which fixes the pod's QoS class.
  json::ObjectPtr resources = objectAt(c, "resources");
  json::ObjectPtr limits = objectAt(resources, "limits");
  if (!limits.isNull() && limits->size() > 0) {
    json::ObjectPtr requests = json::ensureObject(resources, "requests");
    for (const auto& kv : *limits) {
      if (!requests->has(kv.first)) requests->set(kv.first, kv.second);
    }
  }
}

bool sameToleration(const json::ObjectPtr& t, const std::string& op, const std::string& effect) {
  return json::getString(t, "key").empty() && json::getString(t, "operator", "Equal") == op &&
         json::getString(t, "effect") == effect && json::getString(t, "value").empty();
}

}  // namespace

std::string defaultPullPolicy(const std::string& image) {
  if (image.find('@') != std::string::npos) return "IfNotPresent";
  size_t slash = image.rfind('/');
  size_t colon = image.rfind(':');
  // A colon before the last '/' belongs to a registry host:port, not to a tag.
  bool hasTag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (!hasTag) return "Always";
  return image.substr(colon + 1) == "latest" ? "Always" : "IfNotPresent";
}

void applyDefaults(json::ObjectPtr pod, bool filePod) {
  json::ObjectPtr spec = json::ensureObject(pod, "spec");
  setIfAbsent(spec, "restartPolicy", std::string("Always"));
  setIfAbsent(spec, "dnsPolicy", std::string("ClusterFirst"));
  setIfAbsent(spec, "terminationGracePeriodSeconds", static_cast<Poco::Int64>(30));
  setIfAbsent(spec, "schedulerName", std::string("default-scheduler"));
  setIfAbsent(spec, "enableServiceLinks", true);
  if (absent(spec, "securityContext")) spec->set("securityContext", json::ObjectPtr(new json::Object()));
  bool hostNetwork = json::getBool(spec, "hostNetwork", false);
  for (const char* key : {"initContainers", "containers"}) {
    json::ArrayPtr list = json::getArray(spec, key);
    if (list.isNull()) continue;
    for (size_t i = 0; i < list->size(); ++i) {
      json::ObjectPtr c = list->getObject(static_cast<unsigned>(i));
      if (!c.isNull()) containerDefaults(c, hostNetwork);
    }
  }
  json::ArrayPtr volumes = json::getArray(spec, "volumes");
  if (!volumes.isNull()) {
    for (size_t i = 0; i < volumes->size(); ++i) {
      json::ObjectPtr v = volumes->getObject(static_cast<unsigned>(i));
      if (v.isNull()) continue;
      json::ObjectPtr hostPath = objectAt(v, "hostPath");
      if (!hostPath.isNull() && !hostPath->has("type")) hostPath->set("type", std::string(""));
      // "emptyDir:" with no body means an empty emptyDir source.
      if (v->has("emptyDir") && v->get("emptyDir").isEmpty())
        v->set("emptyDir", json::ObjectPtr(new json::Object()));
    }
  }
  if (filePod) {
    // The kubelet adds (or keeps) {operator: Exists, effect: NoExecute} on file pods only, so node NoExecute
    // taints never evict them.
    json::ArrayPtr tolerations = json::getArray(spec, "tolerations");
    if (tolerations.isNull()) {
      tolerations = new json::Array();
      spec->set("tolerations", tolerations);
    }
    bool present = false;
    for (size_t i = 0; i < tolerations->size(); ++i) {
      json::ObjectPtr t = tolerations->getObject(static_cast<unsigned>(i));
      if (!t.isNull() && sameToleration(t, "Exists", "NoExecute")) present = true;
    }
    if (!present) {
      json::ObjectPtr t = new json::Object();
      t->set("operator", std::string("Exists"));
      t->set("effect", std::string("NoExecute"));
      tolerations->add(t);
    }
  }
}

}  // namespace podwarden::manifest
