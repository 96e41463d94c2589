// Selectors.h - label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors (=, ==, !=)
// as list and watch requests carry them (?labelSelector=...&fieldSelector=...).
#pragma once

#include <Poco/JSON/Object.h>

#include <map>
#include <string>
#include <vector>

namespace podwarden::fakeapi {

class LabelSelector {
 public:
  // Throws ApiError 400 (BadRequest) on a malformed selector. Empty text selects everything.
  static LabelSelector parse(const std::string& text);
  bool matches(const std::map<std::string, std::string>& labels) const;
  bool empty() const { return requirements_.empty(); }

 private:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

class FieldSelector {
 public:
  // `supported`: the field names this resource can be selected by; any other gives 400
  // ("field label not supported: x"). Empty text selects everything.
  static FieldSelector parse(const std::string& text, const std::vector<std::string>& supported);
  // `fields`: the object's values of the supported fields.
  bool matches(const std::map<std::string, std::string>& fields) const;
  bool empty() const { return requirements_.empty(); }
  // The value a requirement `field=value` (or ==) pins, or empty.
  std::string exactValue(const std::string& field) const;

 private:
  struct Requirement {
    std::string field;
    bool equals;
    std::string value;
  };
  std::vector<Requirement> requirements_;
};

// The labels of an object (metadata.labels), as a map.
std::map<std::string, std::string> labelsOf(const Poco::JSON::Object::Ptr& object);

}  // namespace podwarden::fakeapi
