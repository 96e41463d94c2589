// QuantityTest: the Kubernetes quantity grammar and exact comparison across units.
#include <cppunit/extensions/HelperMacros.h>

#include "util/Quantity.h"

using podwarden::Quantity;

namespace {

Quantity q(const std::string& text) {
  std::optional<Quantity> v = Quantity::tryParse(text);
  CPPUNIT_ASSERT_MESSAGE("should parse: " + text, v.has_value());
  return *v;
}

}  // namespace

class QuantityTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(QuantityTest);
  CPPUNIT_TEST(testValidForms);
  CPPUNIT_TEST(testInvalidForms);
  CPPUNIT_TEST(testEqualAcrossUnits);
  CPPUNIT_TEST(testOrdering);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testValidForms() {
    for (const char* s : {"250m", "0.5", "1", "128Mi", "1G", "1e3", "1E3", "1.5Gi", ".5", "5.", "+1", "0",
                          "1Ki", "2Ei", "3e-3", "1n"}) {
      CPPUNIT_ASSERT_MESSAGE(s, Quantity::tryParse(s).has_value());
    }
    CPPUNIT_ASSERT(q("-1").negative());
    CPPUNIT_ASSERT(q("128m").hasFraction());
    CPPUNIT_ASSERT(!q("128Mi").hasFraction());
  }

  void testInvalidForms() {
    for (const char* s : {"", "m", "1Gb", "250x", "1.2.3", "1 Gi", "Gi", "1e", "1e+", "1ki", "--1", "0x10",
                          "1mi", "99999999999999999999999999999999Ei"}) {
      CPPUNIT_ASSERT_MESSAGE(std::string("should not parse: '") + s + "'", !Quantity::tryParse(s).has_value());
    }
  }

  void testEqualAcrossUnits() {
    CPPUNIT_ASSERT(q("0.1") == q("100m"));
    CPPUNIT_ASSERT(q("1") == q("1000m"));
    CPPUNIT_ASSERT(q("1e3") == q("1k"));
    CPPUNIT_ASSERT(q("1Ki") == q("1024"));
    CPPUNIT_ASSERT(q("0.5Gi") == q("512Mi"));
    CPPUNIT_ASSERT(q("1G") == q("1000M"));
    CPPUNIT_ASSERT(q("3e-3") == q("3m"));
  }

  void testOrdering() {
    CPPUNIT_ASSERT(q("250m") < q("0.5"));
    CPPUNIT_ASSERT(q("128Mi") < q("1G"));
    CPPUNIT_ASSERT(q("1G") < q("1Gi"));
    CPPUNIT_ASSERT(!(q("2") < q("2000m")));
    // Below a nano-unit rounds up, as Kubernetes does.
    CPPUNIT_ASSERT(q("0.0000000001") == q("1n"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(QuantityTest);
