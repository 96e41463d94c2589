// Backoff.h - the kubelet's restart backoff (client-go flowcontrol.Backoff as the kubelet uses it).
//
// Per key: the first failure is not delayed; after it the delay starts at `initial` and doubles up to
// `max`; an entry unused for 2 x max is forgotten. Keys include the container spec hash, so a changed
// container starts fresh. Thread-safe. Times are host monotonic nanoseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace podwarden {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max) : initial_(initial), max_(max) {}

  // True while `key` is backing off: its last failure finished at `finishedNs` and less than the
  // current delay has passed since. Returns the time left in *remaining.
  bool inBackoff(const std::string& key, int64_t finishedNs, int64_t nowNs, std::chrono::milliseconds* remaining);
  // Like inBackoff, measured from the last next() of `key` (e.g. the last failed image pull).
  bool inBackoffSinceLastFailure(const std::string& key, int64_t nowNs, std::chrono::milliseconds* remaining);
  // Records a restart of `key` now: the next delay doubles (or starts at `initial`).
  void next(const std::string& key, int64_t nowNs);
  // The current delay of `key` (0 if none).
  std::chrono::milliseconds delay(const std::string& key);

 private:
  struct Entry {
    std::chrono::milliseconds delay{0};
    int64_t lastUpdateNs = 0;
  };
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace podwarden
