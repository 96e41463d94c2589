// PluginsTest: from a Config to live plugin instances, with real libraries: the cfgtest-* fixtures built next
// to this test (CONFIG_TEST_PLUGIN_DIR) and the ABI fixtures in $PODWARDEN_FIXTURE_DIR.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "config/Plugins.h"
#include "util/Json.h"

using podwarden::config::Config;
using podwarden::config::PluginUse;
using podwarden::plugin::PluginError;
using podwarden::plugin::RuntimeCall;
namespace config = podwarden::config;
namespace json = podwarden::json;

namespace {

const std::string kTestPlugins = CONFIG_TEST_PLUGIN_DIR;

std::string fixtureDir() {
  const char* dir = std::getenv("PODWARDEN_FIXTURE_DIR");
  CPPUNIT_ASSERT_MESSAGE("PODWARDEN_FIXTURE_DIR is set (run through ctest)", dir != nullptr);
  return dir;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

#define ASSERT_CONTAINS(haystack, needle)                                                \
  CPPUNIT_ASSERT_MESSAGE(std::string("expected \"") + (needle) + "\" in: " + (haystack), \
                         contains(haystack, needle))

template <class Fn>
std::string pluginErrorOf(Fn&& fn) {
  try {
    fn();
  } catch (const PluginError& e) {
    return e.what();
  }
  CPPUNIT_FAIL("expected a PluginError");
  return "";
}

PluginUse use(const std::string& plugin, const std::string& type = "", const std::string& configJson = "{}",
              bool required = true) {
  PluginUse u;
  u.plugin = plugin;
  u.type = type;
  u.configJson = configJson;
  u.required = required;
  return u;
}

Config baseConfig() {
  Config c;
  c.nodeName = "node-1";
  c.pluginDirs = {"/nonexistent/plugins", kTestPlugins, fixtureDir()};
  c.runtime = use("cfgtest-single");
  return c;
}

}  // namespace

class PluginsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(PluginsTest);
  CPPUNIT_TEST(testResolvePluginPath);
  CPPUNIT_TEST(testOneLibraryServesEveryRoleAndLoadsOnce);
  CPPUNIT_TEST(testFactorySelection);
  CPPUNIT_TEST(testRequiredFailureStops);
  CPPUNIT_TEST(testOptionalFailureIsSkipped);
  CPPUNIT_TEST(testRuntimeIsAlwaysRequired);
  CPPUNIT_TEST(testConfigBlockCheckedAgainstSchema);
  CPPUNIT_TEST(testDiscover);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testResolvePluginPath() {
    std::vector<std::string> dirs = {"/nonexistent/plugins", kTestPlugins};
    CPPUNIT_ASSERT_EQUAL(kTestPlugins + "/cfgtest-multi.so",
                         config::resolvePluginPath("cfgtest-multi", dirs));
    CPPUNIT_ASSERT_EQUAL(kTestPlugins + "/cfgtest-multi.so",
                         config::resolvePluginPath("cfgtest-multi.so", dirs));
    std::string direct = kTestPlugins + "/cfgtest-single.so";
    CPPUNIT_ASSERT_EQUAL(direct, config::resolvePluginPath(direct, {}));

    std::string missing = pluginErrorOf([&] { config::resolvePluginPath("runtime-nothing", dirs); });
    ASSERT_CONTAINS(missing, "runtime-nothing.so not found");
    ASSERT_CONTAINS(missing, "/nonexistent/plugins, " + kTestPlugins);
    ASSERT_CONTAINS(pluginErrorOf([] { config::resolvePluginPath("/nonexistent/x.so", {}); }),
                    "/nonexistent/x.so: no such file");
  }

