// HostServices.h - the host table's functions and the host-owned objects behind its opaque handles.
// Internal to core/plugin.
#pragma once

#include "plugin/Instances.h"

#include <podwarden/abi.h>

#include <functional>
#include <string>
#include <vector>

namespace podwarden::plugin {

// Behind pw_buffer_host_ptr. Bounded, so a runaway plugin cannot exhaust memory through it.
struct HostBuffer {
  static constexpr size_t kLimit = 64 * 1024 * 1024;
  std::string data;
  pw_buffer_host_ptr* handle() { return reinterpret_cast<pw_buffer_host_ptr*>(this); }
};

// Behind pw_emitter_host_ptr. Exactly one of the callbacks is set, by the instance that made it.
struct HostEmitter {
  std::function<void(std::vector<ManifestDoc>)> onSnapshot;
  std::function<void(std::string)> onEvent;
  // A sink's emit_sink_state (ABI minor 1): the raw state JSON; returns the call's status.
  std::function<pw_status(std::string)> onSinkState;
  pw_emitter_host_ptr* handle() { return reinterpret_cast<pw_emitter_host_ptr*>(this); }
};

struct HostServices {
  // Fills `library.hostApi_` (one table per library: host_ctx_host_ptr points at the library).
  static void initHostApi(PluginLibrary& library);
};

}  // namespace podwarden::plugin
