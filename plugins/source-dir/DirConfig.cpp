#include "DirConfig.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <podwarden/plugin.hpp>

namespace podwarden::source_dir {
namespace {

constexpr const char* kKnownKeys = "path, rescanSeconds, maxFileBytes, ignoreBackupFiles";
constexpr int64_t kMaxRescanSeconds = 24 * 3600;

[[noreturn]] void invalid(const std::string& message) {
  throw pw::Error(PW_INVALID_ARGUMENT, "source-dir config: " + message);
}

int64_t wholeNumber(const std::string& key, const Poco::Dynamic::Var& v) {
  if (v.isBoolean() || v.isString() || v.isEmpty()) {
    invalid("\"" + key + "\" must be a whole number");
  }
  if (v.isInteger()) {
    if (!v.isSigned() && v.convert<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      invalid("\"" + key + "\" is too large");
    }
    return v.convert<int64_t>();
  }
  if (v.isNumeric()) {
    double d = v.convert<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
  }
  invalid("\"" + key + "\" must be a whole number, got " + v.toString());
}

}  // namespace

std::string describeBytes(uint64_t bytes) {
  constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

DirConfig parseDirConfig(std::string_view json) {
  DirConfig config;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) json = "{}";
  Poco::Dynamic::Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(json));
  } catch (const Poco::Exception& e) {
    invalid("not valid JSON: " + e.displayText());
  }
  if (root.type() != typeid(Poco::JSON::Object::Ptr)) invalid("must be a JSON object");
  auto object = root.extract<Poco::JSON::Object::Ptr>();

  for (const auto& [key, value] : *object) {
    if (key == "path") {
      if (!value.isString()) invalid("\"path\" must be a string");
      std::string path = value.convert<std::string>();
      if (path.empty()) invalid("\"path\" must not be empty");
      // kubelet trims a trailing '/' from staticPodPath.
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      if (path.front() != '/') {
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd)) == nullptr) {
          invalid("\"path\" " + path +
                  " is relative and the working directory is unknown: " + std::strerror(errno));
        }
        path = std::string(cwd) + (std::string_view(cwd) == "/" ? "" : "/") + path;
      }
      config.path = path;
    } else if (key == "rescanSeconds") {
      int64_t seconds = wholeNumber(key, value);
      if (seconds < 1 || seconds > kMaxRescanSeconds) {
        invalid("\"rescanSeconds\" must be between 1 and " + std::to_string(kMaxRescanSeconds) + ", got " +
                std::to_string(seconds));
      }
      config.rescan = std::chrono::seconds(seconds);
    } else if (key == "maxFileBytes") {
      int64_t bytes = wholeNumber(key, value);
      if (bytes < 1) invalid("\"maxFileBytes\" must be at least 1, got " + std::to_string(bytes));
      config.maxFileBytes = static_cast<uint64_t>(bytes);
    } else if (key == "ignoreBackupFiles") {
      if (!value.isBoolean()) invalid("\"ignoreBackupFiles\" must be true or false");
      config.ignoreBackupFiles = value.convert<bool>();
    } else {
      invalid("unknown key \"" + key + "\" (known keys: " + kKnownKeys + ")");
    }
  }
  return config;
}

}  // namespace podwarden::source_dir
