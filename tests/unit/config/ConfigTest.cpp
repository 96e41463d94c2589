// ConfigTest: podwarden and kubelet config files, flags on top of them, durations, and the error messages.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/Config.h"
#include "util/Json.h"

using podwarden::config::Config;
using podwarden::config::ConfigError;
using podwarden::config::PluginUse;
namespace config = podwarden::config;
namespace json = podwarden::json;

namespace {

// A fresh directory under /tmp, removed (with its files) at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/podwarden-config-test-XXXXXX";
    const char* made = mkdtemp(tmpl);
    CPPUNIT_ASSERT_MESSAGE("mkdtemp", made != nullptr);
    path_ = made;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

#define ASSERT_CONTAINS(haystack, needle)                                                \
  CPPUNIT_ASSERT_MESSAGE(std::string("expected \"") + (needle) + "\" in: " + (haystack), \
                         contains(haystack, needle))

// The message of the ConfigError that `fn` throws (fails the test when it does not throw).
template <class Fn>
std::string errorOf(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  CPPUNIT_FAIL("expected a ConfigError");
  return "";
}

json::ObjectPtr block(const PluginUse& use) {
  return json::parseObject(use.configJson);
}

const char kFullConfig[] = R"(apiVersion: podwarden.io/v1alpha1
kind: PodwardenConfig
nodeName: Master-1
pluginDirs: [/usr/lib/podwarden/plugins, extra-plugins]
podsDir: /var/lib/podwarden/pods
logDir: /srv/logs/pods
relistPeriod: 1m30s
logLevel: debug
sources:
  - plugin: source-dir          # name or path to .so
    type: dir                   # optional
    required: true              # optional, default true
    config: {path: /etc/kubernetes/manifests, rescanSeconds: 20}
  - plugin: ./local/source-url.so
    required: false
runtime:
  plugin: runtime-docker
  config: {endpoint: "unix:///var/run/docker.sock", sandboxImage: "podwarden.local/pause:3.9"}
sinks:
  - plugin: sink-file
    config: {path: /var/lib/podwarden/status.json}
)";

}  // namespace

class ConfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ConfigTest);
  CPPUNIT_TEST(testDefaults);
  CPPUNIT_TEST(testFullPodwardenConfig);
  CPPUNIT_TEST(testYamlScalarsBecomeTypedJson);
  CPPUNIT_TEST(testLongScalarsInConfigBlock);
  CPPUNIT_TEST(testKubeletConfigMapping);
  CPPUNIT_TEST(testKubeletConfigThenManifestPathFlag);
  CPPUNIT_TEST(testFlagsOverrideFile);
  CPPUNIT_TEST(testFlagSyntax);
  CPPUNIT_TEST(testEndpointSelection);
  CPPUNIT_TEST(testManifestUrlHeaders);
  CPPUNIT_TEST(testDurations);
  CPPUNIT_TEST(testRestartBackoff);
  CPPUNIT_TEST(testFileErrorsNameFileFieldAndLine);
  CPPUNIT_TEST(testFlagErrorsNameTheFlag);
  CPPUNIT_TEST(testFlagsHelpListsEveryFlag);
  CPPUNIT_TEST(testKubeconfigFlags);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testDefaults() {
    Config c = config::defaults();
    CPPUNIT_ASSERT(!c.nodeName.empty());
    for (char ch : c.nodeName) CPPUNIT_ASSERT(!(ch >= 'A' && ch <= 'Z'));
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-docker"), c.runtime.plugin);
    CPPUNIT_ASSERT_EQUAL(std::string("unix:///var/run/docker.sock"),
                         json::getString(block(c.runtime), "endpoint"));
    CPPUNIT_ASSERT(c.sources.empty());
    CPPUNIT_ASSERT(c.sinks.empty());
    // This test binary lives in the build tree, so the built plugins are on the path, before the install dir.
    CPPUNIT_ASSERT(c.pluginDirs.size() >= 2);
    CPPUNIT_ASSERT_EQUAL(std::string(PODWARDEN_INSTALL_PLUGIN_DIR), c.pluginDirs.back());
    CPPUNIT_ASSERT_EQUAL(std::string(PODWARDEN_BUILD_PLUGIN_DIR), c.pluginDirs[c.pluginDirs.size() - 2]);

    setenv("PODWARDEN_PLUGIN_PATH", "/opt/a::/opt/b", 1);
    Config withEnv = config::defaults();
    unsetenv("PODWARDEN_PLUGIN_PATH");
    CPPUNIT_ASSERT_EQUAL(std::string("/opt/a"), withEnv.pluginDirs.at(0));
    CPPUNIT_ASSERT_EQUAL(std::string("/opt/b"), withEnv.pluginDirs.at(1));
  }

  void testFullPodwardenConfig() {
    TempDir dir;
    std::string file = dir.write("podwarden.yaml", kFullConfig);
    Config c = config::load({"--config", file});

    CPPUNIT_ASSERT_EQUAL(std::string("master-1"), c.nodeName);
    CPPUNIT_ASSERT_EQUAL(std::string("/usr/lib/podwarden/plugins"), c.pluginDirs.at(0));
    CPPUNIT_ASSERT_EQUAL(dir.path() + "/extra-plugins", c.pluginDirs.at(1));  // relative to the file
    CPPUNIT_ASSERT_EQUAL(std::string(PODWARDEN_INSTALL_PLUGIN_DIR), c.pluginDirs.back());
    CPPUNIT_ASSERT_EQUAL(std::string("/var/lib/podwarden/pods"), c.podsDir);
    CPPUNIT_ASSERT_EQUAL(std::string("/srv/logs/pods"), c.logDir);
    CPPUNIT_ASSERT_EQUAL(int64_t(90), c.relistSeconds);
    CPPUNIT_ASSERT_EQUAL(std::string("debug"), c.logLevel);

    CPPUNIT_ASSERT_EQUAL(size_t(2), c.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string("source-dir"), c.sources[0].plugin);
    CPPUNIT_ASSERT_EQUAL(std::string("dir"), c.sources[0].type);
    CPPUNIT_ASSERT(c.sources[0].required);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"path":"/etc/kubernetes/manifests","rescanSeconds":20})"),
                         c.sources[0].configJson);
    CPPUNIT_ASSERT_EQUAL(dir.path() + "/./local/source-url.so", c.sources[1].plugin);
    CPPUNIT_ASSERT(c.sources[1].type.empty());
    CPPUNIT_ASSERT(!c.sources[1].required);
    CPPUNIT_ASSERT_EQUAL(std::string("{}"), c.sources[1].configJson);

    CPPUNIT_ASSERT_EQUAL(std::string("runtime-docker"), c.runtime.plugin);
    CPPUNIT_ASSERT_EQUAL(
        std::string(
            R"({"endpoint":"unix:///var/run/docker.sock","sandboxImage":"podwarden.local/pause:3.9"})"),
        c.runtime.configJson);
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.sinks.size());
    CPPUNIT_ASSERT_EQUAL(std::string("sink-file"), c.sinks[0].plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"path":"/var/lib/podwarden/status.json"})"), c.sinks[0].configJson);
    CPPUNIT_ASSERT(c.warnings.empty());
  }

  void testYamlScalarsBecomeTypedJson() {
    const std::string yaml = R"(apiVersion: podwarden.io/v1alpha1
kind: PodwardenConfig
runtime:
  plugin: runtime-docker
  config:
    bools: [true, False, TRUE]
    nulls: [null, ~, Null]
    empty:
    ints: [10, -3, +4, 0o17, 0x1F]
    floats: [1.5, -0.25, 1e3, .5]
    strings: ["10", '1.5', yes, on, 0x1G, "true", !!str 42, hello world]
    block: |
      line one
    nested: {a: {b: [1, {c: d}]}}
)";
    Config c = config::applyFile(yaml, "typed.yaml", config::defaults());
    CPPUNIT_ASSERT_EQUAL(
        std::string(
            R"({"block":"line one\n","bools":[true,false,true],"empty":null,)"
            R"("floats":[1.5,-0.25,1000,0.5],"ints":[10,-3,4,15,31],"nested":{"a":{"b":[1,{"c":"d"}]}},)"
            R"("nulls":[null,null,null],"strings":["10","1.5","yes","on","0x1G","true","42","hello world"]})"),
        c.runtime.configJson);
  }

  // 1 MiB runs of one character class in a plugin's config block (std::regex once overflowed the stack here).
  void testLongScalarsInConfigBlock() {
    const std::string digits(1 << 20, '7');
    auto withConfig = [](const std::string& block) {
      return "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\nruntime:\n  plugin: runtime-docker\n"
             "  config:\n" +
             block;
    };
    ASSERT_CONTAINS(errorOf([&] {
                      config::applyFile(withConfig("    n: " + digits + "\n"), "long.yaml",
                                        config::defaults());
                    }),
                    "long.yaml:6:8: runtime.config.n: integer 7777");
    Config c =
        config::applyFile(withConfig("    f: 1." + digits + "\n    s: " + std::string(1 << 20, 'a') + "\n"),
                          "long.yaml", config::defaults());
    CPPUNIT_ASSERT_EQUAL(std::string("{\"f\":1.7777777777777777,\"s\":\""),
                         c.runtime.configJson.substr(0, 29));
    CPPUNIT_ASSERT_EQUAL(size_t(29 + (1 << 20) + 2), c.runtime.configJson.size());
    // Found by fuzz/fuzz_config: a float beyond a double's range became inf, which is not JSON.
    c = config::applyFile(withConfig("    e: 1e" + digits + "\n    m: -1e400\n    z: 1e-400\n"), "long.yaml",
                          config::defaults());
    CPPUNIT_ASSERT_EQUAL(std::string("{\"e\":\"1e777"), c.runtime.configJson.substr(0, 11));
    CPPUNIT_ASSERT_EQUAL(std::string("\",\"m\":\"-1e400\",\"z\":0}"),
                         c.runtime.configJson.substr(c.runtime.configJson.size() - 21));
    (void)json::parseObject(c.runtime.configJson);
    // Found by fuzz/fuzz_config: bytes that are not UTF-8 went through into the plugin's config JSON.
    ASSERT_CONTAINS(errorOf([&] {
                      config::applyFile(withConfig("    s: caf\xC3\xA9\n    t: x\xFF\n"), "bytes.yaml",
                                        config::defaults());
                    }),
                    "bytes.yaml:7:9: the config file is not UTF-8 text (invalid byte sequence)");
  }

  void testKubeletConfigMapping() {
    TempDir dir;
    std::string file = dir.write("kubelet-config.yaml", R"(apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 0.0.0.0
authentication:
  anonymous: {enabled: false}
staticPodPath: manifests
fileCheckFrequency: 30s
staticPodURL: http://127.0.0.1:8080/pods
staticPodURLHeader:
  Authorization: ["Bearer abc"]
  X-Multi: [one, two]
httpCheckFrequency: 1m
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: systemd
)");
    Config c = config::load({"--config", file});
    CPPUNIT_ASSERT_EQUAL(size_t(2), c.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string("source-dir"), c.sources[0].plugin);
    CPPUNIT_ASSERT_EQUAL(std::string("dir"), c.sources[0].type);
    CPPUNIT_ASSERT_EQUAL("{\"path\":\"" + dir.path() + "/manifests\",\"rescanSeconds\":30}",
                         c.sources[0].configJson);
    CPPUNIT_ASSERT_EQUAL(std::string("source-url"), c.sources[1].plugin);
    CPPUNIT_ASSERT_EQUAL(std::string("url"), c.sources[1].type);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"checkSeconds":60,"headers":{"Authorization":["Bearer abc"],)"
                                     R"("X-Multi":["one","two"]},"url":"http://127.0.0.1:8080/pods"})"),
                         c.sources[1].configJson);
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-containerd"), c.runtime.plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"endpoint":"unix:///run/containerd/containerd.sock"})"),
                         c.runtime.configJson);
    // One summary warning naming every field that is not used.
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.warnings.size());
    ASSERT_CONTAINS(c.warnings[0], file);
    ASSERT_CONTAINS(c.warnings[0], "address, authentication, cgroupDriver");
    CPPUNIT_ASSERT(!contains(c.warnings[0], "staticPodPath"));
  }

  void testKubeletConfigThenManifestPathFlag() {
    TempDir dir;
    std::string file = dir.write("kubelet.yaml",
                                 "apiVersion: kubelet.config.k8s.io/v1beta1\n"
                                 "kind: KubeletConfiguration\nfileCheckFrequency: 7s\n");
    Config c = config::load({"--config=" + file, "--pod-manifest-path", "/etc/kubernetes/manifests"});
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"path":"/etc/kubernetes/manifests","rescanSeconds":7})"),
                         c.sources[0].configJson);
    CPPUNIT_ASSERT(c.warnings.empty());
  }

  void testFlagsOverrideFile() {
    TempDir dir;
    std::string file = dir.write("podwarden.yaml", R"(apiVersion: podwarden.io/v1alpha1
kind: PodwardenConfig
nodeName: from-file
logLevel: warning
sources:
  - plugin: source-dir
    config: {path: /from/file, rescanSeconds: 5, ignoreBackupFiles: true}
runtime:
  plugin: runtime-docker
  config: {endpoint: "unix:///var/run/docker.sock", sandboxImage: "file/pause:1", timeoutSeconds: 9}
sinks:
  - plugin: sink-file
    config: {path: /from/file.json, pretty: true}
)");
    Config c = config::load({"--config",
                             file,
                             "--pod-manifest-path",
                             "/from/flag",
                             "--hostname-override=NoDe-A",
                             "--container-runtime-endpoint",
                             "unix:///srv/docker/docker.sock",
                             "--pod-infra-container-image",
                             "flag/pause:2",
                             "--status-file",
                             "/from/flag.json",
                             "--plugin-dir",
                             "/p1",
                             "--plugin-dir=/p2",
                             "--log-level",
                             "debug",
                             "--relist-period",
                             "3s",
                             "--pods-dir",
                             "/pods",
                             "--log-dir",
                             "/logs",
                             "--file-check-frequency",
                             "11s"});
    CPPUNIT_ASSERT_EQUAL(std::string("node-a"), c.nodeName);
    CPPUNIT_ASSERT_EQUAL(std::string("debug"), c.logLevel);
    CPPUNIT_ASSERT_EQUAL(int64_t(3), c.relistSeconds);
    CPPUNIT_ASSERT_EQUAL(std::string("/pods"), c.podsDir);
    CPPUNIT_ASSERT_EQUAL(std::string("/logs"), c.logDir);
    CPPUNIT_ASSERT_EQUAL(std::string("/p1"), c.pluginDirs.at(0));
    CPPUNIT_ASSERT_EQUAL(std::string("/p2"), c.pluginDirs.at(1));
    // Keys a flag sets are replaced; the file's other keys stay.
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"ignoreBackupFiles":true,"path":"/from/flag","rescanSeconds":11})"),
                         c.sources[0].configJson);
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-docker"), c.runtime.plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"endpoint":"unix:///srv/docker/docker.sock",)"
                                     R"("sandboxImage":"flag/pause:2","timeoutSeconds":9})"),
                         c.runtime.configJson);
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.sinks.size());
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"path":"/from/flag.json","pretty":true})"), c.sinks[0].configJson);
    CPPUNIT_ASSERT(c.warnings.empty());

    // Without a file, the same flags create the plugin entries.
    Config bare = config::load({"--pod-manifest-path", "/m", "--status-file", "/s.json"});
    CPPUNIT_ASSERT_EQUAL(size_t(1), bare.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string("source-dir"), bare.sources[0].plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"path":"/m"})"), bare.sources[0].configJson);
    CPPUNIT_ASSERT_EQUAL(std::string("sink-file"), bare.sinks.at(0).plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"path":"/s.json"})"), bare.sinks.at(0).configJson);
  }

  void testFlagSyntax() {
    // The last value of a flag wins; --flag=value and --flag value are the same.
    Config c = config::load({"--log-level=error", "--log-level", "info"});
    CPPUNIT_ASSERT_EQUAL(std::string("info"), c.logLevel);
    // An empty --hostname-override means the host name, as with the kubelet.
    Config d = config::load({"--hostname-override="});
    CPPUNIT_ASSERT_EQUAL(config::defaults().nodeName, d.nodeName);
    // A frequency with nothing to apply to is kept and reported, not an error.
    Config e = config::load({"--file-check-frequency", "5s"});
    CPPUNIT_ASSERT_EQUAL(int64_t(5), e.fileCheckSeconds);
    CPPUNIT_ASSERT_EQUAL(size_t(1), e.warnings.size());
    ASSERT_CONTAINS(e.warnings[0], "--file-check-frequency");
  }

  void testEndpointSelection() {
    auto runtimeOf = [](const std::string& endpoint) {
      return config::load({"--container-runtime-endpoint", endpoint}).runtime;
    };
    PluginUse docker = runtimeOf("unix:///var/run/docker.sock");
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-docker"), docker.plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"endpoint":"unix:///var/run/docker.sock"})"), docker.configJson);
    // A bare path is a unix socket, as the kubelet assumes.
    PluginUse path = runtimeOf("/run/user/1000/docker.sock");
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-docker"), path.plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"endpoint":"unix:///run/user/1000/docker.sock"})"), path.configJson);
    PluginUse containerd = runtimeOf("unix:///run/containerd/containerd.sock");
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-containerd"), containerd.plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"endpoint":"unix:///run/containerd/containerd.sock"})"),
                         containerd.configJson);

    std::string err = errorOf([&] { runtimeOf("unix:///var/run/crio/crio.sock"); });
    ASSERT_CONTAINS(err, "--container-runtime-endpoint");
    ASSERT_CONTAINS(err, "unix:///var/run/crio/crio.sock");
    ASSERT_CONTAINS(err, "runtime-docker");
    ASSERT_CONTAINS(err, "runtime-containerd");

    // Switching the runtime plugin away from the file's drops that plugin's keys, with a warning naming them.
    TempDir dir;
    std::string file = dir.write("c.yaml",
                                 "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\n"
                                 "runtime: {plugin: runtime-docker, config: {sandboxImage: p:1}}\n");
    Config c = config::load({"--config", file, "--container-runtime-endpoint",
                             "unix:///run/containerd/c.sock", "--pod-infra-container-image", "p:2"});
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-containerd"), c.runtime.plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"endpoint":"unix:///run/containerd/c.sock","sandboxImage":"p:2"})"),
                         c.runtime.configJson);
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.warnings.size());
    ASSERT_CONTAINS(c.warnings[0], "sandboxImage");
  }

  void testManifestUrlHeaders() {
    Config c =
        config::load({"--manifest-url", "http://127.0.0.1:9/pods", "--manifest-url-header", "a:x, b : y ,",
                      "--manifest-url-header=a:z,c:k:v", "--http-check-frequency", "45s"});
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.sources.size());
    CPPUNIT_ASSERT_EQUAL(std::string("source-url"), c.sources[0].plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"checkSeconds":45,"headers":{"a":["x","z"],"b":["y"],"c":["k:v"]},)"
                                     R"("url":"http://127.0.0.1:9/pods"})"),
                         c.sources[0].configJson);

    std::string malformed = errorOf([] {
      config::load({"--manifest-url", "http://h/", "--manifest-url-header", "novalue"});
    });
    ASSERT_CONTAINS(malformed, "--manifest-url-header");
    ASSERT_CONTAINS(malformed, "novalue");
    std::string noName = errorOf([] {
      config::load({"--manifest-url", "http://h/", "--manifest-url-header", ":v"});
    });
    ASSERT_CONTAINS(noName, "name is empty");
    std::string noUrl = errorOf([] { config::load({"--manifest-url-header", "a:b"}); });
    ASSERT_CONTAINS(noUrl, "--manifest-url-header");
    ASSERT_CONTAINS(noUrl, "--manifest-url");
  }

  void testDurations() {
    CPPUNIT_ASSERT_EQUAL(int64_t(20000), config::parseDurationMs("20s", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(90000), config::parseDurationMs("1m30s", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(500), config::parseDurationMs("500ms", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(5400000), config::parseDurationMs("1.5h", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(0), config::parseDurationMs("0", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(-1000), config::parseDurationMs("-1s", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(2), config::parseDurationMs("2000us", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(3), config::parseDurationMs("3000000ns", "x"));
    CPPUNIT_ASSERT_EQUAL(int64_t(3723000), config::parseDurationMs("1h2m3s", "x"));
    for (const char* bad : {"", "20", "s", "abc", "5x", "1..5s", "1s5"}) {
      std::string err = errorOf([&] { config::parseDurationMs(bad, "relistPeriod"); });
      ASSERT_CONTAINS(err, "relistPeriod");
      ASSERT_CONTAINS(err, "\"" + std::string(bad) + "\"");
    }
    // Periods must be at least a second.
    ASSERT_CONTAINS(errorOf([] { config::load({"--relist-period", "500ms"}); }), "--relist-period");
    ASSERT_CONTAINS(errorOf([] { config::load({"--file-check-frequency", "0"}); }), "--file-check-frequency");
  }

  void testRestartBackoff() {
    Config d = config::load({});
    CPPUNIT_ASSERT_EQUAL(int64_t(10000), d.restartBackoffInitialMs);
    CPPUNIT_ASSERT_EQUAL(int64_t(300000), d.restartBackoffMaxMs);

    Config f = config::applyFile(
        "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\nrestartBackoffInitial: 1s\nrestartBackoffMax: 8s\n",
        "backoff.yaml", config::defaults());
    CPPUNIT_ASSERT_EQUAL(int64_t(1000), f.restartBackoffInitialMs);
    CPPUNIT_ASSERT_EQUAL(int64_t(8000), f.restartBackoffMaxMs);

    Config c = config::load({"--restart-backoff-initial", "500ms", "--restart-backoff-max=4s"});
    CPPUNIT_ASSERT_EQUAL(int64_t(500), c.restartBackoffInitialMs);
    CPPUNIT_ASSERT_EQUAL(int64_t(4000), c.restartBackoffMaxMs);

    ASSERT_CONTAINS(errorOf([] { config::load({"--restart-backoff-initial", "10ms"}); }),
                    "flag --restart-backoff-initial: \"10ms\" is too short: the minimum is 100ms");
    ASSERT_CONTAINS(errorOf([] { config::load({"--restart-backoff-initial", "20s", "--restart-backoff-max", "5s"}); }),
                    "restartBackoffMax (5000ms) is shorter than restartBackoffInitial (20000ms)");
  }

  void testFileErrorsNameFileFieldAndLine() {
    auto fileError = [](const std::string& body) {
      return errorOf([&] { config::applyFile(body, "/etc/podwarden/config.yaml", config::defaults()); });
    };
    const std::string head = "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\n";

    std::string unknown = fileError(head + "nodeName: a\nstaticPodPaht: /x\n");
    ASSERT_CONTAINS(unknown, "/etc/podwarden/config.yaml:4:1: staticPodPaht: unknown key");

    ASSERT_CONTAINS(fileError("apiVersion: v1\nkind: Pod\n"),
                    "/etc/podwarden/config.yaml:2:1: kind: unsupported kind \"Pod\"");
    ASSERT_CONTAINS(fileError("apiVersion: podwarden.io/v1\nkind: PodwardenConfig\n"),
                    "/etc/podwarden/config.yaml:1:1: apiVersion: unsupported apiVersion \"podwarden.io/v1\"");
    ASSERT_CONTAINS(fileError("nodeName: a\n"), "/etc/podwarden/config.yaml: kind: missing");
    ASSERT_CONTAINS(fileError("kind: PodwardenConfig\n"), "/etc/podwarden/config.yaml: apiVersion: missing");
    ASSERT_CONTAINS(fileError(""), "/etc/podwarden/config.yaml: the config file is empty");
    ASSERT_CONTAINS(fileError("- a\n- b\n"), "/etc/podwarden/config.yaml:1:1: must be a mapping");
    ASSERT_CONTAINS(fileError(head + "sources: [\n"), "/etc/podwarden/config.yaml:4:1: invalid YAML");

    ASSERT_CONTAINS(fileError(head + "sources:\n  - plugin: source-dir\n  - type: dir\n"),
                    "/etc/podwarden/config.yaml:5:5: sources[1].plugin: missing");
    ASSERT_CONTAINS(fileError(head + "sources:\n  - plugin: source-dir\n    required: maybe\n"),
                    "/etc/podwarden/config.yaml:5:5: sources[0].required: must be true or false");
    ASSERT_CONTAINS(fileError(head + "sinks:\n  - plugin: sink-file\n    confg: {}\n"),
                    "/etc/podwarden/config.yaml:5:5: sinks[0].confg: unknown key");
    ASSERT_CONTAINS(fileError(head + "runtime: {plugin: runtime-docker, config: [a]}\n"),
                    "runtime.config: must be a mapping");
    ASSERT_CONTAINS(fileError(head + "runtime: {plugin: runtime-docker, required: false}\n"),
                    "runtime.required: the runtime is always required");
    ASSERT_CONTAINS(fileError(head + "runtime:\n  plugin: x\n  config: {a: 1, a: 2}\n"),
                    "/etc/podwarden/config.yaml:5:18: runtime.config.a: duplicate key");
    ASSERT_CONTAINS(fileError(head + "runtime:\n  plugin: x\n  config: {a: .inf}\n"),
                    "runtime.config.a: .inf cannot be represented in JSON");
    ASSERT_CONTAINS(fileError(head + "relistPeriod: 10\n"),
                    "/etc/podwarden/config.yaml:3:1: relistPeriod: invalid duration \"10\"");
    ASSERT_CONTAINS(fileError(head + "logLevel: loud\n"),
                    "/etc/podwarden/config.yaml:3:1: logLevel: unknown log level");
    ASSERT_CONTAINS(fileError(head + "pluginDirs: /one\n"), "pluginDirs: must be a list of strings");
    ASSERT_CONTAINS(fileError(head + "nodeName: a\nnodeName: b\n"),
                    "4:1: nodeName: duplicate key (first at line 3)");

    const std::string kubelet = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";
    ASSERT_CONTAINS(fileError(kubelet + "fileCheckFrequency: often\n"),
                    "/etc/podwarden/config.yaml:3:1: fileCheckFrequency: invalid duration \"often\"");
    ASSERT_CONTAINS(fileError(kubelet + "containerRuntimeEndpoint: tcp://10.0.0.1:2375\n"),
                    "/etc/podwarden/config.yaml:3:1: containerRuntimeEndpoint: no runtime plugin known");
    ASSERT_CONTAINS(fileError("apiVersion: kubelet.config.k8s.io/v1\nkind: KubeletConfiguration\n"),
                    "expected kubelet.config.k8s.io/v1beta1");

    ASSERT_CONTAINS(errorOf([] {
                      config::load({"--config", "/nonexistent/podwarden.yaml"});
                    }),
                    "--config /nonexistent/podwarden.yaml: cannot read");
  }

  void testFlagErrorsNameTheFlag() {
    CPPUNIT_ASSERT_EQUAL(std::string("unknown flag --pod-manifest; see podwarden run --help"),
                         errorOf([] { config::load({"--pod-manifest=/x"}); }));
    ASSERT_CONTAINS(errorOf([] { config::load({"--config"}); }), "flag --config needs a value");
    ASSERT_CONTAINS(errorOf([] { config::load({"manifests/"}); }), "unexpected argument \"manifests/\"");
    ASSERT_CONTAINS(errorOf([] { config::load({"-v"}); }), "unexpected argument \"-v\"");
    ASSERT_CONTAINS(errorOf([] {
                      config::load({"--log-level", "verbose"});
                    }),
                    "flag --log-level: unknown log level");
    ASSERT_CONTAINS(errorOf([] { config::load({"--pod-manifest-path="}); }), "flag --pod-manifest-path");
    ASSERT_CONTAINS(errorOf([] {
                      config::load({"--relist-period", "often"});
                    }),
                    "flag --relist-period: invalid duration \"often\"");
  }

  void testFlagsHelpListsEveryFlag() {
    std::string help = config::flagsHelp();
    for (const char* flag :
         {"--config", "--pod-manifest-path", "--hostname-override", "--container-runtime-endpoint",
          "--pod-infra-container-image", "--manifest-url", "--manifest-url-header", "--file-check-frequency",
          "--status-file", "--plugin-dir", "--pods-dir", "--log-dir", "--log-level", "--relist-period",
          "--kubeconfig", "--register-node"}) {
      ASSERT_CONTAINS(help, std::string(flag) + " ");
    }
  }

  void testKubeconfigFlags() {
    // --kubeconfig adds the sink-apiserver sink next to the status file, like the kubelet's flag.
    Config c = config::load({"--status-file", "/s.json", "--kubeconfig", "/etc/kubernetes/kubelet.conf",
                             "--register-node=true"});
    CPPUNIT_ASSERT_EQUAL(size_t(2), c.sinks.size());
    CPPUNIT_ASSERT_EQUAL(std::string("sink-apiserver"), c.sinks[1].plugin);
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"kubeconfig":"/etc/kubernetes/kubelet.conf","registerNode":true})"),
                         c.sinks[1].configJson);
    // A configured sink-apiserver keeps its other keys; the flags replace theirs.
    TempDir dir;
    std::string file = dir.write("podwarden.yaml", R"(apiVersion: podwarden.io/v1alpha1
kind: PodwardenConfig
sinks:
  - plugin: sink-apiserver
    config: {kubeconfig: /from/file.conf, statusResyncSeconds: 5}
)");
    c = config::load({"--config", file, "--kubeconfig", "/from/flag.conf", "--register-node", "false"});
    CPPUNIT_ASSERT_EQUAL(size_t(1), c.sinks.size());
    CPPUNIT_ASSERT_EQUAL(std::string(R"({"kubeconfig":"/from/flag.conf","registerNode":false,"statusResyncSeconds":5})"),
                         c.sinks[0].configJson);
    ASSERT_CONTAINS(errorOf([] { config::load({"--register-node=true"}); }),
                    "flag --register-node: no API server to register with");
    ASSERT_CONTAINS(errorOf([] { config::load({"--kubeconfig", "/k", "--register-node=yes"}); }),
                    "flag --register-node: \"yes\" is not true or false");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);
