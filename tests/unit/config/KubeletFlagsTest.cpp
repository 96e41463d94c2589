// KubeletFlagsTest: each kubelet flag and its KubeletConfiguration field land on the same plugin key with the
// same value (core/config/KubeletFlags.cpp), and the runtime plugin an endpoint selects.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/Config.h"
#include "config/KubeletFlags.h"
#include "util/Json.h"

using podwarden::config::Config;
using podwarden::config::ConfigError;
using podwarden::config::PluginUse;
namespace config = podwarden::config;
namespace json = podwarden::json;

namespace {

const char kKubeletHead[] = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";

// One translation, written out by hand (not read from the table) so that a wrong row fails here.
struct Translation {
  const char* flag;               // the flag under test, without "--"
  const char* field;              // its KubeletConfiguration field
  std::vector<std::string> args;  // the flag, plus what it needs (a URL source for the headers)
  std::string yaml;               // the same through the field
  std::string plugin;             // where it lands: a plugin name, or "daemon"
  std::string key;                // the plugin config key (daemon: the Config member)
  std::string json;               // the value stored, as JSON
};

const Translation kTranslations[] = {
    {"pod-manifest-path",
     "staticPodPath",
     {"--pod-manifest-path", " /etc/kubernetes/manifests "},
     "staticPodPath: ' /etc/kubernetes/manifests '\n",
     "source-dir",
     "path",
     R"("/etc/kubernetes/manifests")"},
    {"file-check-frequency",
     "fileCheckFrequency",
     {"--pod-manifest-path=/m", "--file-check-frequency=1m30s"},
     "staticPodPath: /m\nfileCheckFrequency: 1m30s\n",
     "source-dir",
     "rescanSeconds",
     "90"},
    {"file-check-frequency",
     "fileCheckFrequency",
     {"--file-check-frequency", "1500ms", "--pod-manifest-path=/m"},
     "fileCheckFrequency: 1500ms\nstaticPodPath: /m\n",
     "source-dir",
     "rescanSeconds",
     "2"},
    {"manifest-url",
     "staticPodURL",
     {"--manifest-url", " http://10.0.0.1/pods "},
     "staticPodURL: ' http://10.0.0.1/pods '\n",
     "source-url",
     "url",
     R"("http://10.0.0.1/pods")"},
    {"manifest-url-header",
     "staticPodURLHeader",
     {"--manifest-url=http://h/", "--manifest-url-header", "A:x,B:y", "--manifest-url-header=A:z"},
     "staticPodURL: http://h/\nstaticPodURLHeader: {A: [x, z], B: [y]}\n",
     "source-url",
     "headers",
     R"({"A":["x","z"],"B":["y"]})"},
    {"http-check-frequency",
     "httpCheckFrequency",
     {"--http-check-frequency=45s", "--manifest-url=http://h/"},
     "httpCheckFrequency: 45s\nstaticPodURL: http://h/\n",
     "source-url",
     "checkSeconds",
     "45"},
    {"container-runtime-endpoint",
     "containerRuntimeEndpoint",
     {"--container-runtime-endpoint", "/run/containerd/containerd.sock"},
     "containerRuntimeEndpoint: /run/containerd/containerd.sock\n",
     "runtime-containerd",
     "endpoint",
     R"("unix:///run/containerd/containerd.sock")"},
    {"container-runtime-endpoint",
     "containerRuntimeEndpoint",
     {"--container-runtime-endpoint=unix:///var/run/docker.sock"},
     "containerRuntimeEndpoint: unix:///var/run/docker.sock\n",
     "runtime-docker",
     "endpoint",
     R"("unix:///var/run/docker.sock")"},
    {"log-dir",
     "podLogsDir",
     {"--log-dir", "/srv/pod-logs"},
     "podLogsDir: /srv/pod-logs\n",
     "daemon",
     "logDir",
     R"("/srv/pod-logs")"},
};

// The runtime an endpoint selects; plugin "" = refused with the unknown-endpoint error.
struct EndpointRow {
  std::string endpoint;
  std::string plugin;
  std::string stored;  // the runtime's `endpoint` key
};

const EndpointRow kEndpoints[] = {
    {"unix:///var/run/docker.sock", "runtime-docker", "unix:///var/run/docker.sock"},
    {"/var/run/docker.sock", "runtime-docker", "unix:///var/run/docker.sock"},
    {" unix:///var/run/docker.sock ", "runtime-docker", "unix:///var/run/docker.sock"},
    {"unix:///run/user/1000/docker.sock", "runtime-docker", "unix:///run/user/1000/docker.sock"},
    // tests/scripts/dockerd.sh and tests/scripts/containerd.sh, and a socket in a test's temp dir.
    {"unix:///run/podwarden-test/docker.sock", "runtime-docker", "unix:///run/podwarden-test/docker.sock"},
    {"unix:///run/podwarden-test/containerd/containerd.sock", "runtime-containerd",
     "unix:///run/podwarden-test/containerd/containerd.sock"},
    {"/tmp/podwarden-x/docker.sock", "runtime-docker", "unix:///tmp/podwarden-x/docker.sock"},
    {"unix:///run/containerd/containerd.sock", "runtime-containerd",
     "unix:///run/containerd/containerd.sock"},
    // The file name decides before the directory: Docker's own containerd is a containerd.
    {"unix:///var/run/docker/containerd/containerd.sock", "runtime-containerd",
     "unix:///var/run/docker/containerd/containerd.sock"},
    // Else the directory holding the socket.
    {"unix:///run/containerd/c.sock", "runtime-containerd", "unix:///run/containerd/c.sock"},
    {"/var/run/docker/api.sock", "runtime-docker", "unix:///var/run/docker/api.sock"},
    // cri-dockerd speaks CRI, not the Docker Engine API.
    {"unix:///run/cri-dockerd.sock", "runtime-containerd", "unix:///run/cri-dockerd.sock"},
    {"unix:///var/run/crio/crio.sock", "", ""},
    {"tcp://10.0.0.1:2375", "", ""},
    {"tcp://docker:2375", "", ""},          // the old substring rule took this for runtime-docker
    {"unix:///run/mydocker.sock", "", ""},  // ... and this
    {"docker.sock", "", ""},                // relative: not a socket path
    {"unix:///run/containerd/", "", ""},
};

json::ObjectPtr block(const PluginUse& use) {
  return json::parseObject(use.configJson);
}

// The JSON of `key` in the block of the one plugin named `plugin` (or the daemon's logDir).
std::string landed(const Config& c, const std::string& plugin, const std::string& key) {
  if (plugin == "daemon") {
    CPPUNIT_ASSERT_EQUAL(std::string("logDir"), key);
    return json::stringify(Poco::Dynamic::Var(c.logDir));
  }
  std::vector<PluginUse> all = c.sources;
  all.insert(all.end(), c.sinks.begin(), c.sinks.end());
  all.push_back(c.runtime);
  const PluginUse* found = nullptr;
  for (const auto& use : all) {
    if (use.plugin != plugin) continue;
    CPPUNIT_ASSERT_MESSAGE("one " + plugin + " only", found == nullptr);
    found = &use;
  }
  CPPUNIT_ASSERT_MESSAGE("no plugin " + plugin + " configured", found != nullptr);
  json::ObjectPtr object = block(*found);
  CPPUNIT_ASSERT_MESSAGE(plugin + " has no key " + key + ": " + found->configJson, object->has(key));
  return json::stringify(object->get(key));
}

Config fromKubeletFile(const std::string& body) {
  return config::applyFile(kKubeletHead + body, "k.yaml", config::defaults());
}

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

#define ASSERT_CONTAINS(haystack, needle)                                                \
  CPPUNIT_ASSERT_MESSAGE(std::string("expected \"") + (needle) + "\" in: " + (haystack), \
                         std::string(haystack).find(needle) != std::string::npos)

// `text` in a fresh file under /tmp, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char tmpl[] = "/tmp/podwarden-kubeletflags-test-XXXXXX";
    int fd = mkstemp(tmpl);
    CPPUNIT_ASSERT_MESSAGE("mkstemp", fd >= 0);
    ::close(fd);
    path_ = tmpl;
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

class KubeletFlagsTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(KubeletFlagsTest);
  CPPUNIT_TEST(testFlagAndFieldLandOnTheSameKey);
  CPPUNIT_TEST(testEveryFlagWithAFieldHasARow);
  CPPUNIT_TEST(testValueWithoutItsPlugin);
  CPPUNIT_TEST(testEndpointSelectsRuntime);
  CPPUNIT_TEST(testNamedRuntimePluginWins);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testFlagAndFieldLandOnTheSameKey() {
    for (const auto& row : kTranslations) {
      const std::string name = std::string("--") + row.flag + " / " + row.field + ": ";
      Config byFlag = config::load(row.args);
      Config byField = fromKubeletFile(row.yaml);
      CPPUNIT_ASSERT_EQUAL_MESSAGE(name + "flag", row.json, landed(byFlag, row.plugin, row.key));
      CPPUNIT_ASSERT_EQUAL_MESSAGE(name + "field", row.json, landed(byField, row.plugin, row.key));
      CPPUNIT_ASSERT_MESSAGE(name + "no warning", byFlag.warnings.empty() && byField.warnings.empty());
    }
  }

  // A row added to the table with both a flag and a field must get a translation row above.
  void testEveryFlagWithAFieldHasARow() {
    size_t both = 0;
    for (const config::Setting& s : config::settings()) {
      if (s.flag == nullptr || s.field == nullptr) continue;
      ++both;
      bool tested = false;
      for (const auto& row : kTranslations) {
        tested = tested || (std::string(row.flag) == s.flag && std::string(row.field) == s.field);
      }
      CPPUNIT_ASSERT_MESSAGE(std::string("no translation row for --") + s.flag + " / " + s.field, tested);
      CPPUNIT_ASSERT(config::findFlag(s.flag) == &s);
      CPPUNIT_ASSERT(config::findField(s.field) == &s);
    }
    CPPUNIT_ASSERT_EQUAL(size_t(7), both);
  }

  // A period given before its plugin exists is kept for the plugin a later layer adds; headers without a
  // URL in a kubelet config are unused (the kubelet's behaviour), while the flag is refused.
  void testValueWithoutItsPlugin() {
    Config periods = fromKubeletFile("httpCheckFrequency: 30s\nstaticPodURLHeader: {A: [x]}\n");
    CPPUNIT_ASSERT(periods.sources.empty());
    CPPUNIT_ASSERT(periods.warnings.empty());
    CPPUNIT_ASSERT_EQUAL(int64_t(30), periods.httpCheckSeconds);
    ASSERT_CONTAINS(errorOf([] {
                      config::load({"--manifest-url-header", "a:b"});
                    }),
                    "flag --manifest-url-header: no URL source to apply it to");
    Config flagOnly = config::load({"--http-check-frequency", "30s"});
    CPPUNIT_ASSERT_EQUAL(size_t(1), flagOnly.warnings.size());
    CPPUNIT_ASSERT_EQUAL(std::string("flag --http-check-frequency: no source-url source is configured"),
                         flagOnly.warnings[0]);
  }

  void testEndpointSelectsRuntime() {
    for (const auto& row : kEndpoints) {
      const std::string name = "endpoint \"" + row.endpoint + "\"";
      if (row.plugin.empty()) {
        std::string flagErr = errorOf([&] { config::load({"--container-runtime-endpoint", row.endpoint}); });
        ASSERT_CONTAINS(flagErr, "flag --container-runtime-endpoint: no runtime plugin known for " + name);
        ASSERT_CONTAINS(flagErr, "docker.sock -> runtime-docker, containerd.sock -> runtime-containerd");
        ASSERT_CONTAINS(flagErr, "name the plugin in the config file's runtime block");
        std::string fieldErr =
            errorOf([&] { fromKubeletFile("containerRuntimeEndpoint: \"" + row.endpoint + "\"\n"); });
        ASSERT_CONTAINS(fieldErr,
                        "k.yaml:3:1: containerRuntimeEndpoint: no runtime plugin known for " + name);
        continue;
      }
      for (const Config& c : {config::load({"--container-runtime-endpoint", row.endpoint}),
                              fromKubeletFile("containerRuntimeEndpoint: \"" + row.endpoint + "\"\n")}) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(name, row.plugin, c.runtime.plugin);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(name, row.stored, json::getString(block(c.runtime), "endpoint"));
      }
    }
  }

  // A runtime plugin the endpoint table does not know, named in the config file, keeps the role whatever
  // the endpoint; a built-in one follows the endpoint (ConfigTest: testEndpointSelection).
  void testNamedRuntimePluginWins() {
    TempFile file(
        "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\n"
        "runtime: {plugin: runtime-crio, config: {timeoutSeconds: 3}}\n");
    for (const std::string endpoint : {"/var/run/crio/crio.sock", "unix:///run/containerd/containerd.sock"}) {
      Config c = config::load({"--config", file.path(), "--container-runtime-endpoint", endpoint});
      CPPUNIT_ASSERT_EQUAL(std::string("runtime-crio"), c.runtime.plugin);
      const std::string stored = endpoint[0] == '/' ? "unix://" + endpoint : endpoint;
      CPPUNIT_ASSERT_EQUAL(R"({"endpoint":")" + stored + R"(","timeoutSeconds":3})", c.runtime.configJson);
      CPPUNIT_ASSERT(c.warnings.empty());
    }
    // Named by a path, a built-in plugin is still built-in: it follows the endpoint, keeping its path when
    // the endpoint is its own.
    TempFile byPath(
        "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\n"
        "runtime: {plugin: /opt/p/runtime-containerd.so, config: {sandboxImage: 'p:1'}}\n");
    Config same = config::load(
        {"--config", byPath.path(), "--container-runtime-endpoint", "/run/k3s/containerd/containerd.sock"});
    CPPUNIT_ASSERT_EQUAL(std::string("/opt/p/runtime-containerd.so"), same.runtime.plugin);
    CPPUNIT_ASSERT_EQUAL(
        std::string(R"({"endpoint":"unix:///run/k3s/containerd/containerd.sock","sandboxImage":"p:1"})"),
        same.runtime.configJson);
    Config other =
        config::load({"--config", byPath.path(), "--container-runtime-endpoint", "/var/run/docker.sock"});
    CPPUNIT_ASSERT_EQUAL(std::string("runtime-docker"), other.runtime.plugin);
    CPPUNIT_ASSERT_EQUAL(size_t(1), other.warnings.size());
    ASSERT_CONTAINS(other.warnings[0], "sandboxImage");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KubeletFlagsTest);
