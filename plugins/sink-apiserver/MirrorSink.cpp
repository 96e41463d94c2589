#include "MirrorSink.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <ctime>
#include <sstream>
#include <vector>

namespace podwarden::sink_apiserver {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

[[noreturn]] void invalid(const std::string& message) { throw pw::Error(PW_INVALID_ARGUMENT, message); }

Object::Ptr parseObject(std::string_view text, const std::string& what) {
  Poco::Dynamic::Var v;
  try {
    Poco::JSON::Parser parser;
    v = parser.parse(std::string(text));
  } catch (const Poco::Exception& e) {
    invalid("sink-apiserver: " + what + " is not valid JSON: " + e.displayText());
  }
  if (v.type() != typeid(Object::Ptr)) invalid("sink-apiserver: " + what + " is not a JSON object");
  return v.extract<Object::Ptr>();
}

Object::Ptr tryParseObject(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var v = parser.parse(text);
    if (v.type() == typeid(Object::Ptr)) return v.extract<Object::Ptr>();
  } catch (const Poco::Exception&) {
  }
  return nullptr;
}

std::string stringify(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(v, out);
  return out.str();
}

Array::Ptr itemsOf(const Object::Ptr& batch, const std::string& what) {
  if (!batch->has("items") || batch->isNull("items")) return new Array;
  if (!batch->isArray("items")) invalid("sink-apiserver: " + what + ": \"items\" is not an array");
  return batch->getArray("items");
}

std::chrono::milliseconds durationKey(const Poco::Dynamic::Var& v, const std::string& key, int64_t minMs,
                                      int64_t scaleMs) {
  if (!v.isNumeric()) invalid("sink-apiserver config: \"" + key + "\" must be a number");
  double value = v.convert<double>() * static_cast<double>(scaleMs);
  if (value < static_cast<double>(minMs) || value > 86400e3) {
    invalid("sink-apiserver config: \"" + key + "\" is out of range");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(value));
}

// Transient failures: nothing answered, or the API server asks to come back later.
bool isTransient(int code) { return code == 0 || code == 429 || code >= 500; }

// Between finishing a deletion made through the API and creating the new mirror (see syncPod).
constexpr std::chrono::milliseconds kRecreateDelay{500};

}  // namespace

SinkConfig SinkConfig::parse(std::string_view json) {
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) json = "{}";
  Object::Ptr o = parseObject(json, "config");
  SinkConfig c;
  for (const auto& [key, value] : *o) {
    if (key == "kubeconfig" || key == "context") {
      if (!value.isString()) invalid("sink-apiserver config: \"" + key + "\" must be a string");
      (key == "kubeconfig" ? c.kubeconfig : c.context) = value.convert<std::string>();
    } else if (key == "registerNode") {
      if (!value.isBoolean()) invalid("sink-apiserver config: \"registerNode\" must be true or false");
      c.registerNode = value.convert<bool>();
    } else if (key == "statusResyncSeconds") {
      c.statusResync = durationKey(value, key, 100, 1000);
    } else if (key == "relistSeconds") {
      c.relistPeriod = durationKey(value, key, 1000, 1000);
    } else if (key == "requestTimeoutSeconds") {
      c.requestTimeout = durationKey(value, key, 100, 1000);
    } else if (key == "backoffInitialMs") {
      c.backoffInitial = durationKey(value, key, 1, 1);
    } else if (key == "backoffMaxSeconds") {
      c.backoffMax = durationKey(value, key, 100, 1000);
    } else {
      invalid("sink-apiserver config: unknown key \"" + key +
              "\" (known keys: kubeconfig, context, registerNode, statusResyncSeconds, relistSeconds, "
              "requestTimeoutSeconds, backoffInitialMs, backoffMaxSeconds)");
    }
  }
  if (c.kubeconfig.empty()) invalid("sink-apiserver config: \"kubeconfig\" is required (the kubelet's --kubeconfig)");
  if (c.backoffMax < c.backoffInitial) invalid("sink-apiserver config: backoffMaxSeconds is below backoffInitialMs");
  return c;
}

