// podwarden/plugin.hpp - header-only C++17 helpers for writing podwarden plugins.
//
// Everything here is compiled into the plugin; nothing of it crosses the ABI. It maps the C vtables of
// abi.h onto small C++ classes and turns every exception into a pw_status plus a message, so a plugin
// author writes ordinary C++ and never leaks an exception into the host.
//
// Usage (a runtime plugin):
//
//   class MyRuntime : public pw::Runtime {
//    public:
//     MyRuntime(const pw::Host& host, std::string_view config_json, std::string_view node_name);
//     pw_status runPodSandbox(const pw::Call& call, std::string_view request, std::string& out) override;
//     ...
//   };
//   static const pw_runtime_vtable kVtable = pw::runtimeVtable<MyRuntime>();
//   static const pw_factory kFactory = pw::factory(PW_KIND_RUNTIME, "mine", 0, &kVtable);
//   PW_DEFINE_PLUGIN("runtime-mine", "1.0.0", "My runtime", nullptr, &kFactory)
//
// Thread-safety: the wrappers add no locking; the host serializes calls into one instance unless the
// factory declares PW_CAP_CONCURRENT.
#ifndef PODWARDEN_PLUGIN_HPP_
#define PODWARDEN_PLUGIN_HPP_

#include <podwarden/abi.h>

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pw {
inline namespace v1 {

inline pw_str toStr(std::string_view s) { return pw_str{s.data(), s.size()}; }
inline std::string_view toView(pw_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }

// An error with a status code. Thrown by plugin code; the wrappers turn it into (code, message).
class Error : public std::runtime_error {
 public:
  Error(pw_status code, const std::string& message) : std::runtime_error(message), code_(code) {}
  pw_status code() const { return code_; }

 private:
  pw_status code_;
};

// The host table, with helpers. Copyable; refers to the host's table, which outlives the plugin.
class Host {
 public:
  explicit Host(const pw_host_api* api = nullptr) : api_(api) {}
  const pw_host_api* api() const { return api_; }
  uint16_t abiMinor() const { return api_ ? api_->abi_minor : 0; }

  void log(int32_t level, std::string_view message) const {
    if (api_ && PW_HOST_HAS(api_, log)) api_->log(api_, level, toStr(message));
  }
  void error(std::string_view m) const { log(PW_LOG_ERROR, m); }
  void warning(std::string_view m) const { log(PW_LOG_WARNING, m); }
  void info(std::string_view m) const { log(PW_LOG_INFO, m); }
  void debug(std::string_view m) const { log(PW_LOG_DEBUG, m); }

  int64_t nowUnixNs() const { return api_ && PW_HOST_HAS(api_, now_unix_ns) ? api_->now_unix_ns(api_) : 0; }
  int64_t monotonicNs() const {
    return api_ && PW_HOST_HAS(api_, monotonic_ns) ? api_->monotonic_ns(api_) : 0;
  }

  // Appends to a host-owned buffer. Returns false if the host refused (buffer limit).
  bool write(pw_buffer_host_ptr* buffer, std::string_view bytes) const {
    if (!buffer || !api_ || !PW_HOST_HAS(api_, buffer_write)) return false;
    return api_->buffer_write(buffer, bytes.data(), bytes.size()) == PW_OK;
  }

  // Replaces a source's snapshot. `docs` are copied by the host before this returns.
  pw_status emitSnapshot(pw_emitter_host_ptr* emitter, const std::vector<pw_manifest_doc>& docs) const {
    if (!api_ || !PW_HOST_HAS(api_, emit_snapshot)) return PW_UNIMPLEMENTED;
    std::vector<const pw_manifest_doc*> ptrs;
    ptrs.reserve(docs.size());
    for (const auto& d : docs) ptrs.push_back(&d);
    return api_->emit_snapshot(emitter, ptrs.data(), ptrs.size());
  }

  pw_status emitEvent(pw_emitter_host_ptr* emitter, std::string_view event_json) const {
    if (!api_ || !PW_HOST_HAS(api_, emit_event)) return PW_UNIMPLEMENTED;
    return api_->emit_event(emitter, toStr(event_json));
  }

  // ABI minor 1: a sink publishes its per-pod state, {"items":[{"uid":"...","state":{...} or null}...]},
  // through the emitter its start() was given. PW_UNIMPLEMENTED on a host older than minor 1 (a plugin
  // that cannot do without it declares min_host_minor 1, see PW_DEFINE_PLUGIN_MIN_HOST).
  pw_status emitSinkState(pw_emitter_host_ptr* emitter, std::string_view state_json) const {
    if (!api_ || !PW_HOST_HAS(api_, emit_sink_state)) return PW_UNIMPLEMENTED;
    return api_->emit_sink_state(emitter, toStr(state_json));
  }

 private:
  const pw_host_api* api_;
};

// A manifest document for Host::emitSnapshot. The views must stay valid until emitSnapshot returns.
inline pw_manifest_doc manifestDoc(std::string_view origin, std::string_view content_type, std::string_view data,
                                   std::string_view error = {}, std::string_view warning = {}) {
  pw_manifest_doc d{};
  d.struct_size = sizeof(pw_manifest_doc);
  d.origin = toStr(origin);
  d.content_type = toStr(content_type);
  d.data = toStr(data);
  d.error = toStr(error);
  d.warning = toStr(warning);
  return d;
}

// The per-call context: deadline and cancellation.
class Call {
 public:
  Call(const Host& host, const pw_call_ctx_host_ptr* ctx) : host_(host), ctx_(ctx) {}
  // Deadline in host monotonic nanoseconds, 0 = none.
  int64_t deadlineNs() const {
    const pw_host_api* a = host_.api();
    return ctx_ && a && PW_HOST_HAS(a, call_deadline_ns) ? a->call_deadline_ns(ctx_) : 0;
  }
  // Milliseconds left until the deadline (at least 1), or `fallback_ms` when the call has none.
  long remainingMs(long fallback_ms) const {
    int64_t d = deadlineNs();
    if (d == 0) return fallback_ms;
    int64_t left = (d - host_.monotonicNs()) / 1000000;
    return left < 1 ? 1 : static_cast<long>(left);
  }
  bool cancelled() const {
    const pw_host_api* a = host_.api();
    return ctx_ && a && PW_HOST_HAS(a, call_cancelled) && a->call_cancelled(ctx_) != 0;
  }
  const Host& host() const { return host_; }

 private:
  Host host_;
  const pw_call_ctx_host_ptr* ctx_;
};

namespace detail {

// Runs `fn` and maps exceptions to a status + message in `err`.
template <class Fn>
pw_status guard(const Host& host, pw_buffer_host_ptr* err, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const Error& e) {
    host.write(err, e.what());
    return e.code();
  } catch (const std::bad_alloc&) {
    host.write(err, "out of memory");
    return PW_RESOURCE_EXHAUSTED;
  } catch (const std::exception& e) {
    host.write(err, e.what());
    return PW_INTERNAL;
  } catch (...) {
    host.write(err, "unknown exception");
    return PW_INTERNAL;
  }
}

// Each instance remembers the host table it was created with.
struct InstanceBase {
  Host host;
};

template <class T>
struct Instance : InstanceBase {
  T* impl = nullptr;
};

template <class T>
Instance<T>* self(pw_instance_plugin_ptr* p) {
  return reinterpret_cast<Instance<T>*>(p);
}

template <class T>
pw_status create(const pw_host_api* host, pw_str config_json, pw_str node_name, pw_instance_plugin_ptr** out,
                 pw_buffer_host_ptr* err) noexcept {
  Host h(host);
  return guard(h, err, [&]() -> pw_status {
    auto* inst = new Instance<T>();
    inst->host = h;
    try {
      inst->impl = new T(h, toView(config_json), toView(node_name));
    } catch (...) {
      delete inst;
      throw;
    }
    *out = reinterpret_cast<pw_instance_plugin_ptr*>(inst);
    return PW_OK;
  });
}

template <class T>
void destroy(pw_instance_plugin_ptr* p) noexcept {
  auto* inst = self<T>(p);
  try {
    delete inst->impl;
  } catch (...) {
    // A destructor that throws has nowhere to report to; the instance is gone either way.
  }
  delete inst;
}

}  // namespace detail

// ---- Sources ----------------------------------------------------------------------------------------

// Base class of a source. Construct from (const Host&, std::string_view config_json, std::string_view node).
class Source {
 public:
  virtual ~Source() = default;
  // Begin emitting snapshots through host.emitSnapshot(emitter, ...). Throw pw::Error on failure.
  virtual void start(pw_emitter_host_ptr* emitter) = 0;
  // Stop emitting; join every thread. Must not throw.
  virtual void stop() noexcept = 0;
};

template <class T>
pw_source_vtable sourceVtable() {
  pw_source_vtable v{};
  v.struct_size = sizeof(v);
  v.create = &detail::create<T>;
  v.destroy = &detail::destroy<T>;
  v.start = [](pw_instance_plugin_ptr* p, pw_emitter_host_ptr* emitter, pw_buffer_host_ptr* err) -> pw_status {
    auto* inst = detail::self<T>(p);
    return detail::guard(inst->host, err, [&] {
      inst->impl->start(emitter);
      return PW_OK;
    });
  };
  v.stop = [](pw_instance_plugin_ptr* p) { detail::self<T>(p)->impl->stop(); };
  return v;
}

// ---- Runtimes ---------------------------------------------------------------------------------------

// Base class of a runtime. Each call gets the CRI request JSON and appends the response JSON to `out`.
// A call the runtime cannot do keeps the default, which reports UNIMPLEMENTED.
class Runtime {
 public:
  virtual ~Runtime() = default;
#define PW_RUNTIME_METHOD(name)                                                 \
  virtual pw_status name(const Call&, std::string_view /*request*/, std::string& /*out*/) { \
    throw Error(PW_UNIMPLEMENTED, #name " is not supported by this runtime");   \
  }
  PW_RUNTIME_METHOD(version)
  PW_RUNTIME_METHOD(runPodSandbox)
  PW_RUNTIME_METHOD(stopPodSandbox)
  PW_RUNTIME_METHOD(removePodSandbox)
  PW_RUNTIME_METHOD(podSandboxStatus)
  PW_RUNTIME_METHOD(listPodSandbox)
  PW_RUNTIME_METHOD(createContainer)
  PW_RUNTIME_METHOD(startContainer)
  PW_RUNTIME_METHOD(stopContainer)
  PW_RUNTIME_METHOD(removeContainer)
  PW_RUNTIME_METHOD(listContainers)
  PW_RUNTIME_METHOD(containerStatus)
  PW_RUNTIME_METHOD(execSync)
  PW_RUNTIME_METHOD(imageStatus)
  PW_RUNTIME_METHOD(pullImage)
#undef PW_RUNTIME_METHOD
  // Event stream; the default has none (the host then relies on relists).
  virtual bool supportsEvents() const { return false; }
  virtual void watchEvents(pw_emitter_host_ptr* /*emitter*/) {
    throw Error(PW_UNIMPLEMENTED, "this runtime has no event stream");
  }
  virtual void unwatchEvents() noexcept {}
};

namespace detail {
template <class T, pw_status (Runtime::*M)(const Call&, std::string_view, std::string&)>
pw_status runtimeCall(pw_instance_plugin_ptr* p, const pw_call_ctx_host_ptr* ctx, pw_str request,
                      pw_buffer_host_ptr* out, pw_buffer_host_ptr* err) noexcept {
  auto* inst = self<T>(p);
  return guard(inst->host, err, [&]() -> pw_status {
    std::string response;
    Call call(inst->host, ctx);
    pw_status st = (static_cast<Runtime*>(inst->impl)->*M)(call, toView(request), response);
    if (st == PW_OK && !inst->host.write(out, response)) return PW_RESOURCE_EXHAUSTED;
    return st;
  });
}
}  // namespace detail

template <class T>
pw_runtime_vtable runtimeVtable() {
  pw_runtime_vtable v{};
  v.struct_size = sizeof(v);
  v.create = &detail::create<T>;
  v.destroy = &detail::destroy<T>;
  v.version = &detail::runtimeCall<T, &Runtime::version>;
  v.run_pod_sandbox = &detail::runtimeCall<T, &Runtime::runPodSandbox>;
  v.stop_pod_sandbox = &detail::runtimeCall<T, &Runtime::stopPodSandbox>;
  v.remove_pod_sandbox = &detail::runtimeCall<T, &Runtime::removePodSandbox>;
  v.pod_sandbox_status = &detail::runtimeCall<T, &Runtime::podSandboxStatus>;
  v.list_pod_sandbox = &detail::runtimeCall<T, &Runtime::listPodSandbox>;
  v.create_container = &detail::runtimeCall<T, &Runtime::createContainer>;
  v.start_container = &detail::runtimeCall<T, &Runtime::startContainer>;
  v.stop_container = &detail::runtimeCall<T, &Runtime::stopContainer>;
  v.remove_container = &detail::runtimeCall<T, &Runtime::removeContainer>;
  v.list_containers = &detail::runtimeCall<T, &Runtime::listContainers>;
  v.container_status = &detail::runtimeCall<T, &Runtime::containerStatus>;
  v.exec_sync = &detail::runtimeCall<T, &Runtime::execSync>;
  v.image_status = &detail::runtimeCall<T, &Runtime::imageStatus>;
  v.pull_image = &detail::runtimeCall<T, &Runtime::pullImage>;
  v.watch_events = [](pw_instance_plugin_ptr* p, pw_emitter_host_ptr* emitter, pw_buffer_host_ptr* err) -> pw_status {
    auto* inst = detail::self<T>(p);
    return detail::guard(inst->host, err, [&] {
      static_cast<Runtime*>(inst->impl)->watchEvents(emitter);
      return PW_OK;
    });
  };
  v.unwatch_events = [](pw_instance_plugin_ptr* p) { static_cast<Runtime*>(detail::self<T>(p)->impl)->unwatchEvents(); };
  return v;
}

// ---- Sinks ------------------------------------------------------------------------------------------

class Sink {
 public:
  virtual ~Sink() = default;
  // Return PW_OK, or a retryable code (PW_UNAVAILABLE) to be called again later with the latest state.
  virtual pw_status report(const Call& call, std::string_view batch_json) = 0;
  virtual pw_status remove(const Call& call, std::string_view batch_json) = 0;
  // ABI minor 1 (a host of minor 0 calls neither). Called once after the constructor, before the first
  // report: start threads here; `emitter` is for host.emitSinkState until stop() returns. Throw pw::Error
  // on failure.
  virtual void start(pw_emitter_host_ptr* /*emitter*/) {}
  // Called after the last report/remove, before the destructor: join every thread; never use the emitter
  // again. Must not throw.
  virtual void stop() noexcept {}
};

template <class T>
pw_sink_vtable sinkVtable() {
  pw_sink_vtable v{};
  v.struct_size = sizeof(v);
  v.create = &detail::create<T>;
  v.destroy = &detail::destroy<T>;
  v.report = [](pw_instance_plugin_ptr* p, const pw_call_ctx_host_ptr* ctx, pw_str batch,
                pw_buffer_host_ptr* err) -> pw_status {
    auto* inst = detail::self<T>(p);
    return detail::guard(inst->host, err, [&] { return inst->impl->report(Call(inst->host, ctx), toView(batch)); });
  };
  v.remove = [](pw_instance_plugin_ptr* p, const pw_call_ctx_host_ptr* ctx, pw_str batch,
                pw_buffer_host_ptr* err) -> pw_status {
    auto* inst = detail::self<T>(p);
    return detail::guard(inst->host, err, [&] { return inst->impl->remove(Call(inst->host, ctx), toView(batch)); });
  };
  v.start = [](pw_instance_plugin_ptr* p, pw_emitter_host_ptr* emitter,
               pw_buffer_host_ptr* err) -> pw_status {
    auto* inst = detail::self<T>(p);
    return detail::guard(inst->host, err, [&] {
      static_cast<Sink*>(inst->impl)->start(emitter);
      return PW_OK;
    });
  };
  v.stop = [](pw_instance_plugin_ptr* p) { static_cast<Sink*>(detail::self<T>(p)->impl)->stop(); };
  return v;
}

// ---- Plugin description -----------------------------------------------------------------------------

inline pw_factory factory(int32_t kind, const char* type, uint64_t capabilities, const void* vtable) {
  pw_factory f{};
  f.struct_size = sizeof(f);
  f.kind = kind;
  f.type = type;
  f.capabilities = capabilities;
  f.vtable = vtable;
  return f;
}

}  // namespace v1
}  // namespace pw

