#include "FakeApiServer.h"

#include <fcntl.h>

#include "ServerState.h"
#include "util/Json.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <openssl/ssl.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace podwarden::fakeapi {

using ObjectPtr = Poco::JSON::Object::Ptr;

namespace {

const UserInfo& admin() {
  static const UserInfo user{"kubernetes-admin", {"system:masters", "system:authenticated"}};
  return user;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64(const std::string& data) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc.rdbuf()->setLineLength(0);
  enc << data;
  enc.close();
  return out.str();
}

void requireFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(path + " is missing: make the PKI with tests/scripts/pki.sh DIR NODE...");
  }
}

template <typename T>
std::vector<T> copies(const std::vector<ObjectPtr>& objects) {
  std::vector<T> out;
  for (const auto& o : objects) out.push_back(json::deepCopy(o));
  return out;
}

}  // namespace

FakeApiServer::FakeApiServer(Options options) : state_(std::make_shared<State>(std::move(options))) {
  state_->port = state_->options.port;
  // The namespaces every cluster starts with; others appear with their first object.
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    ApiRequest req;
    req.verb = "create";
    req.resource = "namespaces";
    req.user = admin();
    req.body = std::string("{\"metadata\":{\"name\":\"") + ns + "\",\"labels\":{\"kubernetes.io/metadata.name\":\"" +
               ns + "\"}}}";
    state_->serve(req);
  }
}

FakeApiServer::~FakeApiServer() {
  try {
    stop();
  } catch (...) {
  }
}

void FakeApiServer::start() {
  std::lock_guard<std::mutex> life(state_->lifecycleMutex);
  if (state_->server) return;
  static const bool sslReady = [] {
    Poco::Net::initializeSSL();
    return true;
  }();
  (void)sslReady;
  const std::string& pki = state_->options.pkiDir;
  if (state_->context.isNull()) {
    requireFile(pki + "/ca.crt");
    requireFile(pki + "/server.crt");
    requireFile(pki + "/server.key");
    using Poco::Net::Context;
    Context::Params params;
    params.privateKeyFile = pki + "/server.key";
    params.certificateFile = pki + "/server.crt";
    params.caLocation = pki + "/ca.crt";
    params.verificationMode = Context::VERIFY_RELAXED;
    params.loadDefaultCAs = false;
    params.cipherList = "HIGH:!aNULL:!MD5";
    Context::Ptr context = new Context(Context::TLS_SERVER_USE, params);
    context->requireMinimumProtocol(Context::PROTO_TLSV1_2);
    context->enableSessionCache(true, "podwarden-fakeapi");
    context->enableExtendedCertificateVerification(false);
    // Client certificates are requested and, when sent, verified by OpenSSL against ca.crt (a certificate
    // from another CA fails the handshake); without one the request may still carry a bearer token.
    SSL_CTX_set_verify(context->sslContext(), SSL_VERIFY_PEER, nullptr);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file((pki + "/ca.crt").c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(context->sslContext(), names);
    state_->context = context;
  }
  Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", state_->port), 128, state_->context);
  state_->port = socket.address().port();
  // Not inherited by the processes a test starts (kubectl, the daemon): a copy of the listening socket in
  // another process would accept connections into a backlog nobody serves while the server is stopped.
  ::fcntl(socket.impl()->sockfd(), F_SETFD, FD_CLOEXEC);
  unsigned threads = std::max(8u, state_->options.maxConnections);
  state_->threads = std::make_unique<Poco::ThreadPool>(2, static_cast<int>(threads) + 2, 60);
  auto* params = new Poco::Net::HTTPServerParams();
  params->setMaxThreads(static_cast<int>(threads));
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);
  params->setKeepAliveTimeout(Poco::Timespan(60, 0));
  params->setTimeout(Poco::Timespan(60, 0));
  params->setServerName("podwarden-fake-apiserver");
  state_->server = std::make_unique<Poco::Net::HTTPServer>(makeHandlerFactory(state_), *state_->threads, socket, params);
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->serving = true;
    ++state_->epoch;
  }
  state_->server->start();
}

