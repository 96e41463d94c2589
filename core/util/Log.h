// Log.h - the daemon's log: one line per event, "<time> <LEVEL> <component>: <message>" on stderr.
//
// Thread-safe. Tests can capture lines with Log::setSink.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace podwarden {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

class Log {
 public:
  using Sink = std::function<void(LogLevel, std::string_view component, std::string_view message)>;

  static void write(LogLevel level, std::string_view component, std::string_view message);
  static void error(std::string_view component, std::string_view message) {
    write(LogLevel::kError, component, message);
  }
  static void warning(std::string_view component, std::string_view message) {
    write(LogLevel::kWarning, component, message);
  }
  static void info(std::string_view component, std::string_view message) {
    write(LogLevel::kInfo, component, message);
  }
  static void debug(std::string_view component, std::string_view message) {
    write(LogLevel::kDebug, component, message);
  }

  // Lines above `level` are dropped. Default: kInfo.
  static void setLevel(LogLevel level);
  static LogLevel level();
  // Replaces the stderr writer (nullptr restores it). For tests.
  static void setSink(Sink sink);
  static const char* levelName(LogLevel level);
};

}  // namespace podwarden
