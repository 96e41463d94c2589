#include "reconciler/RuntimeClient.h"

#include "util/Utf8.h"

namespace podwarden {

json::ObjectPtr parseRuntimeResult(plugin::RuntimeCall which, const plugin::CallResult& r) {
  // The messages end up in pod status JSON. abi.h promises UTF-8, but a misbehaving plugin may send
  // anything, and the JSON parser quotes the byte it stumbled over.
  auto error = [&](pw_status status, const std::string& message) {
    return RuntimeError(status, utf8::repaired(std::string(plugin::runtimeCallName(which)) + ": " + message));
  };
  if (!r.ok()) throw error(r.status, r.describe());
  if (r.out.empty()) return new json::Object();
  try {
    return json::parseObject(r.out);
  } catch (const std::exception& e) {
    throw error(PW_INTERNAL, std::string("the runtime plugin answered with ") + e.what());
  }
}

json::ObjectPtr PluginRuntimeClient::call(plugin::RuntimeCall which, const json::ObjectPtr& request,
                                          std::chrono::milliseconds timeout) {
  return parseRuntimeResult(which, runtime_.call(which, json::stringify(request), timeout));
}

}  // namespace podwarden
