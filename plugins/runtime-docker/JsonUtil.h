// JsonUtil.h - the small JSON, time and encoding helpers the Docker runtime needs. The plugin builds
// against the SDK only, so it carries its own instead of core/util.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace podwarden::docker {

using ObjectPtr = Poco::JSON::Object::Ptr;
using ArrayPtr = Poco::JSON::Array::Ptr;
using StringMap = std::map<std::string, std::string>;

// Parses a JSON object; throws pw::Error(INVALID_ARGUMENT) naming `what` on bad input.
ObjectPtr parseObject(std::string_view text, const std::string& what);
// Parses any JSON value; throws pw::Error(INTERNAL) naming `what` (used for Docker's replies).
Poco::Dynamic::Var parseReply(std::string_view text, const std::string& what);
std::string stringify(const ObjectPtr& o);
std::string stringify(const Poco::Dynamic::Var& v);

// Absent members and members of another type read as the fallback. Integers accept JSON numbers and
// decimal strings (protobuf JSON writes int64 as strings).
ObjectPtr getObject(const ObjectPtr& o, const std::string& key);
ArrayPtr getArray(const ObjectPtr& o, const std::string& key);
std::string getString(const ObjectPtr& o, const std::string& key, const std::string& fallback = "");
int64_t getInt(const ObjectPtr& o, const std::string& key, int64_t fallback = 0);
bool getBool(const ObjectPtr& o, const std::string& key, bool fallback = false);
std::vector<std::string> getStrings(const ObjectPtr& o, const std::string& key);
// A JSON object of strings (labels, annotations); non-string values are skipped.
StringMap getStringMap(const ObjectPtr& o, const std::string& key);

ObjectPtr toObject(const StringMap& m);
ArrayPtr toArray(const std::vector<std::string>& v);

// Unix seconds plus `nanos` as unix nanoseconds; 0 (unknown) when that does not fit in 64 bits (before
// 1677 or after 2262), which no Docker daemon reports but a broken reply may.
int64_t unixNs(int64_t seconds, int64_t nanos = 0);
// Docker's RFC 3339 times ("2026-11-26T20:54:43.537476248Z", any offset) to unix nanoseconds. Docker's
// zero time ("0001-01-01T00:00:00Z"), unparseable text and times unixNs() cannot represent give 0.
int64_t parseRfc3339Ns(const std::string& text);
// Unix nanoseconds as Docker's `since` parameter ("seconds.nanoseconds").
std::string dockerTimestamp(int64_t unix_ns);

std::string base64(std::string_view bytes);

}  // namespace podwarden::docker
