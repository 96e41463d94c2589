#include "status/StatusHub.h"

#include "util/Log.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace podwarden {

namespace {

// A sink state as canonical JSON ("null" or an object with sorted keys). Throws std::invalid_argument.
std::string canonicalState(const std::string& stateJson) {
  if (stateJson.empty() || stateJson == "null") return "null";
  Poco::Dynamic::Var v;
  try {
    v = json::parse(stateJson);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("sink state: ") + e.what());
  }
  if (v.isEmpty()) return "null";
  if (v.type() != typeid(json::ObjectPtr))
    throw std::invalid_argument("sink state is neither an object nor null");
  return json::stringify(v);
}

}  // namespace

StatusHub::StatusHub(std::vector<plugin::SinkInstance*> sinks) {
  std::map<std::string, int> instances;  // plugin name -> sinks of it so far
  for (auto* s : sinks) {
    auto q = std::make_unique<SinkQueue>();
    q->sink = s;
    const std::string name = s->library().info().name;
    const int n = ++instances[name];
    q->key = n == 1 ? name : name + "#" + std::to_string(n);
    queues_.push_back(std::move(q));
  }
}

StatusHub::~StatusHub() { stop(); }

void StatusHub::start() {
  for (auto& q : queues_) {
    SinkQueue* raw = q.get();
    q->thread = std::thread([this, raw] { sinkLoop(*raw); });
  }
}

void StatusHub::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& q : queues_) {
    if (q->thread.joinable()) q->thread.join();
  }
}

void StatusHub::publish(const std::string& uid, const json::ObjectPtr& pod) {
  std::string text = json::stringify(pod);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = pods_.find(uid);
    if (it != pods_.end() && it->second == text) return;
    pods_[uid] = std::move(text);
    json::ObjectPtr meta = json::getObject(pod, "metadata");
    json::ObjectPtr id = new json::Object();
    id->set("namespace", json::getString(meta, "namespace"));
    id->set("name", json::getString(meta, "name"));
    id->set("uid", uid);
    identity_[uid] = json::stringify(id);
    for (auto& q : queues_) {
      q->dirty.insert(uid);
      q->removed.erase(uid);
    }
  }
  cv_.notify_all();
}

void StatusHub::remove(const std::string& uid) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = identity_.find(uid);
    if (it == identity_.end()) return;
    for (auto& q : queues_) {
      q->dirty.erase(uid);
      q->removed[uid] = it->second;
    }
    pods_.erase(uid);
    sinkStates_.erase(uid);
    identity_.erase(it);
  }
  cv_.notify_all();
}

void StatusHub::setErrors(const json::ArrayPtr& errors) {
  std::string text = json::stringify(Poco::Dynamic::Var(errors));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (text == errorsJson_) return;
    errorsJson_ = std::move(text);
    for (auto& q : queues_) q->errorsDirty = true;
  }
  cv_.notify_all();
}

bool StatusHub::setSinkState(size_t sinkIndex, const std::string& uid, const std::string& stateJson) {
  const std::string state = canonicalState(stateJson);
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string& key = queues_.at(sinkIndex)->key;
    if (!pods_.count(uid)) {
      Log::debug(queues_[sinkIndex]->sink->displayName(),
                 "sink state for pod " + uid + ", which is gone; ignored");
      return false;
    }
    auto podStates = sinkStates_.find(uid);
    if (state == "null") {
      if (podStates != sinkStates_.end() && podStates->second.erase(key) > 0) {
        changed = true;
        if (podStates->second.empty()) sinkStates_.erase(podStates);
      }
    } else {
      std::string& slot = sinkStates_[uid][key];
      if (slot != state) {
        slot = state;
        changed = true;
      }
    }
    if (changed) {
      // Every sink but the one that emitted it (it never gets its own state back: no feedback loop).
      for (size_t i = 0; i < queues_.size(); ++i) {
        if (i != sinkIndex) queues_[i]->dirty.insert(uid);
      }
    }
  }
  if (changed) cv_.notify_all();
  return true;
}

void StatusHub::setSinkStates(size_t sinkIndex, const std::vector<plugin::SinkStateItem>& items) {
  if (sinkIndex >= queues_.size()) throw std::out_of_range("no sink #" + std::to_string(sinkIndex));
  std::vector<std::pair<std::string, std::string>> checked;
  checked.reserve(items.size());
  for (const auto& item : items) checked.emplace_back(item.uid, canonicalState(item.stateJson));
  for (const auto& [uid, state] : checked) setSinkState(sinkIndex, uid, state);
}

plugin::SinkInstance::StateCallback StatusHub::stateCallback(size_t sinkIndex) {
  if (sinkIndex >= queues_.size()) throw std::out_of_range("no sink #" + std::to_string(sinkIndex));
  return [this, sinkIndex](std::vector<plugin::SinkStateItem> items) { setSinkStates(sinkIndex, items); };
}

const std::string& StatusHub::sinkKey(size_t sinkIndex) const {
  return queues_.at(sinkIndex)->key;
}

