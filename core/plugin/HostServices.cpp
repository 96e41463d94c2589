#include "plugin/HostServices.h"

#include "util/Log.h"

#include <chrono>
#include <cstring>
#include <new>

namespace podwarden::plugin {
namespace {

std::string copyStr(pw_str s) { return s.data && s.len ? std::string(s.data, s.len) : std::string(); }

void hostLog(const pw_host_api* host, int32_t level, pw_str message) {
  const auto* library = static_cast<const PluginLibrary*>(host->host_ctx_host_ptr);
  LogLevel l = LogLevel::kInfo;
  if (level <= PW_LOG_ERROR) l = LogLevel::kError;
  else if (level == PW_LOG_WARNING) l = LogLevel::kWarning;
  else if (level >= PW_LOG_DEBUG) l = LogLevel::kDebug;
  Log::write(l, library ? library->info().name : std::string("plugin"), copyStr(message));
}

pw_status hostBufferWrite(pw_buffer_host_ptr* buffer, const char* data, size_t len) {
  if (buffer == nullptr) return PW_INVALID_ARGUMENT;
  auto* b = reinterpret_cast<HostBuffer*>(buffer);
  if (len == 0) return PW_OK;
  if (data == nullptr) return PW_INVALID_ARGUMENT;
  if (b->data.size() + len > HostBuffer::kLimit) return PW_RESOURCE_EXHAUSTED;
  b->data.append(data, len);
  return PW_OK;
}

pw_status hostEmitSnapshot(pw_emitter_host_ptr* emitter, const pw_manifest_doc* const* docs, size_t count) {
  auto* e = reinterpret_cast<HostEmitter*>(emitter);
  if (e == nullptr || !e->onSnapshot) return PW_FAILED_PRECONDITION;
  if (count > 0 && docs == nullptr) return PW_INVALID_ARGUMENT;
  std::vector<ManifestDoc> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (docs[i] == nullptr) return PW_INVALID_ARGUMENT;
    // Read a plugin struct of any size: copy what both sides know into a zeroed local.
    pw_manifest_doc d{};
    size_t n = docs[i]->struct_size < sizeof(d) ? docs[i]->struct_size : sizeof(d);
    if (n < offsetof(pw_manifest_doc, data) + sizeof(pw_str)) return PW_INVALID_ARGUMENT;
    std::memcpy(&d, docs[i], n);
    ManifestDoc m;
    m.origin = copyStr(d.origin);
    m.contentType = copyStr(d.content_type);
    m.data = copyStr(d.data);
    if (n >= offsetof(pw_manifest_doc, error) + sizeof(pw_str)) m.error = copyStr(d.error);
    if (n >= offsetof(pw_manifest_doc, warning) + sizeof(pw_str)) m.warning = copyStr(d.warning);
    out.push_back(std::move(m));
  }
  e->onSnapshot(std::move(out));
  return PW_OK;
}

pw_status hostEmitEvent(pw_emitter_host_ptr* emitter, pw_str event_json) {
  auto* e = reinterpret_cast<HostEmitter*>(emitter);
  if (e == nullptr || !e->onEvent) return PW_FAILED_PRECONDITION;
  e->onEvent(copyStr(event_json));
  return PW_OK;
}

pw_status hostEmitSinkState(pw_emitter_host_ptr* emitter, pw_str state_json) {
  auto* e = reinterpret_cast<HostEmitter*>(emitter);
  if (e == nullptr || !e->onSinkState) return PW_FAILED_PRECONDITION;
  if (state_json.len > 0 && state_json.data == nullptr) return PW_INVALID_ARGUMENT;
  try {
    return e->onSinkState(copyStr(state_json));
  } catch (const std::bad_alloc&) {
    return PW_RESOURCE_EXHAUSTED;
  }
}

int64_t hostNow(const pw_host_api*) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t hostMonotonic(const pw_host_api*) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t hostCallDeadline(const pw_call_ctx_host_ptr* ctx) {
  return ctx ? reinterpret_cast<const CallContext*>(ctx)->deadlineNs() : 0;
}

uint8_t hostCallCancelled(const pw_call_ctx_host_ptr* ctx) {
  return ctx && reinterpret_cast<const CallContext*>(ctx)->cancelled() ? 1 : 0;
}

}  // namespace

void HostServices::initHostApi(PluginLibrary& library) {
  pw_host_api& api = library.hostApi_;
  api = pw_host_api{};
  api.struct_size = sizeof(pw_host_api);
  api.abi_major = PW_ABI_MAJOR;
  api.abi_minor = PW_ABI_MINOR;
  api.host_ctx_host_ptr = &library;
  api.log = &hostLog;
  api.buffer_write = &hostBufferWrite;
  api.emit_snapshot = &hostEmitSnapshot;
  api.emit_event = &hostEmitEvent;
  api.now_unix_ns = &hostNow;
  api.monotonic_ns = &hostMonotonic;
  api.call_deadline_ns = &hostCallDeadline;
  api.call_cancelled = &hostCallCancelled;
  api.emit_sink_state = &hostEmitSinkState;
}

}  // namespace podwarden::plugin