MirrorSink::MirrorSink(const pw::Host& host, std::string_view configJson, std::string_view nodeName)
    : host_(host), config_(SinkConfig::parse(configJson)), node_(nodeName), random_(std::random_device{}()) {
  if (node_.empty()) invalid("sink-apiserver: the node name is empty");
  Credentials credentials;
  try {
    credentials = loadKubeconfig(config_.kubeconfig, config_.context);
    client_ = std::make_unique<ApiClient>(credentials, config_.requestTimeout);
  } catch (const pw::Error&) {
    throw;
  } catch (const std::exception& e) {
    invalid(std::string("sink-apiserver: ") + e.what());
  }
  host_.info("mirror pods for node " + node_ + " go to " + credentials.describe());
}

MirrorSink::~MirrorSink() { stop(); }

void MirrorSink::start(pw_emitter_host_ptr* emitter) {
  std::lock_guard<std::mutex> lock(mutex_);
  emitter_ = emitter;
  if (!started_) startThreads();
}

void MirrorSink::startThreads() {
  started_ = true;
  worker_ = std::thread([this] { workerLoop(); });
  watcher_ = std::thread([this] { watchLoop(); });
}

void MirrorSink::stop() noexcept {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (client_) client_->abort();
  if (worker_.joinable()) worker_.join();
  if (watcher_.joinable()) watcher_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  emitter_ = nullptr;
}

pw_status MirrorSink::report(const pw::Call& /*call*/, std::string_view batchJson) {
  Object::Ptr batch = parseObject(batchJson, "report batch");
  Array::Ptr items = itemsOf(batch, "report batch");
  std::vector<StaticPod> pods;
  for (size_t i = 0; i < items->size(); ++i) {
    std::string where = "report batch: items[" + std::to_string(i) + "]";
    if (!items->isObject(i)) invalid("sink-apiserver: " + where + " is not an object");
    try {
      pods.push_back(staticPodFrom(items->getObject(i), where));
    } catch (const std::invalid_argument& e) {
      invalid(std::string("sink-apiserver: ") + e.what());
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (batch->optValue<bool>("sourcesReady", false) && sourcesReadyAt_ == Clock::time_point{}) {
      sourcesReadyAt_ = Clock::now();
    }
    for (auto& pod : pods) {
      removedNames_.erase(pod.fullName());
      PodState& p = pods_[pod.uid];
      if (p.pod.hash != pod.hash) p.retryAt = {};  // a new manifest deserves a prompt first attempt
      p.pod = std::move(pod);
    }
    dirty_ = true;
    // A host older than ABI 1.1 never calls start(); the sink then works without publishing its state.
    if (!started_ && !stopping_) startThreads();
  }
  wake_.notify_all();
  return PW_OK;
}

pw_status MirrorSink::remove(const pw::Call& /*call*/, std::string_view batchJson) {
  Object::Ptr batch = parseObject(batchJson, "remove batch");
  Array::Ptr items = itemsOf(batch, "remove batch");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < items->size(); ++i) {
      if (!items->isObject(i)) continue;
      Object::Ptr item = items->getObject(i);
      pods_.erase(item->optValue<std::string>("uid", ""));
      std::string ns = item->optValue<std::string>("namespace", "");
      removedNames_.insert((ns.empty() ? "default" : ns) + "/" + item->optValue<std::string>("name", ""));
    }
    dirty_ = true;
  }
  wake_.notify_all();
  return PW_OK;
}

// ---- Worker -----------------------------------------------------------------------------------------

void MirrorSink::workerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    dirty_ = false;
    lock.unlock();
    Clock::time_point next = syncOnce();
    publishStates();
    lock.lock();
    wake_.wait_until(lock, next, [&] { return stopping_ || dirty_; });
  }
}

