#include "ConformanceHost.h"

#include <cstdio>
#include <ctime>
#include <set>

#include "util/Json.h"

namespace podwarden::conformance {

namespace {

// The one ConformanceHost of the process: the table's functions are plain C functions without a context
// argument for buffers and emitters, so they find the host here.
ConformanceHost* gHost = nullptr;

std::string view(pw_str s) {
  return s.data != nullptr ? std::string(s.data, s.len) : std::string();
}

bool strIsValid(pw_str s) {
  return s.len == 0 || s.data != nullptr;
}

void hostLog(const pw_host_api*, int32_t level, pw_str message) {
  gHost->logLine(level, message);
}

pw_status hostBufferWrite(pw_buffer_host_ptr* handle, const char* data, size_t len) {
  if (handle == nullptr) {
    gHost->violation("buffer_write called with a NULL buffer");
    return PW_INVALID_ARGUMENT;
  }
  auto* buffer = reinterpret_cast<Buffer*>(handle);
  if (!buffer->open) {
    gHost->violation("buffer_write into " + buffer->what + " after that call had returned");
    return PW_FAILED_PRECONDITION;
  }
  if (len > 0 && data == nullptr) {
    gHost->violation("buffer_write into " + buffer->what + " with NULL data and length " +
                     std::to_string(len));
    return PW_INVALID_ARGUMENT;
  }
  std::lock_guard<std::mutex> lock(buffer->mutex);
  if (buffer->data.size() + len > (64u << 20)) return PW_RESOURCE_EXHAUSTED;
  buffer->data.append(data, len);
  return PW_OK;
}

pw_status hostEmitSnapshot(pw_emitter_host_ptr* handle, const pw_manifest_doc* const* docs, size_t count) {
  if (handle == nullptr) {
    gHost->violation("emit_snapshot called with a NULL emitter");
    return PW_INVALID_ARGUMENT;
  }
  auto* emitter = reinterpret_cast<Emitter*>(handle);
  if (!emitter->open) {
    gHost->violation("emit_snapshot through " + emitter->what + " after stop() had returned");
    return PW_FAILED_PRECONDITION;
  }
  if (count > 0 && docs == nullptr) {
    gHost->violation("emit_snapshot through " + emitter->what + " with NULL docs and count " +
                     std::to_string(count));
    return PW_INVALID_ARGUMENT;
  }
  std::set<std::string> origins;
  for (size_t i = 0; i < count; ++i) {
    const std::string where = "emit_snapshot through " + emitter->what + ": document #" + std::to_string(i);
    const pw_manifest_doc* doc = docs[i];
    if (doc == nullptr) {
      gHost->violation(where + " is NULL");
      return PW_INVALID_ARGUMENT;
    }
    // Every member of pw_manifest_doc exists since ABI 1.0, so no plugin may send less.
    if (doc->struct_size < sizeof(pw_manifest_doc)) {
      gHost->violation(where + " has struct_size " + std::to_string(doc->struct_size) + ", less than the " +
                       std::to_string(sizeof(pw_manifest_doc)) + " bytes of ABI 1.0");
      return PW_INVALID_ARGUMENT;
    }
    if (!strIsValid(doc->origin) || !strIsValid(doc->content_type) || !strIsValid(doc->data) ||
        !strIsValid(doc->error) || !strIsValid(doc->warning)) {
      gHost->violation(where + " has a pw_str with NULL data and a non-zero length");
      return PW_INVALID_ARGUMENT;
    }
    const std::string origin = view(doc->origin);
    if (origin.empty()) gHost->violation(where + " has an empty origin");
    if (!origins.insert(origin).second) gHost->violation(where + " repeats origin " + origin);
    for (const pw_ext* ext = doc->next; ext != nullptr; ext = ext->next) {
      if (ext->struct_size < sizeof(pw_ext)) {
        gHost->violation(where + " has an extension of struct_size " + std::to_string(ext->struct_size));
        break;
      }
    }
  }
  if (gHost->verbose()) {
    std::fprintf(stderr, "    snapshot through %s: %zu document(s)\n", emitter->what.c_str(), count);
    for (size_t i = 0; i < count; ++i) {
      std::fprintf(stderr, "      origin=%s bytes=%zu error=%s warning=%s\n", view(docs[i]->origin).c_str(),
                   docs[i]->data.len, view(docs[i]->error).c_str(), view(docs[i]->warning).c_str());
    }
  }
  std::lock_guard<std::mutex> lock(emitter->mutex);
  ++emitter->snapshots;
  emitter->documents += count;
  return PW_OK;
}

pw_status hostEmitEvent(pw_emitter_host_ptr* handle, pw_str eventJson) {
  if (handle == nullptr) {
    gHost->violation("emit_event called with a NULL emitter");
    return PW_INVALID_ARGUMENT;
  }
  auto* emitter = reinterpret_cast<Emitter*>(handle);
  if (!emitter->open) {
    gHost->violation("emit_event through " + emitter->what + " after unwatch_events() had returned");
    return PW_FAILED_PRECONDITION;
  }
  if (!strIsValid(eventJson)) {
    gHost->violation("emit_event through " + emitter->what + " with NULL data and a non-zero length");
    return PW_INVALID_ARGUMENT;
  }
  try {
    json::ObjectPtr event = json::parseObject(view(eventJson));
    if (json::getString(event, "containerId").empty()) {
      gHost->violation("emit_event through " + emitter->what +
                       ": event has no containerId: " + view(eventJson));
    }
  } catch (const std::exception& e) {
    gHost->violation("emit_event through " + emitter->what + ": not a JSON object (" + e.what() + ")");
  }
  std::lock_guard<std::mutex> lock(emitter->mutex);
  ++emitter->events;
  return PW_OK;
}

// {"items":[{"uid":"<non-empty>","state":{...}|null}...]}; "" when it is, else what is wrong.
std::string sinkStateProblem(const std::string& text) {
  json::ObjectPtr root;
  try {
    root = json::parseObject(text);
  } catch (const std::exception& e) {
    return std::string("not a JSON object (") + e.what() + ")";
  }
  if (!root->has("items") || !root->isArray("items")) return "\"items\" is not an array";
  json::ArrayPtr items = root->getArray("items");
  for (size_t i = 0; i < items->size(); ++i) {
    const std::string where = "items[" + std::to_string(i) + "]";
    if (!items->isObject(i)) return where + " is not an object";
    json::ObjectPtr item = items->getObject(i);
    if (!item->has("uid") || !item->get("uid").isString() || item->get("uid").convert<std::string>().empty())
      return where + ".uid is not a non-empty string";
    if (!item->has("state") || (!item->isNull("state") && !item->isObject("state")))
      return where + ".state is neither a JSON object nor null";
  }
  return "";
}

pw_status hostEmitSinkState(pw_emitter_host_ptr* handle, pw_str stateJson) {
  if (handle == nullptr) {
    gHost->violation("emit_sink_state called with a NULL emitter");
    return PW_INVALID_ARGUMENT;
  }
  auto* emitter = reinterpret_cast<Emitter*>(handle);
  if (emitter->kind != PW_KIND_SINK) {
    gHost->violation("emit_sink_state through " + emitter->what + ", which is not a sink's emitter");
    return PW_FAILED_PRECONDITION;
  }
  if (!emitter->open) {
    gHost->violation("emit_sink_state through " + emitter->what + " after stop() had returned");
    return PW_FAILED_PRECONDITION;
  }
  if (!strIsValid(stateJson)) {
    gHost->violation("emit_sink_state through " + emitter->what + " with NULL data and a non-zero length");
    return PW_INVALID_ARGUMENT;
  }
  const std::string problem = sinkStateProblem(view(stateJson));
  if (!problem.empty()) {
    gHost->violation("emit_sink_state through " + emitter->what + ": " + problem);
    return PW_INVALID_ARGUMENT;
  }
  if (gHost->verbose()) {
    std::fprintf(stderr, "    sink state through %s: %s\n", emitter->what.c_str(), view(stateJson).c_str());
  }
  std::lock_guard<std::mutex> lock(emitter->mutex);
  ++emitter->sinkStates;
  return PW_OK;
}

int64_t hostNowUnixNs(const pw_host_api*) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t hostMonotonicNs(const pw_host_api*) {
  return ConformanceHost::monotonicNs();
}

const CallCtx* checkedCtx(const pw_call_ctx_host_ptr* handle, const char* function) {
  if (handle == nullptr) {
    gHost->violation(std::string(function) + " called with a NULL call context");
    return nullptr;
  }
  const auto* ctx = reinterpret_cast<const CallCtx*>(handle);
  if (!ctx->open)
    gHost->violation(std::string(function) + " on the context of " + ctx->what + " after it returned");
  return ctx;
}

int64_t hostCallDeadline(const pw_call_ctx_host_ptr* handle) {
  const CallCtx* ctx = checkedCtx(handle, "call_deadline_ns");
  return ctx != nullptr ? ctx->deadlineNs : 0;
}

uint8_t hostCallCancelled(const pw_call_ctx_host_ptr* handle) {
  const CallCtx* ctx = checkedCtx(handle, "call_cancelled");
  return ctx != nullptr && ctx->cancelled ? 1 : 0;
}

}  // namespace

ConformanceHost::ConformanceHost() {
  gHost = this;
  api_.struct_size = sizeof(pw_host_api);
  api_.abi_major = PW_ABI_MAJOR;
  api_.abi_minor = PW_ABI_MINOR;
  api_.host_ctx_host_ptr = this;
  api_.log = &hostLog;
  api_.buffer_write = &hostBufferWrite;
  api_.emit_snapshot = &hostEmitSnapshot;
  api_.emit_event = &hostEmitEvent;
  api_.now_unix_ns = &hostNowUnixNs;
  api_.monotonic_ns = &hostMonotonicNs;
  api_.call_deadline_ns = &hostCallDeadline;
  api_.call_cancelled = &hostCallCancelled;
  api_.emit_sink_state = &hostEmitSinkState;
}

int64_t ConformanceHost::monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

Buffer& ConformanceHost::newBuffer(const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  buffers_.push_back(std::make_unique<Buffer>());
  buffers_.back()->what = what;
  return *buffers_.back();
}

Emitter& ConformanceHost::newEmitter(const std::string& what, int32_t kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  emitters_.push_back(std::make_unique<Emitter>());
  emitters_.back()->what = what;
  emitters_.back()->kind = kind;
  return *emitters_.back();
}

CallCtx& ConformanceHost::newCallCtx(const std::string& what, std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lock(mutex_);
  contexts_.push_back(std::make_unique<CallCtx>());
  CallCtx& ctx = *contexts_.back();
  ctx.what = what;
  ctx.deadlineNs = monotonicNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  return ctx;
}

std::vector<std::string> ConformanceHost::violations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return violations_;
}

size_t ConformanceHost::violationCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return violations_.size();
}

void ConformanceHost::violation(const std::string& message) {
  std::lock_guard<std::mutex> lock(mutex_);
  violations_.push_back(message);
}

void ConformanceHost::logLine(int32_t level, pw_str message) {
  ++logLines_;
  if (level < PW_LOG_ERROR || level > PW_LOG_DEBUG) {
    violation("log with unknown level " + std::to_string(level));
  }
  if (!strIsValid(message)) {
    violation("log with NULL data and a non-zero length");
    return;
  }
  if (verbose_) std::fprintf(stderr, "    plugin log [%d]: %s\n", int(level), view(message).c_str());
}

}  // namespace podwarden::conformance
