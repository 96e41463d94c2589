// MiniJson.h - just enough JSON for sink-jsonl: a reader into a small value tree and a string quoter.
//
// A plugin keeps its dependencies inside its own .so; this avoids pulling a JSON library into the
// sample. A larger plugin would link one privately (podwarden_add_plugin(... LIBRARIES ...)).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sinkjsonl {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Type type() const { return type_; }
  bool isObject() const { return type_ == Type::kObject; }
  bool isArray() const { return type_ == Type::kArray; }
  bool isString() const { return type_ == Type::kString; }
  bool isNumber() const { return type_ == Type::kNumber; }

  // A string's decoded text, or a number's text exactly as written ("3", "-1.5e3"). Empty otherwise.
  const std::string& text() const { return text_; }
  // An array's elements (empty for non-arrays).
  const std::vector<JsonValue>& items() const { return items_; }
  // An object's members by key (empty for non-objects). Later duplicates replace earlier ones.
  const std::map<std::string, JsonValue>& members() const { return members_; }
  // The member `key` of an object, or nullptr when absent or this is not an object.
  const JsonValue* find(const std::string& key) const;

  // Parses one JSON document (RFC 8259). Throws std::runtime_error naming the byte offset on bad input.
  static JsonValue parse(std::string_view text);

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  std::string text_;
  std::vector<JsonValue> items_;
  std::map<std::string, JsonValue> members_;
};

// Appends `s` to `out` as a quoted JSON string.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace sinkjsonl
