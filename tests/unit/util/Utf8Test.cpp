// Utf8Test: what counts as well-formed UTF-8 (Go's utf8.Valid), repair with U+FFFD, byte positions.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "util/Utf8.h"

namespace utf8 = podwarden::utf8;

class Utf8Test : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(Utf8Test);
  CPPUNIT_TEST(testWellFormed);
  CPPUNIT_TEST(testIllFormed);
  CPPUNIT_TEST(testRepaired);
  CPPUNIT_TEST(testPositionOf);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testWellFormed() {
    for (const char* s : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x90\xB3", "\xED\x9F\xBF",
                          "\xEE\x80\x80", "\xF4\x8F\xBF\xBF"}) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(s, std::string::npos, utf8::firstInvalid(s));
    }
  }

  void testIllFormed() {
    struct Case {
      const char* text;
      size_t at;
    };
    for (const Case& c : {Case{"ab\x80", 2},                  // stray continuation byte
                          Case{"\xC0\xAF", 0},                // overlong '/'
                          Case{"\xE0\x80\xAF", 0},            // overlong, three bytes
                          Case{"\xF0\x80\x80\xAF", 0},        // overlong, four bytes
                          Case{"x\xED\xA0\x80", 1},           // UTF-16 surrogate D800
                          Case{"\xF4\x90\x80\x80", 0},        // U+110000
                          Case{"\xF5\x80\x80\x80", 0},        // beyond any plane
                          Case{"ok\xE2\x82", 2},              // truncated at the end
                          Case{"\xE2\x28\xA1", 0},            // continuation byte missing
                          Case{"\xFF", 0}}) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.text, c.at, utf8::firstInvalid(c.text));
    }
  }

  void testRepaired() {
    CPPUNIT_ASSERT_EQUAL(std::string("caf\xC3\xA9"), utf8::repaired("caf\xC3\xA9"));
    CPPUNIT_ASSERT_EQUAL(std::string("a\xEF\xBF\xBD" "b"), utf8::repaired("a\xFF" "b"));
    // Each byte of an ill-formed sequence is replaced on its own, as Go does.
    CPPUNIT_ASSERT_EQUAL(std::string("\xEF\xBF\xBD\xEF\xBF\xBD"), utf8::repaired("\xC0\xAF"));
    CPPUNIT_ASSERT_EQUAL(std::string("x\xEF\xBF\xBD\xEF\xBF\xBD"), utf8::repaired("x\xE2\x82"));
    const std::string big(1 << 20, '\xFF');
    CPPUNIT_ASSERT_EQUAL(size_t(3) << 20, utf8::repaired(big).size());
  }

  void testPositionOf() {
    const std::string text = "line one\nline two\n\xFF";
    utf8::Position p = utf8::positionOf(text, utf8::firstInvalid(text));
    CPPUNIT_ASSERT_EQUAL(3, p.line);
    CPPUNIT_ASSERT_EQUAL(1, p.column);
    p = utf8::positionOf(text, 14);
    CPPUNIT_ASSERT_EQUAL(2, p.line);
    CPPUNIT_ASSERT_EQUAL(6, p.column);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(Utf8Test);