MirrorSink::Clock::time_point MirrorSink::syncOnce() {
  Clock::time_point now = Clock::now();
  Clock::time_point next = now + config_.statusResync;
  if (!ensureNode()) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [uid, p] : pods_) {
      p.state = reachable_ ? "WaitingForNode" : "Unreachable";
      if (p.lastError != nodeError_) {
        p.lastError = nodeError_;
        p.lastErrorTime = nowRfc3339();
      }
    }
    return std::min(next, now + config_.backoffMax);
  }
  std::vector<std::string> uids;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!listed_) return std::min(next, now + config_.backoffInitial);  // the watcher lists first
    for (const auto& [uid, p] : pods_) uids.push_back(uid);
  }
  for (const auto& uid : uids) {
    if (stopping_) break;
    syncPod(uid);
  }
  deleteOrphans();
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [uid, p] : pods_) {
    if (p.retryAt > now) next = std::min(next, p.retryAt);
  }
  return next;
}

bool MirrorSink::ensureNode() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!nodeUid_.empty()) return true;
  }
  const std::string path = "/api/v1/nodes/" + urlEncode(node_);
  std::string uid, error;
  try {
    ApiResponse r = client_->request("GET", path);
    if (r.code == 404 && config_.registerNode) {
      // A minimal Node so that mirror pods can be owned by it; the taint keeps the scheduler away,
      // since nothing here runs pods other than static ones.
      std::string body = R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + node_ +
                         R"(","labels":{"kubernetes.io/hostname":")" + node_ +
                         R"(","kubernetes.io/os":"linux","node.podwarden.io/static-only":"true"}},)"
                         R"("spec":{"taints":[{"key":"node.podwarden.io/static-only","value":"true","effect":"NoSchedule"}]}})";
      ApiResponse c = client_->request("POST", "/api/v1/nodes", body);
      if (c.code == 201 || c.code == 200) host_.info("registered Node " + node_ + " (tainted node.podwarden.io/static-only:NoSchedule)");
      r = (c.code == 201 || c.code == 200) ? c : client_->request("GET", path);
    }
    apiReachable(true, "");
    if (r.code == 200) {
      Object::Ptr node = tryParseObject(r.body);
      Object::Ptr meta = node && node->isObject("metadata") ? node->getObject("metadata") : nullptr;
      if (meta && meta->has("deletionTimestamp") && !meta->isNull("deletionTimestamp")) {
        error = "Node " + node_ + " is being deleted; mirror pods wait for it to come back";
      } else if (meta) {
        uid = meta->optValue<std::string>("uid", "");
      }
      if (uid.empty() && error.empty()) error = "GET " + path + ": the answer has no metadata.uid";
    } else if (r.code == 404) {
      error = "Node " + node_ + " does not exist in the API server; mirror pods wait for it (set registerNode: true "
              "to have podwarden create it)";
    } else {
      error = describeCall(client_->server(), "GET", path) + ": " + describeFailure(r.code, r.body);
    }
  } catch (const TransportError& e) {
    apiReachable(false, e.what());
    error = e.what();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!uid.empty()) {
    if (nodeUid_ != uid) host_.info("Node " + node_ + " has uid " + uid);
    nodeUid_ = uid;
    nodeError_.clear();
    return true;
  }
  if (error != nodeError_ && !stopping_) host_.warning(error);
  nodeError_ = error;
  return false;
}

