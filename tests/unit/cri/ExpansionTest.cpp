// $(VAR) expansion with Kubernetes' escaping and leave-as-written rules.
#include <cppunit/extensions/HelperMacros.h>

#include <map>
#include <vector>

#include "cri/Expansion.h"

using namespace podwarden::cri;

class ExpansionTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ExpansionTest);
  CPPUNIT_TEST(testCases);
  CPPUNIT_TEST(testMissingNamesAreReported);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testCases() {
    const std::map<std::string, std::string> vars = {
        {"VAR_A", "A"}, {"VAR_B", "B"}, {"EMPTY", ""}, {"REF", "$(VAR_A)"}};
    struct Case {
      const char* input;
      const char* want;
    };
    const std::vector<Case> cases = {
        {"", ""},
        {"plain", "plain"},
        {"$(VAR_A)", "A"},
        {"___$(VAR_B)___", "___B___"},
        {"$(VAR_A)-$(VAR_B)", "A-B"},
        {"$(EMPTY)x", "x"},
        {"$(UNKNOWN)", "$(UNKNOWN)"},
        {"$$(VAR_A)", "$(VAR_A)"},
        {"$$$(VAR_A)", "$A"},
        {"$$$$(VAR_A)", "$$(VAR_A)"},
        {"$$", "$"},
        {"$", "$"},
        {"x$", "x$"},
        {"$x", "$x"},
        {"$(", "$("},
        {"$(VAR_A", "$(VAR_A"},
        {"$()", "$()"},
        {"$(REF)", "$(VAR_A)"},  // values are not expanded again
        {"$(VAR_A)$(VAR_B)$", "AB$"},
        {"((VAR_A))", "((VAR_A))"},
    };
    auto lookup = [&](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    for (const Case& c : cases) {
      CPPUNIT_ASSERT_EQUAL_MESSAGE(c.input, std::string(c.want), expandReferences(c.input, lookup));
    }
  }

  void testMissingNamesAreReported() {
    std::vector<std::string> missing;
    std::string out = expandReferences(
        "$(A)/$(B)/$$(C)", [](const std::string&) -> std::optional<std::string> { return std::nullopt; },
        [&](const std::string& name) { missing.push_back(name); });
    CPPUNIT_ASSERT_EQUAL(std::string("$(A)/$(B)/$(C)"), out);
    CPPUNIT_ASSERT_EQUAL(size_t{2}, missing.size());
    CPPUNIT_ASSERT_EQUAL(std::string("A"), missing[0]);
    CPPUNIT_ASSERT_EQUAL(std::string("B"), missing[1]);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ExpansionTest);
