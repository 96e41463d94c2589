// PluginLoadTest: the host's handshake against the fixture plugins (tests/fixtures/plugins), and the
// one-symbol export rule checked with nm on every plugin this tree builds.
#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"

#include <cppunit/extensions/HelperMacros.h>

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using podwarden::plugin::CallResult;
using podwarden::plugin::ManifestDoc;
using podwarden::plugin::PluginError;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::SourceInstance;

namespace {

std::string envDir(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') throw std::runtime_error(std::string(name) + " is not set (run through ctest)");
  return v;
}

std::string fixture(const std::string& name) { return envDir("PODWARDEN_FIXTURE_DIR") + "/" + name + ".so"; }

// The *.so files directly in `dir`, sorted.
std::vector<std::string> sharedObjects(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) out.push_back(dir + "/" + name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Runs `command`, returns its exit status and appends its stdout+stderr to `output`.
int run(const std::string& command, std::string& output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output.append(buf, n);
  return pclose(p);
}

// Names of the dynamic symbols `path` defines, without symbol versions. The version node of
// sdk/cmake/plugin.map (an absolute symbol GNU ld adds per version definition) is not code and is skipped.
std::set<std::string> exportedSymbols(const std::string& path, std::string& nmOutput) {
  int rc = run("nm -D --defined-only '" + path + "'", nmOutput);
  if (rc != 0) throw std::runtime_error("nm -D --defined-only " + path + " failed:\n" + nmOutput);
  std::set<std::string> names;
  std::istringstream lines(nmOutput);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string address, type, name;
    if (!(fields >> address >> type >> name)) continue;
    if (type == "A" && name.rfind("PODWARDEN_PLUGIN_", 0) == 0) continue;
    names.insert(name.substr(0, name.find('@')));
  }
  return names;
}

// Loads `path` expecting a PluginError whose message contains every one of `needles`.
void expectRefused(const std::string& path, std::initializer_list<std::string> needles) {
  try {
    PluginLibrary::load(path);
  } catch (const PluginError& e) {
    std::string message = e.what();
    for (const std::string& n : needles) {
      CPPUNIT_ASSERT_MESSAGE("refusal of " + path + " should mention \"" + n + "\", got: " + message,
                             message.find(n) != std::string::npos);
    }
    return;
  }
  CPPUNIT_FAIL("loading " + path + " should have thrown PluginError");
}

}  // namespace

class PluginLoadTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PluginLoadTest);
  CPPUNIT_TEST(testGoodCFixtureLoadsCreatesAndEmits);
  CPPUNIT_TEST(testWrongMajorIsRefused);
  CPPUNIT_TEST(testMissingEntrySymbolIsRefused);
  CPPUNIT_TEST(testNeedsNewerHostIsRefused);
  CPPUNIT_TEST(testMissingFileIsRefused);
  CPPUNIT_TEST(testFailingCreateCarriesPluginMessage);
  CPPUNIT_TEST(testUnknownFactoryTypeIsRefused);
  CPPUNIT_TEST(testPluginsExportOnlyTheEntrySymbol);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testGoodCFixtureLoadsCreatesAndEmits() {
    auto lib = PluginLibrary::load(fixture("fixture-good-c"));
    const auto& info = lib->info();
    CPPUNIT_ASSERT_EQUAL(std::string("fixture-good-c"), info.name);
    CPPUNIT_ASSERT_EQUAL(std::string("0.0.1"), info.version);
    CPPUNIT_ASSERT_EQUAL(std::string("a minimal source written in C"), info.description);
    CPPUNIT_ASSERT_EQUAL(uint16_t{PW_ABI_MAJOR}, info.abiMajor);
    CPPUNIT_ASSERT_EQUAL(uint16_t{PW_ABI_MINOR}, info.abiMinor);
    CPPUNIT_ASSERT(info.configSchemaJson.empty());
    CPPUNIT_ASSERT_EQUAL(size_t{1}, info.factories.size());
    CPPUNIT_ASSERT(lib->findFactory(PW_KIND_SOURCE, "good") != nullptr);
    CPPUNIT_ASSERT(lib->findFactory(PW_KIND_SINK, "good") == nullptr);
    CPPUNIT_ASSERT_EQUAL(PW_ABI_MAJOR, int(lib->hostApi()->abi_major));

    const std::string config = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"from-c"}})";
    SourceInstance source(lib, "good", config, "node-7");
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<std::vector<ManifestDoc>> snapshots;
    CallResult started = source.start([&](std::vector<ManifestDoc> docs) {
      std::lock_guard<std::mutex> lock(mutex);
      snapshots.push_back(std::move(docs));
      cv.notify_all();
    });
    CPPUNIT_ASSERT_MESSAGE(started.describe(), started.ok());
    {
      std::unique_lock<std::mutex> lock(mutex);
      CPPUNIT_ASSERT_MESSAGE("no snapshot from fixture-good-c within 10 s",
                             cv.wait_for(lock, std::chrono::seconds(10), [&] { return !snapshots.empty(); }));
      CPPUNIT_ASSERT_EQUAL(size_t{1}, snapshots.size());
      CPPUNIT_ASSERT_EQUAL(size_t{1}, snapshots[0].size());
      const ManifestDoc& doc = snapshots[0][0];
      CPPUNIT_ASSERT_EQUAL(std::string("fixture-good-c://node-7"), doc.origin);
      CPPUNIT_ASSERT_EQUAL(std::string("application/json"), doc.contentType);
      CPPUNIT_ASSERT_EQUAL(config, doc.data);
      CPPUNIT_ASSERT(doc.error.empty());
      CPPUNIT_ASSERT(doc.warning.empty());
    }
    source.stop();
  }

  void testWrongMajorIsRefused() {
    const std::string path = fixture("fixture-wrong-major");
    expectRefused(path, {path, "major", "2", std::to_string(PW_ABI_MAJOR)});
  }

  void testMissingEntrySymbolIsRefused() {
    const std::string path = fixture("fixture-no-entry");
    expectRefused(path, {path, PW_PLUGIN_ENTRY_SYMBOL});
  }

  void testNeedsNewerHostIsRefused() {
    const std::string path = fixture("fixture-needs-newer-host");
    expectRefused(path, {path, "minor", std::to_string(PW_ABI_MINOR + 1), std::to_string(PW_ABI_MINOR)});
  }

  void testMissingFileIsRefused() {
    const std::string path = fixture("fixture-that-was-never-built");
    expectRefused(path, {path});
  }

  void testFailingCreateCarriesPluginMessage() {
    auto lib = PluginLibrary::load(fixture("fixture-failing-create"));
    CPPUNIT_ASSERT(lib->findFactory(PW_KIND_SOURCE, "failing") != nullptr);
    try {
      SourceInstance source(lib, "failing", R"({"answer":41})", "node-1");
      CPPUNIT_FAIL("creating the failing source should have thrown PluginError");
    } catch (const PluginError& e) {
      std::string message = e.what();
      const std::string expected =
          R"(fixture-failing-create: config {"answer":41} is rejected: field "answer" must be 42)";
      CPPUNIT_ASSERT_MESSAGE("create error should carry the plugin's message, got: " + message,
                             message.find(expected) != std::string::npos);
    }
  }

  void testUnknownFactoryTypeIsRefused() {
    auto lib = PluginLibrary::load(fixture("fixture-good-c"));
    try {
      SourceInstance source(lib, "no-such-type", "{}", "node-1");
      CPPUNIT_FAIL("a source type the plugin does not offer should have thrown PluginError");
    } catch (const PluginError& e) {
      std::string message = e.what();
      CPPUNIT_ASSERT_MESSAGE("should name the missing type, got: " + message,
                             message.find("no-such-type") != std::string::npos);
    }
  }

  // DESIGN: each plugin exports exactly pw_plugin_entry_v1; everything else (the C++ runtime it links
  // statically, helper symbols, other libraries' symbols) stays hidden.
  void testPluginsExportOnlyTheEntrySymbol() {
    std::vector<std::string> libraries = sharedObjects(envDir("PODWARDEN_PLUGIN_DIR"));
    size_t inTree = libraries.size();
    const char* const fixtures[] = {"fixture-good-c",       "fixture-wrong-major",  "fixture-needs-newer-host",
                                    "fixture-failing-create", "fixture-frozen-v1.0", "fixture-future-minor",
                                    "fixture-clang-libcxx",   "fixture-rude-sink"};
    for (const char* name : fixtures) {
      libraries.push_back(fixture(name));
    }
    std::string failures;
    for (const std::string& path : libraries) {
      std::string nmOutput;
      std::set<std::string> symbols = exportedSymbols(path, nmOutput);
      if (symbols != std::set<std::string>{PW_PLUGIN_ENTRY_SYMBOL}) {
        failures += path + " exports:\n" + nmOutput + "\n";
      }
    }
    CPPUNIT_ASSERT_MESSAGE("plugins must export exactly " PW_PLUGIN_ENTRY_SYMBOL " (checked " +
                               std::to_string(inTree) + " in-tree plugins and " +
                               std::to_string(sizeof(fixtures) / sizeof(fixtures[0])) + " fixtures):\n" + failures,
                           failures.empty());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginLoadTest);
