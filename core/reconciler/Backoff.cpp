#include "reconciler/Backoff.h"

#include <algorithm>

namespace podwarden {

bool Backoff::inBackoff(const std::string& key, int64_t finishedNs, int64_t nowNs,
                        std::chrono::milliseconds* remaining) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const int64_t delayNs = it->second.delay.count() * 1000000;
  // Forget entries unused for twice the cap (the kubelet's GC rule).
  if (nowNs - it->second.lastUpdateNs > 2 * max_.count() * 1000000) {
    entries_.erase(it);
    return false;
  }
  int64_t elapsed = nowNs - finishedNs;
  if (elapsed >= delayNs) return false;
  if (remaining) *remaining = std::chrono::milliseconds((delayNs - elapsed) / 1000000 + 1);
  return true;
}

bool Backoff::inBackoffSinceLastFailure(const std::string& key, int64_t nowNs, std::chrono::milliseconds* remaining) {
  int64_t last = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    last = it->second.lastUpdateNs;
  }
  return inBackoff(key, last, nowNs, remaining);
}

void Backoff::next(const std::string& key, int64_t nowNs) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || nowNs - it->second.lastUpdateNs > 2 * max_.count() * 1000000) {
    entries_[key] = Entry{initial_, nowNs};
    return;
  }
  it->second.delay = std::min(it->second.delay * 2, max_);
  it->second.lastUpdateNs = nowNs;
}

std::chrono::milliseconds Backoff::delay(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  return it == entries_.end() ? std::chrono::milliseconds(0) : it->second.delay;
}

}  // namespace podwarden
