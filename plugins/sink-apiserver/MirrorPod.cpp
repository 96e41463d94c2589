#include "MirrorPod.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPResponse.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace podwarden::sink_apiserver {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string stringify(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(v, out);
  return out.str();
}

std::string optString(const Object::Ptr& o, const std::string& key) {
  if (o.isNull() || !o->has(key) || o->isNull(key)) return "";
  Poco::Dynamic::Var v = o->get(key);
  return v.isString() ? v.convert<std::string>() : "";
}

Object::Ptr optObject(const Object::Ptr& o, const std::string& key) {
  if (o.isNull() || !o->has(key) || !o->isObject(key)) return nullptr;
  return o->getObject(key);
}

// The `ip` of every entry of status.<list> (podIPs, hostIPs), in order.
std::vector<std::string> ipsOf(const Object::Ptr& status, const std::string& list) {
  std::vector<std::string> ips;
  if (status.isNull() || !status->has(list) || !status->isArray(list)) return ips;
  Array::Ptr items = status->getArray(list);
  for (size_t i = 0; i < items->size(); ++i) {
    if (items->isObject(i)) ips.push_back(optString(items->getObject(i), "ip"));
  }
  return ips;
}

// Parsing again gives objects with sorted keys, so equal content gives equal text.
std::string canonical(const Poco::Dynamic::Var& v) {
  Poco::JSON::Parser parser;
  return stringify(parser.parse(stringify(v)));
}

}  // namespace

StaticPod staticPodFrom(const Object::Ptr& pod, const std::string& where) {
  auto bad = [&](const std::string& field, const std::string& what) {
    throw std::invalid_argument(where + "." + field + " " + what);
  };
  Object::Ptr meta = optObject(pod, "metadata");
  if (meta.isNull()) bad("metadata", "is missing");
  StaticPod p;
  p.uid = optString(meta, "uid");
  p.name = optString(meta, "name");
  p.ns = optString(meta, "namespace");
  if (p.uid.empty()) bad("metadata.uid", "is missing");
  if (p.name.empty()) bad("metadata.name", "is missing");
  if (p.ns.empty()) p.ns = "default";
  Object::Ptr annotations = optObject(meta, "annotations");
  p.hash = optString(annotations, kHashAnnotation);
  if (p.hash.empty()) p.hash = p.uid;
  p.seen = optString(annotations, kSeenAnnotation);
  Object::Ptr spec = optObject(pod, "spec");
  if (spec.isNull()) bad("spec", "is missing");

  // The mirror: a copy of the static pod's identity and spec; the API server assigns uid, resourceVersion
  // and creationTimestamp. The status goes separately through pods/status.
  Object::Ptr mirrorMeta = new Object;
  mirrorMeta->set("name", p.name);
  mirrorMeta->set("namespace", p.ns);
  if (Object::Ptr labels = optObject(meta, "labels"); !labels.isNull()) mirrorMeta->set("labels", labels);
  Object::Ptr mirrorAnnotations = new Object;
  if (!annotations.isNull()) {
    for (const auto& [k, v] : *annotations) mirrorAnnotations->set(k, v);
  }
  mirrorAnnotations->set(kMirrorAnnotation, p.hash);
  mirrorMeta->set("annotations", mirrorAnnotations);
  Object::Ptr mirror = new Object;
  mirror->set("apiVersion", "v1");
  mirror->set("kind", "Pod");
  mirror->set("metadata", mirrorMeta);
  mirror->set("spec", spec);
  p.mirrorJson = stringify(mirror);

  if (Object::Ptr status = optObject(pod, "status"); !status.isNull()) p.statusJson = canonical(status);
  return p;
}

std::string mirrorCreateBody(const StaticPod& pod, const std::string& nodeName, const std::string& nodeUid) {
  Poco::JSON::Parser parser;
  Object::Ptr mirror = parser.parse(pod.mirrorJson).extract<Object::Ptr>();
  Object::Ptr owner = new Object;
  owner->set("apiVersion", "v1");
  owner->set("kind", "Node");
  owner->set("name", nodeName);
  owner->set("uid", nodeUid);
  owner->set("controller", true);
  Array::Ptr owners = new Array;
  owners->add(owner);
  mirror->getObject("metadata")->set("ownerReferences", owners);
  return stringify(mirror);
}

std::optional<MirrorInfo> mirrorInfoFrom(const Object::Ptr& pod) {
  Object::Ptr meta = optObject(pod, "metadata");
  std::string hash = optString(optObject(meta, "annotations"), kMirrorAnnotation);
  if (meta.isNull() || hash.empty()) return std::nullopt;
  MirrorInfo m;
  m.ns = optString(meta, "namespace");
  m.name = optString(meta, "name");
  m.uid = optString(meta, "uid");
  m.hash = hash;
  m.resourceVersion = optString(meta, "resourceVersion");
  m.creationTimestamp = optString(meta, "creationTimestamp");
  m.deleting = !optString(meta, "deletionTimestamp").empty();
  Object::Ptr status = optObject(pod, "status");
  m.podIPs = ipsOf(status, "podIPs");
  m.hostIPs = ipsOf(status, "hostIPs");
  return m;
}

std::string statusPatch(const std::string& statusJson, const MirrorInfo& mirror) {
  Poco::JSON::Parser parser;
  Object::Ptr status = parser.parse(statusJson).extract<Object::Ptr>();
  for (const auto& [list, current] : {std::make_pair("podIPs", &mirror.podIPs), std::make_pair("hostIPs", &mirror.hostIPs)}) {
    std::vector<std::string> wanted = ipsOf(status, list);
    Array::Ptr items = status->has(list) && status->isArray(list) ? status->getArray(list) : Array::Ptr(new Array);
    bool stale = false;
    for (const auto& ip : *current) {
      if (std::find(wanted.begin(), wanted.end(), ip) != wanted.end()) continue;
      Object::Ptr gone = new Object;
      gone->set("ip", ip);
      gone->set("$patch", "delete");
      items->add(gone);
      stale = true;
    }
    if (!stale && !status->has(list)) continue;
    status->set(list, items);
    Array::Ptr order = new Array;
    for (const auto& ip : wanted) {
      Object::Ptr o = new Object;
      o->set("ip", ip);
      order->add(o);
    }
    status->set(std::string("$setElementOrder/") + list, order);
  }
  Object::Ptr patch = new Object;
  patch->set("status", status);
  return stringify(patch);
}

ApiStatus parseStatus(const std::string& body) {
  ApiStatus s;
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var v = parser.parse(body);
    if (v.type() != typeid(Object::Ptr)) return s;
    Object::Ptr o = v.extract<Object::Ptr>();
    if (optString(o, "kind") != "Status") return s;
    s.reason = optString(o, "reason");
    s.message = optString(o, "message");
  } catch (const Poco::Exception&) {
    // Not JSON (a proxy's HTML page, say): describeFailure shows the start of the body instead.
  }
  return s;
}

std::string describeFailure(int code, const std::string& body) {
  std::string text = std::to_string(code) + " " +
                     Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(code));
  ApiStatus s = parseStatus(body);
  if (!s.message.empty()) return text + ": " + s.message;
  std::string snippet = body.substr(0, 200);
  for (char& c : snippet) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!snippet.empty() && snippet.back() == ' ') snippet.pop_back();
  return snippet.empty() ? text : text + ": " + snippet;
}

std::string urlEncode(const std::string& value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace podwarden::sink_apiserver
