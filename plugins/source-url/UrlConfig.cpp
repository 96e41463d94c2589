#include "UrlConfig.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <podwarden/plugin.hpp>

namespace podwarden::source_url {
namespace {

constexpr const char* kKnownKeys =
    "url, headers, checkSeconds, timeoutSeconds, maxBytes, caFile, clientCertFile, clientKeyFile, "
    "insecureSkipVerify, maxRedirects, sha256, emptyBodyMeansEmpty";
constexpr int64_t kMaxSeconds = 24 * 3600;

[[noreturn]] void invalid(const std::string& message) {
  throw pw::Error(PW_INVALID_ARGUMENT, "source-url config: " + message);
}

std::string quoted(const std::string& key) {
  return "\"" + key + "\"";
}

int64_t wholeNumber(const std::string& key, const Poco::Dynamic::Var& v) {
  if (v.isBoolean() || v.isString() || v.isEmpty()) invalid(quoted(key) + " must be a whole number");
  if (v.isInteger()) {
    if (!v.isSigned() && v.convert<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      invalid(quoted(key) + " is too large");
    }
    return v.convert<int64_t>();
  }
  if (v.isNumeric()) {
    double d = v.convert<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
  }
  invalid(quoted(key) + " must be a whole number, got " + v.toString());
}

int64_t inRange(const std::string& key, const Poco::Dynamic::Var& v, int64_t lo, int64_t hi) {
  int64_t n = wholeNumber(key, v);
  if (n < lo || n > hi) {
    invalid(quoted(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
            std::to_string(n));
  }
  return n;
}

std::string string(const std::string& key, const Poco::Dynamic::Var& v) {
  if (!v.isString()) invalid(quoted(key) + " must be a string");
  return v.convert<std::string>();
}

bool boolean(const std::string& key, const Poco::Dynamic::Var& v) {
  if (!v.isBoolean()) invalid(quoted(key) + " must be true or false");
  return v.convert<bool>();
}

std::string readableFile(const std::string& key, const Poco::Dynamic::Var& v) {
  std::string path = string(key, v);
  if (path.empty()) invalid(quoted(key) + " must not be empty");
  if (::access(path.c_str(), R_OK) != 0) {
    invalid(quoted(key) + " " + path + " cannot be read: " + std::strerror(errno));
  }
  return path;
}

// RFC 7230 token characters: what a header name may contain.
bool isToken(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == 0) return false;
  }
  return true;
}

void addHeader(UrlConfig& config, const std::string& name, const Poco::Dynamic::Var& value) {
  std::string where = "\"headers\"." + name;
  if (!value.isString()) invalid(where + ": each value must be a string");
  std::string v = value.convert<std::string>();
  if (v.find_first_of("\r\n") != std::string::npos)
    invalid(where + ": a value must not contain a line break");
  config.headers.emplace_back(name, v);
}

void parseHeaders(UrlConfig& config, const Poco::Dynamic::Var& v) {
  if (v.type() != typeid(Poco::JSON::Object::Ptr)) {
    invalid("\"headers\" must be an object of header name to a list of values");
  }
  for (const auto& [name, values] : *v.extract<Poco::JSON::Object::Ptr>()) {
    if (!isToken(name)) invalid("\"headers\": " + quoted(name) + " is not a valid HTTP header name");
    if (values.type() == typeid(Poco::JSON::Array::Ptr)) {
      for (const auto& value : *values.extract<Poco::JSON::Array::Ptr>()) addHeader(config, name, value);
    } else {
      addHeader(config, name, values);
    }
  }
}

void checkUrl(const std::string& url) {
  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    invalid("\"url\" " + url + " is not a valid URL: " + e.displayText());
  }
  if (uri.getScheme() != "http" && uri.getScheme() != "https") {
    invalid("\"url\" " + url + " must start with http:// or https://");
  }
  if (uri.getHost().empty()) invalid("\"url\" " + url + " has no host");
}

}  // namespace

std::string describeBytes(uint64_t bytes) {
  constexpr uint64_t kKiB = 1024, kMiB = 1024 * 1024;
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

UrlConfig parseUrlConfig(std::string_view json) {
  UrlConfig config;
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
    if (key == "url") {
      config.url = string(key, value);
      checkUrl(config.url);
    } else if (key == "headers") {
      parseHeaders(config, value);
    } else if (key == "checkSeconds") {
      config.check = std::chrono::seconds(inRange(key, value, 1, kMaxSeconds));
    } else if (key == "timeoutSeconds") {
      config.timeout = std::chrono::seconds(inRange(key, value, 1, 3600));
    } else if (key == "maxBytes") {
      config.maxBytes = static_cast<uint64_t>(inRange(key, value, 1, std::numeric_limits<int64_t>::max()));
    } else if (key == "caFile") {
      config.caFile = readableFile(key, value);
    } else if (key == "clientCertFile") {
      config.clientCertFile = readableFile(key, value);
    } else if (key == "clientKeyFile") {
      config.clientKeyFile = readableFile(key, value);
    } else if (key == "insecureSkipVerify") {
      config.insecureSkipVerify = boolean(key, value);
    } else if (key == "maxRedirects") {
      config.maxRedirects = static_cast<int>(inRange(key, value, 0, 100));
    } else if (key == "sha256") {
      std::string pin = string(key, value);
      for (char& c : pin) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (pin.size() != 64 || pin.find_first_not_of("0123456789abcdef") != std::string::npos) {
        invalid("\"sha256\" must be 64 hex digits, got \"" + pin + "\"");
      }
      config.sha256 = pin;
    } else if (key == "emptyBodyMeansEmpty") {
      config.emptyBodyMeansEmpty = boolean(key, value);
    } else {
      invalid("unknown key \"" + key + "\" (known keys: " + kKnownKeys + ")");
    }
  }
  if (config.url.empty()) invalid("\"url\" is required");
  if (config.clientCertFile.empty() != config.clientKeyFile.empty()) {
    invalid("\"clientCertFile\" and \"clientKeyFile\" must be given together");
  }
  bool https = Poco::URI(config.url).getScheme() == "https";
  if (!https && (!config.caFile.empty() || !config.clientCertFile.empty() || config.insecureSkipVerify)) {
    invalid(
        "\"caFile\", \"clientCertFile\", \"clientKeyFile\" and \"insecureSkipVerify\" need an https:// "
        "\"url\", got " +
        config.url);
  }
  return config;
}

}  // namespace podwarden::source_url
