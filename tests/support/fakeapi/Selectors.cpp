#include "Selectors.h"

#include "ApiError.h"
#include "util/Json.h"

#include <algorithm>
#include <cctype>

namespace podwarden::fakeapi {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Splits on commas that are not inside parentheses.
std::vector<std::string> splitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

bool validLabelKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
}

void checkKey(const std::string& key, const std::string& requirement) {
  if (key.empty() || !std::all_of(key.begin(), key.end(), validLabelKeyChar)) {
    throw badRequest("unable to parse requirement: invalid label key \"" + key + "\" in \"" + requirement + "\"");
  }
}

void checkValue(const std::string& value, const std::string& requirement) {
  if (!std::all_of(value.begin(), value.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      })) {
    throw badRequest("unable to parse requirement: invalid label value: \"" + value + "\" in \"" + requirement +
                     "\"");
  }
}

}  // namespace

LabelSelector LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (const std::string& raw : splitTopLevel(text)) {
    std::string part = trim(raw);
    if (part.empty()) throw badRequest("unable to parse requirement: found '', expected: identifier");
    Requirement r;
    size_t pos;
    if (part[0] == '!') {
      r.key = trim(part.substr(1));
      r.op = Op::kDoesNotExist;
    } else if ((pos = part.find("!=")) != std::string::npos) {
      r.key = trim(part.substr(0, pos));
      r.op = Op::kNotEquals;
      r.values.push_back(trim(part.substr(pos + 2)));
    } else if ((pos = part.find("==")) != std::string::npos) {
      r.key = trim(part.substr(0, pos));
      r.op = Op::kEquals;
      r.values.push_back(trim(part.substr(pos + 2)));
    } else if ((pos = part.find('=')) != std::string::npos) {
      r.key = trim(part.substr(0, pos));
      r.op = Op::kEquals;
      r.values.push_back(trim(part.substr(pos + 1)));
    } else if ((pos = part.find('(')) != std::string::npos) {
      // key in (a,b) / key notin (a,b)
      std::string head = trim(part.substr(0, pos));
      if (part.back() != ')') throw badRequest("unable to parse requirement: found '" + part + "', expected: ')'");
      size_t space = head.find_last_of(" \t");
      if (space == std::string::npos) throw badRequest("unable to parse requirement: \"" + part + "\"");
      std::string op = trim(head.substr(space + 1));
      r.key = trim(head.substr(0, space));
      if (op == "in") {
        r.op = Op::kIn;
      } else if (op == "notin") {
        r.op = Op::kNotIn;
      } else {
        throw badRequest("unable to parse requirement: found '" + op + "', expected: in, notin, =, ==, !=");
      }
      std::string inner = part.substr(pos + 1, part.size() - pos - 2);
      size_t start = 0;
      while (true) {
        size_t comma = inner.find(',', start);
        std::string v = trim(inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        checkValue(v, part);
        r.values.push_back(v);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else {
      r.key = part;
      r.op = Op::kExists;
    }
    checkKey(r.key, part);
    for (const auto& v : r.values) checkValue(v, part);
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : requirements_) {
    auto it = labels.find(r.key);
    bool present = it != labels.end();
    bool inValues = present && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!inValues) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (inValues) return false;
        break;
      case Op::kExists:
        if (!present) return false;
        break;
      case Op::kDoesNotExist:
        if (present) return false;
        break;
    }
  }
  return true;
}

FieldSelector FieldSelector::parse(const std::string& text, const std::vector<std::string>& supported) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  // Terms are separated by unescaped commas; values may escape ',', '=' and '\' with a backslash.
  std::vector<std::string> terms;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      cur += c;
      cur += text[++i];
    } else if (c == ',') {
      terms.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  terms.push_back(cur);
  for (const std::string& term : terms) {
    Requirement r;
    size_t pos = std::string::npos, opLen = 0;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '\\') {
        ++i;
        continue;
      }
      if (term.compare(i, 2, "!=") == 0) {
        pos = i, opLen = 2, r.equals = false;
      } else if (term.compare(i, 2, "==") == 0) {
        pos = i, opLen = 2, r.equals = true;
      } else if (term[i] == '=') {
        pos = i, opLen = 1, r.equals = true;
      }
      if (pos != std::string::npos) break;
    }
    if (pos == std::string::npos) throw badRequest("invalid selector: '" + text + "'; can't understand '" + term + "'");
    r.field = trim(term.substr(0, pos));
    std::string raw = term.substr(pos + opLen);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
      r.value += raw[i];
    }
    if (std::find(supported.begin(), supported.end(), r.field) == supported.end()) {
      throw badRequest("field label not supported: " + r.field);
    }
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool FieldSelector::matches(const std::map<std::string, std::string>& fields) const {
  for (const auto& r : requirements_) {
    auto it = fields.find(r.field);
    std::string value = it == fields.end() ? "" : it->second;
    if ((value == r.value) != r.equals) return false;
  }
  return true;
}

std::string FieldSelector::exactValue(const std::string& field) const {
  for (const auto& r : requirements_) {
    if (r.field == field && r.equals) return r.value;
  }
  return "";
}

std::map<std::string, std::string> labelsOf(const Poco::JSON::Object::Ptr& object) {
  std::map<std::string, std::string> labels;
  auto l = json::getObject(json::getObject(object, "metadata"), "labels");
  if (l.isNull()) return labels;
  for (const auto& kv : *l) labels[kv.first] = kv.second.isEmpty() ? "" : kv.second.toString();
  return labels;
}

}  // namespace podwarden::fakeapi