void MirrorSink::syncPod(const std::string& uid) {
  StaticPod pod;
  std::optional<MirrorInfo> mirror;
  std::string nodeUid, sentFor, sent;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = pods_.find(uid);
    if (it == pods_.end() || it->second.retryAt > Clock::now()) return;
    pod = it->second.pod;
    // Two static pods with one name exist while an edited manifest's old pod terminates: the newer
    // manifest (later config.seen) owns the mirror.
    for (const auto& [otherUid, other] : pods_) {
      if (otherUid != uid && other.pod.fullName() == pod.fullName() &&
          std::tie(other.pod.seen, otherUid) > std::tie(pod.seen, uid)) {
        it->second.state = "Superseded";
        return;
      }
    }
    if (auto m = mirrors_.find(pod.fullName()); m != mirrors_.end()) mirror = m->second;
    nodeUid = nodeUid_;
    sentFor = it->second.sentStatusFor;
    sent = it->second.sentStatus;
  }

  auto fail = [&](const std::string& state, const std::string& error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = pods_.find(uid); it != pods_.end()) podFailed(it->second, state, error);
  };
  const std::string podPath = podsPath(pod.ns) + "/" + urlEncode(pod.name);
  try {
    if (mirror && (mirror->deleting || mirror->hash != pod.hash)) {
      host_.info("mirror pod " + pod.fullName() + " (uid " + mirror->uid + ") " +
                 (mirror->deleting ? "was deleted through the API" : "belongs to an older manifest (config.mirror " +
                                                                         mirror->hash + ")") +
                 ": replacing it; the static pod is not touched");
      std::string error;
      if (!deleteMirror(*mirror, error)) return fail("Retrying", error);
      if (mirror->deleting) {
        // `kubectl delete` waits until no pod of that name is left; a new mirror created at once could
        // be what its list finds, and it would wait forever. So the name stays free for a moment.
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto it = pods_.find(uid); it != pods_.end()) {
          it->second.retryAt = Clock::now() + kRecreateDelay;
          it->second.state = "Recreating";
        }
        return;
      }
      mirror.reset();
    }
    if (!mirror) {
      ApiResponse r = client_->request("POST", podsPath(pod.ns), mirrorCreateBody(pod, node_, nodeUid));
      apiReachable(true, "");
      Object::Ptr body = tryParseObject(r.body);
      if (r.code == 201 || r.code == 200) {
        mirror = body ? mirrorInfoFrom(body) : std::nullopt;
        if (!mirror) return fail("Retrying", "POST " + podsPath(pod.ns) + ": the answer is not a mirror pod");
        host_.info("mirror pod " + pod.fullName() + " created (uid " + mirror->uid + ")");
      } else if (r.code == 409) {
        // AlreadyExists: ours if it carries this hash (kubelet: success); otherwise the next pass replaces it.
        ApiResponse g = client_->request("GET", podPath);
        Object::Ptr existing = g.code == 200 ? tryParseObject(g.body) : nullptr;
        mirror = existing ? mirrorInfoFrom(existing) : std::nullopt;
        if (!mirror || mirror->hash != pod.hash || mirror->deleting) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (mirror) mirrors_[pod.fullName()] = *mirror;
          dirty_ = true;
          if (auto it = pods_.find(uid); it != pods_.end()) {
            podFailed(it->second, "Retrying",
                      "POST " + podsPath(pod.ns) + ": " + describeFailure(r.code, r.body) +
                          (mirror ? "" : " (and the existing pod is not a mirror pod: it is left alone)"));
          }
          return;
        }
      } else {
        if (r.code == 404 || (r.code == 403 && parseStatus(r.body).message.find("owner") != std::string::npos)) {
          std::lock_guard<std::mutex> lock(mutex_);
          nodeUid_.clear();  // the Node is gone or was replaced: look it up again
        }
        return fail(isTransient(r.code) ? "Retrying" : "Refused",
                    "POST " + podsPath(pod.ns) + ": " + describeFailure(r.code, r.body));
      }
      std::lock_guard<std::mutex> lock(mutex_);
      mirrors_[pod.fullName()] = *mirror;
    }
    if (!pod.statusJson.empty() && (sentFor != mirror->uid || sent != pod.statusJson)) {
      std::string patch = statusPatch(pod.statusJson, *mirror);
      ApiResponse r =
          client_->request("PATCH", podPath + "/status", patch, "application/strategic-merge-patch+json");
      apiReachable(true, "");
      if (r.code != 200) {
        if (r.code == 404) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (auto m = mirrors_.find(pod.fullName()); m != mirrors_.end() && m->second.uid == mirror->uid) {
            mirrors_.erase(m);
          }
          dirty_ = true;
        }
        return fail(isTransient(r.code) ? "Retrying" : "StatusRefused",
                    "PATCH " + podPath + "/status: " + describeFailure(r.code, r.body));
      }
    }
  } catch (const TransportError& e) {
    apiReachable(false, e.what());
    return fail("Unreachable", e.what());
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = pods_.find(uid);
  if (it == pods_.end()) return;
  if (!pod.statusJson.empty()) {
    it->second.sentStatusFor = mirror->uid;
    it->second.sentStatus = pod.statusJson;
  }
  // With no request needed, a silent API server leaves the mirror unverified rather than Synced.
  podSucceeded(it->second, reachable_ ? "Synced" : "Unreachable");
}

