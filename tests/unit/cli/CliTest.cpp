// CliTest: the podwarden subcommands in-process, on the manifest fixtures (tests/fixtures/manifests), the
// ABI fixture plugins ($PODWARDEN_FIXTURE_DIR) and the built plugins ($PODWARDEN_PLUGIN_DIR).
#include <cppunit/extensions/HelperMacros.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/Cli.h"

namespace cli = podwarden::cli;

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  CPPUNIT_ASSERT_MESSAGE(std::string(name) + " is set (run through ctest)", value != nullptr);
  return value;
}

std::string manifests() {
  return env("PODWARDEN_SOURCE_DIR") + "/tests/fixtures/manifests";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

#define ASSERT_CONTAINS(haystack, needle)                                                 \
  CPPUNIT_ASSERT_MESSAGE(std::string("expected \"") + (needle) + "\" in:\n" + (haystack), \
                         contains(haystack, needle))

// Plain files of `dir` whose names do not start with '.', sorted.
std::vector<std::string> listFiles(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  CPPUNIT_ASSERT_MESSAGE("opendir " + dir, d != nullptr);
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] != '.' && e->d_type == DT_REG) names.push_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome dispatch(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  Outcome o;
  o.code = cli::dispatch(args, out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

// Runs cli::main(argv) as the binary does, with file descriptors 1 and 2 redirected to temporary files.
Outcome runMain(const std::vector<std::string>& args) {
  char outPath[] = "/tmp/podwarden-cli-out-XXXXXX";
  char errPath[] = "/tmp/podwarden-cli-err-XXXXXX";
  int outFd = mkstemp(outPath);
  int errFd = mkstemp(errPath);
  CPPUNIT_ASSERT(outFd >= 0 && errFd >= 0);
  std::cout.flush();
  std::cerr.flush();
  int savedOut = dup(1);
  int savedErr = dup(2);
  dup2(outFd, 1);
  dup2(errFd, 2);
  std::vector<std::string> argvStore = {"podwarden"};
  argvStore.insert(argvStore.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argvStore) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  Outcome o;
  o.code = cli::main(static_cast<int>(argvStore.size()), argv.data());
  std::cout.flush();
  std::cerr.flush();
  dup2(savedOut, 1);
  dup2(savedErr, 2);
  close(savedOut);
  close(savedErr);
  close(outFd);
  close(errFd);
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    unlink(path);
    return s.str();
  };
  o.out = slurp(outPath);
  o.err = slurp(errPath);
  return o;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/podwarden-cli-test-XXXXXX";
    const char* made = mkdtemp(tmpl);
    CPPUNIT_ASSERT(made != nullptr);
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

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const char kSmallPod[] =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: NAME\nspec:\n  containers:\n"
    "  - name: app\n    image: busybox:1.36\n";

std::string pod(const std::string& name) {
  std::string text = kSmallPod;
  return text.replace(text.find("NAME"), 4, name);
}

}  // namespace

class CliTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(CliTest);
  CPPUNIT_TEST(testVersion);
  CPPUNIT_TEST(testHelpOnEveryCommand);
  CPPUNIT_TEST(testUsageErrors);
  CPPUNIT_TEST(testValidateGoodFixtures);
  CPPUNIT_TEST(testValidateBadFixtures);
  CPPUNIT_TEST(testValidateReadsDirectoriesLikeTheKubelet);
  CPPUNIT_TEST(testValidateMissingPath);
  CPPUNIT_TEST(testPluginsOnFixtures);
  CPPUNIT_TEST(testPluginsOnBuiltPlugins);
  CPPUNIT_TEST(testRunStopsOnConfigAndPluginErrors);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testVersion() {
    Outcome o = dispatch({"version"});
    CPPUNIT_ASSERT_EQUAL(0, o.code);
    ASSERT_CONTAINS(o.out, std::string("podwarden ") + PODWARDEN_VERSION + "\n");
    ASSERT_CONTAINS(o.out, "plugin ABI 1.");
  }

  void testHelpOnEveryCommand() {
    for (const auto& args : std::vector<std::vector<std::string>>{{"--help"},
                                                                  {"-h"},
                                                                  {"help"},
                                                                  {"run", "--help"},
                                                                  {"validate", "-h"},
                                                                  {"plugins", "--help"},
                                                                  {"version", "--help"}}) {
      Outcome o = dispatch(args);
      CPPUNIT_ASSERT_EQUAL(0, o.code);
      ASSERT_CONTAINS(o.out, "usage: podwarden");
      CPPUNIT_ASSERT(o.err.empty());
    }
    ASSERT_CONTAINS(dispatch({"run", "--help"}).out, "--pod-manifest-path PATH");
  }

  void testUsageErrors() {
    Outcome unknown = runMain({"frobnicate"});
    CPPUNIT_ASSERT_EQUAL(2, unknown.code);
    ASSERT_CONTAINS(unknown.err, "unknown command frobnicate");
    ASSERT_CONTAINS(unknown.err, "usage: podwarden");
    CPPUNIT_ASSERT(unknown.out.empty());

    Outcome none = runMain({});
    CPPUNIT_ASSERT_EQUAL(2, none.code);
    ASSERT_CONTAINS(none.err, "usage: podwarden");

    CPPUNIT_ASSERT_EQUAL(2, dispatch({"validate"}).code);
    Outcome badFlag = dispatch({"validate", "--strict", manifests()});
    CPPUNIT_ASSERT_EQUAL(2, badFlag.code);
    ASSERT_CONTAINS(badFlag.err, "unknown flag --strict");
    CPPUNIT_ASSERT_EQUAL(2, dispatch({"version", "extra"}).code);
    Outcome pluginsFlag = dispatch({"plugins", "--pod-manifest-path", "/x"});
    CPPUNIT_ASSERT_EQUAL(2, pluginsFlag.code);
    ASSERT_CONTAINS(pluginsFlag.err, "--pod-manifest-path");
  }

  void testValidateGoodFixtures() {
    std::string dir = manifests() + "/good";
    std::vector<std::string> args = {"validate", "--hostname-override", "Node-1"};
    std::vector<std::string> names = listFiles(dir);
    CPPUNIT_ASSERT(!names.empty());
    for (const auto& name : names) args.push_back(dir + "/" + name);
    Outcome o = runMain(args);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(o.err, 0, o.code);
    ASSERT_CONTAINS(o.err, std::to_string(names.size()) + " manifests checked, 0 with errors");
    for (const auto& name : names) ASSERT_CONTAINS(o.out, dir + "/" + name + ": ok: pod ");
    ASSERT_CONTAINS(o.out, "pod default/web-node-1 uid ");
    // The same pod in YAML, JSON and reformatted YAML, named one by one: reported, but not an error.
    ASSERT_CONTAINS(o.err, "warning: " + dir +
                               "/kube-apiserver.yaml: pod kube-system/kube-apiserver-node-1 is "
                               "also defined by " +
                               dir + "/kube-apiserver-reformatted.yaml");
  }

  void testValidateBadFixtures() {
    std::string dir = manifests() + "/bad";
    std::vector<std::string> names = listFiles(dir);
    CPPUNIT_ASSERT(!names.empty());
    Outcome o = runMain({"validate", dir});
    CPPUNIT_ASSERT_EQUAL(1, o.code);
    ASSERT_CONTAINS(o.err, std::to_string(names.size()) + " manifests checked, " +
                               std::to_string(names.size()) + " with errors");
    CPPUNIT_ASSERT(!contains(o.out, ": ok:"));
    // Every bad file is named; those with content point at a line and column.
    for (const auto& name : names) {
      std::string file = dir + "/" + name;
      ASSERT_CONTAINS(o.err, file + ":");
      if (readFile(file).empty()) continue;
      std::regex located(std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                         R"(:[0-9]+:[0-9]+: )");
      CPPUNIT_ASSERT_MESSAGE("no file:line:column for " + file + " in:\n" + o.err,
                             std::regex_search(o.err, located));
    }
  }

  void testValidateReadsDirectoriesLikeTheKubelet() {
    TempDir dir;
    dir.write("a.yaml", pod("web"));
    dir.write("b.yaml", pod("web"));                   // same pod as a.yaml
    dir.write("c.yaml~", pod("editor-copy"));          // read, with a warning
    dir.write(".hidden.yaml", "this is: [not a pod");  // dotfiles are skipped
    mkdir((dir.path() + "/sub").c_str(), 0755);        // not entered
    dir.write("sub/bad.yaml", "kind: Nonsense\n");
    Outcome o = dispatch({"validate", "--hostname-override=Node-X", dir.path()});
    CPPUNIT_ASSERT_EQUAL(1, o.code);
    ASSERT_CONTAINS(o.err, "3 manifests checked, 1 with errors");
    ASSERT_CONTAINS(o.err, dir.path() + "/b.yaml: duplicate pod default/web-node-x: also defined by " +
                               dir.path() + "/a.yaml");
    ASSERT_CONTAINS(o.err, "warning: " + dir.path() + "/c.yaml~: looks like an editor or backup copy");
    ASSERT_CONTAINS(o.out, dir.path() + "/c.yaml~: ok: pod default/editor-copy-node-x uid ");
    CPPUNIT_ASSERT(!contains(o.err + o.out, "hidden"));
    CPPUNIT_ASSERT(!contains(o.err + o.out, "sub/"));

    // Without the duplicate, the directory is clean.
    unlink((dir.path() + "/b.yaml").c_str());
    Outcome clean = dispatch({"validate", dir.path()});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(clean.err, 0, clean.code);
    ASSERT_CONTAINS(clean.err, "2 manifests checked, 0 with errors");
  }

  void testValidateMissingPath() {
    Outcome o = dispatch({"validate", "/nonexistent/manifests"});
    CPPUNIT_ASSERT_EQUAL(1, o.code);
    ASSERT_CONTAINS(o.err, "/nonexistent/manifests: No such file or directory");
    ASSERT_CONTAINS(o.err, "0 manifests checked");
  }

  void testPluginsOnFixtures() {
    std::string fixtures = env("PODWARDEN_FIXTURE_DIR");
    Outcome o = dispatch({"plugins", "--plugin-dir", fixtures});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(o.err, 0, o.code);
    ASSERT_CONTAINS(o.out, "plugin search path: " + fixtures + " ");
    ASSERT_CONTAINS(o.out, fixtures + "/fixture-good-c.so\n  name: fixture-good-c\n  version: 0.0.1\n");
    ASSERT_CONTAINS(o.out, "  abi: 1.0 (needs host minor >= 0)\n");
    ASSERT_CONTAINS(o.out, "  factory: source/good (capabilities: none)\n");
    ASSERT_CONTAINS(o.out, fixtures + "/fixture-wrong-major.so\n  refused: ");
    ASSERT_CONTAINS(o.out, fixtures + "/fixture-needs-newer-host.so\n  refused: ");
    ASSERT_CONTAINS(o.out, fixtures + "/fixture-no-entry.so\n  refused: ");
  }

  void testPluginsOnBuiltPlugins() {
    // The search path from a config file, as `podwarden run` would use it.
    std::string builtDir = env("PODWARDEN_PLUGIN_DIR");
    TempDir dir;
    std::string config = dir.write("podwarden.yaml",
                                   "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\n"
                                   "pluginDirs: [" +
                                       builtDir + "]\n");
    Outcome o = dispatch({"plugins", "--config=" + config});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(o.err, 0, o.code);
    ASSERT_CONTAINS(o.out, "plugin search path: " + builtDir + " ");
    std::vector<std::string> built = listFiles(builtDir);
    for (const auto& name : built) {
      ASSERT_CONTAINS(o.out, builtDir + "/" + name + "\n  name: " + name.substr(0, name.size() - 3) + "\n");
    }
    const std::pair<const char*, const char*> kExpected[] = {{"runtime-docker.so", "  factory: runtime/"},
                                                             {"source-dir.so", "  factory: source/dir "},
                                                             {"sink-file.so", "  factory: sink/"}};
    for (const auto& [file, factory] : kExpected) {
      if (std::find(built.begin(), built.end(), file) == built.end()) continue;  // that plugin is not built
      std::string section = o.out.substr(o.out.find(builtDir + "/" + file));
      section = section.substr(0, section.find("\n\n"));
      ASSERT_CONTAINS(section, factory);
    }
  }

  void testRunStopsOnConfigAndPluginErrors() {
    Outcome bad = dispatch({"run", "--pod-manifest-pth", "/etc/kubernetes/manifests"});
    CPPUNIT_ASSERT_EQUAL(2, bad.code);
    ASSERT_CONTAINS(bad.err, "podwarden run: unknown flag --pod-manifest-pth; see podwarden run --help");

    // A required plugin that cannot be found: the daemon starts nothing and exits 1.
    TempDir dir;
    std::string config = dir.write("podwarden.yaml",
                                   "apiVersion: podwarden.io/v1alpha1\nkind: PodwardenConfig\n"
                                   "runtime: {plugin: " +
                                       dir.path() + "/runtime-none.so}\n");
    Outcome o = runMain({"run", "--config", config, "--plugin-dir", dir.path()});
    CPPUNIT_ASSERT_EQUAL(1, o.code);
    ASSERT_CONTAINS(o.err, dir.path() + "/runtime-none.so");
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CliTest);
