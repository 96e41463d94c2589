#include "JsonUtil.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <podwarden/plugin.hpp>
#include <sstream>

namespace podwarden::docker {

ObjectPtr parseObject(std::string_view text, const std::string& what) {
  Poco::Dynamic::Var v;
  try {
    Poco::JSON::Parser parser;
    v = parser.parse(std::string(text.empty() ? std::string_view("{}") : text));
  } catch (const Poco::Exception& e) {
    throw pw::Error(PW_INVALID_ARGUMENT, what + " is not valid JSON: " + e.displayText());
  }
  if (v.type() != typeid(ObjectPtr)) throw pw::Error(PW_INVALID_ARGUMENT, what + " is not a JSON object");
  return v.extract<ObjectPtr>();
}

Poco::Dynamic::Var parseReply(std::string_view text, const std::string& what) {
  try {
    Poco::JSON::Parser parser;
    return parser.parse(std::string(text));
  } catch (const Poco::Exception& e) {
    throw pw::Error(PW_INTERNAL, what + ": Docker sent invalid JSON: " + e.displayText());
  }
}

std::string stringify(const ObjectPtr& o) {
  std::ostringstream out;
  o->stringify(out);
  return out.str();
}

std::string stringify(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(v, out);
  return out.str();
}

ObjectPtr getObject(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return {};
  Poco::Dynamic::Var v = o->get(key);
  return v.type() == typeid(ObjectPtr) ? v.extract<ObjectPtr>() : ObjectPtr();
}

ArrayPtr getArray(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return {};
  Poco::Dynamic::Var v = o->get(key);
  return v.type() == typeid(ArrayPtr) ? v.extract<ArrayPtr>() : ArrayPtr();
}

std::string getString(const ObjectPtr& o, const std::string& key, const std::string& fallback) {
  if (o.isNull() || !o->has(key)) return fallback;
  Poco::Dynamic::Var v = o->get(key);
  return v.isString() ? v.extract<std::string>() : fallback;
}

int64_t getInt(const ObjectPtr& o, const std::string& key, int64_t fallback) {
  if (o.isNull() || !o->has(key)) return fallback;
  Poco::Dynamic::Var v = o->get(key);
  try {
    if (v.isString()) {
      const std::string s = v.extract<std::string>();
      size_t used = 0;
      long long n = std::stoll(s, &used);
      return used == s.size() ? static_cast<int64_t>(n) : fallback;
    }
    if (v.isNumeric()) return v.convert<Poco::Int64>();
  } catch (const std::exception&) {  // also Poco's conversion errors
  }
  return fallback;
}

bool getBool(const ObjectPtr& o, const std::string& key, bool fallback) {
  if (o.isNull() || !o->has(key)) return fallback;
  Poco::Dynamic::Var v = o->get(key);
  return v.type() == typeid(bool) ? v.extract<bool>() : fallback;
}

std::vector<std::string> getStrings(const ObjectPtr& o, const std::string& key) {
  std::vector<std::string> out;
  ArrayPtr a = getArray(o, key);
  if (a.isNull()) return out;
  for (size_t i = 0; i < a->size(); ++i) {
    Poco::Dynamic::Var v = a->get(static_cast<unsigned>(i));
    if (v.isString()) out.push_back(v.extract<std::string>());
  }
  return out;
}

StringMap getStringMap(const ObjectPtr& o, const std::string& key) {
  StringMap out;
  ObjectPtr m = getObject(o, key);
  if (m.isNull()) return out;
  for (const auto& [k, v] : *m) {
    if (v.isString()) out[k] = v.extract<std::string>();
  }
  return out;
}

ObjectPtr toObject(const StringMap& m) {
  ObjectPtr o = new Poco::JSON::Object();
  for (const auto& [k, v] : m) o->set(k, v);
  return o;
}

ArrayPtr toArray(const std::vector<std::string>& v) {
  ArrayPtr a = new Poco::JSON::Array();
  for (const auto& s : v) a->add(s);
  return a;
}

int64_t unixNs(int64_t seconds, int64_t nanos) {
  int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, int64_t{1000000000}, &ns) || __builtin_add_overflow(ns, nanos, &ns))
    return 0;
  return ns;
}

int64_t parseRfc3339Ns(const std::string& text) {
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &mon, &day, &hour, &min, &sec, &used) !=
      6) {
    return 0;
  }
  if (year <= 1) return 0;  // Go's zero time: "never happened"
  size_t i = static_cast<size_t>(used);
  int64_t frac = 0;
  if (i < text.size() && text[i] == '.') {
    int digits = 0;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      if (digits < 9) {
        frac = frac * 10 + (text[i] - '0');
        ++digits;
      }
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  int64_t offset_s = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + i + 1, "%2d:%2d", &oh, &om) == 2) {
      offset_s = (oh * 3600 + om * 60) * (text[i] == '-' ? -1 : 1);
    }
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset_s;
  return unixNs(secs, frac);
}

std::string dockerTimestamp(int64_t unix_ns) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%lld.%09lld", static_cast<long long>(unix_ns / 1000000000),
                static_cast<long long>(unix_ns % 1000000000));
  return buf;
}

std::string base64(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace podwarden::docker
