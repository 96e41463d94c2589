// Plugin.cpp - the runtime-containerd plugin: one factory, runtime "containerd", calls safe to run
// concurrently.
#include <podwarden/plugin.hpp>

#include "ContainerdRuntime.h"

namespace {

constexpr const char* kConfigSchema = R"json({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "runtime-containerd",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "endpoint": {
      "type": "string",
      "description": "CRI runtime socket (containerd, or CRI-O): unix:///path or an absolute path",
      "default": "unix:///run/containerd/containerd.sock",
      "pattern": "^(unix://)?/"
    },
    "sandboxImage": {
      "type": "string",
      "description": "Informational only: the runtime's own config names the sandbox (pause) image (containerd: plugins.\"io.containerd.grpc.v1.cri\".sandbox_image); it is quoted when a sandbox fails to start",
      "default": "",
      "minLength": 0
    }
  }
})json";

// No event stream (containerd 1.6 has no CRI GetContainerEvents): abi.h wants both entries NULL then, so
// the host relists instead of calling a watch that can only fail.
pw_runtime_vtable makeVtable() {
  pw_runtime_vtable v = pw::runtimeVtable<podwarden::containerd::ContainerdRuntime>();
  v.watch_events = nullptr;
  v.unwatch_events = nullptr;
  return v;
}

const pw_runtime_vtable kVtable = makeVtable();
const pw_factory kFactory = pw::factory(PW_KIND_RUNTIME, "containerd", PW_CAP_CONCURRENT, &kVtable);

}  // namespace

PW_DEFINE_PLUGIN("runtime-containerd", "0.1.0",
                 "Runs static pods through a CRI runtime.v1 server over gRPC (containerd; CRI-O untested)",
                 kConfigSchema, &kFactory)
