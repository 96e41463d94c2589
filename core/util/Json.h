// Json.h - small helpers over Poco::JSON for Kubernetes-shaped objects.
#pragma once

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podwarden::json {

using Object = Poco::JSON::Object;
using ObjectPtr = Poco::JSON::Object::Ptr;
using Array = Poco::JSON::Array;
using ArrayPtr = Poco::JSON::Array::Ptr;

// Parses JSON text; throws std::runtime_error with the parser's message on bad input.
Poco::Dynamic::Var parse(std::string_view text);
// Parses a JSON object; throws std::runtime_error if the text is not an object.
ObjectPtr parseObject(std::string_view text);

// Compact JSON with object keys sorted (Poco's default ordered map), arrays in order. The same object
// always gives the same bytes: the canonical form we hash.
std::string stringify(const Poco::Dynamic::Var& value);
std::string stringify(const ObjectPtr& object);
// Indented JSON for humans (status file).
std::string stringifyPretty(const Poco::Dynamic::Var& value);

// Deep copy (Poco JSON objects are shared by pointer).
ObjectPtr deepCopy(const ObjectPtr& object);
Poco::Dynamic::Var deepCopy(const Poco::Dynamic::Var& value);

// Lookups that tolerate absence and wrong types (return the fallback).
ObjectPtr getObject(const ObjectPtr& o, const std::string& key);
ArrayPtr getArray(const ObjectPtr& o, const std::string& key);
std::string getString(const ObjectPtr& o, const std::string& key, const std::string& fallback = "");
int64_t getInt(const ObjectPtr& o, const std::string& key, int64_t fallback = 0);
bool getBool(const ObjectPtr& o, const std::string& key, bool fallback = false);
bool has(const ObjectPtr& o, const std::string& key);
// Gets or creates a child object. (Takes the pointer by value: Poco's AutoPtr gives const access through a const ref.)
ObjectPtr ensureObject(ObjectPtr o, const std::string& key);

// RFC 3339 UTC with seconds ("2026-11-26T20:49:00Z") and with nanoseconds (RFC3339Nano, Go style:
// trailing zeros trimmed).
std::string rfc3339(int64_t unix_ns);
std::string rfc3339Nano(int64_t unix_ns);

}  // namespace podwarden::json