void FakeApiServer::stop() {
  std::lock_guard<std::mutex> life(state_->lifecycleMutex);
  if (!state_->server) return;
  {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->serving = false;
    ++state_->epoch;
    state_->changed.notify_all();
    // Watch streams notice within a moment and end their responses.
    state_->handlersIdle.wait_for(lock, std::chrono::seconds(5), [&] { return state_->openWatches == 0; });
  }
  // Stops accepting and shuts down every connection (idle keep-alive ones included).
  state_->server->stopAll(true);
  {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->handlersIdle.wait_for(lock, std::chrono::seconds(5), [&] { return state_->activeHandlers == 0; });
  }
  state_->server.reset();
  state_->threads->joinAll();
  state_->threads.reset();
}

bool FakeApiServer::running() const {
  std::lock_guard<std::mutex> life(state_->lifecycleMutex);
  return state_->server != nullptr;
}

uint16_t FakeApiServer::port() const {
  std::lock_guard<std::mutex> life(state_->lifecycleMutex);
  return state_->port;
}

std::string FakeApiServer::url() const { return "https://127.0.0.1:" + std::to_string(port()); }

const std::string& FakeApiServer::pkiDir() const { return state_->options.pkiDir; }

std::string FakeApiServer::caFile() const { return state_->options.pkiDir + "/ca.crt"; }

void FakeApiServer::writeKubeconfig(const std::string& path, const std::string& user, KubeconfigAuth auth,
                                    KubeconfigCa ca) const {
  const std::string& pki = state_->options.pkiDir;
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1";
  out << YAML::Key << "kind" << YAML::Value << "Config";
  out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "fake";
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "server" << YAML::Value << url();
  switch (ca) {
    case KubeconfigCa::kFile:
      out << YAML::Key << "certificate-authority" << YAML::Value << pki + "/ca.crt";
      break;
    case KubeconfigCa::kData:
      out << YAML::Key << "certificate-authority-data" << YAML::Value << base64(readFile(pki + "/ca.crt"));
      break;
    case KubeconfigCa::kOther:
      out << YAML::Key << "certificate-authority" << YAML::Value << pki + "/other-ca.crt";
      break;
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "fake";
  out << YAML::Key << "user" << YAML::Value << YAML::BeginMap;
  switch (auth) {
    case KubeconfigAuth::kClientCertFiles:
      requireFile(pki + "/" + user + ".crt");
      out << YAML::Key << "client-certificate" << YAML::Value << pki + "/" + user + ".crt";
      out << YAML::Key << "client-key" << YAML::Value << pki + "/" + user + ".key";
      break;
    case KubeconfigAuth::kClientCertData:
      out << YAML::Key << "client-certificate-data" << YAML::Value << base64(readFile(pki + "/" + user + ".crt"));
      out << YAML::Key << "client-key-data" << YAML::Value << base64(readFile(pki + "/" + user + ".key"));
      break;
    case KubeconfigAuth::kToken:
      out << YAML::Key << "token" << YAML::Value << user;
      break;
    case KubeconfigAuth::kTokenFile: {
      std::ofstream token(path + ".token", std::ios::trunc);
      token << user << "\n";
      if (!token) throw std::runtime_error("cannot write " + path + ".token");
      out << YAML::Key << "tokenFile" << YAML::Value << path + ".token";
      break;
    }
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "fake";
  out << YAML::Key << "context" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cluster" << YAML::Value << "fake";
  out << YAML::Key << "user" << YAML::Value << "fake";
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "current-context" << YAML::Value << "fake";
  out << YAML::Key << "preferences" << YAML::Value << YAML::BeginMap << YAML::EndMap;
  out << YAML::EndMap;
  std::ofstream file(path, std::ios::trunc);
  file << out.c_str() << "\n";
  if (!file) throw std::runtime_error("cannot write " + path);
}

ObjectPtr FakeApiServer::pod(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return json::deepCopy(state_->store.get("pods", ns, name));
}

std::optional<std::string> FakeApiServer::podJson(const std::string& ns, const std::string& name) const {
  ObjectPtr p = pod(ns, name);
  if (p.isNull()) return std::nullopt;
  return json::stringify(p);
}

std::vector<ObjectPtr> FakeApiServer::pods(const std::string& ns) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return copies<ObjectPtr>(state_->store.list("pods", ns));
}

ObjectPtr FakeApiServer::node(const std::string& name) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return json::deepCopy(state_->store.get("nodes", "", name));
}