bool MirrorSink::deleteMirror(const MirrorInfo& m, std::string& error) {
  // Grace period 0 with the UID as precondition, as the kubelet deletes mirrors: this finishes a
  // `kubectl delete` (which only set deletionTimestamp) and never removes a pod that replaced it.
  const std::string path = podsPath(m.ns) + "/" + urlEncode(m.name);
  const std::string body = R"({"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,)"
                           R"("preconditions":{"uid":")" + m.uid + R"("}})";
  ApiResponse r;
  try {
    r = client_->request("DELETE", path, body);
    apiReachable(true, "");
  } catch (const TransportError& e) {
    apiReachable(false, e.what());
    error = e.what();
    return false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (r.code == 200 || r.code == 202 || r.code == 404 || r.code == 409) {
    // 409: the precondition failed, so another pod of that name took its place; the LIST settles it.
    if (r.code == 409) relistWanted_ = true;
    deletedUids_.insert(m.uid);
    if (auto it = mirrors_.find(m.fullName()); it != mirrors_.end() && it->second.uid == m.uid) mirrors_.erase(it);
    if (r.code != 409) host_.info("mirror pod " + m.fullName() + " (uid " + m.uid + ") deleted");
    return r.code != 409;
  }
  error = "DELETE " + path + ": " + describeFailure(r.code, r.body);
  return false;
}

void MirrorSink::deleteOrphans() {
  std::vector<MirrorInfo> orphans;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::set<std::string> wanted;
    for (const auto& [uid, p] : pods_) wanted.insert(p.pod.fullName());
    // A mirror whose static pod the host removed goes at once. Any other mirror without a static pod
    // (left from before a restart) goes only once every source has reported and the host had one status
    // period to publish its pods, so a restart never deletes and recreates the mirrors of running pods.
    bool settled = sourcesReadyAt_ != Clock::time_point{} && Clock::now() - sourcesReadyAt_ >= config_.statusResync;
    for (const auto& [name, m] : mirrors_) {
      if (!wanted.count(name) && (settled || removedNames_.count(name))) orphans.push_back(m);
    }
  }
  for (const auto& m : orphans) {
    if (stopping_) return;
    std::string error;
    host_.info("mirror pod " + m.fullName() + " has no static pod on this node: deleting it");
    if (!deleteMirror(m, error)) {
      host_.warning("cannot delete mirror pod " + m.fullName() + ": " + error);
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    removedNames_.erase(m.fullName());
  }
}

// ---- Watch (reflector) -----------------------------------------------------------------------------

bool MirrorSink::relist() {
  const std::string path = "/api/v1/pods?fieldSelector=" + urlEncode("spec.nodeName=" + node_);
  ApiResponse r;
  try {
    r = client_->request("GET", path);
    apiReachable(true, "");
  } catch (const TransportError& e) {
    apiReachable(false, e.what());
    return false;
  }
  Object::Ptr list = r.code == 200 ? tryParseObject(r.body) : nullptr;
  if (!list || !list->isArray("items")) {
    watchProblem("GET " + path + ": " + (r.code == 200 ? "the answer is not a PodList" : describeFailure(r.code, r.body)));
    return false;
  }
  lastWatchProblem_.clear();
  std::map<std::string, MirrorInfo> mirrors;
  Array::Ptr items = list->getArray("items");
  for (size_t i = 0; i < items->size(); ++i) {
    if (!items->isObject(i)) continue;
    if (auto m = mirrorInfoFrom(items->getObject(i))) mirrors[m->fullName()] = *m;
  }
  Object::Ptr meta = list->isObject("metadata") ? list->getObject("metadata") : nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mirrors_ = std::move(mirrors);
    deletedUids_.clear();
    resourceVersion_ = meta ? meta->optValue<std::string>("resourceVersion", "") : "";
    listed_ = true;
    relistWanted_ = false;
    dirty_ = true;
  }
  wake_.notify_all();
  return true;
}

