// QuantityValueTest: scaled integer values of quantities (CPU millis, memory bytes), rounding, errors.
#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>

#include "util/Quantity.h"

using podwarden::Quantity;

class QuantityValueTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(QuantityValueTest);
  CPPUNIT_TEST(testDecimalSuffixes);
  CPPUNIT_TEST(testBinarySuffixes);
  CPPUNIT_TEST(testExponentsAndFractions);
  CPPUNIT_TEST(testRoundingUp);
  CPPUNIT_TEST(testInvalid);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testDecimalSuffixes() {
    CPPUNIT_ASSERT_EQUAL(int64_t{250}, Quantity::parse("250m").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, Quantity::parse("250m").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{2000}, Quantity::parse("2").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{1000}, Quantity::parse("1k").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{128000000}, Quantity::parse("128M").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1000000000}, Quantity::parse("1G").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1000000000000}, Quantity::parse("1T").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1000000000000000}, Quantity::parse("1P").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{2000000000000000000}, Quantity::parse("2E").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, Quantity::parse("1000000n").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{3}, Quantity::parse("3000u").milliValue());
    CPPUNIT_ASSERT(Quantity::parse("0").isZero());
    CPPUNIT_ASSERT(Quantity::parse("0.000Gi").isZero());
    CPPUNIT_ASSERT_EQUAL(int64_t{5}, Quantity::parse("+5").value());
    CPPUNIT_ASSERT(Quantity::parse("-1").negative());
  }

  void testBinarySuffixes() {
    CPPUNIT_ASSERT_EQUAL(int64_t{1024}, Quantity::parse("1Ki").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{134217728}, Quantity::parse("128Mi").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1610612736}, Quantity::parse("1.5Gi").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1099511627776}, Quantity::parse("1Ti").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1125899906842624}, Quantity::parse("1Pi").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1152921504606846976}, Quantity::parse("1Ei").value());
  }

  void testExponentsAndFractions() {
    CPPUNIT_ASSERT_EQUAL(int64_t{1000}, Quantity::parse("1e3").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1000}, Quantity::parse("1E3").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1200}, Quantity::parse("12e+2").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{500}, Quantity::parse("5e-1").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{500}, Quantity::parse("0.5").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{500}, Quantity::parse(".5").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{100}, Quantity::parse("0.100000000000000000000000").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{1500}, Quantity::parse("1.5").milliValue());
  }

  void testRoundingUp() {
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, Quantity::parse("1.5").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, Quantity::parse("0.1m").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, Quantity::parse("1n").milliValue());
    CPPUNIT_ASSERT_EQUAL(int64_t{1}, Quantity::parse("1e-30").value());
    CPPUNIT_ASSERT_EQUAL(int64_t{2}, Quantity::parse("1001m").value());
  }

  void testInvalid() {
    for (const char* text : {"", "abc", "1x", "1.2.3", "--1", "1Kib", "m", "1e", "1e+", "Ki1", " 1", "1 "}) {
      CPPUNIT_ASSERT_THROW_MESSAGE(text, Quantity::parse(text), std::invalid_argument);
    }
    try {
      Quantity::parse("12q");
      CPPUNIT_FAIL("accepted 12q");
    } catch (const std::invalid_argument& e) {
      CPPUNIT_ASSERT_EQUAL(std::string("invalid quantity \"12q\": unknown suffix \"q\""),
                           std::string(e.what()));
    }
    CPPUNIT_ASSERT_THROW(Quantity::parse("8Ei").value(), std::out_of_range);
    CPPUNIT_ASSERT_THROW(Quantity::parse("9E").milliValue(), std::out_of_range);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(QuantityValueTest);
