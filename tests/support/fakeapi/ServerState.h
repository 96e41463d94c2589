// ServerState.h - internal: the state a FakeApiServer shares with its request handlers (it outlives a
// stop()/start() cycle), and the API operations, independent of HTTP so that the admin helpers of
// FakeApiServer go through the same code as requests.
#pragma once

#include "ApiError.h"
#include "FakeApiServer.h"
#include "ObjectStore.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace podwarden::fakeapi {

// What a resource is and how it is stored.
struct ResourceInfo {
  std::string name;        // pods
  std::string kind;        // Pod
  std::string singular;    // pod
  bool namespaced = true;
  std::vector<std::string> fieldSelectors;  // supported field selector names
};
// Null for a resource the fake does not serve.
const ResourceInfo* findResource(const std::string& name);
const std::vector<ResourceInfo>& resources();

// One API request, decoded from HTTP (or made up by an admin helper).
struct ApiRequest {
  std::string verb;         // get list watch create update patch delete deletecollection
  std::string resource;     // pods, nodes, events, namespaces
  std::string subresource;  // "" or "status"
  std::string ns, name;
  std::map<std::string, std::string> query;
  std::string contentType;
  std::string body;
  UserInfo user;
};

struct ApiResponse {
  int code = 200;
  Poco::JSON::Object::Ptr body;
};

struct FakeApiServer::State {
  explicit State(Options o) : options(std::move(o)), store(options.watchHistorySize) {}

  Options options;

  // The API state: objects, admission, faults. `changed` is signalled on every store change and on stop.
  mutable std::mutex mutex;
  std::condition_variable changed;
  ObjectStore store;
  PodAdmission podAdmission;
  struct Fault {
    std::string method, pathSubstring;
    int code = 0;
    int remaining = 0;
  };
  std::vector<Fault> faults;

  // Lifecycle, guarded by `mutex`: watch streams end when `epoch` moves on.
  bool serving = false;
  uint64_t epoch = 0;
  int activeHandlers = 0;
  size_t openWatches = 0;
  std::condition_variable handlersIdle;

  // The request log.
  mutable std::mutex logMutex;
  std::condition_variable logChanged;
  std::vector<RequestRecord> log;

  // The HTTP server of the current start(), guarded by `lifecycleMutex`.
  mutable std::mutex lifecycleMutex;
  uint16_t port = 0;
  Poco::Net::Context::Ptr context;
  std::unique_ptr<Poco::ThreadPool> threads;
  std::unique_ptr<Poco::Net::HTTPServer> server;

  // Serves a non-watch request (authorization, admission, validation, the change). Throws ApiError.
  // Takes `mutex` itself.
  ApiResponse serve(const ApiRequest& request);
  void record(RequestRecord record);
};

// Authorization as RBAC (system:masters, the system:node role) and the Node authorizer would decide;
// throws 403. Discovery is not routed here.
void authorize(const ApiRequest& request);
// The node name of a node identity (user system:node:<n> in group system:nodes), or empty.
std::string nodeNameOf(const UserInfo& user);

// The values of `resource`'s supported field selectors for `object`.
std::map<std::string, std::string> selectableFields(const std::string& resource, const Poco::JSON::Object::Ptr& object);

// meta.k8s.io/v1 Table of `objects` (server-side printing), `includeObject`: None, Metadata (default), Object.
Poco::JSON::Object::Ptr makeTable(const std::string& resource, const std::vector<Poco::JSON::Object::Ptr>& objects,
                                  const std::string& includeObject, const std::string& listResourceVersion);

// Current wall clock in nanoseconds since the epoch, and RFC 3339 parsing (seconds precision; 0 on error).
int64_t nowNanos();
int64_t parseRfc3339(const std::string& text);

}  // namespace podwarden::fakeapi

namespace Poco::Net {
class HTTPRequestHandlerFactory;
}

namespace podwarden::fakeapi {
// The HTTP front end: authentication, routing, discovery, tables, watch streams, the request log.
Poco::Net::HTTPRequestHandlerFactory* makeHandlerFactory(std::shared_ptr<FakeApiServer::State> state);
}  // namespace podwarden::fakeapi