void MirrorSink::applyWatchEvent(const std::string& line) {
  Object::Ptr event = tryParseObject(line);
  if (!event || !event->isObject("object")) return;
  std::string type = event->optValue<std::string>("type", "");
  Object::Ptr object = event->getObject("object");
  std::lock_guard<std::mutex> lock(mutex_);
  if (type == "ERROR") {
    // 410 Gone / Expired: our resourceVersion is older than the server keeps; start over with a LIST.
    host_.debug("watch: " + object->optValue<std::string>("message", "error event") + "; listing again");
    relistWanted_ = true;
    return;
  }
  Object::Ptr meta = object->isObject("metadata") ? object->getObject("metadata") : nullptr;
  if (!meta) return;
  std::string rv = meta->optValue<std::string>("resourceVersion", "");
  if (!rv.empty()) resourceVersion_ = rv;
  if (type == "BOOKMARK") return;
  std::optional<MirrorInfo> m = mirrorInfoFrom(object);
  if (!m || deletedUids_.count(m->uid)) return;
  auto it = mirrors_.find(m->fullName());
  if (type == "DELETED") {
    if (it != mirrors_.end() && it->second.uid == m->uid) mirrors_.erase(it);
  } else {
    mirrors_[m->fullName()] = *m;
  }
  dirty_ = true;
  wake_.notify_all();
}

void MirrorSink::watchLoop() {
  std::chrono::milliseconds backoff{0};
  std::unique_lock<std::mutex> lock(mutex_);
  Clock::time_point relistAt{};
  while (!stopping_) {
    if (backoff.count() > 0) {
      waitFor(lock, Clock::now() + backoff);
      if (stopping_) break;
    }
    if (!listed_ || relistWanted_ || Clock::now() >= relistAt) {
      lock.unlock();
      bool ok = relist();
      lock.lock();
      if (!ok) {
        backoff = nextBackoff(backoff);
        continue;
      }
      relistAt = Clock::now() + config_.relistPeriod;
    }
    // The stream ends by itself at the next relist time (timeoutSeconds), then the loop LISTs again.
    auto seconds = std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::seconds>(relistAt - Clock::now()).count());
    std::string path = "/api/v1/pods?watch=1&allowWatchBookmarks=true&fieldSelector=" +
                       urlEncode("spec.nodeName=" + node_) + "&resourceVersion=" + urlEncode(resourceVersion_) +
                       "&timeoutSeconds=" + std::to_string(seconds);
    lock.unlock();
    std::string errorBody;
    int code = 0;
    try {
      code = client_->watch(
          path, std::chrono::seconds(seconds + 30), [this] { apiReachable(true, ""); },
          [this](const std::string& line) { applyWatchEvent(line); }, errorBody);
    } catch (const TransportError& e) {
      apiReachable(false, e.what());
    }
    lock.lock();
    if (code == 200) {
      backoff = std::chrono::milliseconds(0);
    } else if (code == 410) {
      relistWanted_ = true;
      backoff = std::chrono::milliseconds(0);
    } else {
      if (code != 0 && !stopping_) watchProblem("watch " + path + ": " + describeFailure(code, errorBody));
      backoff = nextBackoff(backoff);
    }
  }
}

// ---- State and bookkeeping -------------------------------------------------------------------------

