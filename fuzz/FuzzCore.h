// FuzzCore.h - what the fuzz targets over core libraries share (header-only; needs podwarden_util).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "util/Json.h"
#include "util/Log.h"

namespace podwarden::fuzz {

// Every log message is formatted (its code runs), none printed.
inline void quietLogs() {
  Log::setLevel(LogLevel::kDebug);
  Log::setSink([](LogLevel, std::string_view, std::string_view) {});
}

// A pod goes to the sink plugins and the status file as JSON text, which must read back.
inline void readsBack(const json::ObjectPtr& pod) {
  const std::string text = json::stringify(pod);
  try {
    (void)json::parseObject(text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the pod's JSON does not read back: %s\n", e.what());
    std::abort();
  }
}

}  // namespace podwarden::fuzz
