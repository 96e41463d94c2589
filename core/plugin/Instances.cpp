#include "plugin/Instances.h"

#include "plugin/HostServices.h"
#include "util/Json.h"
#include "util/Log.h"

#include <cstring>
#include <stdexcept>

namespace podwarden::plugin {
namespace {

int64_t monotonicNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

pw_str toStr(std::string_view s) { return pw_str{s.data(), s.size()}; }

// Copies a plugin vtable of any size into a zeroed host-sized struct (members the plugin did not know
// read as NULL).
template <class V>
V readVtable(const void* vtable) {
  V v{};
  uint32_t size = 0;
  std::memcpy(&size, vtable, sizeof(size));
  std::memcpy(&v, vtable, size < sizeof(V) ? size : sizeof(V));
  return v;
}

}  // namespace

std::string CallResult::describe() const {
  std::string s = statusName(status);
  if (!err.empty()) s += ": " + err;
  return s;
}

CallContext::CallContext(std::chrono::milliseconds timeout)
    : deadlineNs_(timeout.count() > 0 ? monotonicNowNs() + timeout.count() * 1000000 : 0) {}

InstanceBase::InstanceBase(std::shared_ptr<PluginLibrary> library, int32_t kind, const std::string& type)
    : library_(std::move(library)) {
  const Factory* f = library_->findFactory(kind, type);
  if (f == nullptr) {
    std::string have;
    for (const auto& x : library_->info().factories) {
      have += (have.empty() ? "" : ", ") + std::string(kindName(x.kind)) + "/" + x.type;
    }
    throw PluginError("plugin " + library_->info().path + " (" + library_->info().name + ") has no " +
                      kindName(kind) + " factory named \"" + type + "\" (it offers: " +
                      (have.empty() ? "nothing" : have) + ")");
  }
  factory_ = *f;
}

std::string InstanceBase::displayName() const { return library_->info().name + "/" + factory_.type; }

void InstanceBase::createInstance(pw_status (*create)(const pw_host_api*, pw_str, pw_str, pw_instance_plugin_ptr**,
                                                      pw_buffer_host_ptr*),
                                  const std::string& configJson, const std::string& nodeName) {
  if (create == nullptr) throw PluginError("plugin " + library_->info().path + ": " + displayName() + " has no create");
  HostBuffer err;
  pw_instance_plugin_ptr* inst = nullptr;
  pw_status st = create(library_->hostApi(), toStr(configJson), toStr(nodeName), &inst, err.handle());
  if (st != PW_OK || inst == nullptr) {
    throw PluginError("plugin " + library_->info().path + ": creating " + displayName() + " failed with " +
                      statusName(st) + (err.data.empty() ? std::string() : ": " + err.data));
  }
  instance_ = inst;
}

std::unique_lock<std::mutex> InstanceBase::serialize() {
  if (factory_.capabilities & PW_CAP_CONCURRENT) return std::unique_lock<std::mutex>();
  return std::unique_lock<std::mutex>(mutex_);
}

// ---- Source -----------------------------------------------------------------------------------------

struct SourceInstance::Emitter : HostEmitter {};

SourceInstance::SourceInstance(std::shared_ptr<PluginLibrary> library, const std::string& type,
                               const std::string& configJson, const std::string& nodeName)
    : InstanceBase(std::move(library), PW_KIND_SOURCE, type) {
  vtable_ = readVtable<pw_source_vtable>(factory_.vtable);
  if (!vtable_.start || !vtable_.stop || !vtable_.destroy) {
    throw PluginError("plugin " + library_->info().path + ": source " + type + " lacks start/stop/destroy");
  }
  createInstance(vtable_.create, configJson, nodeName);
}

SourceInstance::~SourceInstance() {
  stop();
  if (instance_) vtable_.destroy(instance_);
}

CallResult SourceInstance::start(SnapshotCallback onSnapshot) {
  auto lock = serialize();
  CallResult r;
  if (started_) {
    r.status = PW_FAILED_PRECONDITION;
    r.err = "already started";
    return r;
  }
  emitter_ = std::make_unique<Emitter>();
  emitter_->onSnapshot = std::move(onSnapshot);
  HostBuffer err;
  r.status = vtable_.start(instance_, emitter_->handle(), err.handle());
  r.err = std::move(err.data);
  started_ = r.ok();
  return r;
}

void SourceInstance::stop() {
  auto lock = serialize();
  if (!started_) return;
  vtable_.stop(instance_);
  started_ = false;
}

// ---- Runtime ----------------------------------------------------------------------------------------

const char* runtimeCallName(RuntimeCall call) {
  switch (call) {
    case RuntimeCall::kVersion: return "Version";
    case RuntimeCall::kRunPodSandbox: return "RunPodSandbox";
    case RuntimeCall::kStopPodSandbox: return "StopPodSandbox";
    case RuntimeCall::kRemovePodSandbox: return "RemovePodSandbox";
    case RuntimeCall::kPodSandboxStatus: return "PodSandboxStatus";
    case RuntimeCall::kListPodSandbox: return "ListPodSandbox";
    case RuntimeCall::kCreateContainer: return "CreateContainer";
    case RuntimeCall::kStartContainer: return "StartContainer";
    case RuntimeCall::kStopContainer: return "StopContainer";
    case RuntimeCall::kRemoveContainer: return "RemoveContainer";
    case RuntimeCall::kListContainers: return "ListContainers";
    case RuntimeCall::kContainerStatus: return "ContainerStatus";
    case RuntimeCall::kExecSync: return "ExecSync";
    case RuntimeCall::kImageStatus: return "ImageStatus";
    case RuntimeCall::kPullImage: return "PullImage";
  }
  return "?";
}

struct RuntimeInstance::Emitter : HostEmitter {};

RuntimeInstance::RuntimeInstance(std::shared_ptr<PluginLibrary> library, const std::string& type,
                                 const std::string& configJson, const std::string& nodeName)
    : InstanceBase(std::move(library), PW_KIND_RUNTIME, type) {
  vtable_ = readVtable<pw_runtime_vtable>(factory_.vtable);
  if (!vtable_.destroy) throw PluginError("plugin " + library_->info().path + ": runtime " + type + " lacks destroy");
  createInstance(vtable_.create, configJson, nodeName);
}

RuntimeInstance::~RuntimeInstance() {
  unwatchEvents();
  if (instance_) vtable_.destroy(instance_);
}

CallResult RuntimeInstance::call(RuntimeCall which, std::string_view requestJson, std::chrono::milliseconds timeout) {
  CallContext ctx(timeout);
  return call(which, requestJson, ctx);
}

CallResult RuntimeInstance::call(RuntimeCall which, std::string_view requestJson, const CallContext& ctx) {
  pw_runtime_call fn = nullptr;
  switch (which) {
    case RuntimeCall::kVersion: fn = vtable_.version; break;
    case RuntimeCall::kRunPodSandbox: fn = vtable_.run_pod_sandbox; break;
    case RuntimeCall::kStopPodSandbox: fn = vtable_.stop_pod_sandbox; break;
    case RuntimeCall::kRemovePodSandbox: fn = vtable_.remove_pod_sandbox; break;
    case RuntimeCall::kPodSandboxStatus: fn = vtable_.pod_sandbox_status; break;
    case RuntimeCall::kListPodSandbox: fn = vtable_.list_pod_sandbox; break;
    case RuntimeCall::kCreateContainer: fn = vtable_.create_container; break;
    case RuntimeCall::kStartContainer: fn = vtable_.start_container; break;
    case RuntimeCall::kStopContainer: fn = vtable_.stop_container; break;
    case RuntimeCall::kRemoveContainer: fn = vtable_.remove_container; break;
    case RuntimeCall::kListContainers: fn = vtable_.list_containers; break;
    case RuntimeCall::kContainerStatus: fn = vtable_.container_status; break;
    case RuntimeCall::kExecSync: fn = vtable_.exec_sync; break;
    case RuntimeCall::kImageStatus: fn = vtable_.image_status; break;
    case RuntimeCall::kPullImage: fn = vtable_.pull_image; break;
  }
  CallResult r;
  if (fn == nullptr) {
    r.status = PW_UNIMPLEMENTED;
    r.err = displayName() + " does not implement " + runtimeCallName(which);
    return r;
  }
  HostBuffer out, err;
  {
    auto lock = serialize();
    r.status = fn(instance_, ctx.handle(), toStr(requestJson), out.handle(), err.handle());
  }
  r.out = std::move(out.data);
  r.err = std::move(err.data);
  return r;
}

CallResult RuntimeInstance::watchEvents(EventCallback onEvent) {
  CallResult r;
  if (!hasEvents()) {
    r.status = PW_UNIMPLEMENTED;
    r.err = displayName() + " has no event stream";
    return r;
  }
  if (watching_) return r;
  emitter_ = std::make_unique<Emitter>();
  emitter_->onEvent = std::move(onEvent);
  HostBuffer err;
  r.status = vtable_.watch_events(instance_, emitter_->handle(), err.handle());
  r.err = std::move(err.data);
  watching_ = r.ok();
  return r;
}

void RuntimeInstance::unwatchEvents() {
  if (!watching_) return;
  vtable_.unwatch_events(instance_);
  watching_ = false;
}

// ---- Sink -------------------------------------------------------------------------------------------

std::vector<SinkStateItem> parseSinkState(const std::string& text) {
  json::ObjectPtr root;
  try {
    root = json::parseObject(text);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("not a JSON object: ") + e.what());
  }
  if (!root->has("items") || !root->isArray("items"))
    throw std::invalid_argument("\"items\" is not an array");
  json::ArrayPtr items = root->getArray("items");
  std::vector<SinkStateItem> out;
  out.reserve(items->size());
  for (size_t i = 0; i < items->size(); ++i) {
    const std::string where = "items[" + std::to_string(i) + "]";
    if (!items->isObject(i)) throw std::invalid_argument(where + " is not an object");
    json::ObjectPtr item = items->getObject(i);
    if (!item->has("uid") || !item->get("uid").isString())
      throw std::invalid_argument(where + ".uid is missing or not a string");
    SinkStateItem s;
    s.uid = item->get("uid").convert<std::string>();
    if (s.uid.empty()) throw std::invalid_argument(where + ".uid is empty");
    if (!item->has("state")) throw std::invalid_argument(where + ".state is missing (null clears it)");
    if (item->isNull("state")) {
      s.stateJson = "null";
    } else if (item->isObject("state")) {
      s.stateJson = json::stringify(item->getObject("state"));
    } else {
      throw std::invalid_argument(where + ".state is neither a JSON object nor null");
    }
    out.push_back(std::move(s));
  }
  return out;
}

