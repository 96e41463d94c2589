// prepareVolumes and removePodDir against the real filesystem in a temporary directory.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "CriTestPods.h"
#include "cri/PodTranslator.h"

using namespace podwarden::cri;
namespace json = podwarden::json;

namespace fs = std::filesystem;
using test::makePod;

class HostVolumesTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(HostVolumesTest);
  CPPUNIT_TEST(testDirectoryOrCreate);
  CPPUNIT_TEST(testDirectory);
  CPPUNIT_TEST(testFileOrCreate);
  CPPUNIT_TEST(testFile);
  CPPUNIT_TEST(testSocket);
  CPPUNIT_TEST(testDevices);
  CPPUNIT_TEST(testUnsetAndInvalidType);
  CPPUNIT_TEST(testEmptyDirAndSubPaths);
  CPPUNIT_TEST(testSubPathEscapeRefused);
  CPPUNIT_TEST(testUnsupportedVolumeType);
  CPPUNIT_TEST(testRemovePodDir);
  CPPUNIT_TEST(testRemovePodDirRefusesMounts);
  CPPUNIT_TEST_SUITE_END();

 public:
  void setUp() override {
    char tmpl[] = "/tmp/podwarden-cri-XXXXXX";
    CPPUNIT_ASSERT(mkdtemp(tmpl) != nullptr);
    root_ = tmpl;
    opts_ = TranslateOptions();
    opts_.nodeName = "node1";
    opts_.podsDir = root_ + "/pods";
    // The kubelet's modes are requested modes, filtered by the umask; pin the usual one.
    oldUmask_ = ::umask(022);
  }

  void tearDown() override {
    ::umask(oldUmask_);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void testDirectoryOrCreate() {
    std::string path = root_ + "/a/b/c";
    CPPUNIT_ASSERT(problems(hostPathPod(path, "DirectoryOrCreate")).empty());
    CPPUNIT_ASSERT(fs::is_directory(path));
    CPPUNIT_ASSERT_EQUAL(0755u, modeOf(path));
    CPPUNIT_ASSERT_EQUAL(0755u, modeOf(root_ + "/a"));
    // Existing directory: fine; existing file: refused.
    CPPUNIT_ASSERT(problems(hostPathPod(path, "DirectoryOrCreate")).empty());
    writeFile(root_ + "/plain");
    std::vector<VolumeProblem> p = problems(hostPathPod(root_ + "/plain", "DirectoryOrCreate"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT_EQUAL(std::string("vol"), p[0].volume);
    CPPUNIT_ASSERT_EQUAL(
        "volume \"vol\": hostPath type check failed: " + root_ + "/plain is not a directory (found a file)",
        p[0].message);
    CPPUNIT_ASSERT(!p[0].warning);
  }

  void testDirectory() {
    std::vector<VolumeProblem> p = problems(hostPathPod(root_ + "/nope", "Directory"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT_EQUAL("volume \"vol\": hostPath type check failed: " + root_ +
                             "/nope is not a directory (it does not exist)",
                         p[0].message);
    CPPUNIT_ASSERT(!fs::exists(root_ + "/nope"));
    CPPUNIT_ASSERT(problems(hostPathPod(root_, "Directory")).empty());
  }

  void testFileOrCreate() {
    std::string path = root_ + "/state.json";
    CPPUNIT_ASSERT(problems(hostPathPod(path, "FileOrCreate")).empty());
    CPPUNIT_ASSERT(fs::is_regular_file(path));
    CPPUNIT_ASSERT_EQUAL(uintmax_t{0}, fs::file_size(path));
    CPPUNIT_ASSERT_EQUAL(0644u, modeOf(path));
    // An existing file keeps its content.
    { std::ofstream(path) << "keep"; }
    CPPUNIT_ASSERT(problems(hostPathPod(path, "FileOrCreate")).empty());
    CPPUNIT_ASSERT_EQUAL(uintmax_t{4}, fs::file_size(path));
    // Like the kubelet, the parent directory is not created.
    std::vector<VolumeProblem> p = problems(hostPathPod(root_ + "/missing/state.json", "FileOrCreate"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT(p[0].message.find("cannot create file " + root_ + "/missing/state.json") !=
                   std::string::npos);
    CPPUNIT_ASSERT(!fs::exists(root_ + "/missing"));
    // A directory in the way.
    p = problems(hostPathPod(root_, "FileOrCreate"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT(p[0].message.find("is not a file (found a directory)") != std::string::npos);
  }

  void testFile() {
    writeFile(root_ + "/f");
    CPPUNIT_ASSERT(problems(hostPathPod(root_ + "/f", "File")).empty());
    std::vector<VolumeProblem> p = problems(hostPathPod(root_ + "/g", "File"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT(p[0].message.find(root_ + "/g is not a file (it does not exist)") != std::string::npos);
    CPPUNIT_ASSERT(!fs::exists(root_ + "/g"));
  }

  void testSocket() {
    std::string path = root_ + "/s.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    CPPUNIT_ASSERT(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    CPPUNIT_ASSERT(path.size() < sizeof(addr.sun_path));
    std::copy(path.begin(), path.end(), addr.sun_path);
    CPPUNIT_ASSERT_EQUAL(0, ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
    std::vector<VolumeProblem> ok = problems(hostPathPod(path, "Socket"));
    ::close(fd);
    CPPUNIT_ASSERT(ok.empty());
    writeFile(root_ + "/notsock");
    std::vector<VolumeProblem> p = problems(hostPathPod(root_ + "/notsock", "Socket"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT(p[0].message.find("is not a socket (found a file)") != std::string::npos);
  }

  void testDevices() {
    CPPUNIT_ASSERT(problems(hostPathPod("/dev/null", "CharDevice")).empty());
    std::vector<VolumeProblem> p = problems(hostPathPod("/dev/null", "BlockDevice"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT_EQUAL(
        std::string("volume \"vol\": hostPath type check failed: /dev/null is not a block device "
                    "(found a character device)"),
        p[0].message);
    p = problems(hostPathPod(root_, "CharDevice"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT(p[0].message.find("is not a character device (found a directory)") != std::string::npos);
  }

  void testUnsetAndInvalidType() {
    // No type: no checks and nothing created.
    CPPUNIT_ASSERT(problems(hostPathPod(root_ + "/whatever", "")).empty());
    CPPUNIT_ASSERT(!fs::exists(root_ + "/whatever"));
    std::vector<VolumeProblem> p = problems(hostPathPod(root_, "Folder"));
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT_EQUAL(std::string("volume \"vol\": invalid hostPath type \"Folder\""), p[0].message);
  }

  void testEmptyDirAndSubPaths() {
    ::mkdir((root_ + "/host").c_str(), 0750);
    ::chmod((root_ + "/host").c_str(), 0750);
    json::ObjectPtr pod = makePod(
        R"({"volumes":[{"name":"scratch","emptyDir":{}},{"name":"cache","emptyDir":{"medium":"Memory"}},)"
        R"({"name":"host","hostPath":{"path":")" +
        root_ +
        R"(/host","type":"Directory"}}],)"
        R"("initContainers":[{"name":"init","image":"x","volumeMounts":[{"name":"scratch","mountPath":"/s",)"
        R"("subPath":"init/work"}]}],)"
        R"("containers":[{"name":"app","image":"x","env":[{"name":"POD","valueFrom":{"fieldRef":)"
        R"({"fieldPath":"metadata.name"}}}],"volumeMounts":[)"
        R"J({"name":"scratch","mountPath":"/data","subPathExpr":"logs/$(POD)"},)J"
        R"({"name":"host","mountPath":"/h","subPath":"sub"}]}]})");
    std::vector<VolumeProblem> p = problems(pod);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT_EQUAL(std::string("cache"), p[0].volume);
    CPPUNIT_ASSERT(p[0].warning);

    std::string scratch = opts_.podsDir + "/" + kUid + "/volumes/kubernetes.io~empty-dir/scratch";
    CPPUNIT_ASSERT_EQUAL(scratch, emptyDirPath(kUid, "scratch", opts_));
    CPPUNIT_ASSERT(fs::is_directory(scratch));
    CPPUNIT_ASSERT_EQUAL(0777u, modeOf(scratch));
    CPPUNIT_ASSERT_EQUAL(0750u, modeOf(podDir(kUid, opts_)));
    CPPUNIT_ASSERT(fs::is_directory(emptyDirPath(kUid, "cache", opts_)));
    // subPaths get the volume root's mode.
    CPPUNIT_ASSERT(fs::is_directory(scratch + "/init/work"));
    CPPUNIT_ASSERT_EQUAL(0777u, modeOf(scratch + "/init/work"));
    CPPUNIT_ASSERT(fs::is_directory(scratch + "/logs/web-node1"));
    CPPUNIT_ASSERT(fs::is_directory(root_ + "/host/sub"));
    CPPUNIT_ASSERT_EQUAL(0750u, modeOf(root_ + "/host/sub"));
    // Idempotent.
    CPPUNIT_ASSERT_EQUAL(size_t{1}, problems(pod).size());
  }

  void testSubPathEscapeRefused() {
    fs::create_directories(root_ + "/vol");
    fs::create_directories(root_ + "/outside");
    fs::create_symlink(root_ + "/outside", root_ + "/vol/link");
    json::ObjectPtr pod = makePod(
        R"({"volumes":[{"name":"v","hostPath":{"path":")" + root_ +
        R"(/vol"}}],)"
        R"("containers":[{"name":"app","image":"x","volumeMounts":[{"name":"v","mountPath":"/x","subPath":"link/deeper"}]}]})");
    std::vector<VolumeProblem> p = problems(pod);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT_EQUAL(std::string("v"), p[0].volume);
    CPPUNIT_ASSERT(p[0].message.find("outside the volume") != std::string::npos);
  }

  void testUnsupportedVolumeType() {
    json::ObjectPtr pod = makePod(
        R"({"volumes":[{"name":"sec","secret":{"secretName":"s"}},{"name":"ok","emptyDir":{}}],"containers":[]})");
    std::vector<VolumeProblem> p = problems(pod);
    CPPUNIT_ASSERT_EQUAL(size_t{1}, p.size());
    CPPUNIT_ASSERT_EQUAL(std::string("sec"), p[0].volume);
    CPPUNIT_ASSERT(p[0].message.find("type secret is not supported") != std::string::npos);
    CPPUNIT_ASSERT(fs::is_directory(emptyDirPath(kUid, "ok", opts_)));
  }

  void testRemovePodDir() {
    json::ObjectPtr pod = makePod(R"({"volumes":[{"name":"scratch","emptyDir":{}}],"containers":[]})");
    CPPUNIT_ASSERT(problems(pod).empty());
    writeFile(emptyDirPath(kUid, "scratch", opts_) + "/data.txt");
    fs::create_directories(root_ + "/keep");
    fs::create_symlink(root_ + "/keep", emptyDirPath(kUid, "scratch", opts_) + "/link");
    CPPUNIT_ASSERT_EQUAL(opts_.podsDir + "/" + kUid, podDir(kUid, opts_));
    removePodDir(kUid, opts_);
    CPPUNIT_ASSERT(!fs::exists(podDir(kUid, opts_)));
    CPPUNIT_ASSERT(fs::is_directory(root_ + "/keep"));  // symlinks are removed, not followed
    CPPUNIT_ASSERT(fs::is_directory(opts_.podsDir));
    removePodDir(kUid, opts_);  // already gone: fine
    CPPUNIT_ASSERT_THROW(removePodDir("", opts_), std::runtime_error);
    CPPUNIT_ASSERT_THROW(removePodDir("..", opts_), std::runtime_error);
    CPPUNIT_ASSERT_THROW(removePodDir("a/b", opts_), std::runtime_error);
  }

  void testRemovePodDirRefusesMounts() {
    json::ObjectPtr pod = makePod(R"({"volumes":[{"name":"scratch","emptyDir":{}}],"containers":[]})");
    CPPUNIT_ASSERT(problems(pod).empty());
    std::string target = emptyDirPath(kUid, "scratch", opts_);
    if (::mount("tmpfs", target.c_str(), "tmpfs", 0, "size=1m") != 0) {
      // Needs CAP_SYS_ADMIN in this mount namespace; without it there is nothing to refuse.
      CPPUNIT_ASSERT_EQUAL(EPERM, errno);
      return;
    }
    writeFile(target + "/inside");
    bool refused = false;
    try {
      removePodDir(kUid, opts_);
    } catch (const std::runtime_error& e) {
      refused = std::string(e.what()).find("is still mounted") != std::string::npos;
    }
    bool stillThere = fs::exists(target + "/inside");
    CPPUNIT_ASSERT_EQUAL(0, ::umount(target.c_str()));
    CPPUNIT_ASSERT(refused);
    CPPUNIT_ASSERT(stillThere);
    removePodDir(kUid, opts_);
    CPPUNIT_ASSERT(!fs::exists(podDir(kUid, opts_)));
  }

 private:
  static constexpr const char* kUid = "0123456789abcdef0123456789abcdef";

  json::ObjectPtr hostPathPod(const std::string& path, const std::string& type) {
    std::string typeField = type.empty() ? "" : R"(,"type":")" + type + "\"";
    return makePod(
        R"({"volumes":[{"name":"vol","hostPath":{"path":")" + path + "\"" + typeField +
        R"(}}],"containers":[{"name":"app","image":"x","volumeMounts":[{"name":"vol","mountPath":"/v"}]}]})");
  }

  std::vector<VolumeProblem> problems(const json::ObjectPtr& pod) { return prepareVolumes(pod, opts_); }

  static unsigned modeOf(const std::string& path) {
    struct stat st {};
    CPPUNIT_ASSERT_EQUAL(0, ::stat(path.c_str(), &st));
    return st.st_mode & 07777;
  }

  static void writeFile(const std::string& path) {
    std::ofstream out(path);
    out << "x";
    CPPUNIT_ASSERT(out.good());
  }

  std::string root_;
  TranslateOptions opts_;
  mode_t oldUmask_ = 022;
};

CPPUNIT_TEST_SUITE_REGISTRATION(HostVolumesTest);
