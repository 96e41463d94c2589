// SystemdNotifyTest: the sd_notify datagram reaches a socket named by $NOTIFY_SOCKET (path or abstract).
#include <cppunit/extensions/HelperMacros.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "util/SystemdNotify.h"

namespace {

// A bound datagram socket; `name` starting with '@' is abstract.
class Receiver {
 public:
  explicit Receiver(const std::string& name) : name_(name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    if (name[0] == '@') {
      addr.sun_path[0] = '\0';
    } else {
      ::unlink(name.c_str());
      len += 1;
    }
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Receiver() {
    ::close(fd_);
    if (name_[0] != '@') ::unlink(name_.c_str());
  }
  bool bound() const { return bound_; }
  std::string receive() {
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

}  // namespace

class SystemdNotifyTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(SystemdNotifyTest);
  CPPUNIT_TEST(testPathSocket);
  CPPUNIT_TEST(testAbstractSocket);
  CPPUNIT_TEST(testNoSocketIsANoOp);
  CPPUNIT_TEST_SUITE_END();

 public:
  void tearDown() override { ::unsetenv("NOTIFY_SOCKET"); }

  void testPathSocket() {
    const std::string path = "/tmp/pw-notify-test-" + std::to_string(::getpid());
    Receiver r(path);
    CPPUNIT_ASSERT(r.bound());
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    CPPUNIT_ASSERT(podwarden::systemdNotify("READY=1\nSTATUS=ok"));
    CPPUNIT_ASSERT_EQUAL(std::string("READY=1\nSTATUS=ok"), r.receive());
  }

  void testAbstractSocket() {
    const std::string name = "@pw-notify-test-" + std::to_string(::getpid());
    Receiver r(name);
    CPPUNIT_ASSERT(r.bound());
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
    CPPUNIT_ASSERT(podwarden::systemdNotify("STOPPING=1"));
    CPPUNIT_ASSERT_EQUAL(std::string("STOPPING=1"), r.receive());
  }

  void testNoSocketIsANoOp() {
    ::unsetenv("NOTIFY_SOCKET");
    CPPUNIT_ASSERT(!podwarden::systemdNotify("READY=1"));
    ::setenv("NOTIFY_SOCKET", "/nonexistent/notify.sock", 1);
    CPPUNIT_ASSERT(!podwarden::systemdNotify("READY=1"));
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SystemdNotifyTest);
