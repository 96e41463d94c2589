// Hooks.h - container lifecycle handlers (postStart, preStop): exec through the runtime, httpGet in-process.
#pragma once

#include <chrono>
#include <string>

#include "runtime/Runtime.h"
#include "util/Json.h"

namespace podwarden {

struct HookResult {
  bool ok = true;
  std::string message;  // why it failed, in the kubelet's words where it has some
};

// Runs one LifecycleHandler (`{"exec":{"command":[...]}}` or `{"httpGet":{...}}`) against container
// `containerId`. httpGet's host defaults to `podIP`; a named port is looked up in `ports` (the container's
// ports array). Success: exec exit code 0, HTTP status 200-399. Blocks at most `timeout`.
HookResult runLifecycleHandler(runtime::Runtime& runtime, const std::string& containerId,
                               const json::ObjectPtr& handler, const json::ArrayPtr& ports,
                               const std::string& podIP, std::chrono::milliseconds timeout);

}  // namespace podwarden
