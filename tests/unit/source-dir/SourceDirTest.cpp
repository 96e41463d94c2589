// SourceDirTest - the source-dir plugin loaded through the ABI, against real files and real inotify.
#include <cppunit/extensions/HelperMacros.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "plugin/Instances.h"
#include "plugin/PluginLibrary.h"
#include "util/Log.h"

using podwarden::Log;
using podwarden::LogLevel;
using podwarden::plugin::ManifestDoc;
using podwarden::plugin::PluginError;
using podwarden::plugin::PluginLibrary;
using podwarden::plugin::SourceInstance;

namespace {

using Snapshot = std::vector<ManifestDoc>;
namespace fs = std::filesystem;

// Generous: inotify delivers in milliseconds, the missing-path retry runs every second.
constexpr std::chrono::seconds kWait{15};

std::string pluginPath() {
  const char* dir = std::getenv("PODWARDEN_PLUGIN_DIR");
  CPPUNIT_ASSERT_MESSAGE("PODWARDEN_PLUGIN_DIR is not set", dir != nullptr);
  return std::string(dir) + "/source-dir.so";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pw-source-dir-XXXXXX";
    CPPUNIT_ASSERT(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  CPPUNIT_ASSERT_MESSAGE("cannot write " + path, out.good());
}

// Writes a dot-named temporary next to `path` and renames it over `path`, as careful tools do.
void writeAtomically(const std::string& path, const std::string& content) {
  fs::path p(path);
  std::string tmp = (p.parent_path() / ("." + p.filename().string() + ".tmp")).string();
  writeFile(tmp, content);
  CPPUNIT_ASSERT(::rename(tmp.c_str(), path.c_str()) == 0);
}

const ManifestDoc* find(const Snapshot& s, const std::string& origin) {
  for (const auto& d : s) {
    if (d.origin == origin) return &d;
  }
  return nullptr;
}

std::string describe(const Snapshot& s) {
  std::string out = "[";
  for (const auto& d : s) {
    out += " " + d.origin + "(" + std::to_string(d.data.size()) + "B" + (d.error.empty() ? "" : " error") +
           (d.warning.empty() ? "" : " warning") + ")";
  }
  return out + " ]";
}

// Collects the snapshots the plugin emits (from start() and from its own thread).
class Recorder {
 public:
  void add(Snapshot s) {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshots_.push_back(std::move(s));
    changed_.notify_all();
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshots_.size();
  }
  std::vector<Snapshot> all() {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshots_;
  }
  Snapshot latest() {
    std::lock_guard<std::mutex> lock(mutex_);
    CPPUNIT_ASSERT_MESSAGE("no snapshot was emitted", !snapshots_.empty());
    return snapshots_.back();
  }
  // Waits until the latest snapshot satisfies `pred`; fails the test after kWait.
  Snapshot waitFor(const std::string& what, const std::function<bool(const Snapshot&)>& pred) {
    std::unique_lock<std::mutex> lock(mutex_);
    bool ok = changed_.wait_for(lock, kWait, [&] { return !snapshots_.empty() && pred(snapshots_.back()); });
    if (!ok) {
      CPPUNIT_FAIL("timed out waiting for " + what + "; latest snapshot: " +
                   (snapshots_.empty() ? std::string("none") : describe(snapshots_.back())));
    }
    return snapshots_.back();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Snapshot> snapshots_;
};

// Captures the daemon log (plugin lines go through it) for the duration of a test.
class LogCapture {
 public:
  LogCapture() {
    Log::setSink([this](LogLevel, std::string_view component, std::string_view message) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back(std::string(component) + ": " + std::string(message));
    });
  }
  ~LogCapture() { Log::setSink(nullptr); }
  size_t countContaining(const std::string& needle) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t n = 0;
    for (const auto& l : lines_) n += l.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace

class SourceDirTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SourceDirTest);
  CPPUNIT_TEST(testPluginDescribesItself);
  CPPUNIT_TEST(testFirstSnapshotIsEmptyAndSentFromStart);
  CPPUNIT_TEST(testCreateModifyDelete);
  CPPUNIT_TEST(testRenameIntoPlace);
  CPPUNIT_TEST(testDotFilesIgnored);
  CPPUNIT_TEST(testEveryNameReadInSortedOrder);
  CPPUNIT_TEST(testBackupFilesReadWithWarning);
  CPPUNIT_TEST(testBackupFilesSkippedWhenConfigured);
  CPPUNIT_TEST(testOversizeFileIsAnError);
  CPPUNIT_TEST(testSubdirectoriesAndSpecialFilesSkipped);
  CPPUNIT_TEST(testMissingDirectoryAppearsLater);
  CPPUNIT_TEST(testDirectoryRemovedAndRecreated);
  CPPUNIT_TEST(testSingleFilePath);
  CPPUNIT_TEST(testUnchangedSetNotSentAgain);
  CPPUNIT_TEST(testStopAndStartAgain);
  CPPUNIT_TEST(testBadConfigRejected);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override { library_ = PluginLibrary::load(pluginPath()); }
  void tearDown() override {
    source_.reset();
    library_.reset();
  }

  void testPluginDescribesItself() {
    CPPUNIT_ASSERT_EQUAL(std::string("source-dir"), library_->info().name);
    CPPUNIT_ASSERT(library_->findFactory(PW_KIND_SOURCE, "dir") != nullptr);
    CPPUNIT_ASSERT(library_->info().configSchemaJson.find("\"additionalProperties\": false") !=
                   std::string::npos);
  }

  void testFirstSnapshotIsEmptyAndSentFromStart() {
    TempDir dir;
    start("{\"path\":\"" + dir.path() + "\"}");
    CPPUNIT_ASSERT_EQUAL(size_t(1), recorder_->count());
    CPPUNIT_ASSERT(recorder_->latest().empty());
  }

  void testCreateModifyDelete() {
    TempDir dir;
    start("{\"path\":\"" + dir.path() + "/\"}");  // a trailing '/' is trimmed, as the kubelet does
    const std::string pod = dir / "pod.yaml";

    writeFile(pod, "kind: Pod\nmetadata: {name: one}\n");
    Snapshot s = recorder_->waitFor("the new file", [&](const Snapshot& s) {
      const ManifestDoc* d = find(s, pod);
      return d && d->data == "kind: Pod\nmetadata: {name: one}\n";
    });
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.size());
    CPPUNIT_ASSERT_EQUAL(std::string("application/yaml"), s[0].contentType);
    CPPUNIT_ASSERT(s[0].error.empty());
    CPPUNIT_ASSERT(s[0].warning.empty());

    writeFile(pod, "kind: Pod\nmetadata: {name: two}\n");
    recorder_->waitFor("the modified content", [&](const Snapshot& s) {
      const ManifestDoc* d = find(s, pod);
      return d && d->data == "kind: Pod\nmetadata: {name: two}\n";
    });

    CPPUNIT_ASSERT(::unlink(pod.c_str()) == 0);
    recorder_->waitFor("the file to be gone", [](const Snapshot& s) { return s.empty(); });
  }