std::vector<ObjectPtr> FakeApiServer::nodes() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return copies<ObjectPtr>(state_->store.list("nodes", ""));
}

std::vector<ObjectPtr> FakeApiServer::events(const std::string& ns) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return copies<ObjectPtr>(state_->store.list("events", ns));
}

uint64_t FakeApiServer::resourceVersion() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->store.resourceVersion();
}

std::string FakeApiServer::createNode(const std::string& name) {
  ObjectPtr node = new Poco::JSON::Object();
  node->set("apiVersion", "v1");
  node->set("kind", "Node");
  ObjectPtr meta = new Poco::JSON::Object();
  meta->set("name", name);
  ObjectPtr labels = new Poco::JSON::Object();
  labels->set("kubernetes.io/hostname", name);
  labels->set("kubernetes.io/os", "linux");
  labels->set("kubernetes.io/arch", "amd64");
  meta->set("labels", labels);
  node->set("metadata", meta);
  node->set("spec", ObjectPtr(new Poco::JSON::Object()));
  ObjectPtr status = new Poco::JSON::Object();
  Poco::JSON::Array::Ptr conditions = new Poco::JSON::Array();
  ObjectPtr ready = new Poco::JSON::Object();
  std::string now = json::rfc3339(nowNanos());
  ready->set("type", "Ready");
  ready->set("status", "True");
  ready->set("reason", "KubeletReady");
  ready->set("message", "kubelet is posting ready status");
  ready->set("lastHeartbeatTime", now);
  ready->set("lastTransitionTime", now);
  conditions->add(ready);
  status->set("conditions", conditions);
  Poco::JSON::Array::Ptr addresses = new Poco::JSON::Array();
  ObjectPtr ip = new Poco::JSON::Object();
  ip->set("type", "InternalIP");
  ip->set("address", "127.0.0.1");
  addresses->add(ip);
  ObjectPtr host = new Poco::JSON::Object();
  host->set("type", "Hostname");
  host->set("address", name);
  addresses->add(host);
  status->set("addresses", addresses);
  ObjectPtr info = new Poco::JSON::Object();
  info->set("kubeletVersion", state_->options.gitVersion);
  info->set("osImage", "Debian GNU/Linux 12 (bookworm)");
  info->set("operatingSystem", "linux");
  info->set("architecture", "amd64");
  info->set("containerRuntimeVersion", "docker://20.10.24");
  status->set("nodeInfo", info);
  node->set("status", status);
  ApiRequest req;
  req.verb = "create";
  req.resource = "nodes";
  req.user = admin();
  req.body = json::stringify(node);
  ApiResponse r = state_->serve(req);
  return json::getString(json::getObject(r.body, "metadata"), "uid");
}

void FakeApiServer::deleteNode(const std::string& name, bool collectDependents) {
  ApiRequest req;
  req.verb = "delete";
  req.resource = "nodes";
  req.name = name;
  req.user = admin();
  std::string uid;
  {
    ObjectPtr n = node(name);
    uid = json::getString(json::getObject(n, "metadata"), "uid");
  }
  state_->serve(req);
  if (!collectDependents || uid.empty()) return;
  for (const auto& p : pods()) {
    auto owners = json::getArray(json::getObject(p, "metadata"), "ownerReferences");
    if (owners.isNull()) continue;
    for (const auto& o : *owners) {
      if (o.type() == typeid(ObjectPtr) && json::getString(o.extract<ObjectPtr>(), "uid") == uid) {
        ObjectPtr m = json::getObject(p, "metadata");
        try {
          deletePod(json::getString(m, "namespace"), json::getString(m, "name"));
        } catch (const ApiError&) {
          // Gone in the meantime.
        }
        break;
      }
    }
  }
}

