// Instances.h - host-side handles of plugin instances: the only way core code calls a plugin.
//
// Each class owns one plugin instance (create in the constructor, destroy in the destructor, both on
// the caller's thread) and turns the C vtable into C++ calls with host-owned buffers. Calls into one
// instance are serialized with a mutex unless the factory declares PW_CAP_CONCURRENT.
#pragma once

#include "plugin/PluginLibrary.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace podwarden::plugin {

// Result of one plugin call: status, the response bytes (out) and the error message (err).
struct CallResult {
  pw_status status = PW_OK;
  std::string out;
  std::string err;
  bool ok() const { return status == PW_OK; }
  // "UNAVAILABLE: cannot connect to /var/run/docker.sock" style text.
  std::string describe() const;
};

// Deadline and cancellation for one call. Cancel from another thread to make a long call give up.
class CallContext {
 public:
  explicit CallContext(std::chrono::milliseconds timeout);
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  int64_t deadlineNs() const { return deadlineNs_; }
  const pw_call_ctx_host_ptr* handle() const { return reinterpret_cast<const pw_call_ctx_host_ptr*>(this); }

 private:
  int64_t deadlineNs_;
  std::atomic<bool> cancelled_{false};
};

// One origin of a source snapshot, copied out of the plugin's pw_manifest_doc.
struct ManifestDoc {
  std::string origin;
  std::string contentType;
  std::string data;
  std::string error;
  std::string warning;
};

// Base: library + factory + instance pointer, and the serialization mutex.
class InstanceBase {
 public:
  virtual ~InstanceBase() = default;
  const PluginLibrary& library() const { return *library_; }
  const Factory& factory() const { return factory_; }
  // "runtime-docker/docker" style name for logs.
  std::string displayName() const;

 protected:
  InstanceBase(std::shared_ptr<PluginLibrary> library, int32_t kind, const std::string& type);
  // Creates the instance through `create` (the vtable's); throws PluginError with the plugin's message.
  void createInstance(pw_status (*create)(const pw_host_api*, pw_str, pw_str, pw_instance_plugin_ptr**,
                                          pw_buffer_host_ptr*),
                      const std::string& configJson, const std::string& nodeName);
  std::unique_lock<std::mutex> serialize();

  std::shared_ptr<PluginLibrary> library_;
  Factory factory_;
  pw_instance_plugin_ptr* instance_ = nullptr;
  std::mutex mutex_;
};

class SourceInstance : public InstanceBase {
 public:
  using SnapshotCallback = std::function<void(std::vector<ManifestDoc>)>;
  // Throws PluginError when the library has no source factory `type` or create fails.
  SourceInstance(std::shared_ptr<PluginLibrary> library, const std::string& type, const std::string& configJson,
                 const std::string& nodeName);
  ~SourceInstance() override;
  // `onSnapshot` is called from the plugin's threads (or inside start) with each complete snapshot.
  CallResult start(SnapshotCallback onSnapshot);
  void stop();

 private:
  pw_source_vtable vtable_{};
  struct Emitter;
  std::unique_ptr<Emitter> emitter_;
  bool started_ = false;
};

// The CRI-shaped calls of pw_runtime_vtable, by name.
enum class RuntimeCall {
  kVersion, kRunPodSandbox, kStopPodSandbox, kRemovePodSandbox, kPodSandboxStatus, kListPodSandbox,
  kCreateContainer, kStartContainer, kStopContainer, kRemoveContainer, kListContainers, kContainerStatus,
  kExecSync, kImageStatus, kPullImage
};
const char* runtimeCallName(RuntimeCall call);

class RuntimeInstance : public InstanceBase {
 public:
  using EventCallback = std::function<void(std::string eventJson)>;
  RuntimeInstance(std::shared_ptr<PluginLibrary> library, const std::string& type, const std::string& configJson,
                  const std::string& nodeName);
  ~RuntimeInstance() override;
  // Calls the runtime; a NULL vtable member gives UNIMPLEMENTED.
  CallResult call(RuntimeCall which, std::string_view requestJson, const CallContext& ctx);
  CallResult call(RuntimeCall which, std::string_view requestJson,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60));
  bool hasEvents() const { return vtable_.watch_events != nullptr && vtable_.unwatch_events != nullptr; }
  // Starts the event stream; `onEvent` runs on the plugin's thread.
  CallResult watchEvents(EventCallback onEvent);
  void unwatchEvents();

 private:
  pw_runtime_vtable vtable_{};
  struct Emitter;
  std::unique_ptr<Emitter> emitter_;
  bool watching_ = false;
};

// One item of a sink's emit_sink_state: the sink's own state of pod `uid`, as canonical JSON (object keys
// sorted, json::stringify), or "null" to clear it.
struct SinkStateItem {
  std::string uid;
  std::string stateJson;
};
// Reads one emit_sink_state batch, {"items":[{"uid":"...","state":{...}|null}...]}, into items with
// canonical state JSON. Throws std::invalid_argument naming what is wrong; then nothing may be applied.
std::vector<SinkStateItem> parseSinkState(const std::string& text);

class SinkInstance : public InstanceBase {
 public:
  // Receives each well-formed emit_sink_state batch, on the plugin's thread, all items at once.
  using StateCallback = std::function<void(std::vector<SinkStateItem>)>;

  SinkInstance(std::shared_ptr<PluginLibrary> library, const std::string& type, const std::string& configJson,
               const std::string& nodeName);
  // Stops the instance if it is started, then destroys it.
  ~SinkInstance() override;
  // ABI minor 1: the sink's start(), with an emitter whose emit_sink_state batches go to `onState`
  // (a sink without start, e.g. one built for minor 0, succeeds at once and never emits). Call once, before
  // the first report. On failure the instance stays unstarted and the emitter refuses every emit.
  CallResult start(StateCallback onState);
  // The sink's stop(), when started. Call after the last report/remove has returned: it joins the
  // plugin's threads. Afterwards the emitter refuses emits (PW_FAILED_PRECONDITION) and `onState` is never
  // called again, so whatever it refers to may go away.
  void stop();
  bool hasStartStop() const { return vtable_.start != nullptr || vtable_.stop != nullptr; }
  CallResult report(std::string_view batchJson, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  CallResult remove(std::string_view batchJson, std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  pw_status acceptState(std::string stateJson);

  pw_sink_vtable vtable_{};
  struct Emitter;
  std::unique_ptr<Emitter> emitter_;
  // Guards onState_: held while a batch is delivered, so that after stop() clears it no delivery runs.
  std::mutex stateMutex_;
  StateCallback onState_;
  bool started_ = false;
};

}  // namespace podwarden::plugin
