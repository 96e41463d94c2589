#include "manifest/Document.h"

#include <Poco/Types.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>

#include "util/Json.h"
#include "util/ScalarForms.h"
#include "util/Utf8.h"

namespace podwarden::manifest {

std::string fieldPath(const std::string& parent, const std::string& key) {
  bool plain = !key.empty();
  for (char c : key) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      plain = false;
      break;
    }
  }
  if (!plain) return parent + "[" + key + "]";
  return parent.empty() ? key : parent + "." + key;
}

std::string indexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string parentPath(const std::string& path) {
  if (path.empty()) return path;
  if (path.back() == ']') {
    size_t open = path.rfind('[');
    return open == std::string::npos ? std::string() : path.substr(0, open);
  }
  size_t cut = path.find_last_of(".]");
  if (cut == std::string::npos) return std::string();
  return path[cut] == '.' ? path.substr(0, cut) : path.substr(0, cut + 1);
}

Position Positions::find(const std::string& path) const {
  std::string p = path;
  while (true) {
    auto it = byPath_.find(p);
    if (it != byPath_.end()) return it->second;
    if (p.empty()) return Position{};
    p = parentPath(p);
  }
}

Problem Reporter::make(const std::string& field, const std::string& message) const {
  Problem p;
  p.origin = origin_;
  p.field = field;
  Position pos = positions_.find(field);
  p.line = pos.line;
  p.column = pos.column;
  p.message = message;
  return p;
}

void Reporter::error(const std::string& field, const std::string& message) {
  errors_.push_back(make(field, message));
}

void Reporter::warn(const std::string& field, const std::string& message) {
  warnings_.push_back(make(field, message));
}

namespace {

// Limits that keep a small hostile file (alias bombs, deep nesting) from costing more than a big honest one.
// An honest document holds fewer values than bytes; aliases may expand it by a bounded amount on top.
constexpr size_t kBaseMaxValues = 100000;
constexpr int kMaxDepth = 200;

Position positionOf(const YAML::Node& node) {
  YAML::Mark m = node.Mark();
  if (m.is_null()) return Position{};
  return Position{m.line + 1, m.column + 1};
}

// A number beyond the range of a double stays the string it was written as, as in go-yaml (whose float
// parse fails with a range error there), so "must be a number" errors quote what the user wrote.
Poco::Dynamic::Var floatOrText(const std::string& text) {
  std::optional<double> d = podwarden::scalar::finiteFloat(text);
  if (!d) return text;
  return *d;
}

// The YAML 1.1 booleans that YAML 1.2 reads as strings (go-yaml, hence kubectl, reads them as booleans).
bool isYaml11Bool(const std::string& s) {
  static const std::set<std::string> kForms = {"y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no",
                                               "No", "NO", "on",  "On",  "ON",  "off", "Off", "OFF"};
  return kForms.count(s) > 0;
}

class Converter {
 public:
  Converter(Document& doc, const std::string& origin, size_t maxValues, std::vector<Problem>& errors,
            std::vector<Problem>& warnings)
      : doc_(doc), origin_(origin), maxValues_(maxValues), errors_(errors), warnings_(warnings) {}

  Poco::Dynamic::Var convert(const YAML::Node& node, const std::string& path, int depth) {
    if (failed_) return Poco::Dynamic::Var();
    if (++nodes_ > maxValues_) {
      fail(path, positionOf(node),
           "document expands to more than " + std::to_string(maxValues_) + " values (alias expansion?)");
      return Poco::Dynamic::Var();
    }
    if (depth > kMaxDepth) {
      fail(path, positionOf(node),
           "document is nested more than " + std::to_string(kMaxDepth) + " levels deep");
      return Poco::Dynamic::Var();
    }
    switch (node.Type()) {
      case YAML::NodeType::Map:
        return mapping(node, path, depth);
      case YAML::NodeType::Sequence: {
        json::ArrayPtr arr = new json::Array();
        size_t i = 0;
        for (const auto& item : node) {
          std::string child = indexPath(path, i++);
          doc_.positions.set(child, positionOf(item));
          arr->add(convert(item, child, depth + 1));
        }
        return arr;
      }
      case YAML::NodeType::Scalar:
        return scalar(node, path);
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        break;
    }
    return Poco::Dynamic::Var();
  }

  bool failed() const { return failed_; }