  void testRenameIntoPlace() {
    TempDir dir;
    start("{\"path\":\"" + dir.path() + "\"}");
    const std::string pod = dir / "pod.json";
    writeAtomically(pod, "{\"kind\":\"Pod\"}");
    Snapshot s =
        recorder_->waitFor("the renamed file", [&](const Snapshot& s) { return find(s, pod) != nullptr; });
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.size());
    CPPUNIT_ASSERT_EQUAL(std::string("{\"kind\":\"Pod\"}"), s[0].data);
    CPPUNIT_ASSERT_EQUAL(std::string("application/json"), s[0].contentType);

    writeAtomically(pod, "{\"kind\":\"Pod\",\"v\":2}");
    recorder_->waitFor("the replaced content", [&](const Snapshot& s) {
      return s.size() == 1 && s[0].data == "{\"kind\":\"Pod\",\"v\":2}";
    });
    assertNoDotOrigins();
  }

  void testDotFilesIgnored() {
    TempDir dir;
    writeFile(dir / ".hidden.yaml", "kind: Pod\n");
    start("{\"path\":\"" + dir.path() + "\"}");
    CPPUNIT_ASSERT(recorder_->latest().empty());

    writeFile(dir / ".pod.yaml.swp", "swap");
    writeFile(dir / "visible.yaml", "kind: Pod\n");
    Snapshot s = recorder_->waitFor(
        "the visible file", [&](const Snapshot& s) { return find(s, dir / "visible.yaml") != nullptr; });
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.size());
    assertNoDotOrigins();
  }

  void testEveryNameReadInSortedOrder() {
    TempDir dir;
    writeFile(dir / "c.txt", "c");
    writeFile(dir / "a.yaml", "a");
    writeFile(dir / "README", "r");
    writeFile(dir / "b.JSON", "{}");
    writeFile(dir / "a.yml", "a2");
    start("{\"path\":\"" + dir.path() + "\"}");
    Snapshot s = recorder_->latest();
    CPPUNIT_ASSERT_EQUAL(size_t(5), s.size());
    // kubelet reads every name whatever its extension, in byte order.
    CPPUNIT_ASSERT_EQUAL(dir / "README", s[0].origin);
    CPPUNIT_ASSERT_EQUAL(dir / "a.yaml", s[1].origin);
    CPPUNIT_ASSERT_EQUAL(dir / "a.yml", s[2].origin);
    CPPUNIT_ASSERT_EQUAL(dir / "b.JSON", s[3].origin);
    CPPUNIT_ASSERT_EQUAL(dir / "c.txt", s[4].origin);
    CPPUNIT_ASSERT_EQUAL(std::string("application/json"), s[3].contentType);
    CPPUNIT_ASSERT_EQUAL(std::string("application/yaml"), s[4].contentType);
    CPPUNIT_ASSERT_EQUAL(std::string("r"), s[0].data);
  }

  void testBackupFilesReadWithWarning() {
    TempDir dir;
    const std::vector<std::string> backups = {"#pod.yaml#", "pod.yaml.bak", "pod.yaml.dpkg-old",
                                              "pod.yaml.orig", "pod.yaml~"};
    for (const auto& name : backups) writeFile(dir / name, "kind: Pod\n");
    writeFile(dir / "pod.yaml", "kind: Pod\n");
    start("{\"path\":\"" + dir.path() + "\"}");
    Snapshot s = recorder_->latest();
    CPPUNIT_ASSERT_EQUAL(backups.size() + 1, s.size());
    for (const auto& name : backups) {
      const ManifestDoc* d = find(s, dir / name);
      CPPUNIT_ASSERT_MESSAGE(name, d != nullptr);
      CPPUNIT_ASSERT_EQUAL(std::string("kind: Pod\n"), d->data);
      CPPUNIT_ASSERT_EQUAL(
          std::string("looks like an editor or backup copy; it is read like any manifest — move it "
                      "out of ") +
              dir.path(),
          d->warning);
    }
    CPPUNIT_ASSERT(find(s, dir / "pod.yaml")->warning.empty());
  }

  void testBackupFilesSkippedWhenConfigured() {
    TempDir dir;
    writeFile(dir / "pod.yaml.bak", "kind: Pod\n");
    writeFile(dir / "pod.yaml.swp", "kind: Pod\n");
    writeFile(dir / "pod.yaml", "kind: Pod\n");
    LogCapture log;
    start("{\"path\":\"" + dir.path() + "\",\"ignoreBackupFiles\":true}");
    Snapshot s = recorder_->latest();
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.size());
    CPPUNIT_ASSERT_EQUAL(dir / "pod.yaml", s[0].origin);
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.countContaining("skipping " + (dir / "pod.yaml.bak")));
  }

  void testOversizeFileIsAnError() {
    TempDir dir;
    writeFile(dir / "big.yaml", std::string(200, 'x'));
    writeFile(dir / "small.yaml", std::string(100, 'y'));
    // Sparse, so nothing is ever written; the default 10 MiB limit applies to it in the second instance.
    const std::string huge = dir / "huge.yaml";
    int fd = ::open(huge.c_str(), O_WRONLY | O_CREAT, 0644);
    CPPUNIT_ASSERT(fd >= 0 && ::ftruncate(fd, 11 * 1024 * 1024) == 0);
    ::close(fd);

    start("{\"path\":\"" + dir.path() + "\",\"maxFileBytes\":100}");
    Snapshot s = recorder_->latest();
    const ManifestDoc* big = find(s, dir / "big.yaml");
    CPPUNIT_ASSERT(big != nullptr);
    CPPUNIT_ASSERT_EQUAL((dir / "big.yaml") + ": file is 200 bytes, larger than the 100 bytes manifest limit",
                         big->error);
    CPPUNIT_ASSERT(big->data.empty());
    CPPUNIT_ASSERT_EQUAL(std::string(100, 'y'), find(s, dir / "small.yaml")->data);

    source_.reset();
    start("{\"path\":\"" + dir.path() + "\"}");
    Snapshot second = recorder_->latest();
    const ManifestDoc* h = find(second, huge);
    CPPUNIT_ASSERT(h != nullptr);
    CPPUNIT_ASSERT_EQUAL(huge + ": file is 11534336 bytes, larger than the 10 MiB manifest limit", h->error);
    CPPUNIT_ASSERT(h->data.empty());
  }

  void testSubdirectoriesAndSpecialFilesSkipped() {
    TempDir dir;
    TempDir elsewhere;
    fs::create_directory(dir / "sub");
    writeFile(dir / "sub/nested.yaml", "kind: Pod\n");
    CPPUNIT_ASSERT(::mkfifo((dir / "pipe.yaml").c_str(), 0644) == 0);
    writeFile(elsewhere / "target.yaml", "linked");
    fs::create_symlink(elsewhere / "target.yaml", dir / "link.yaml");
    fs::create_symlink(elsewhere / "missing.yaml", dir / "dangling.yaml");
    fs::create_directory_symlink(elsewhere.path(), dir / "linkdir");
    writeFile(dir / "pod.yaml", "kind: Pod\n");

    LogCapture log;
    start("{\"path\":\"" + dir.path() + "\"}");
    Snapshot s = recorder_->latest();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(s), size_t(2), s.size());
    // A symlink to a file is followed; the origin stays the name in the manifest directory.
    CPPUNIT_ASSERT_EQUAL(dir / "link.yaml", s[0].origin);
    CPPUNIT_ASSERT_EQUAL(std::string("linked"), s[0].data);
    CPPUNIT_ASSERT_EQUAL(dir / "pod.yaml", s[1].origin);
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.countContaining("not recursing into " + (dir / "sub")));
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.countContaining("not recursing into " + (dir / "linkdir")));
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.countContaining(dir / "pipe.yaml"));

    // Another change re-reads the directory; the skips are not logged again.
    writeFile(dir / "more.yaml", "kind: Pod\n");
    recorder_->waitFor("the added file",
                       [&](const Snapshot& s) { return find(s, dir / "more.yaml") != nullptr; });
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.countContaining("not recursing into " + (dir / "sub")));
  }

  void testMissingDirectoryAppearsLater() {
    TempDir root;
    const std::string manifests = root / "manifests";
    LogCapture log;
    start("{\"path\":\"" + manifests + "\"}");
    CPPUNIT_ASSERT(recorder_->latest().empty());
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.countContaining(manifests + " does not exist"));

    CPPUNIT_ASSERT(::mkdir(manifests.c_str(), 0755) == 0);
    writeAtomically(manifests + "/pod.yaml", "kind: Pod\n");
    recorder_->waitFor("the file in the new directory",
                       [&](const Snapshot& s) { return find(s, manifests + "/pod.yaml") != nullptr; });
    CPPUNIT_ASSERT_EQUAL(size_t(1), log.countContaining(manifests + " does not exist"));

    // The directory is watched now: a second file arrives through inotify.
    writeFile(manifests + "/second.yaml", "kind: Pod\n");
    recorder_->waitFor("the second file", [&](const Snapshot& s) { return s.size() == 2; });
  }

  void testDirectoryRemovedAndRecreated() {
    TempDir root;
    const std::string manifests = root / "manifests";
    fs::create_directory(manifests);
    writeFile(manifests + "/a.yaml", "a");
    start("{\"path\":\"" + manifests + "\"}");
    CPPUNIT_ASSERT_EQUAL(size_t(1), recorder_->latest().size());

    fs::remove_all(manifests);
    recorder_->waitFor("an empty set after the directory went away",
                       [](const Snapshot& s) { return s.empty(); });

    fs::create_directory(manifests);
    writeFile(manifests + "/b.yaml", "b");
    recorder_->waitFor("the recreated directory's file", [&](const Snapshot& s) {
      return s.size() == 1 && s[0].origin == manifests + "/b.yaml";
    });

    // Moved away and replaced by another directory: the new one is watched.
    fs::rename(manifests, root / "old");
    fs::create_directory(root / "new");
    writeFile(root / "new/c.yaml", "c");
    fs::rename(root / "new", manifests);
    recorder_->waitFor("the replacement directory's file", [&](const Snapshot& s) {
      return s.size() == 1 && s[0].origin == manifests + "/c.yaml";
    });
    writeFile(manifests + "/d.yaml", "d");
    recorder_->waitFor("a file written into the replacement",
                       [](const Snapshot& s) { return s.size() == 2; });
  }

  void testSingleFilePath() {
    TempDir dir;
    const std::string pod = dir / "pod.yaml";
    writeFile(pod, "v1");
    writeFile(dir / "other.yaml", "other");
    start("{\"path\":\"" + pod + "\"}");
    Snapshot s = recorder_->latest();
    CPPUNIT_ASSERT_EQUAL(size_t(1), s.size());
    CPPUNIT_ASSERT_EQUAL(pod, s[0].origin);
    CPPUNIT_ASSERT_EQUAL(std::string("v1"), s[0].data);

    writeAtomically(pod, "v2");
    recorder_->waitFor("the replaced file",
                       [&](const Snapshot& s) { return s.size() == 1 && s[0].data == "v2"; });
    CPPUNIT_ASSERT(::unlink(pod.c_str()) == 0);
    recorder_->waitFor("an empty set after the file went away", [](const Snapshot& s) { return s.empty(); });
    writeFile(pod, "v3");
    recorder_->waitFor("the file again",
                       [&](const Snapshot& s) { return s.size() == 1 && s[0].data == "v3"; });
  }

  void testUnchangedSetNotSentAgain() {
    TempDir dir;
    writeFile(dir / "a.yaml", "a");
    start("{\"path\":\"" + dir.path() + "\"}");
    size_t before = recorder_->count();
    // chmod and touch raise inotify events but change no bytes: nothing is sent for them.
    CPPUNIT_ASSERT(::chmod((dir / "a.yaml").c_str(), 0600) == 0);
    CPPUNIT_ASSERT(::utimensat(AT_FDCWD, (dir / "a.yaml").c_str(), nullptr, 0) == 0);
    writeAtomically(dir / "b.yaml", "b");
    recorder_->waitFor("the second file", [](const Snapshot& s) { return s.size() == 2; });
    CPPUNIT_ASSERT_EQUAL(before + 1, recorder_->count());
  }

  void testStopAndStartAgain() {
    TempDir dir;
    writeFile(dir / "a.yaml", "a");
    start("{\"path\":\"" + dir.path() + "\"}");
    source_->stop();
    size_t afterStop = recorder_->count();
    writeFile(dir / "b.yaml", "b");
    // Started again, the instance sends the whole set at once from start().
    CPPUNIT_ASSERT(source_->start([rec = recorder_](Snapshot s) { rec->add(std::move(s)); }).ok());
    CPPUNIT_ASSERT_EQUAL(afterStop + 1, recorder_->count());
    CPPUNIT_ASSERT_EQUAL(size_t(2), recorder_->latest().size());
  }

  void testBadConfigRejected() {
    assertRejected("{\"path\":\"/tmp\",\"recursive\":true}", "unknown key \"recursive\"");
    assertRejected("{\"path\":\"/tmp\",\"rescanSeconds\":\"20\"}",
                   "\"rescanSeconds\" must be a whole number");
    assertRejected("{\"path\":\"/tmp\",\"rescanSeconds\":0}", "\"rescanSeconds\" must be between 1 and");
    assertRejected("{\"path\":\"\"}", "\"path\" must not be empty");
    assertRejected("{\"path\":\"/tmp\",\"maxFileBytes\":-1}", "\"maxFileBytes\" must be at least 1");
    assertRejected("{\"ignoreBackupFiles\":\"yes\"}", "\"ignoreBackupFiles\" must be true or false");
    assertRejected("[1]", "must be a JSON object");
  }

 private:
  void start(const std::string& config) {
    recorder_ = std::make_shared<Recorder>();
    source_ = std::make_unique<SourceInstance>(library_, "dir", config, "node-1");
    auto result = source_->start([rec = recorder_](Snapshot s) { rec->add(std::move(s)); });
    CPPUNIT_ASSERT_MESSAGE(result.describe(), result.ok());
  }

  void assertNoDotOrigins() {
    for (const auto& snapshot : recorder_->all()) {
      for (const auto& d : snapshot) {
        CPPUNIT_ASSERT_MESSAGE(d.origin, fs::path(d.origin).filename().string().front() != '.');
      }
    }
  }

  void assertRejected(const std::string& config, const std::string& expected) {
    try {
      SourceInstance source(library_, "dir", config, "node-1");
    } catch (const PluginError& e) {
      std::string message = e.what();
      CPPUNIT_ASSERT_MESSAGE(message, message.find("INVALID_ARGUMENT") != std::string::npos);
      CPPUNIT_ASSERT_MESSAGE(message, message.find(expected) != std::string::npos);
      return;
    }
    CPPUNIT_FAIL("config " + config + " was accepted");
  }

  std::shared_ptr<PluginLibrary> library_;
  std::shared_ptr<Recorder> recorder_;
  std::unique_ptr<SourceInstance> source_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SourceDirTest);
