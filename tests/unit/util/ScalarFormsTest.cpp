// ScalarFormsTest: the YAML plain-scalar number forms, and that a 16 MiB run of one class is read in a loop.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "util/ScalarForms.h"

namespace scalar = podwarden::scalar;

class ScalarFormsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ScalarFormsTest);
  CPPUNIT_TEST(testIntegers);
  CPPUNIT_TEST(testFloats);
  CPPUNIT_TEST(testSpecialFloats);
  CPPUNIT_TEST(testFiniteFloat);
  CPPUNIT_TEST(testLongRuns);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testIntegers() {
    for (const char* s : {"0", "7", "-3", "+4", "0644", "123456789012345678901234567890"}) {
      CPPUNIT_ASSERT_MESSAGE(s, scalar::isDecimal(s));
    }
    for (const char* s : {"", "+", "-", "1.0", "1e3", " 1", "1 ", "0x1", "١"}) {
      CPPUNIT_ASSERT_MESSAGE(s, !scalar::isDecimal(s));
    }
    for (const char* s : {"0644", "-0644", "+07", "00"}) CPPUNIT_ASSERT_MESSAGE(s, scalar::isOctal11(s));
    for (const char* s : {"0", "644", "0648", "-0", "0o7"}) CPPUNIT_ASSERT_MESSAGE(s, !scalar::isOctal11(s));
    for (const char* s : {"0o17", "0o0"}) CPPUNIT_ASSERT_MESSAGE(s, scalar::isOctal12(s));
    for (const char* s : {"0o", "0o8", "-0o7", "0O7"}) CPPUNIT_ASSERT_MESSAGE(s, !scalar::isOctal12(s));
    for (const char* s : {"0x1F", "0xff", "0x0"}) CPPUNIT_ASSERT_MESSAGE(s, scalar::isHex(s));
    for (const char* s : {"0x", "0x1G", "-0x1", "0X1", "x1"}) CPPUNIT_ASSERT_MESSAGE(s, !scalar::isHex(s));
  }

  void testFloats() {
    for (const char* s : {"1.5", "-0.25", "1e3", ".5", "5.", "+1.", "1E-3", "2.5e+10", "7", "-.5e1"}) {
      CPPUNIT_ASSERT_MESSAGE(s, scalar::isFloat(s));
    }
    for (const char* s :
         {"", ".", "-", "+.", "e3", "1e", "1e+", "1.2.3", "1..2", ".e1", "1e3.0", "1.5x", "--1"}) {
      CPPUNIT_ASSERT_MESSAGE(s, !scalar::isFloat(s));
    }
  }

  void testFiniteFloat() {
    CPPUNIT_ASSERT_EQUAL(1.5, *scalar::finiteFloat("1.5"));
    CPPUNIT_ASSERT_EQUAL(0.0, *scalar::finiteFloat("1e-400"));  // underflow: 0, as Go's ParseFloat
    CPPUNIT_ASSERT(!scalar::finiteFloat("1e400"));
    CPPUNIT_ASSERT(!scalar::finiteFloat("-1e400"));
    CPPUNIT_ASSERT(!scalar::finiteFloat("1e" + std::string(100000, '7')));
  }

  void testSpecialFloats() {
    for (const char* s : {".inf", "-.Inf", "+.INF", ".nan", ".NaN", ".NAN"}) {
      CPPUNIT_ASSERT_MESSAGE(s, scalar::isSpecialFloat(s));
    }
    for (const char* s : {"inf", ".iNf", "-.nan", ".nan ", "nan"}) {
      CPPUNIT_ASSERT_MESSAGE(s, !scalar::isSpecialFloat(s));
    }
  }

  // std::regex needed stack in proportion to the input and died at about 30,000 characters.
  void testLongRuns() {
    const std::string digits(16 << 20, '7');
    CPPUNIT_ASSERT(scalar::isDecimal(digits));
    CPPUNIT_ASSERT(scalar::isOctal11("0" + digits));
    CPPUNIT_ASSERT(scalar::isOctal12("0o" + digits));
    CPPUNIT_ASSERT(scalar::isHex("0x" + digits));
    CPPUNIT_ASSERT(scalar::isFloat(digits + "." + digits + "e" + digits));
    CPPUNIT_ASSERT(!scalar::isFloat(digits + "x"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ScalarFormsTest);