 private:
  // A plain `<<` key is a YAML merge key (go-yaml, hence the kubelet, honours it).
  static bool isMergeKey(const YAML::Node& key) { return key.Scalar() == "<<" && key.Tag() == "?"; }

  Poco::Dynamic::Var mapping(const YAML::Node& node, const std::string& path, int depth) {
    json::ObjectPtr obj = new json::Object();
    for (const auto& kv : node) {
      if (kv.first.IsScalar() && isMergeKey(kv.first) && !merge(obj, kv.second, path, depth)) {
        return Poco::Dynamic::Var();
      }
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        fail(path, positionOf(kv.first), "mapping keys must be strings, not lists or mappings");
        return Poco::Dynamic::Var();
      }
      if (isMergeKey(kv.first)) continue;
      const std::string& key = kv.first.Scalar();
      std::string child = fieldPath(path, key);
      Position keyPos = positionOf(kv.first);
      if (!seen.insert(key).second) {
        fail(child, keyPos, "duplicate key \"" + key + "\" (a mapping holds each key once)");
        return Poco::Dynamic::Var();
      }
      doc_.positions.set(child, keyPos);
      obj->set(key, convert(kv.second, child, depth + 1));  // a key written here beats a merged one
    }
    return obj;
  }

  // `<<: *m` or `<<: [*m1, *m2]`: the keys of the mappings that `obj` lacks, the first mapping first.
  bool merge(json::ObjectPtr& obj, const YAML::Node& value, const std::string& path, int depth) {
    std::vector<YAML::Node> sources;
    if (value.IsSequence()) {
      for (const auto& item : value) sources.push_back(item);
    } else {
      sources.push_back(value);
    }
    for (const auto& source : sources) {
      if (!source.IsMap()) {
        fail(fieldPath(path, "<<"), positionOf(source),
             "a merge key (<<) takes a mapping or a list of mappings");
        return false;
      }
      Poco::Dynamic::Var merged = convert(source, path, depth + 1);
      if (failed_) return false;
      json::ObjectPtr from = merged.extract<json::ObjectPtr>();
      for (const auto& kv : *from) {
        if (!obj->has(kv.first)) obj->set(kv.first, kv.second);
      }
    }
    return true;
  }

  Poco::Dynamic::Var scalar(const YAML::Node& node, const std::string& path) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    // "!" = quoted or block scalar; an explicit !!str also keeps the text.
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
      return Poco::Dynamic::Var();
    }
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    // Only these first characters can start a number or a YAML 1.1 boolean; skip the checks otherwise.
    if (std::string("0123456789+-.yYnNoO").find(text[0]) == std::string::npos) return text;
    if (podwarden::scalar::isDecimal(text)) {
      // YAML 1.1 (go-yaml, hence kubectl and the kubelet) reads 0644 as octal; keep that reading.
      bool octal = podwarden::scalar::isOctal11(text);
      errno = 0;
      char* end = nullptr;
      long long v = std::strtoll(text.c_str(), &end, octal ? 8 : 10);
      if (errno == ERANGE) return floatOrText(text);
      return static_cast<Poco::Int64>(v);
    }
    if (podwarden::scalar::isHex(text) || podwarden::scalar::isOctal12(text)) {
      errno = 0;
      long long v = std::strtoll(text.c_str() + 2, nullptr, text[1] == 'x' ? 16 : 8);
      if (errno != ERANGE) return static_cast<Poco::Int64>(v);
      return text;
    }
    if (podwarden::scalar::isFloat(text)) return floatOrText(text);
    if (isYaml11Bool(text)) {
      Problem w;
      w.origin = origin_;
      w.field = path;
      Position pos = positionOf(node);
      w.line = pos.line;
      w.column = pos.column;
      w.message = "plain " + text + " is read as the string \"" + text +
                  "\" here, but YAML 1.1 tools (kubectl) read it as a boolean: quote it or write true/false";
      warnings_.push_back(w);
    }
    return text;
  }

  void fail(const std::string& path, Position pos, const std::string& message) {
    Problem p;
    p.origin = origin_;
    p.field = path;
    p.line = pos.line;
    p.column = pos.column;
    p.message = message;
    errors_.push_back(p);
    failed_ = true;
  }

  Document& doc_;
  const std::string& origin_;
  size_t maxValues_;
  std::vector<Problem>& errors_;
  std::vector<Problem>& warnings_;
  size_t nodes_ = 0;
  bool failed_ = false;
};

