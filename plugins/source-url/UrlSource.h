// UrlSource.h - the `url` source: polls one URL and emits its body as a single document.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <podwarden/plugin.hpp>
#include <string>
#include <string_view>
#include <thread>

#include "UrlConfig.h"
#include "UrlFetcher.h"

namespace podwarden::source_url {

// Emits a snapshot of exactly one document whose origin is config.url: the body of a 200 answer, or an
// error for a failed fetch (the host then keeps the pods of the last good body). The first fetch starts at
// once; the next one config.check after the previous one ended (kubelet httpCheckFrequency). A body equal
// to the last one emitted, a 304 answer and a failure equal to the last failure emitted are not sent again.
//
// Threads: start/stop come from the host (serialized); fetching and emitting happen on the poller thread,
// which stop() wakes (aborting a fetch in progress) and joins.
class UrlSource : public pw::Source {
 public:
  // Failures logged at warning level in a row before the rest go to debug until the URL recovers.
  static constexpr int kLoudFailures = 3;

  UrlSource(const pw::Host& host, std::string_view configJson, std::string_view nodeName);
  ~UrlSource() override;

  void start(pw_emitter_host_ptr* emitter) override;
  void stop() noexcept override;

 private:
  void run() noexcept;
  void pollOnce();
  void succeeded(const std::string& body, const std::string& contentType, const std::string& warning);
  void failed(const std::string& reason);
  void emit(const std::string& data, const std::string& contentType, const std::string& error,
            const std::string& warning);

  pw::Host host_;
  UrlConfig config_;
  std::unique_ptr<UrlFetcher> fetcher_;
  pw_emitter_host_ptr* emitter_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;  // guards stopping_
  std::condition_variable wake_;
  bool stopping_ = false;

  // Poller-thread state.
  struct Cached {
    std::string body;
    std::string contentType;
    std::string etag;
    std::string lastModified;
  };
  std::optional<Cached> cache_;  // last good body and its validators
  struct Emitted {
    bool isError;
    std::string text;  // the body, or the error message
  };
  std::optional<Emitted> lastEmitted_;
  int failures_ = 0;  // consecutive
};

}  // namespace podwarden::source_url
