#include "reconciler/RuntimeClient.h"

namespace podwarden {

json::ObjectPtr PluginRuntimeClient::call(plugin::RuntimeCall which, const json::ObjectPtr& request,
                                          std::chrono::milliseconds timeout) {
  plugin::CallResult r = runtime_.call(which, json::stringify(request), timeout);
  if (!r.ok()) {
    throw RuntimeError(r.status, std::string(plugin::runtimeCallName(which)) + ": " + r.describe());
  }
  if (r.out.empty()) return new json::Object();
  try {
    return json::parseObject(r.out);
  } catch (const std::exception& e) {
    throw RuntimeError(PW_INTERNAL, std::string(plugin::runtimeCallName(which)) +
                                        ": the runtime plugin answered with " + e.what());
  }
}

}  // namespace podwarden