  void testOneLibraryServesEveryRoleAndLoadsOnce() {
    Config c = baseConfig();
    c.sources = {use("cfgtest-multi", "dir"), use(kTestPlugins + "/cfgtest-multi.so", "dir")};
    c.runtime = use("cfgtest-multi", "beta", R"({"endpoint":"unix:///x.sock"})");
    c.sinks = {use("cfgtest-multi.so")};
    config::LoadedPlugins loaded = config::instantiate(c);

    CPPUNIT_ASSERT(loaded.skipped.empty());
    CPPUNIT_ASSERT_EQUAL(size_t(2), loaded.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string("cfgtest-multi/dir"), loaded.sources[0].name);
    CPPUNIT_ASSERT_EQUAL(std::string("file"), loaded.sources[0].source);
    CPPUNIT_ASSERT(loaded.runtime != nullptr);
    CPPUNIT_ASSERT_EQUAL(size_t(1), loaded.sinks.size());
    // Same .so by name, by name.so and by path: one PluginLibrary.
    const auto* library = &loaded.runtime->library();
    CPPUNIT_ASSERT(library == &loaded.sources[0].instance->library());
    CPPUNIT_ASSERT(library == &loaded.sources[1].instance->library());
    CPPUNIT_ASSERT(library == &loaded.sinks[0]->library());
    CPPUNIT_ASSERT_EQUAL(std::string("sink"),
                         std::string(podwarden::plugin::kindName(loaded.sinks[0]->factory().kind)));
    CPPUNIT_ASSERT_EQUAL(std::string("log"), loaded.sinks[0]->factory().type);

    // The config block and node name reached the chosen factory.
    auto result = loaded.runtime->call(RuntimeCall::kVersion, "{}");
    CPPUNIT_ASSERT_MESSAGE(result.describe(), result.ok());
    json::ObjectPtr answer = json::parseObject(result.out);
    CPPUNIT_ASSERT_EQUAL(std::string("beta"), json::getString(answer, "type"));
    CPPUNIT_ASSERT_EQUAL(std::string("node-1"), json::getString(answer, "node"));
    CPPUNIT_ASSERT_EQUAL(std::string("unix:///x.sock"),
                         json::getString(json::getObject(answer, "config"), "endpoint"));
  }

  void testFactorySelection() {
    // The only runtime factory of a library is chosen without a type.
    Config single = baseConfig();
    config::LoadedPlugins one = config::instantiate(single);
    CPPUNIT_ASSERT_EQUAL(std::string("cfgtest-single/only"), one.runtime->displayName());

    // Several of that kind: the type must be given, and the error lists them.
    Config several = baseConfig();
    several.runtime = use("cfgtest-multi");
    std::string err = pluginErrorOf([&] { config::instantiate(several); });
    ASSERT_CONTAINS(err, "runtime (cfgtest-multi)");
    ASSERT_CONTAINS(err, kTestPlugins + "/cfgtest-multi.so");
    ASSERT_CONTAINS(err, "several runtime factories (alpha, beta)");

    // No factory of the kind, and no factory of the type: both list what the library offers.
    Config noSink = baseConfig();
    noSink.sinks = {use("cfgtest-single")};
    ASSERT_CONTAINS(pluginErrorOf([&] { config::instantiate(noSink); }),
                    "has no sink factory (it offers: runtime/only)");
    Config badType = baseConfig();
    badType.runtime = use("cfgtest-multi", "gamma");
    std::string typeErr = pluginErrorOf([&] { config::instantiate(badType); });
    ASSERT_CONTAINS(typeErr, "no runtime factory of type \"gamma\"");
    ASSERT_CONTAINS(typeErr, "source/dir, runtime/alpha, runtime/beta, sink/log");
  }

  void testRequiredFailureStops() {
    Config c = baseConfig();
    c.sources = {use("cfgtest-multi", "dir"), use("fixture-failing-create", "", R"({"answer":41})")};
    std::string err = pluginErrorOf([&] { config::instantiate(c); });
    ASSERT_CONTAINS(err, "sources[1] (fixture-failing-create)");
    ASSERT_CONTAINS(err, fixtureDir() + "/fixture-failing-create.so");
    ASSERT_CONTAINS(err, "field \"answer\" must be 42");

    Config refused = baseConfig();
    refused.sinks = {use("fixture-wrong-major")};
    std::string refusal = pluginErrorOf([&] { config::instantiate(refused); });
    ASSERT_CONTAINS(refusal, "sinks[0] (fixture-wrong-major)");
    ASSERT_CONTAINS(refusal, fixtureDir() + "/fixture-wrong-major.so");
  }

  void testOptionalFailureIsSkipped() {
    Config c = baseConfig();
    c.sources = {use("fixture-failing-create", "", "{}", false), use("cfgtest-multi", "dir"),
                 use("source-missing", "", "{}", false)};
    c.sinks = {use("cfgtest-multi", "log", R"({"fail":true})", false), use("cfgtest-multi", "log")};
    config::LoadedPlugins loaded = config::instantiate(c);
    CPPUNIT_ASSERT_EQUAL(size_t(1), loaded.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string("cfgtest-multi/dir"), loaded.sources[0].name);
    CPPUNIT_ASSERT_EQUAL(size_t(1), loaded.sinks.size());
    CPPUNIT_ASSERT_EQUAL(size_t(3), loaded.skipped.size());
    ASSERT_CONTAINS(loaded.skipped[0], "sources[0] (fixture-failing-create)");
    ASSERT_CONTAINS(loaded.skipped[1], "sources[2] (source-missing)");
    ASSERT_CONTAINS(loaded.skipped[1], "source-missing.so not found");
    ASSERT_CONTAINS(loaded.skipped[2], "sinks[0] (cfgtest-multi)");
    ASSERT_CONTAINS(loaded.skipped[2], "config asks to fail");
  }

  void testRuntimeIsAlwaysRequired() {
    Config c = baseConfig();
    c.runtime = use("cfgtest-single", "", R"({"fail":true})", false);
    ASSERT_CONTAINS(pluginErrorOf([&] { config::instantiate(c); }), "runtime (cfgtest-single)");
    c.runtime = PluginUse();
    c.runtime.plugin.clear();
    ASSERT_CONTAINS(pluginErrorOf([&] { config::instantiate(c); }), "no runtime plugin is configured");
  }

  void testConfigBlockCheckedAgainstSchema() {
    Config good = baseConfig();
    good.runtime = use("cfgtest-single", "",
                       R"({"endpoint":"unix:///a.sock","mode":"safe","retries":3.0,"tags":["x"]})");
    config::LoadedPlugins loaded = config::instantiate(good);
    auto result = loaded.runtime->call(RuntimeCall::kVersion, "{}");
    CPPUNIT_ASSERT_MESSAGE(result.describe(), result.ok());

    Config bad = baseConfig();
    bad.runtime = use("cfgtest-single", "",
                      R"({"endpoint":"tcp://h:1","mode":"slow","retries":0,"tags":["",2],"colour":"red"})");
    std::string err = pluginErrorOf([&] { config::instantiate(bad); });
    ASSERT_CONTAINS(err, "runtime (cfgtest-single)");
    ASSERT_CONTAINS(err, kTestPlugins + "/cfgtest-single.so (cfgtest-single): invalid config block");
    ASSERT_CONTAINS(err, "config.colour: unknown key (known: endpoint, fail, mode, retries, tags)");
    ASSERT_CONTAINS(err, "config.endpoint: \"tcp://h:1\" does not match the pattern ^unix:///");
    ASSERT_CONTAINS(err, "config.mode: must be one of \"fast\", \"safe\", not \"slow\"");
    ASSERT_CONTAINS(err, "config.retries: must be >= 1, not 0");
    ASSERT_CONTAINS(err, "config.tags[0]: must not be empty");
    ASSERT_CONTAINS(err, "config.tags[1]: must be string, not a number");

    // A value the pattern would have to walk for a megabyte is refused before std::regex sees it.
    Config huge = baseConfig();
    huge.runtime = use("cfgtest-single", "", R"({"endpoint":"unix:///)" + std::string(1 << 20, 'a') + "\"}");
    ASSERT_CONTAINS(
        pluginErrorOf([&] { config::instantiate(huge); }),
        "config.endpoint: is 1048584 characters long; a setting checked against a pattern may have at "
        "most 4096");

    Config wrongType = baseConfig();
    wrongType.runtime = use("cfgtest-single", "", R"({"retries":"3"})");
    ASSERT_CONTAINS(pluginErrorOf([&] { config::instantiate(wrongType); }),
                    "config.retries: must be integer, not a string");
  }

  void testDiscover() {
    std::vector<config::Discovered> found =
        config::discover({"/nonexistent", kTestPlugins, fixtureDir(), kTestPlugins});
    std::vector<std::string> paths;
    for (const auto& d : found) paths.push_back(d.path);
    // Sorted per directory, directories in order, each file once.
    std::vector<std::string> expectedHead = {kTestPlugins + "/cfgtest-multi.so",
                                             kTestPlugins + "/cfgtest-single.so"};
    CPPUNIT_ASSERT(paths.size() >= 7);
    CPPUNIT_ASSERT(std::vector<std::string>(paths.begin(), paths.begin() + 2) == expectedHead);
    for (size_t i = 3; i < paths.size(); ++i) CPPUNIT_ASSERT(paths[i - 1] < paths[i]);

    auto find = [&](const std::string& name) -> const config::Discovered& {
      for (const auto& d : found) {
        if (d.path == fixtureDir() + "/" + name) return d;
      }
      CPPUNIT_FAIL("not discovered: " + name);
      return found.front();
    };
    const auto& multi = found[0];
    CPPUNIT_ASSERT(multi.library != nullptr);
    CPPUNIT_ASSERT_EQUAL(std::string("cfgtest-multi"), multi.library->info().name);
    CPPUNIT_ASSERT_EQUAL(std::string("1.2.3"), multi.library->info().version);
    CPPUNIT_ASSERT_EQUAL(size_t(4), multi.library->info().factories.size());
    CPPUNIT_ASSERT(find("fixture-good-c.so").library != nullptr);
    const auto& wrongMajor = find("fixture-wrong-major.so");
    CPPUNIT_ASSERT(wrongMajor.library == nullptr);
    ASSERT_CONTAINS(wrongMajor.error, "fixture-wrong-major.so");
    const auto& noEntry = find("fixture-no-entry.so");
    CPPUNIT_ASSERT(noEntry.library == nullptr);
    ASSERT_CONTAINS(noEntry.error, "pw_plugin_entry_v1");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginsTest);
