// FakeApiServer.h - an in-process Kubernetes API server for tests: core/v1 pods, nodes and events over
// HTTPS (client certificates or bearer tokens), with the real API's semantics where a node agent and kubectl
// depend on them (resource versions, watches and 410 Expired, graceful pod deletion, the status
// subresource and the real pod status validation, strategic merge patch, Status errors, the Node authorizer
// and NodeRestriction admission, server-side tables). What it implements and where it differs:
// docs/fake-apiserver.md.
//
//   FakeApiServer::Options options;
//   options.pkiDir = dir;                      // made by tests/scripts/pki.sh DIR NODE...
//   FakeApiServer server(options);
//   server.start();
//   server.writeKubeconfig(path, "node-n1", KubeconfigAuth::kClientCertFiles);
//   ... run the code under test against server.url() ...
//   auto pod = server.pod("kube-system", "kube-apiserver-n1");
//
// Thread-safe: every accessor may be called from any thread while the server runs.
#pragma once

#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace podwarden::fakeapi {

// An authenticated identity: the client certificate's CN and O entries, or a bearer token's entry.
struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
  bool inGroup(const std::string& group) const;
};

// One HTTP request as the server answered it.
struct RequestRecord {
  std::string method;       // GET, POST, PUT, PATCH, DELETE
  std::string path;         // /api/v1/namespaces/kube-system/pods/x/status
  std::string query;        // raw query string, without '?'
  std::string user;         // authenticated user name; empty when unauthenticated
  std::string contentType;  // the request's Content-Type
  std::string body;         // the request body (first 64 KiB)
  int code = 0;             // HTTP status answered
  bool watch = false;       // a watch stream (code is 200 when it started)
  std::chrono::system_clock::time_point time;  // when the request arrived
};

// How a kubeconfig written by writeKubeconfig() authenticates.
enum class KubeconfigAuth {
  kClientCertFiles,  // client-certificate / client-key: paths into the PKI dir
  kClientCertData,   // client-certificate-data / client-key-data: base64 of the PEM files
  kToken,            // token: <the token>
  kTokenFile,        // tokenFile: <path>.token, a file holding the token
};

// How it names the CA that signs the server certificate.
enum class KubeconfigCa {
  kFile,   // certificate-authority: <pki>/ca.crt
  kData,   // certificate-authority-data: base64 of ca.crt
  kOther,  // certificate-authority: <pki>/other-ca.crt (an unrelated CA: TLS verification must fail)
};

class FakeApiServer {
 public:
  struct Options {
    std::string pkiDir;   // ca.crt, server.crt/key (and admin/node certificates for kubeconfigs)
    uint16_t port = 0;    // 0: pick a free port at the first start(); later starts reuse it
    std::map<std::string, UserInfo> tokens;  // bearer token -> identity
    size_t watchHistorySize = 1000;          // change events kept for watches from a resource version
    std::string gitVersion = "v1.28.15";     // what /version reports
    unsigned maxConnections = 64;            // worker threads (each open connection or watch holds one)
  };

  explicit FakeApiServer(Options options);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  // Listens on 127.0.0.1. After stop(), start() listens on the same port again with every object, the
  // resource version counter and the watch history kept (an API server restart).
  void start();
  // Stops accepting, ends every watch stream and closes open connections; returns when the handlers are
  // done (a few seconds at most). Idempotent.
  void stop();
  bool running() const;

  uint16_t port() const;
  std::string url() const;  // https://127.0.0.1:PORT
  const std::string& pkiDir() const;
  std::string caFile() const;  // <pki>/ca.crt

  // Writes a kubeconfig (apiVersion v1, kind Config; one cluster, user and context named "fake",
  // current-context set) for this server. `user`: for the client-certificate modes the certificate's file
  // stem in the PKI dir ("admin", "node-n1"); for the token modes the token itself (tokenFile mode writes
  // it to `path` + ".token").
  void writeKubeconfig(const std::string& path, const std::string& user, KubeconfigAuth auth,
                       KubeconfigCa ca = KubeconfigCa::kFile) const;

  // --- the object store (what a client would see; deep copies, null / empty when absent) ---
  Poco::JSON::Object::Ptr pod(const std::string& ns, const std::string& name) const;
  std::optional<std::string> podJson(const std::string& ns, const std::string& name) const;
  std::vector<Poco::JSON::Object::Ptr> pods(const std::string& ns = "") const;  // "" = all namespaces
  Poco::JSON::Object::Ptr node(const std::string& name) const;
  std::vector<Poco::JSON::Object::Ptr> nodes() const;
  std::vector<Poco::JSON::Object::Ptr> events(const std::string& ns = "") const;
  uint64_t resourceVersion() const;  // the current (latest) resource version

  // --- changes as the cluster admin would make them (through the same code as HTTP requests; an
  // ApiError is thrown when the API would answer an error) ---
  // A Ready node (kubeletVersion = gitVersion); returns its uid.
  std::string createNode(const std::string& name);
  // Deletes the node. `collectDependents`: also gracefully deletes the pods whose ownerReferences name it,
  // as the garbage collector of a real control plane would.
  void deleteNode(const std::string& name, bool collectDependents = false);
  // Creates a pod from JSON (namespace from metadata.namespace, default "default"); returns it as stored.
  Poco::JSON::Object::Ptr createPod(const std::string& podJson);
  // Replaces the pod's status (a PUT to pods/status); returns the pod as stored.
  Poco::JSON::Object::Ptr setPodStatus(const std::string& ns, const std::string& name, const std::string& statusJson);
  // DELETE with `gracePeriodSeconds` (nullopt: the pod's default); returns what the API answered.
  Poco::JSON::Object::Ptr deletePod(const std::string& ns, const std::string& name,
                                    std::optional<int64_t> gracePeriodSeconds = std::nullopt);

  // --- the request log ---
  std::vector<RequestRecord> requests() const;
  void clearRequests();
  // Requests with `method` ("" = any) whose path ends with `pathSuffix` ("" = any).
  size_t countRequests(const std::string& method, const std::string& pathSuffix = "") const;
  size_t countRequests(const std::function<bool(const RequestRecord&)>& predicate) const;
  // Blocks until a logged request satisfies `predicate`; false after `timeout`.
  bool waitForRequest(const std::function<bool(const RequestRecord&)>& predicate, std::chrono::milliseconds timeout);
  // Watch streams open right now.
  size_t openWatches() const;

  // --- fault injection ---
  // The next `count` requests with `method` ("" = any) whose path contains `pathSubstring` are answered
  // `httpCode` with the Status a real server sends for it (429 carries Retry-After: 1), without touching
  // any object. Rules are used in the order they were added.
  void failNext(const std::string& method, const std::string& pathSubstring, int httpCode, int count = 1);
  void clearFaults();
  // Validating admission for pod creation: return a reason to reject with 403 Forbidden
  // (`pods "x" is forbidden: <reason>`), nullopt to admit. Runs after validation, like PodSecurity.
  using PodAdmission =
      std::function<std::optional<std::string>(const Poco::JSON::Object::Ptr& pod, const UserInfo& user)>;
  void setPodAdmission(PodAdmission admission);
  // Rejects pods labelled key=value as the PodSecurity admission would for "restricted:latest".
  void rejectPodsWithLabel(const std::string& key, const std::string& value);
  // Forgets the watch history: a watch from any older resource version gets 410 Expired.
  void expireWatchHistory();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace podwarden::fakeapi
