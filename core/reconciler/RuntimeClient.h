// RuntimeClient.h - the reconciler's view of a container runtime: CRI calls with JSON objects.
//
// The seam between the reconciler's logic and a runtime plugin (LevelDB's Env idea): the daemon uses
// PluginRuntimeClient; unit tests can use an in-memory implementation.
#pragma once

#include "plugin/Instances.h"
#include "util/Json.h"

#include <chrono>
#include <stdexcept>
#include <string>

namespace podwarden {

// A runtime call failed. `status` is the plugin's pw_status.
class RuntimeError : public std::runtime_error {
 public:
  RuntimeError(pw_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  pw_status status() const { return status_; }

 private:
  pw_status status_;
};

class RuntimeClient {
 public:
  virtual ~RuntimeClient() = default;
  // Sends `request` (a CRI request message) and returns the parsed response. Throws RuntimeError.
  // Thread-safe.
  virtual json::ObjectPtr call(plugin::RuntimeCall which, const json::ObjectPtr& request,
                               std::chrono::milliseconds timeout) = 0;
  json::ObjectPtr call(plugin::RuntimeCall which, const json::ObjectPtr& request) {
    return call(which, request, std::chrono::seconds(60));
  }
};

// How the host reads a runtime plugin's answer to `which`: the response object. Throws RuntimeError with the
// plugin's status and its message (bytes that are not UTF-8 replaced by U+FFFD) when the call failed, and
// INTERNAL when the plugin wrote something that is not a JSON object. An empty answer reads as {}.
json::ObjectPtr parseRuntimeResult(plugin::RuntimeCall which, const plugin::CallResult& result);

class PluginRuntimeClient : public RuntimeClient {
 public:
  explicit PluginRuntimeClient(plugin::RuntimeInstance& runtime) : runtime_(runtime) {}
  json::ObjectPtr call(plugin::RuntimeCall which, const json::ObjectPtr& request,
                       std::chrono::milliseconds timeout) override;
  using RuntimeClient::call;

 private:
  plugin::RuntimeInstance& runtime_;
};

}  // namespace podwarden
