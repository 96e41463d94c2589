// AbiDigestTest: ties the struct layout of abi.h to PW_ABI_MINOR. The layout table (abi_layout.h) as this
// compiler measures it is hashed, and the hash must equal the one committed below for the current minor.
// Appending a member without bumping the minor (or bumping it without recording the new layout) fails
// here; so does any change to a minor that was already released. The frozen copy of the v1.0 header is
// pinned by content, so nobody "fixes" it to match a changed abi.h.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "abi_layout.h"
#include "util/Hash.h"

namespace {

// Layout digest of each released minor of ABI v1: FNV-1a 64 of layoutText(). Append a line when a minor
// adds members; never edit a line.
const std::map<int, uint64_t> kLayoutDigestByMinor = {
    {0, 0xd0413fbe5969ee99ull},
    {1, 0x63830b2fc8a6a0aaull},  // pw_sink_vtable.start/stop, pw_host_api.emit_sink_state
};

// MD5 of tests/abi/v1.<minor>/podwarden/abi.h, the header as each minor shipped it.
const std::map<int, std::string> kFrozenHeaderMd5ByMinor = {
    {0, "fdb0ec4fa2e7a3b04194128dd49c54e2"},
    {1, "f24db3afce438e1cb6e88530e222fff2"},
};

// "sizeof(pw_str)=16\noffsetof(pw_str, data)=0\n..." as measured by this compiler, in table order.
std::string layoutText() {
  std::string text;
#define PW_DIGEST_SIZE(type, golden) text += "sizeof(" #type ")=" + std::to_string(sizeof(type)) + "\n";
#define PW_DIGEST_OFFSET(type, member, golden) \
  text += "offsetof(" #type ", " #member ")=" + std::to_string(offsetof(type, member)) + "\n";
  PW_ABI_LAYOUT(PW_DIGEST_SIZE, PW_DIGEST_OFFSET)
#undef PW_DIGEST_SIZE
#undef PW_DIGEST_OFFSET
  return text;
}

uint64_t fnv1a64(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%016llxull", static_cast<unsigned long long>(v));
  return buf;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

class AbiDigestTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(AbiDigestTest);
  CPPUNIT_TEST(testLayoutDigestMatchesMinor);
  CPPUNIT_TEST(testEveryMinorUpToCurrentIsRecorded);
  CPPUNIT_TEST(testFrozenHeadersUnchanged);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testLayoutDigestMatchesMinor() {
    const std::string text = layoutText();
    const uint64_t digest = fnv1a64(text);
    auto it = kLayoutDigestByMinor.find(PW_ABI_MINOR);
    CPPUNIT_ASSERT_MESSAGE("PW_ABI_MINOR " + std::to_string(PW_ABI_MINOR) +
                               " has no recorded layout digest: if this minor appended members, record {" +
                               std::to_string(PW_ABI_MINOR) + ", " + hex64(digest) +
                               "} in tests/unit/abi/AbiDigestTest.cpp (and freeze tests/abi/v1." +
                               std::to_string(PW_ABI_MINOR) + ")",
                           it != kLayoutDigestByMinor.end());
    CPPUNIT_ASSERT_MESSAGE("the layout of abi.h changed but PW_ABI_MINOR is still " +
                               std::to_string(PW_ABI_MINOR) + " (digest " + hex64(digest) + ", minor " +
                               std::to_string(PW_ABI_MINOR) + " shipped " + hex64(it->second) +
                               "): append members only, bump PW_ABI_MINOR and record the new digest. "
                               "Layout now:\n" +
                               text,
                           digest == it->second);
  }

  void testEveryMinorUpToCurrentIsRecorded() {
    for (int minor = 0; minor <= PW_ABI_MINOR; ++minor) {
      CPPUNIT_ASSERT_MESSAGE("no layout digest for ABI 1." + std::to_string(minor),
                             kLayoutDigestByMinor.count(minor) == 1);
      CPPUNIT_ASSERT_MESSAGE("no frozen header checksum for ABI 1." + std::to_string(minor),
                             kFrozenHeaderMd5ByMinor.count(minor) == 1);
    }
    CPPUNIT_ASSERT_MESSAGE("a layout digest is recorded for a minor newer than PW_ABI_MINOR",
                           kLayoutDigestByMinor.rbegin()->first == PW_ABI_MINOR);
  }

  void testFrozenHeadersUnchanged() {
    for (const auto& [minor, md5] : kFrozenHeaderMd5ByMinor) {
      const std::string path =
          std::string(PODWARDEN_ABI_DIR) + "/v1." + std::to_string(minor) + "/podwarden/abi.h";
      const std::string actual = podwarden::hash::md5Hex(readFile(path));
      CPPUNIT_ASSERT_MESSAGE(
          path + " is the ABI as it shipped and must never change (md5 " + actual + ", recorded " + md5 + ")",
          actual == md5);
    }
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AbiDigestTest);
