#include "util/Json.h"

#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <ctime>
#include <sstream>
#include <stdexcept>

namespace podwarden::json {

Poco::Dynamic::Var parse(std::string_view text) {
  try {
    Poco::JSON::Parser parser;
    return parser.parse(std::string(text));
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("invalid JSON: " + e.displayText());
  }
}

ObjectPtr parseObject(std::string_view text) {
  Poco::Dynamic::Var v = parse(text);
  if (v.type() != typeid(ObjectPtr)) throw std::runtime_error("invalid JSON: expected an object");
  return v.extract<ObjectPtr>();
}

std::string stringify(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(value, out);
  return out.str();
}

std::string stringify(const ObjectPtr& object) { return stringify(Poco::Dynamic::Var(object)); }

std::string stringifyPretty(const Poco::Dynamic::Var& value) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(value, out, 2);
  return out.str();
}

Poco::Dynamic::Var deepCopy(const Poco::Dynamic::Var& value) {
  if (value.type() == typeid(ObjectPtr)) {
    ObjectPtr src = value.extract<ObjectPtr>();
    if (src.isNull()) return value;
    ObjectPtr dst = new Object();
    for (const auto& kv : *src) dst->set(kv.first, deepCopy(kv.second));
    return dst;
  }
  if (value.type() == typeid(ArrayPtr)) {
    ArrayPtr src = value.extract<ArrayPtr>();
    if (src.isNull()) return value;
    ArrayPtr dst = new Array();
    for (const auto& v : *src) dst->add(deepCopy(v));
    return dst;
  }
  return value;
}

ObjectPtr deepCopy(const ObjectPtr& object) {
  if (object.isNull()) return object;
  return deepCopy(Poco::Dynamic::Var(object)).extract<ObjectPtr>();
}

ObjectPtr getObject(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return nullptr;
  Poco::Dynamic::Var v = o->get(key);
  if (v.type() != typeid(ObjectPtr)) return nullptr;
  return v.extract<ObjectPtr>();
}

ArrayPtr getArray(const ObjectPtr& o, const std::string& key) {
  if (o.isNull() || !o->has(key)) return nullptr;
  Poco::Dynamic::Var v = o->get(key);
  if (v.type() != typeid(ArrayPtr)) return nullptr;
  return v.extract<ArrayPtr>();
}

std::string getString(const ObjectPtr& o, const std::string& key, const std::string& fallback) {
  if (o.isNull() || !o->has(key)) return fallback;
  Poco::Dynamic::Var v = o->get(key);
  if (v.isEmpty() || !v.isString()) return fallback;
  return v.toString();
}

int64_t getInt(const ObjectPtr& o, const std::string& key, int64_t fallback) {
  if (o.isNull() || !o->has(key)) return fallback;
  Poco::Dynamic::Var v = o->get(key);
  try {
    if (v.isNumeric()) return v.convert<int64_t>();
    if (v.isString()) return std::stoll(v.toString());
  } catch (...) {
  }
  return fallback;
}

bool getBool(const ObjectPtr& o, const std::string& key, bool fallback) {
  if (o.isNull() || !o->has(key)) return fallback;
  Poco::Dynamic::Var v = o->get(key);
  if (v.type() == typeid(bool)) return v.extract<bool>();
  return fallback;
}

bool has(const ObjectPtr& o, const std::string& key) { return !o.isNull() && o->has(key) && !o->isNull(key); }

ObjectPtr ensureObject(ObjectPtr o, const std::string& key) {
  ObjectPtr child = getObject(o, key);
  if (child.isNull()) {
    child = new Object();
    o->set(key, child);
  }
  return child;
}

namespace {
std::string formatTime(int64_t unix_ns, bool nanos) {
  std::time_t secs = static_cast<std::time_t>(unix_ns / 1000000000);
  int64_t frac = unix_ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string s(buf);
  if (nanos && frac != 0) {
    char f[16];
    std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
    std::string fs(f);
    while (!fs.empty() && fs.back() == '0') fs.pop_back();
    s += fs;
  }
  return s + "Z";
}
}  // namespace

std::string rfc3339(int64_t unix_ns) { return formatTime(unix_ns, false); }
std::string rfc3339Nano(int64_t unix_ns) { return formatTime(unix_ns, true); }

}  // namespace podwarden::json
