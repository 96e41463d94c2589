// Document.h - YAML/JSON bytes -> Poco JSON value plus a side table of field path -> source position.
#pragma once

#include <Poco/Dynamic/Var.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifest/Manifest.h"

namespace podwarden::manifest {

// Kubernetes-style field paths. Keys made only of [A-Za-z0-9_-] are joined with '.', any other key (label
// keys such as "app.kubernetes.io/name") is bracketed: metadata.labels[app.kubernetes.io/name].
std::string fieldPath(const std::string& parent, const std::string& key);
std::string indexPath(const std::string& parent, size_t index);
// "a.b[2]" -> "a.b", "a" -> "", "" -> "".
std::string parentPath(const std::string& path);

struct Position {
  int line = 0;  // 1-based, 0 = unknown
  int column = 0;
};

class Positions {
 public:
  void set(const std::string& path, Position pos) { byPath_.emplace(path, pos); }
  // The position of the path, else of its nearest ancestor that has one (a missing field is reported where
  // its parent object starts).
  Position find(const std::string& path) const;

 private:
  std::unordered_map<std::string, Position> byPath_;
};

// Collects problems for one origin; positions come from the document's side table.
class Reporter {
 public:
  Reporter(std::string origin, const Positions& positions, std::vector<Problem>& errors,
           std::vector<Problem>& warnings)
      : origin_(std::move(origin)), positions_(positions), errors_(errors), warnings_(warnings) {}
  void error(const std::string& field, const std::string& message);
  void warn(const std::string& field, const std::string& message);
  size_t errorCount() const { return errors_.size(); }
  const std::string& origin() const { return origin_; }

 private:
  Problem make(const std::string& field, const std::string& message) const;
  std::string origin_;
  const Positions& positions_;
  std::vector<Problem>& errors_;
  std::vector<Problem>& warnings_;
};

struct Document {
  Poco::Dynamic::Var root;  // JSON value: ObjectPtr, ArrayPtr, std::string, Poco::Int64, double, bool, empty
  Positions positions;      // where each field path starts (map entries: the key; list items: the item)
};

// Decodes exactly one YAML (or JSON) document. Scalars: plain true/false (any case form YAML 1.2 allows) ->
// bool, null/~/empty -> null, integers -> int64 (YAML 1.1 leading-zero octal as kubectl reads it, overflow ->
// double), floats -> double, anything else and every quoted or block scalar -> string. Returns false after
// adding errors (syntax error with position, empty input, several documents, duplicate keys, non-scalar
// keys).
bool loadDocument(std::string_view bytes, const std::string& origin, Document& out,
                  std::vector<Problem>& errors, std::vector<Problem>& warnings);

}  // namespace podwarden::manifest