// yaml-cpp 0.7 never finishes on a document whose first token is a stray ',' (",x", "- a\n,b"): the parser
// stops consuming input and returns one empty document after another. This pass sees the events only and
// stops where a document starts at the same place as the one before it.
class StuckDocumentFinder : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    stuck_ = started_ && mark.pos == last_.pos;
    started_ = true;
    last_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
  }
  void OnMapEnd() override {}

  bool stuck() const { return stuck_; }
  const YAML::Mark& mark() const { return last_; }

 private:
  bool started_ = false;
  bool stuck_ = false;
  YAML::Mark last_ = YAML::Mark::null_mark();
};

// Returns false (with the stuck position in `at`) when yaml-cpp would loop forever on `text`.
bool parsesToEnd(const std::string& text, YAML::Mark& at) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  StuckDocumentFinder finder;
  while (parser.HandleNextDocument(finder)) {
    if (finder.stuck()) {
      at = finder.mark();
      return false;
    }
  }
  return true;
}

Problem wholeFile(const std::string& origin, const std::string& message) {
  Problem p;
  p.origin = origin;
  p.message = message;
  return p;
}

}  // namespace

bool loadDocument(std::string_view bytes, const std::string& origin, Document& out,
                  std::vector<Problem>& errors, std::vector<Problem>& warnings) {
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  if (bytes.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    errors.push_back(wholeFile(origin, "file is empty: a static pod manifest holds exactly one Pod"));
    return false;
  }
  if (bytes.find('\0') != std::string_view::npos) {
    errors.push_back(wholeFile(origin, "file holds NUL bytes: not a YAML or JSON text"));
    return false;
  }
  size_t bad = podwarden::utf8::firstInvalid(bytes);
  if (bad != std::string_view::npos) {
    Problem p = wholeFile(origin, "file is not UTF-8 text (invalid byte sequence)");
    const podwarden::utf8::Position at = podwarden::utf8::positionOf(bytes, bad);
    p.line = at.line;
    p.column = at.column;
    errors.push_back(p);
    return false;
  }
  std::vector<YAML::Node> docs;
  try {
    std::string text(bytes);
    YAML::Mark stuckAt = YAML::Mark::null_mark();
    if (!parsesToEnd(text, stuckAt)) {
      Problem p;
      p.origin = origin;
      p.line = stuckAt.line + 1;
      p.column = stuckAt.column + 1;
      char c = stuckAt.pos >= 0 && static_cast<size_t>(stuckAt.pos) < text.size() ? text[stuckAt.pos] : '?';
      p.message = std::string("YAML syntax error: unexpected '") + c + "'";
      errors.push_back(p);
      return false;
    }
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    Problem p;
    p.origin = origin;
    if (!e.mark.is_null()) {
      p.line = e.mark.line + 1;
      p.column = e.mark.column + 1;
    }
    p.message = "YAML syntax error: " + e.msg;
    errors.push_back(p);
    return false;
  } catch (const std::exception& e) {
    errors.push_back(wholeFile(origin, std::string("YAML error: ") + e.what()));
    return false;
  }
  // A lone "---" before or after the document gives an empty document; that is not a second Pod.
  std::vector<YAML::Node> real;
  for (const auto& d : docs) {
    if (!d.IsNull()) real.push_back(d);
  }
  if (real.empty()) {
    errors.push_back(wholeFile(origin, "file holds no YAML document (only comments or document markers)"));
    return false;
  }
  if (real.size() > 1) {
    Problem p = wholeFile(origin, "file holds " + std::to_string(real.size()) +
                                      " YAML documents; a static pod manifest holds exactly one Pod");
    Position second = positionOf(real[1]);
    p.line = second.line;
    p.column = second.column;
    errors.push_back(p);
    return false;
  }
  Converter converter(out, origin, kBaseMaxValues + bytes.size(), errors, warnings);
  out.positions.set("", positionOf(real[0]));
  try {
    out.root = converter.convert(real[0], "", 0);
  } catch (const std::exception& e) {
    errors.push_back(wholeFile(origin, std::string("YAML error: ") + e.what()));
    return false;
  }
  return !converter.failed();
}

}  // namespace podwarden::manifest
