#include "AtomicFile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

namespace podwarden::sink_file {
namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p. Existing directories (or symlinks to them) are fine.
void makeDirectories(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) fail(ENOTDIR, "cannot create directory " + dir);
    return;
  }
  if (errno != ENOENT) fail(errno, "cannot examine " + dir);
  std::string parent = parentOf(dir);
  if (parent != dir) makeDirectories(parent);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) fail(errno, "cannot create directory " + dir);
}

void writeAll(int fd, std::string_view content, const std::string& tmp) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "cannot write " + tmp);
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
}

std::atomic<unsigned> gTempCounter{0};

}  // namespace

void writeFileAtomically(const std::string& path, std::string_view content) {
  const std::string dir = parentOf(path);
  makeDirectories(dir);
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = (dir == "/" ? "" : dir) + "/." + base + ".tmp-" + std::to_string(::getpid()) + "-" +
                    std::to_string(gTempCounter.fetch_add(1));

  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) fail(errno, "cannot create " + tmp);
  try {
    writeAll(fd, content, tmp);
    // The umask may have narrowed the mode given to open; readers (monitoring agents) need 0644.
    if (::fchmod(fd, 0644) != 0) fail(errno, "cannot chmod " + tmp);
    if (::fsync(fd) != 0) fail(errno, "cannot fsync " + tmp);
    int closeRc = ::close(fd);
    fd = -1;
    if (closeRc != 0) fail(errno, "cannot close " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail(errno, "cannot rename " + tmp + " to " + path);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0) fail(errno, "cannot open directory " + dir + " to fsync it");
  int rc = ::fsync(dirFd);
  int err = errno;
  ::close(dirFd);
  if (rc != 0) fail(err, "cannot fsync directory " + dir);
}

}  // namespace podwarden::sink_file
