#include "util/Log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace podwarden {
namespace {
std::atomic<int> gLevel{static_cast<int>(LogLevel::kInfo)};
std::mutex gMutex;
Log::Sink gSink;  // guarded by gMutex
}  // namespace

const char* Log::levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "ERROR";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kDebug: return "DEBUG";
  }
  return "?";
}

void Log::setLevel(LogLevel level) { gLevel = static_cast<int>(level); }
LogLevel Log::level() { return static_cast<LogLevel>(gLevel.load()); }

void Log::setSink(Sink sink) {
  std::lock_guard<std::mutex> lock(gMutex);
  gSink = std::move(sink);
}

void Log::write(LogLevel level, std::string_view component, std::string_view message) {
  if (static_cast<int>(level) > gLevel.load()) return;
  std::lock_guard<std::mutex> lock(gMutex);
  if (gSink) {
    gSink(level, component, message);
    return;
  }
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ %-5s %.*s: %.*s\n", stamp, static_cast<int>(ms), levelName(level),
               static_cast<int>(component.size()), component.data(), static_cast<int>(message.size()),
               message.data());
  std::fflush(stderr);
}

}  // namespace podwarden
