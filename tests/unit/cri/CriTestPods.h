// CriTestPods.h - building defaulted static pods from JSON text for the cri tests.
#pragma once

#include <string>

#include "util/Json.h"

namespace podwarden::cri::test {

// A defaulted static pod named web-node1 in namespace kube-system with uid 0123...ef, whose spec is
// `specJson` (a JSON object text).
inline json::ObjectPtr makePod(const std::string& specJson, const std::string& extraMetadata = "") {
  return json::parseObject(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-node1",)"
                           R"("namespace":"kube-system","uid":"0123456789abcdef0123456789abcdef")" +
                           (extraMetadata.empty() ? "" : "," + extraMetadata) + R"(},"spec":)" + specJson +
                           "}");
}

// Element `index` of spec.<list> of `pod`.
inline json::ObjectPtr containerOf(const json::ObjectPtr& pod, size_t index = 0,
                                   const std::string& list = "containers") {
  return json::getArray(json::getObject(pod, "spec"), list)->getObject(static_cast<unsigned>(index));
}

// A string member at a dotted path ("linux.securityContext.namespaceOptions.network").
inline json::ObjectPtr objectAt(json::ObjectPtr o, const std::string& dotted) {
  size_t start = 0;
  while (!o.isNull() && start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    o = json::getObject(o, dotted.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return o;
}

}  // namespace podwarden::cri::test
