// HttpHandler.cpp - the HTTP front end of the fake API server: authentication (client certificate or bearer
// token), fault injection, routing of /api/v1 paths to API requests, discovery documents, server-side
// tables, watch streams, and the request log.
#include "Selectors.h"
#include "ServerState.h"
#include "util/Json.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <openssl/x509.h>

#include <chrono>
#include <sstream>

namespace podwarden::fakeapi {

using ObjectPtr = Poco::JSON::Object::Ptr;
using ArrayPtr = Poco::JSON::Array::Ptr;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

namespace {

constexpr size_t kLoggedBodyBytes = 64 * 1024;
constexpr int kDefaultWatchTimeoutSeconds = 1800;
constexpr int kBookmarkIntervalSeconds = 10;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// The Table version the Accept header asks for ("v1", "v1beta1"), or empty when it asks for plain objects.
std::string tableVersion(const std::string& accept) {
  for (const std::string& range : split(accept, ',')) {
    auto params = split(range, ';');
    std::string type = trim(params[0]);
    if (type != "application/json" && type != "*/*" && type != "application/*") continue;
    std::string as, g, v;
    for (size_t i = 1; i < params.size(); ++i) {
      std::string p = trim(params[i]);
      size_t eq = p.find('=');
      if (eq == std::string::npos) continue;
      std::string k = p.substr(0, eq), val = p.substr(eq + 1);
      if (k == "as") as = val;
      if (k == "g") g = val;
      if (k == "v") v = val;
    }
    if (as.empty()) return "";  // plain JSON is acceptable: the first acceptable range wins
    if (as == "Table" && g == "meta.k8s.io" && (v == "v1" || v == "v1beta1")) return v;
    // Anything else (aggregated discovery, PartialObjectMetadata, ...) is not served: try the next range.
  }
  return "";
}

struct ActiveHandler {
  explicit ActiveHandler(FakeApiServer::State& s) : state(s) {
    std::lock_guard<std::mutex> lock(state.mutex);
    ++state.activeHandlers;
  }
  ~ActiveHandler() {
    std::lock_guard<std::mutex> lock(state.mutex);
    --state.activeHandlers;
    state.handlersIdle.notify_all();
  }
  FakeApiServer::State& state;
};

class ApiHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ApiHandler(std::shared_ptr<FakeApiServer::State> state) : state_(std::move(state)) {}

  void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
    ActiveHandler active(*state_);
    RequestRecord rec;
    rec.time = std::chrono::system_clock::now();
    rec.method = request.getMethod();
    Poco::URI uri;
    try {
      uri = Poco::URI(request.getURI());
    } catch (const Poco::Exception&) {
      uri = Poco::URI("/");
    }
    rec.path = uri.getPath();
    rec.query = uri.getRawQuery();
    rec.contentType = request.get("Content-Type", "");
    std::string body;
    if (request.getMethod() != "GET" && request.getMethod() != "HEAD") {
      Poco::StreamCopier::copyToString(request.stream(), body);
    }
    rec.body = body.substr(0, kLoggedBodyBytes);
    try {
      std::optional<UserInfo> user = authenticate(request);
      if (!user) throw unauthorized();
      rec.user = user->name;
      injectFault(rec);
      route(request, response, uri, body, *user, rec);
    } catch (const ApiError& e) {
      rec.code = e.code();
      sendStatus(response, e);
    } catch (const Poco::Exception& e) {
      // The client went away in the middle of an answer; nothing left to send.
      if (rec.code == 0) rec.code = 500;
    } catch (const std::exception& e) {
      ApiError error(500, "InternalError", std::string("Internal error occurred: ") + e.what());
      rec.code = 500;
      try {
        sendStatus(response, error);
      } catch (...) {
      }
    }
    if (!rec.watch) state_->record(rec);
  }

