// DaemonNotifyTest: `podwarden run` under a Type=notify unit tells systemd READY=1 once it runs and
// STOPPING=1 on SIGTERM (a fake $NOTIFY_SOCKET stands in for systemd).
#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

}  // namespace

class DaemonNotifyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(DaemonNotifyTest);
  CPPUNIT_TEST(testReadyThenStopping);
  CPPUNIT_TEST_SUITE_END();

 public:
  void testReadyThenStopping() {
    const std::string work = "/tmp/pw-notify-" + std::to_string(::getpid());
    const std::string manifests = work + "/manifests";
    CPPUNIT_ASSERT_EQUAL(0, std::system(("mkdir -p " + manifests).c_str()));
    const std::string sockPath = work + "/notify.sock";

    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sockPath.c_str(), sizeof(addr.sun_path) - 1);
    CPPUNIT_ASSERT_EQUAL(0, ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
    timeval tv{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    const std::string bin = env("PODWARDEN_BIN");
    CPPUNIT_ASSERT_MESSAGE("PODWARDEN_BIN is set (run through ctest)", !bin.empty());
    std::vector<std::string> args = {bin,
                                     "run",
                                     "--pod-manifest-path",
                                     manifests,
                                     "--hostname-override",
                                     "notify-" + std::to_string(::getpid()),
                                     "--plugin-dir",
                                     env("PODWARDEN_PLUGIN_DIR"),
                                     "--container-runtime-endpoint",
                                     env("PODWARDEN_DOCKER_HOST", "unix:///run/podwarden-test/docker.sock"),
                                     "--pods-dir",
                                     work + "/pods",
                                     "--log-dir",
                                     work + "/logs"};
    pid_t pid = ::fork();
    CPPUNIT_ASSERT(pid >= 0);
    if (pid == 0) {
      ::setenv("NOTIFY_SOCKET", sockPath.c_str(), 1);
      std::string log = work + "/daemon.log";
      FILE* out = std::freopen(log.c_str(), "w", stderr);
      (void)out;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    auto receive = [&] {
      char buf[512];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    };
    std::string ready = receive();
    CPPUNIT_ASSERT_MESSAGE("expected READY=1, got \"" + ready + "\"", ready.rfind("READY=1", 0) == 0);
    CPPUNIT_ASSERT(ready.find("STATUS=running as node notify-") != std::string::npos);

    CPPUNIT_ASSERT_EQUAL(0, ::kill(pid, SIGTERM));
    std::string stopping = receive();
    CPPUNIT_ASSERT_EQUAL(std::string("STOPPING=1"), stopping);
    int status = 0;
    CPPUNIT_ASSERT_EQUAL(pid, ::waitpid(pid, &status, 0));
    CPPUNIT_ASSERT(WIFEXITED(status));
    CPPUNIT_ASSERT_EQUAL(0, WEXITSTATUS(status));
    ::close(fd);
    std::system(("rm -rf " + work).c_str());
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DaemonNotifyTest);