struct SinkInstance::Emitter : HostEmitter {};

SinkInstance::SinkInstance(std::shared_ptr<PluginLibrary> library, const std::string& type,
                           const std::string& configJson, const std::string& nodeName)
    : InstanceBase(std::move(library), PW_KIND_SINK, type) {
  vtable_ = readVtable<pw_sink_vtable>(factory_.vtable);
  if (!vtable_.report || !vtable_.remove || !vtable_.destroy) {
    throw PluginError("plugin " + library_->info().path + ": sink " + type + " lacks report/remove/destroy");
  }
  createInstance(vtable_.create, configJson, nodeName);
}

SinkInstance::~SinkInstance() {
  stop();
  if (instance_) vtable_.destroy(instance_);
}

CallResult SinkInstance::start(StateCallback onState) {
  auto lock = serialize();
  CallResult r;
  if (started_ || emitter_) {
    r.status = PW_FAILED_PRECONDITION;
    r.err = "start of " + displayName() + " was already called";
    return r;
  }
  emitter_ = std::make_unique<Emitter>();
  emitter_->onSinkState = [this](std::string stateJson) { return acceptState(std::move(stateJson)); };
  {
    std::lock_guard<std::mutex> stateLock(stateMutex_);
    onState_ = std::move(onState);
  }
  if (vtable_.start != nullptr) {
    // Not under stateMutex_: the plugin may emit from inside start.
    HostBuffer err;
    r.status = vtable_.start(instance_, emitter_->handle(), err.handle());
    r.err = std::move(err.data);
  }
  started_ = r.ok();
  if (!started_) {
    std::lock_guard<std::mutex> stateLock(stateMutex_);
    onState_ = nullptr;
  }
  return r;
}

