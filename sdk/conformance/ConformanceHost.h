// ConformanceHost.h - the host table podwarden-conformance hands to the plugin under test.
//
// Unlike the daemon's, every handle it gives out (buffer, emitter, call context) is tracked: the tool
// closes it when the call (or stop/unwatch) it belongs to has returned, and any later use by the plugin is
// recorded as a violation instead of being undefined behaviour. Handles are never freed before the tool
// exits, so a late use reads valid memory and can be reported. All host functions are thread-safe.
#pragma once

#include <podwarden/abi.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace podwarden::conformance {

struct Buffer {
  std::string what;  // "err of runtime/docker version", for violation messages
  std::atomic<bool> open{true};
  std::mutex mutex;
  std::string data;
  pw_buffer_host_ptr* handle() { return reinterpret_cast<pw_buffer_host_ptr*>(this); }
};

struct Emitter {
  std::string what;
  int32_t kind = 0;  // PW_KIND_* of the instance it was given to
  std::atomic<bool> open{true};
  std::mutex mutex;
  size_t snapshots = 0;
  size_t documents = 0;
  size_t events = 0;
  size_t sinkStates = 0;  // emit_sink_state batches (ABI minor 1)
  pw_emitter_host_ptr* handle() { return reinterpret_cast<pw_emitter_host_ptr*>(this); }
};

struct CallCtx {
  std::string what;
  std::atomic<bool> open{true};
  int64_t deadlineNs = 0;  // host monotonic ns; 0 = none
  std::atomic<bool> cancelled{false};
  const pw_call_ctx_host_ptr* handle() const { return reinterpret_cast<const pw_call_ctx_host_ptr*>(this); }
};

class ConformanceHost {
 public:
  ConformanceHost();
  const pw_host_api* api() const { return &api_; }

  // Handles live until the host is destroyed; close() them when their call returns.
  Buffer& newBuffer(const std::string& what);
  Emitter& newEmitter(const std::string& what, int32_t kind);
  CallCtx& newCallCtx(const std::string& what, std::chrono::milliseconds timeout);

  // Everything the plugin did wrong through the host table so far, and how many log lines it wrote.
  std::vector<std::string> violations() const;
  size_t violationCount() const;
  size_t logLines() const { return logLines_; }
  void setVerbose(bool verbose) { verbose_ = verbose; }
  bool verbose() const { return verbose_; }

  static int64_t monotonicNs();

  // Called by the table's functions.
  void violation(const std::string& message);
  void logLine(int32_t level, pw_str message);

 private:
  pw_host_api api_{};
  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<Buffer>> buffers_;
  std::deque<std::unique_ptr<Emitter>> emitters_;
  std::deque<std::unique_ptr<CallCtx>> contexts_;
  std::vector<std::string> violations_;
  std::atomic<size_t> logLines_{0};
  std::atomic<bool> verbose_{false};
};

}  // namespace podwarden::conformance
