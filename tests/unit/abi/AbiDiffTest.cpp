// AbiDiffTest: libabigail's view of the SDK ABI. abidiff compares the probe library built from today's
// abi.h (tests/abi/probe) with the committed abidw dump of each released minor
// (tests/abi/baseline/abi-v1.<minor>.abi): against the current minor's dump nothing may differ; against an
// older minor's dump only compatible changes (appended members) are allowed.
#include <cppunit/extensions/HelperMacros.h>
#include <podwarden/abi.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace {

// abidiff's exit status bits (libabigail's abidiff_status).
constexpr int kAbidiffError = 1;
constexpr int kAbidiffUsageError = 2;
constexpr int kAbidiffChange = 4;
constexpr int kAbidiffIncompatibleChange = 8;

struct Outcome {
  int exitCode = -1;
  std::string output;
};

Outcome run(const std::string& command) {
  Outcome o;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) o.output.append(buf, n);
  int status = pclose(p);
  o.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

std::string baseline(int minor) {
  return std::string(PODWARDEN_ABI_DIR) + "/baseline/abi-v1." + std::to_string(minor) + ".abi";
}

std::string abidiff(const std::string& base) {
  return std::string(PODWARDEN_ABIDIFF) + " --no-show-locs '" + base + "' '" + PODWARDEN_ABI_PROBE + "'";
}

const char kHowToRecord[] =
    "abidw --no-corpus-path --no-comp-dir-path --no-show-locs --out-file "
    "tests/abi/baseline/abi-v1.<minor>.abi <build>/abi-probe/libpodwarden_abi_probe.so";

}  // namespace

class AbiDiffTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AbiDiffTest);
  CPPUNIT_TEST(testToolsPresent);
  CPPUNIT_TEST(testCurrentMinorUnchanged);
  CPPUNIT_TEST(testOlderMinorsOnlyGrew);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testToolsPresent() {
    CPPUNIT_ASSERT_MESSAGE("abidiff was not found at configure time (Debian: abigail-tools)",
                           std::string(PODWARDEN_ABIDIFF).find("NOTFOUND") == std::string::npos);
    CPPUNIT_ASSERT_MESSAGE(std::string("probe library missing: ") + PODWARDEN_ABI_PROBE,
                           access(PODWARDEN_ABI_PROBE, R_OK) == 0);
  }

  void testCurrentMinorUnchanged() {
    const std::string base = baseline(PW_ABI_MINOR);
    CPPUNIT_ASSERT_MESSAGE("no abidw baseline for ABI 1." + std::to_string(PW_ABI_MINOR) + " (" + base +
                               "); record it with: " + kHowToRecord,
                           access(base.c_str(), R_OK) == 0);
    Outcome o = run(abidiff(base));
    CPPUNIT_ASSERT_MESSAGE(
        "abidiff could not compare (exit " + std::to_string(o.exitCode) + "):\n" + o.output,
        o.exitCode >= 0 && (o.exitCode & (kAbidiffError | kAbidiffUsageError)) == 0);
    CPPUNIT_ASSERT_MESSAGE("the SDK ABI differs from the released ABI 1." + std::to_string(PW_ABI_MINOR) +
                               " (abidiff exit " + std::to_string(o.exitCode) +
                               "): append members only, bump PW_ABI_MINOR and record a new baseline with: " +
                               kHowToRecord + "\n" + o.output,
                           o.exitCode == 0);
  }

  void testOlderMinorsOnlyGrew() {
    for (int minor = 0; minor < PW_ABI_MINOR; ++minor) {
      Outcome o = run(abidiff(baseline(minor)));
      CPPUNIT_ASSERT_MESSAGE("abidiff against ABI 1." + std::to_string(minor) + " failed (exit " +
                                 std::to_string(o.exitCode) + "):\n" + o.output,
                             o.exitCode >= 0 && (o.exitCode & (kAbidiffError | kAbidiffUsageError)) == 0);
      CPPUNIT_ASSERT_MESSAGE("incompatible change since ABI 1." + std::to_string(minor) + ":\n" + o.output,
                             (o.exitCode & kAbidiffIncompatibleChange) == 0);
      (void)kAbidiffChange;  // a compatible change (members appended) is what a minor is for
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AbiDiffTest);