std::string StatusHub::render(const std::string& pod, const States& states, const std::string& exceptKey) {
  json::ObjectPtr sinks = new json::Object();
  for (const auto& [key, state] : states) {
    if (key != exceptKey) sinks->set(key, json::parseObject(state));
  }
  if (sinks->size() == 0) return pod;
  json::ObjectPtr object = json::parseObject(pod);
  json::ensureObject(object, "podwarden")->set("sinks", sinks);
  return json::stringify(object);
}

void StatusHub::setSourcesReady() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (sourcesReady_) return;
    sourcesReady_ = true;
    for (auto& q : queues_) q->errorsDirty = true;  // one batch (with the complete error list) says so
  }
  cv_.notify_all();
}

std::string StatusHub::errorsJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return errorsJson_;
}

json::ObjectPtr StatusHub::latest(const std::string& uid) const {
  std::string pod;
  States states;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return nullptr;
    pod = it->second;
    auto st = sinkStates_.find(uid);
    if (st != sinkStates_.end()) states = st->second;
  }
  return json::parseObject(render(pod, states, std::string()));
}

void StatusHub::sinkLoop(SinkQueue& q) {
  using namespace std::chrono;
  milliseconds backoff(0);
  const milliseconds kMaxBackoff(30000);
  auto drainDeadline = steady_clock::time_point::max();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    auto pending = [&] { return !q.dirty.empty() || !q.removed.empty() || q.errorsDirty; };
    if (backoff.count() > 0 && !stopping_) {
      cv_.wait_for(lock, backoff, [&] { return stopping_; });
    }
    cv_.wait(lock, [&] { return stopping_ || pending(); });
    if (stopping_) {
      if (drainDeadline == steady_clock::time_point::max()) drainDeadline = steady_clock::now() + seconds(5);
      if (!pending() || steady_clock::now() > drainDeadline) return;
    }
    // Take the work; the latest state is read now, so a pod that changed many times is sent once.
    std::set<std::string> took = std::move(q.dirty);
    q.dirty.clear();
    bool tookErrors = q.errorsDirty;
    q.errorsDirty = false;
    std::map<std::string, std::string> removed = std::move(q.removed);
    q.removed.clear();
    const bool sourcesReady = sourcesReady_;
    std::vector<std::pair<std::string, States>> pods;  // published object, the sinks' states of it
    std::string errors;
    if (!took.empty() || tookErrors) {
      for (const auto& uid : took) {
        auto it = pods_.find(uid);
        if (it == pods_.end()) continue;
        auto st = sinkStates_.find(uid);
        pods.emplace_back(it->second, st != sinkStates_.end() ? st->second : States());
      }
      if (tookErrors) errors = errorsJson_;
    }
    std::string removal;
    if (!removed.empty()) {
      removal = "{\"items\":[";
      bool first = true;
      for (const auto& kv : removed) {
        removal += (first ? "" : ",") + kv.second;
        first = false;
      }
      removal += "]}";
    }
    lock.unlock();

    // Merging the sinks' states (all but this sink's own) parses JSON: done outside the lock.
    std::string report;
    if (!took.empty() || tookErrors) {
      report = "{\"items\":[";
      bool first = true;
      for (const auto& [pod, states] : pods) {
        std::string text;
        try {
          text = render(pod, states, q.key);
        } catch (const std::exception& e) {
          Log::error(q.sink->displayName(),
                     std::string("cannot merge the sinks' states into a pod: ") + e.what());
          text = pod;
        }
        report += (first ? "" : ",") + text;
        first = false;
      }
      report += "]";
      if (tookErrors) report += ",\"errors\":" + errors;
      if (sourcesReady) report += ",\"sourcesReady\":true";
      report += "}";
    }

    bool retry = false;
    std::string failure;
    if (!report.empty()) {
      plugin::CallResult r = q.sink->report(report);
      if (!r.ok()) {
        failure = "report: " + r.describe();
        retry = plugin::isRetryable(r.status);
        if (!retry) Log::error(q.sink->displayName(), "sink refused a status batch: " + r.describe());
      }
    }
    if (!removal.empty() && failure.empty()) {
      plugin::CallResult r = q.sink->remove(removal);
      if (!r.ok()) {
        failure = "remove: " + r.describe();
        retry = plugin::isRetryable(r.status);
        if (!retry) Log::error(q.sink->displayName(), "sink refused a removal batch: " + r.describe());
      }
    }

    lock.lock();
    if (retry) {
      // Put the work back unless something newer superseded it.
      for (const auto& uid : took) {
        if (pods_.count(uid) && !q.removed.count(uid)) q.dirty.insert(uid);
      }
      if (tookErrors) q.errorsDirty = true;
      for (const auto& kv : removed) {
        if (!q.dirty.count(kv.first)) q.removed.insert(kv);
      }
      if (stopping_) {
        Log::warning(q.sink->displayName(), failure + " (shutting down; not retried)");
        return;
      }
      backoff = backoff.count() == 0 ? milliseconds(500) : std::min(backoff * 2, kMaxBackoff);
      Log::warning(q.sink->displayName(),
                   failure + " (will retry in " + std::to_string(backoff.count()) + " ms)");
    } else {
      if (backoff.count() > 0) Log::info(q.sink->displayName(), "sink recovered");
      backoff = milliseconds(0);
    }
  }
}

}  // namespace podwarden