void MirrorSink::podFailed(PodState& p, const std::string& stateIn, const std::string& error) {
  const std::string state = stateIn == "Retrying" && !reachable_ ? "Unreachable" : stateIn;
  p.backoff = nextBackoff(p.backoff);
  p.retryAt = Clock::now() + p.backoff;
  if (error != p.lastError || state != p.state) {
    host_.warning("mirror pod " + p.pod.fullName() + ": " + error + " (the static pod is not affected; retrying in " +
                  std::to_string(p.backoff.count()) + " ms)");
  } else {
    host_.debug("mirror pod " + p.pod.fullName() + ": " + error);
  }
  p.state = state;
  if (error != p.lastError) p.lastErrorTime = nowRfc3339();
  p.lastError = error;
}

void MirrorSink::podSucceeded(PodState& p, const std::string& state) {
  p.backoff = std::chrono::milliseconds(0);
  p.retryAt = {};
  p.state = state;
}

std::chrono::milliseconds MirrorSink::nextBackoff(std::chrono::milliseconds current) {
  std::chrono::milliseconds doubled = current.count() == 0 ? config_.backoffInitial : current * 2;
  std::chrono::milliseconds capped = std::min(doubled, config_.backoffMax);
  // Jitter in [50%, 100%]: many nodes coming back at once do not hit the API server together.
  std::uniform_int_distribution<int64_t> jitter(capped.count() / 2, capped.count());
  return std::chrono::milliseconds(std::max<int64_t>(1, jitter(random_)));
}

void MirrorSink::apiReachable(bool reachable, const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reachable == reachable_ || stopping_) return;
  reachable_ = reachable;
  if (reachable) {
    host_.info("API server " + client_->server() + " answers again");
  } else {
    host_.warning("API server unreachable: " + error + " (static pods are not affected; retrying with backoff)");
    // Nothing is known of the mirrors now; each pod says so until the API server answers again.
    for (auto& [uid, p] : pods_) {
      if (p.state != "Superseded") p.state = "Unreachable";
      if (p.lastError != error) p.lastErrorTime = nowRfc3339();
      p.lastError = error;
    }
  }
  dirty_ = true;
  wake_.notify_all();
}

void MirrorSink::watchProblem(const std::string& message) {
  if (message == lastWatchProblem_) {
    host_.debug(message);
    return;
  }
  host_.warning(message);
  lastWatchProblem_ = message;
}

void MirrorSink::publishStates() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!emitter_ || !host_.api() || !PW_HOST_HAS(host_.api(), emit_sink_state)) return;
  Array::Ptr items = new Array;
  for (auto& [uid, p] : pods_) {
    Object::Ptr mirror = new Object;
    mirror->set("state", p.state);
    mirror->set("name", p.pod.name);
    mirror->set("namespace", p.pod.ns);
    if (auto m = mirrors_.find(p.pod.fullName()); m != mirrors_.end() && p.state == "Synced") {
      mirror->set("uid", m->second.uid);
      mirror->set("creationTimestamp", m->second.creationTimestamp);
    }
    if (!p.lastError.empty()) {
      mirror->set("lastError", p.lastError);
      mirror->set("lastErrorTime", p.lastErrorTime);
    }
    Object::Ptr state = new Object;
    state->set("mirror", mirror);
    std::string text = stringify(state);
    if (text == p.emitted) continue;
    p.emitted = text;
    Object::Ptr item = new Object;
    item->set("uid", uid);
    item->set("state", state);
    items->add(item);
  }
  if (items->size() == 0) return;
  Object::Ptr batch = new Object;
  batch->set("items", items);
  host_.emitSinkState(emitter_, stringify(batch));
}

std::string MirrorSink::podsPath(const std::string& ns) const {
  return "/api/v1/namespaces/" + urlEncode(ns) + "/pods";
}

std::string MirrorSink::nowRfc3339() const {
  int64_t ns = host_.nowUnixNs();
  std::time_t seconds = ns > 0 ? static_cast<std::time_t>(ns / 1000000000) : std::time(nullptr);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool MirrorSink::waitFor(std::unique_lock<std::mutex>& lock, Clock::time_point until) {
  return wake_.wait_until(lock, until, [&] { return stopping_.load(); });
}

}  // namespace podwarden::sink_apiserver
