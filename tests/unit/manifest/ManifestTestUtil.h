// ManifestTestUtil.h - shared helpers for the manifest suites: fixtures, parsing, problem lookup.
#pragma once

#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "manifest/Manifest.h"

namespace podwarden::manifest::testing {

inline std::string fixturePath(const std::string& relative) {
  const char* src = std::getenv("PODWARDEN_SOURCE_DIR");
  if (src == nullptr)
    throw std::runtime_error("PODWARDEN_SOURCE_DIR is not set (run the tests through ctest)");
  return std::string(src) + "/tests/fixtures/manifests/" + relative;
}

inline std::string readFixture(const std::string& relative) {
  std::ifstream in(fixturePath(relative), std::ios::binary);
  if (!in) throw std::runtime_error("cannot read fixture " + fixturePath(relative));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline ParseOptions options(const std::string& node = "node1") {
  ParseOptions o;
  o.nodeName = node;
  o.seenUnixNs = 1700000000123456789LL;
  return o;
}

inline ParseResult parseFile(const std::string& bytes,
                             const std::string& path = "/etc/kubernetes/manifests/pod.yaml",
                             const std::string& node = "node1") {
  return parseManifest(bytes, SourceRef{"file", path}, options(node));
}

inline std::string describe(const ParseResult& r) {
  std::string out;
  for (const auto& p : r.errors) out += "  error: " + p.toString() + "\n";
  for (const auto& p : r.warnings) out += "  warning: " + p.toString() + "\n";
  return out;
}

inline std::string contextOf(const ParseResult& r) {
  return "problems:\n" + describe(r);
}

// The first error on `field` whose message contains `text`; asserts there is one.
inline Problem expectError(const ParseResult& r, const std::string& field, const std::string& text) {
  for (const auto& p : r.errors) {
    if (p.field == field && p.message.find(text) != std::string::npos) return p;
  }
  CPPUNIT_FAIL("expected an error on '" + field + "' containing '" + text + "'; " + contextOf(r));
  return Problem{};
}

inline Problem expectErrorAt(const ParseResult& r, const std::string& field, const std::string& text,
                             int line, int column) {
  Problem p = expectError(r, field, text);
  CPPUNIT_ASSERT_EQUAL_MESSAGE("line of " + p.toString(), line, p.line);
  CPPUNIT_ASSERT_EQUAL_MESSAGE("column of " + p.toString(), column, p.column);
  return p;
}

inline void expectValid(const ParseResult& r) {
  CPPUNIT_ASSERT_MESSAGE("expected a valid manifest; " + contextOf(r), r.errors.empty());
  CPPUNIT_ASSERT(r.pod.has_value());
}

inline void expectInvalid(const ParseResult& r) {
  CPPUNIT_ASSERT_MESSAGE("expected errors", !r.errors.empty());
  CPPUNIT_ASSERT_MESSAGE("no pod with errors", !r.pod.has_value());
}

}  // namespace podwarden::manifest::testing