// Defines pw_plugin_entry_v1 for a plugin with the given factories (pointers to static pw_factory).
// `schema` is the config JSON Schema (a string literal) or nullptr. The plugin needs nothing newer than
// ABI minor 0 from the host.
#define PW_DEFINE_PLUGIN(plugin_name, plugin_version, plugin_description, schema, ...) \
  PW_DEFINE_PLUGIN_MIN_HOST(0, plugin_name, plugin_version, plugin_description, schema, __VA_ARGS__)

// As PW_DEFINE_PLUGIN, for a plugin that uses what host ABI minor `min_host` added (e.g. 1 for
// Host::emitSinkState or Sink::start/stop): it declares min_host_minor, so an older podwarden refuses it
// at load time with a message that says so, instead of the plugin finding the service missing later.
#define PW_DEFINE_PLUGIN_MIN_HOST(min_host, plugin_name, plugin_version, plugin_description, schema, ...)  \
  extern "C" PW_PLUGIN_EXPORT pw_status pw_plugin_entry_v1(const pw_host_api* host,                   \
                                                           const pw_plugin_info** info_out,            \
                                                           pw_buffer_host_ptr* err) {                  \
    static const pw_factory* const kFactories[] = {__VA_ARGS__};                                       \
    static pw_plugin_info info = [] {                                                                  \
      pw_plugin_info i{};                                                                              \
      i.struct_size = sizeof(pw_plugin_info);                                                          \
      i.abi_major = PW_ABI_MAJOR;                                                                      \
      i.abi_minor = PW_ABI_MINOR;                                                                      \
      i.min_host_minor = (min_host);                                                                   \
      i.name = plugin_name;                                                                            \
      i.version = plugin_version;                                                                      \
      i.description = plugin_description;                                                              \
      i.config_schema_json = schema;                                                                   \
      i.factories = kFactories;                                                                        \
      i.factory_count = sizeof(kFactories) / sizeof(kFactories[0]);                                    \
      return i;                                                                                        \
    }();                                                                                               \
    static_assert((min_host) <= PW_ABI_MINOR, "min_host_minor must name a minor this SDK knows");      \
    if (host == nullptr || host->abi_major != PW_ABI_MAJOR) {                                          \
      return PW_FAILED_PRECONDITION;                                                                   \
    }                                                                                                  \
    (void)err;                                                                                         \
    *info_out = &info;                                                                                 \
    return PW_OK;                                                                                      \
  }

#endif  // PODWARDEN_PLUGIN_HPP_