void SinkInstance::stop() {
  auto lock = serialize();
  if (!started_) return;
  if (vtable_.stop != nullptr) vtable_.stop(instance_);
  started_ = false;
  // The plugin has joined its threads; anything that still arrives through the emitter is refused.
  std::lock_guard<std::mutex> stateLock(stateMutex_);
  onState_ = nullptr;
}

pw_status SinkInstance::acceptState(std::string stateJson) {
  std::lock_guard<std::mutex> stateLock(stateMutex_);
  if (!onState_) {
    Log::warning(displayName(), "emit_sink_state outside start()..stop(); refused (FAILED_PRECONDITION)");
    return PW_FAILED_PRECONDITION;
  }
  std::vector<SinkStateItem> items;
  try {
    items = parseSinkState(stateJson);
  } catch (const std::invalid_argument& e) {
    Log::error(displayName(), std::string("emit_sink_state: malformed state JSON (") + e.what() +
                                  "); nothing applied (INVALID_ARGUMENT)");
    return PW_INVALID_ARGUMENT;
  }
  try {
    onState_(std::move(items));
  } catch (const std::exception& e) {
    // Nothing may unwind into the plugin's C frames.
    Log::error(displayName(),
               std::string("emit_sink_state: the host could not apply the state: ") + e.what());
    return PW_INTERNAL;
  }
  return PW_OK;
}

CallResult SinkInstance::report(std::string_view batchJson, std::chrono::milliseconds timeout) {
  CallContext ctx(timeout);
  HostBuffer err;
  CallResult r;
  {
    auto lock = serialize();
    r.status = vtable_.report(instance_, ctx.handle(), toStr(batchJson), err.handle());
  }
  r.err = std::move(err.data);
  return r;
}

CallResult SinkInstance::remove(std::string_view batchJson, std::chrono::milliseconds timeout) {
  CallContext ctx(timeout);
  HostBuffer err;
  CallResult r;
  {
    auto lock = serialize();
    r.status = vtable_.remove(instance_, ctx.handle(), toStr(batchJson), err.handle());
  }
  r.err = std::move(err.data);
  return r;
}

}  // namespace podwarden::plugin
