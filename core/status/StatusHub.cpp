#include "status/StatusHub.h"

#include "util/Log.h"

#include <algorithm>
#include <chrono>

namespace podwarden {

StatusHub::StatusHub(std::vector<plugin::SinkInstance*> sinks) {
  for (auto* s : sinks) {
    auto q = std::make_unique<SinkQueue>();
    q->sink = s;
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

json::ObjectPtr StatusHub::latest(const std::string& uid) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = pods_.find(uid);
  if (it == pods_.end()) return nullptr;
  return json::parseObject(it->second);
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
    std::string report;
    std::set<std::string> took = std::move(q.dirty);
    q.dirty.clear();
    bool tookErrors = q.errorsDirty;
    q.errorsDirty = false;
    std::map<std::string, std::string> removed = std::move(q.removed);
    q.removed.clear();
    if (!took.empty() || tookErrors) {
      report = "{\"items\":[";
      bool first = true;
      for (const auto& uid : took) {
        auto it = pods_.find(uid);
        if (it == pods_.end()) continue;
        report += (first ? "" : ",") + it->second;
        first = false;
      }
      report += "]";
      if (tookErrors) report += ",\"errors\":" + errorsJson_;
      report += "}";
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