 private:
  std::optional<UserInfo> authenticate(HTTPServerRequest& request) {
    try {
      auto& impl = static_cast<Poco::Net::HTTPServerRequestImpl&>(request);
      Poco::Net::SecureStreamSocket socket(impl.socket());
      if (socket.havePeerCertificate()) {
        Poco::Net::X509Certificate cert = socket.peerCertificate();
        UserInfo user;
        const X509_NAME* subject = X509_get_subject_name(cert.certificate());
        for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
          const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
          int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
          const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
          std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                            static_cast<size_t>(ASN1_STRING_length(data)));
          if (nid == NID_commonName) user.name = value;
          if (nid == NID_organizationName) user.groups.push_back(value);
        }
        if (!user.name.empty()) {
          user.groups.push_back("system:authenticated");
          return user;
        }
      }
    } catch (const Poco::Exception&) {
      // Not a TLS connection or no certificate: try the token.
    }
    std::string auth = request.get("Authorization", "");
    static const std::string bearer = "Bearer ";
    if (auth.compare(0, bearer.size(), bearer) == 0) {
      auto it = state_->options.tokens.find(trim(auth.substr(bearer.size())));
      if (it != state_->options.tokens.end()) {
        UserInfo user = it->second;
        user.groups.push_back("system:authenticated");
        return user;
      }
    }
    return std::nullopt;
  }

  void injectFault(const RequestRecord& rec) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (auto it = state_->faults.begin(); it != state_->faults.end(); ++it) {
      if ((!it->method.empty() && it->method != rec.method) || rec.path.find(it->pathSubstring) == std::string::npos) {
        continue;
      }
      int code = it->code;
      if (--it->remaining <= 0) state_->faults.erase(it);
      auto segs = split(rec.path, '/');
      std::string resource = segs.size() >= 2 ? segs[segs.size() - 2] : "";
      std::string name = segs.empty() ? "" : segs.back();
      throw injectedFault(code, resource, name);
    }
  }

  void sendJson(HTTPServerResponse& response, int code, const ObjectPtr& body) {
    std::string text = json::stringify(body);
    response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(code));
    response.setContentType("application/json");
    response.set("Cache-Control", "no-cache, private");
    response.sendBuffer(text.data(), text.size());
  }

  void sendStatus(HTTPServerResponse& response, const ApiError& error) {
    if (error.retryAfterSeconds() > 0) response.set("Retry-After", std::to_string(error.retryAfterSeconds()));
    sendJson(response, error.code(), error.toStatus());
  }

  void sendText(HTTPServerResponse& response, const std::string& text) {
    response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    response.setContentType("text/plain; charset=utf-8");
    response.sendBuffer(text.data(), text.size());
  }

  void route(HTTPServerRequest& request, HTTPServerResponse& response, const Poco::URI& uri, const std::string& body,
             const UserInfo& user, RequestRecord& rec) {
    const std::string& path = rec.path;
    bool get = request.getMethod() == "GET" || request.getMethod() == "HEAD";
    auto onlyGet = [&] {
      if (!get) throw methodNotAllowed();
    };
    if (path == "/healthz" || path == "/livez" || path == "/readyz" || path.rfind("/healthz/", 0) == 0 ||
        path.rfind("/livez/", 0) == 0 || path.rfind("/readyz/", 0) == 0) {
      onlyGet();
      rec.code = 200;
      sendText(response, "ok");
      return;
    }
    if (path == "/version" || path == "/version/") {
      onlyGet();
      rec.code = 200;
      sendJson(response, 200, versionInfo());
      return;
    }
    if (path == "/api" || path == "/api/") {
      onlyGet();
      rec.code = 200;
      sendJson(response, 200, apiVersions());
      return;
    }
    if (path == "/apis" || path == "/apis/") {
      onlyGet();
      rec.code = 200;
      ObjectPtr groups = new Poco::JSON::Object();
      groups->set("kind", "APIGroupList");
      groups->set("apiVersion", "v1");
      groups->set("groups", ArrayPtr(new Poco::JSON::Array()));
      sendJson(response, 200, groups);
      return;
    }
    if (path == "/api/v1" || path == "/api/v1/") {
      onlyGet();
      rec.code = 200;
      sendJson(response, 200, resourceList());
      return;
    }
    if (path == "/") {
      onlyGet();
      ObjectPtr paths = new Poco::JSON::Object();
      ArrayPtr list = new Poco::JSON::Array();
      for (const char* p : {"/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"}) list->add(p);
      paths->set("paths", list);
      rec.code = 200;
      sendJson(response, 200, paths);
      return;
    }
    static const std::string prefix = "/api/v1/";
    if (path.compare(0, prefix.size(), prefix) != 0) throw pathNotFound();
    ApiRequest areq;
    bool watchPath = false;
    decodePath(path.substr(prefix.size()), request.getMethod(), areq, watchPath);
    for (const auto& kv : uri.getQueryParameters()) areq.query[kv.first] = kv.second;
    areq.contentType = rec.contentType;
    areq.body = body;
    areq.user = user;
    bool watch = watchPath;
    auto w = areq.query.find("watch");
    if (areq.verb == "list" && w != areq.query.end() && (w->second == "true" || w->second == "1")) watch = true;
    std::string tableV = tableVersion(request.get("Accept", ""));
    if (watch) {
      if (watchPath && !areq.name.empty()) {
        std::string& fs = areq.query["fieldSelector"];
        fs = (fs.empty() ? "" : fs + ",") + "metadata.name=" + areq.name;
        areq.name.clear();
      }
      areq.verb = "watch";
      serveWatch(request, response, areq, tableV, rec);
      return;
    }
    ApiResponse result = state_->serve(areq);
    rec.code = result.code;
    if (!tableV.empty() && (areq.verb == "get" || areq.verb == "list") && areq.subresource.empty()) {
      std::string include = areq.query.count("includeObject") ? areq.query.at("includeObject") : "Metadata";
      std::vector<ObjectPtr> objects;
      std::string rv;
      if (areq.verb == "list") {
        ArrayPtr items = json::getArray(result.body, "items");
        for (const auto& v : *items) objects.push_back(v.extract<ObjectPtr>());
        rv = json::getString(json::getObject(result.body, "metadata"), "resourceVersion");
      } else {
        objects.push_back(result.body);
        rv = json::getString(json::getObject(result.body, "metadata"), "resourceVersion");
      }
      ObjectPtr table = makeTable(areq.resource, objects, include, rv);
      table->set("apiVersion", "meta.k8s.io/" + tableV);
      if (areq.verb == "list") {
        std::string cont = json::getString(json::getObject(result.body, "metadata"), "continue");
        if (!cont.empty()) json::getObject(table, "metadata")->set("continue", cont);
      }
      sendJson(response, result.code, table);
      return;
    }
    sendJson(response, result.code, result.body);
  }

  // "namespaces/ns/pods/name/status" -> resource, namespace, name, subresource, verb.
  void decodePath(const std::string& rest, const std::string& method, ApiRequest& areq, bool& watchPath) {
    auto segs = split(rest, '/');
    if (!segs.empty() && segs.back().empty()) segs.pop_back();
    if (!segs.empty() && segs[0] == "watch") {
      watchPath = true;
      segs.erase(segs.begin());
    }
    if (segs.empty()) throw pathNotFound();
    for (const auto& s : segs) {
      if (s.empty()) throw pathNotFound();
    }
    if (segs[0] == "namespaces" && segs.size() >= 3) {
      areq.ns = segs[1];
      areq.resource = segs[2];
      if (segs.size() > 3) areq.name = segs[3];
      if (segs.size() > 4) areq.subresource = segs[4];
      if (segs.size() > 5) throw pathNotFound();
    } else {
      areq.resource = segs[0];
      if (segs.size() > 1) areq.name = segs[1];
      if (segs.size() > 2) areq.subresource = segs[2];
      if (segs.size() > 3) throw pathNotFound();
    }
    const ResourceInfo* info = findResource(areq.resource);
    if (info == nullptr) throw pathNotFound();
    if (!info->namespaced && !areq.ns.empty()) throw pathNotFound();
    if (info->namespaced && areq.ns.empty() && !areq.name.empty()) throw pathNotFound();
    if (!areq.subresource.empty() &&
        (areq.subresource != "status" || (areq.resource != "pods" && areq.resource != "nodes"))) {
      throw pathNotFound();
    }
    if (watchPath && method != "GET") throw methodNotAllowed();
    bool named = !areq.name.empty();
    if (!areq.subresource.empty()) {
      if (method == "GET") {
        areq.verb = "get";
      } else if (method == "PUT") {
        areq.verb = "update";
      } else if (method == "PATCH") {
        areq.verb = "patch";
      } else {
        throw methodNotAllowed();
      }
      return;
    }
    if (method == "GET") {
      areq.verb = named ? "get" : "list";
    } else if (method == "POST" && !named) {
      areq.verb = "create";
    } else if (method == "PUT" && named) {
      areq.verb = "update";
    } else if (method == "PATCH" && named) {
      areq.verb = "patch";
    } else if (method == "DELETE") {
      areq.verb = named ? "delete" : "deletecollection";
    } else {
      throw methodNotAllowed();
    }
  }

  ObjectPtr versionInfo() {
    const std::string& v = state_->options.gitVersion;
    ObjectPtr o = new Poco::JSON::Object();
    std::string major = "1", minor = "28";
    size_t dot1 = v.find('.'), dot2 = v.find('.', dot1 == std::string::npos ? 0 : dot1 + 1);
    if (v.size() > 1 && dot1 != std::string::npos) {
      major = v.substr(1, dot1 - 1);
      minor = v.substr(dot1 + 1, dot2 == std::string::npos ? std::string::npos : dot2 - dot1 - 1);
    }
    o->set("major", major);
    o->set("minor", minor);
    o->set("gitVersion", v);
    o->set("gitCommit", "0000000000000000000000000000000000000000");
    o->set("gitTreeState", "clean");
    o->set("buildDate", "2024-01-01T00:00:00Z");
    o->set("goVersion", "go1.22.0");
    o->set("compiler", "gc");
    o->set("platform", "linux/amd64");
    return o;
  }

  ObjectPtr apiVersions() {
    ObjectPtr o = new Poco::JSON::Object();
    o->set("kind", "APIVersions");
    ArrayPtr versions = new Poco::JSON::Array();
    versions->add("v1");
    o->set("versions", versions);
    ArrayPtr addresses = new Poco::JSON::Array();
    ObjectPtr a = new Poco::JSON::Object();
    a->set("clientCIDR", "0.0.0.0/0");
    a->set("serverAddress", "127.0.0.1:" + std::to_string(state_->port));
    addresses->add(a);
    o->set("serverAddressByClientCIDRs", addresses);
    return o;
  }

  ObjectPtr resourceList() {
    struct Entry {
      const char* name;
      const char* singular;
      bool namespaced;
      const char* kind;
      std::vector<const char*> verbs;
      std::vector<const char*> shortNames;
      std::vector<const char*> categories;
    };
    const std::vector<Entry> entries = {
        {"events", "event", true, "Event",
         {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, {"ev"}, {}},
        {"namespaces", "namespace", false, "Namespace", {"create", "get", "list", "watch"}, {"ns"}, {}},
        {"nodes", "node", false, "Node",
         {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, {"no"}, {}},
        {"nodes/status", "", false, "Node", {"get", "patch", "update"}, {}, {}},
        {"pods", "pod", true, "Pod",
         {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}, {"po"}, {"all"}},
        {"pods/status", "", true, "Pod", {"get", "patch", "update"}, {}, {}},
    };
    ObjectPtr o = new Poco::JSON::Object();
    o->set("kind", "APIResourceList");
    o->set("apiVersion", "v1");
    o->set("groupVersion", "v1");
    ArrayPtr list = new Poco::JSON::Array();
    for (const auto& e : entries) {
      ObjectPtr r = new Poco::JSON::Object();
      r->set("name", e.name);
      r->set("singularName", e.singular);
      r->set("namespaced", e.namespaced);
      r->set("kind", e.kind);
      ArrayPtr verbs = new Poco::JSON::Array();
      for (const char* v : e.verbs) verbs->add(v);
      r->set("verbs", verbs);
      if (!e.shortNames.empty()) {
        ArrayPtr shortNames = new Poco::JSON::Array();
        for (const char* s : e.shortNames) shortNames->add(s);
        r->set("shortNames", shortNames);
      }
      if (!e.categories.empty()) {
        ArrayPtr categories = new Poco::JSON::Array();
        for (const char* c : e.categories) categories->add(c);
        r->set("categories", categories);
      }
      list->add(r);
    }
    o->set("resources", list);
    return o;
  }

  // --- watch ---

  struct WatchFilter {
    const ResourceInfo* info;
    std::string ns;
    LabelSelector labels;
    FieldSelector fields;
    bool matches(const ObjectPtr& o) const {
      if (o.isNull()) return false;
      if (info->namespaced && !ns.empty() && json::getString(json::getObject(o, "metadata"), "namespace") != ns) {
        return false;
      }
      return labels.matches(labelsOf(o)) && fields.matches(selectableFields(info->name, o));
    }
  };

  std::string eventLine(const std::string& type, const ObjectPtr& object, const std::string& resource,
                        const std::string& tableV) {
    ObjectPtr ev = new Poco::JSON::Object();
    ev->set("type", type);
    if (!tableV.empty() && type != "ERROR" && type != "BOOKMARK") {
      ObjectPtr table = makeTable(resource, {object}, "Metadata",
                                  json::getString(json::getObject(object, "metadata"), "resourceVersion"));
      table->set("apiVersion", "meta.k8s.io/" + tableV);
      ev->set("object", table);
    } else {
      ev->set("object", object);
    }
    return json::stringify(ev) + "\n";
  }

  std::string bookmarkLine(const ResourceInfo& info, uint64_t rv, bool initialEventsEnd) {
    ObjectPtr object = new Poco::JSON::Object();
    object->set("kind", info.kind);
    object->set("apiVersion", "v1");
    ObjectPtr meta = new Poco::JSON::Object();
    meta->set("resourceVersion", std::to_string(rv));
    if (initialEventsEnd) {
      ObjectPtr annotations = new Poco::JSON::Object();
      annotations->set("k8s.io/initial-events-end", "true");
      meta->set("annotations", annotations);
    }
    object->set("metadata", meta);
    return eventLine("BOOKMARK", object, info.name, "");
  }

  void serveWatch(HTTPServerRequest& request, HTTPServerResponse& response, ApiRequest& areq,
                  const std::string& tableV, RequestRecord& rec) {
    const ResourceInfo* info = findResource(areq.resource);
    authorize(areq);
    auto param = [&](const char* key) { return areq.query.count(key) ? areq.query.at(key) : std::string(); };
    WatchFilter filter{info, areq.ns, LabelSelector::parse(param("labelSelector")),
                       FieldSelector::parse(param("fieldSelector"), info->fieldSelectors)};
    std::string rvParam = param("resourceVersion");
    bool bookmarks = param("allowWatchBookmarks") == "true" || param("allowWatchBookmarks") == "1";
    bool sendInitial = param("sendInitialEvents") == "true";
    int timeout = kDefaultWatchTimeoutSeconds;
    if (!param("timeoutSeconds").empty()) {
      try {
        timeout = std::stoi(param("timeoutSeconds"));
      } catch (...) {
        throw badRequest("timeoutSeconds: Invalid value: \"" + param("timeoutSeconds") + "\"");
      }
    }
    uint64_t fromRv = 0;
    if (!rvParam.empty() && rvParam != "0") {
      try {
        fromRv = std::stoull(rvParam);
      } catch (...) {
        throw badRequest("resourceVersion: Invalid value: \"" + rvParam + "\": must be a number");
      }
    }

    std::string pending;
    uint64_t cursor = 0, epoch = 0;
    bool expired = false;
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      if (!state_->serving) throw ApiError(503, "ServiceUnavailable", "the server is shutting down");
      epoch = state_->epoch;
      ObjectStore& store = state_->store;
      if (fromRv == 0 || sendInitial) {
        for (const auto& o : store.list(info->name, info->namespaced ? areq.ns : "")) {
          if (filter.matches(o)) pending += eventLine("ADDED", o, info->name, tableV);
        }
        cursor = store.resourceVersion();
        if (sendInitial && bookmarks) pending += bookmarkLine(*info, cursor, true);
      } else if (fromRv < store.oldestWatchable()) {
        expired = true;
        ApiError gone = resourceExpired("too old resource version: " + std::to_string(fromRv) + " (" +
                                        std::to_string(store.oldestWatchable()) + ")");
        pending += eventLine("ERROR", gone.toStatus(), info->name, "");
      } else {
        cursor = fromRv;
      }
      ++state_->openWatches;
    }
    struct WatchCount {
      FakeApiServer::State& s;
      ~WatchCount() {
        std::lock_guard<std::mutex> lock(s.mutex);
        --s.openWatches;
        s.handlersIdle.notify_all();
      }
    } watchCount{*state_};

    rec.watch = true;
    rec.code = 200;
    state_->record(rec);
    response.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    response.setContentType("application/json");
    response.set("Cache-Control", "no-cache, private");
    response.setChunkedTransferEncoding(true);
    response.setKeepAlive(false);
    std::ostream& out = response.send();
    out << pending;
    out.flush();
    if (expired || !out.good()) return;

    auto& socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    auto lastWrite = std::chrono::steady_clock::now();
    while (true) {
      pending.clear();
      bool end = false;
      {
        std::unique_lock<std::mutex> lock(state_->mutex);
        state_->changed.wait_for(lock, std::chrono::seconds(1), [&] {
          return !state_->serving || state_->epoch != epoch || state_->store.resourceVersion() > cursor;
        });
        if (!state_->serving || state_->epoch != epoch) break;
        ObjectStore& store = state_->store;
        if (store.resourceVersion() > cursor) {
          std::vector<StoredEvent> events;
          if (!store.eventsAfter(cursor, events)) {
            ApiError gone = resourceExpired("too old resource version: " + std::to_string(cursor) + " (" +
                                            std::to_string(store.oldestWatchable()) + ")");
            pending += eventLine("ERROR", gone.toStatus(), info->name, "");
            end = true;
          } else {
            for (const auto& ev : events) {
              cursor = ev.resourceVersion;
              if (ev.resource != info->name) continue;
              bool now = filter.matches(ev.object);
              bool before = filter.matches(ev.previous);
              std::string type;
              if (ev.type == "ADDED") {
                if (now) type = "ADDED";
              } else if (ev.type == "MODIFIED") {
                type = now && before ? "MODIFIED" : now ? "ADDED" : before ? "DELETED" : "";
              } else if (before || now) {
                type = "DELETED";
              }
              if (!type.empty()) pending += eventLine(type, ev.object, info->name, tableV);
            }
            cursor = std::max(cursor, store.resourceVersion());
          }
        } else if (bookmarks && std::chrono::steady_clock::now() - lastWrite >
                                    std::chrono::seconds(kBookmarkIntervalSeconds)) {
          pending += bookmarkLine(*info, cursor, false);
        }
      }
      if (!pending.empty()) {
        out << pending;
        out.flush();
        lastWrite = std::chrono::steady_clock::now();
        if (!out.good()) break;
      }
      if (end || std::chrono::steady_clock::now() >= deadline) break;
      // An HTTP/1.1 client sends nothing while it reads a watch: readable means it closed the connection.
      if (socket.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ)) break;
    }
  }

  std::shared_ptr<FakeApiServer::State> state_;
};

class HandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(std::shared_ptr<FakeApiServer::State> state) : state_(std::move(state)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new ApiHandler(state_);
  }

 private:
  std::shared_ptr<FakeApiServer::State> state_;
};

}  // namespace

Poco::Net::HTTPRequestHandlerFactory* makeHandlerFactory(std::shared_ptr<FakeApiServer::State> state) {
  return new HandlerFactory(std::move(state));
}

void FakeApiServer::State::record(RequestRecord r) {
  {
    std::lock_guard<std::mutex> lock(logMutex);
    log.push_back(std::move(r));
  }
  logChanged.notify_all();
}

}  // namespace podwarden::fakeapi
