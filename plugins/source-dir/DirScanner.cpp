#include "DirScanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <podwarden/abi.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace podwarden::source_dir {
namespace {

bool endsWithNoCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), s.end() - suffix.size(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

std::string errnoText(int err) {
  return std::strerror(err);
}

std::string contentTypeFor(const std::string& path) {
  return endsWithNoCase(path, ".json") ? "application/json" : "application/yaml";
}

const char* fileTypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

std::string tooLarge(const std::string& path, const std::string& size, uint64_t limit) {
  return path + ": file is " + size + " bytes, larger than the " + describeBytes(limit) + " manifest limit";
}

}  // namespace

bool looksLikeBackup(const std::string& name) {
  static constexpr std::array<std::string_view, 11> kSuffixes = {
      ".bak",      ".swp",      ".swo",       ".orig",    ".rej",   ".tmp",
      ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".rpmsave", ".rpmnew"};
  if (name.empty()) return false;
  if (name.back() == '~') return true;
  if (name.size() >= 2 && name.front() == '#' && name.back() == '#') return true;  // emacs auto-save
  for (std::string_view suffix : kSuffixes) {
    if (name.size() > suffix.size() && endsWithNoCase(name, suffix)) return true;
  }
  return false;
}

PathKind examinePath(const std::string& path, std::string* problem) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return PathKind::kMissing;
    if (problem) *problem = "cannot examine " + path + ": " + errnoText(err);
    return PathKind::kError;
  }
  if (S_ISDIR(st.st_mode)) return PathKind::kDirectory;
  if (S_ISREG(st.st_mode)) return PathKind::kFile;
  if (problem)
    *problem = path + " is " + fileTypeName(st.st_mode) + ", neither a directory nor a regular file";
  return PathKind::kOther;
}

Doc readManifestFile(const std::string& path, uint64_t maxFileBytes) {
  Doc doc;
  doc.origin = path;
  doc.contentType = contentTypeFor(path);
  // O_NONBLOCK: if the entry was swapped for a FIFO since it was listed, open must not hang.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    doc.error = path + ": cannot open: " + errnoText(errno);
    return doc;
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    doc.error = path + ": cannot stat: " + errnoText(errno);
    return doc;
  }
  if (!S_ISREG(st.st_mode)) {
    doc.error = path + " is " + fileTypeName(st.st_mode);
    return doc;
  }
  if (static_cast<uint64_t>(st.st_size) > maxFileBytes) {
    doc.error = tooLarge(path, std::to_string(st.st_size), maxFileBytes);
    return doc;
  }
  // The size may change under us (a writer appending): read at most one byte past the limit to notice.
  std::string data;
  data.resize(static_cast<size_t>(st.st_size) + 1);
  size_t used = 0;
  for (;;) {
    if (used == data.size()) {
      if (used > maxFileBytes) break;
      data.resize(std::min<uint64_t>(maxFileBytes + 1, std::max<uint64_t>(used * 2, 4096)));
    }
    ssize_t n = ::read(fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      doc.error = path + ": read failed: " + errnoText(errno);
      return doc;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > maxFileBytes) {
    doc.error = tooLarge(path, "more than " + std::to_string(maxFileBytes), maxFileBytes);
    return doc;
  }
  data.resize(used);
  doc.data = std::move(data);
  return doc;
}

ScanResult scanPath(const DirConfig& config) {
  ScanResult result;
  const std::string& root = config.path;
  result.kind = examinePath(root, &result.problem);
  if (result.kind == PathKind::kFile) {
    result.docs.push_back(readManifestFile(root, config.maxFileBytes));
    return result;
  }
  if (result.kind != PathKind::kDirectory) return result;

  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      result.kind = PathKind::kMissing;  // removed between stat and opendir
    } else {
      result.kind = PathKind::kError;
      result.problem = "cannot list " + root + ": " + errnoText(err);
    }
    return result;
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) {
        int err = errno;
        ::closedir(dir);
        result.kind = PathKind::kError;
        result.problem = "cannot list " + root + ": " + errnoText(err);
        return result;
      }
      break;
    }
    // kubelet globs "[^.]*": dot files (editor swap files, rename-into-place temporaries) are never read.
    if (entry->d_name[0] == '.') continue;
    names.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());

  const std::string prefix = root == "/" ? root : root + "/";
  for (const std::string& name : names) {
    std::string path = prefix + name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      int err = errno;
      if (err != ENOENT) {
        result.notes.push_back({PW_LOG_WARNING, "skipping " + path + ": cannot stat: " + errnoText(err)});
      } else {
        // Gone since the listing, or a dangling symlink; the next event or rescan settles it.
        result.notes.push_back({PW_LOG_INFO, "skipping " + path + ": it does not resolve to a file"});
      }
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      result.notes.push_back({PW_LOG_INFO, "not recursing into " + path});
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      result.notes.push_back({PW_LOG_WARNING, "skipping " + path + ": it is " + fileTypeName(st.st_mode) +
                                                  ", not a manifest file"});
      continue;
    }
    bool backup = looksLikeBackup(name);
    if (backup && config.ignoreBackupFiles) {
      result.notes.push_back(
          {PW_LOG_INFO,
           "skipping " + path + ": looks like an editor or backup copy (ignoreBackupFiles is on)"});
      continue;
    }
    Doc doc = readManifestFile(path, config.maxFileBytes);
    if (backup) {
      doc.warning =
          "looks like an editor or backup copy; it is read like any manifest — move it out of " + root;
    }
    result.docs.push_back(std::move(doc));
  }
  return result;
}

}  // namespace podwarden::source_dir
