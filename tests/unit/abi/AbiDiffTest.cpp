// AbiDiffTest: libabigail's view of the SDK ABI. abidiff compares the probe library built from today's
// abi.h (tests/abi/probe) with the committed abidw dump of each released minor
// (tests/abi/baseline/abi-v1.<minor>.abi): against the current minor's dump nothing may differ; against an
// older minor's dump only compatible changes (appended members) are allowed.
#include <cppunit/extensions/HelperMacros.h>
#include <podwarden/abi.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

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

// abidiff sets kAbidiffIncompatibleChange only for removed symbols and the like, not for a member
// inserted in the middle of a struct. So its report is read too: a struct may only have grown at its end
// (each inserted member at an offset at or past the old size), and no existing member may have changed
// or gone. Returns one line per violation.
std::vector<std::string> nonAppendChanges(const std::string& report) {
  static const std::regex kSize(R"(type size changed from (\d+) to (\d+) \(in bits\))");
  static const std::regex kInserted(R"(^\s*'(.*)', at offset (\d+) \(in bits\))");
  static const std::regex kBlock(R"(^\s*(\d+) data member (insertion|deletion|change)s?\b)");
  std::vector<std::string> problems;
  std::istringstream lines(report);
  std::string line, block;
  long oldSize = -1;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, m, kSize)) {
      oldSize = std::stol(m[1]);
      if (std::stol(m[2]) < oldSize) problems.push_back("a struct shrank: " + line);
      block.clear();
      continue;
    }
    if (std::regex_search(line, m, kBlock)) {
      block = m[2];
      if (block != "insertion") problems.push_back("existing members changed: " + line);
      continue;
    }
    if (line.find("offset changed") != std::string::npos) problems.push_back("a member moved: " + line);
    if (block == "insertion" && std::regex_search(line, m, kInserted) &&
        (oldSize < 0 || std::stol(m[2]) < oldSize)) {
      problems.push_back("member inserted before the old end (" + std::to_string(oldSize) +
                         " bits): " + line);
    }
  }
  return problems;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
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
  CPPUNIT_TEST(testReportReaderTellsAppendFromInsert);
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
      // Each later minor appended something, so there is a change, and it may only be appended members.
      CPPUNIT_ASSERT_MESSAGE("abidiff sees no change since ABI 1." + std::to_string(minor) + ":\n" + o.output,
                             (o.exitCode & kAbidiffChange) != 0);
      const std::vector<std::string> problems = nonAppendChanges(o.output);
      CPPUNIT_ASSERT_MESSAGE("ABI 1." + std::to_string(minor) + " -> today is more than appended members:\n" +
                                 joined(problems) + "\nabidiff:\n" + o.output,
                             problems.empty());
    }
  }

  // The report reader on real abidiff output (ABI 1.0 baseline against 1.1, and against a 1.1 header with a
  // member inserted before pw_sink_vtable.report): appends pass, the insertion does not.
  void testReportReaderTellsAppendFromInsert() {
    const std::string appended = R"(
          underlying type 'struct pw_host_api' changed:
            type size changed from 640 to 704 (in bits)
            1 data member insertion:
              'typedef pw_status (pw_emitter_host_ptr*, typedef pw_str)* emit_sink_state', at offset 640 (in bits)
            no data member changes (3 filtered);
          underlying type 'struct pw_sink_vtable' changed:
            type size changed from 320 to 448 (in bits)
            2 data member insertions:
              'typedef pw_status (pw_instance_plugin_ptr*, pw_emitter_host_ptr*, pw_buffer_host_ptr*)* start', at offset 320 (in bits)
              'void (pw_instance_plugin_ptr*)* stop', at offset 384 (in bits)
            no data member change (1 filtered);
)";
    CPPUNIT_ASSERT_MESSAGE(joined(nonAppendChanges(appended)), nonAppendChanges(appended).empty());
    const std::string inserted = R"(
          underlying type 'struct pw_sink_vtable' changed:
            type size changed from 320 to 512 (in bits)
            3 data member insertions:
              'void* inserted', at offset 192 (in bits)
              'typedef pw_status (pw_instance_plugin_ptr*, pw_emitter_host_ptr*, pw_buffer_host_ptr*)* start', at offset 384 (in bits)
              'void (pw_instance_plugin_ptr*)* stop', at offset 448 (in bits)
            2 data member changes (1 filtered):
              'typedef pw_status (pw_instance_plugin_ptr*, const pw_call_ctx_host_ptr*, typedef pw_str, pw_buffer_host_ptr*)* report' offset changed from 192 to 256 (in bits) (by +64 bits)
              'typedef pw_status (pw_instance_plugin_ptr*, const pw_call_ctx_host_ptr*, typedef pw_str, pw_buffer_host_ptr*)* remove' offset changed from 256 to 320 (in bits) (by +64 bits)
)";
    const std::vector<std::string> problems = nonAppendChanges(inserted);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(joined(problems), size_t{4}, problems.size());
    CPPUNIT_ASSERT(problems[0].find("'void* inserted'") != std::string::npos);
    CPPUNIT_ASSERT(problems[1].find("existing members changed") != std::string::npos);
    CPPUNIT_ASSERT(problems[2].find("report' offset changed") != std::string::npos);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AbiDiffTest);