ObjectPtr FakeApiServer::createPod(const std::string& podJson) {
  ObjectPtr p = json::parseObject(podJson);
  std::string ns = json::getString(json::getObject(p, "metadata"), "namespace", "default");
  ApiRequest req;
  req.verb = "create";
  req.resource = "pods";
  req.ns = ns;
  req.user = admin();
  req.body = podJson;
  return state_->serve(req).body;
}

ObjectPtr FakeApiServer::setPodStatus(const std::string& ns, const std::string& name, const std::string& statusJson) {
  ObjectPtr p = pod(ns, name);
  if (p.isNull()) throw notFound("pods", name);
  p->set("status", json::parseObject(statusJson));
  json::getObject(p, "metadata")->remove("resourceVersion");
  ApiRequest req;
  req.verb = "update";
  req.resource = "pods";
  req.subresource = "status";
  req.ns = ns;
  req.name = name;
  req.user = admin();
  req.body = json::stringify(p);
  return state_->serve(req).body;
}

ObjectPtr FakeApiServer::deletePod(const std::string& ns, const std::string& name,
                                   std::optional<int64_t> gracePeriodSeconds) {
  ApiRequest req;
  req.verb = "delete";
  req.resource = "pods";
  req.ns = ns;
  req.name = name;
  req.user = admin();
  if (gracePeriodSeconds) req.query["gracePeriodSeconds"] = std::to_string(*gracePeriodSeconds);
  return state_->serve(req).body;
}

std::vector<RequestRecord> FakeApiServer::requests() const {
  std::lock_guard<std::mutex> lock(state_->logMutex);
  return state_->log;
}

void FakeApiServer::clearRequests() {
  std::lock_guard<std::mutex> lock(state_->logMutex);
  state_->log.clear();
}

size_t FakeApiServer::countRequests(const std::string& method, const std::string& pathSuffix) const {
  return countRequests([&](const RequestRecord& r) {
    return (method.empty() || r.method == method) &&
           (pathSuffix.empty() ||
            (r.path.size() >= pathSuffix.size() &&
             r.path.compare(r.path.size() - pathSuffix.size(), pathSuffix.size(), pathSuffix) == 0));
  });
}

size_t FakeApiServer::countRequests(const std::function<bool(const RequestRecord&)>& predicate) const {
  std::lock_guard<std::mutex> lock(state_->logMutex);
  size_t n = 0;
  for (const auto& r : state_->log) n += predicate(r) ? 1 : 0;
  return n;
}

bool FakeApiServer::waitForRequest(const std::function<bool(const RequestRecord&)>& predicate,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(state_->logMutex);
  return state_->logChanged.wait_for(lock, timeout, [&] {
    for (const auto& r : state_->log) {
      if (predicate(r)) return true;
    }
    return false;
  });
}

size_t FakeApiServer::openWatches() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->openWatches;
}

void FakeApiServer::failNext(const std::string& method, const std::string& pathSubstring, int httpCode, int count) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->faults.push_back(State::Fault{method, pathSubstring, httpCode, count});
}

void FakeApiServer::clearFaults() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->faults.clear();
}

void FakeApiServer::setPodAdmission(PodAdmission admission) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->podAdmission = std::move(admission);
}

void FakeApiServer::rejectPodsWithLabel(const std::string& key, const std::string& value) {
  setPodAdmission([key, value](const ObjectPtr& pod, const UserInfo&) -> std::optional<std::string> {
    auto labels = json::getObject(json::getObject(pod, "metadata"), "labels");
    if (json::getString(labels, key, "\x01") != value) return std::nullopt;
    std::string c = "container";
    auto containers = json::getArray(json::getObject(pod, "spec"), "containers");
    if (!containers.isNull() && containers->size() > 0 && containers->get(0).type() == typeid(ObjectPtr)) {
      c = json::getString(containers->get(0).extract<ObjectPtr>(), "name", c);
    }
    return "violates PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false (container \"" + c +
           "\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \"" +
           c + "\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or container \"" +
           c + "\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \"" + c +
           "\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";
  });
}

void FakeApiServer::expireWatchHistory() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->store.expireHistory();
  state_->changed.notify_all();
}

}  // namespace podwarden::fakeapi
