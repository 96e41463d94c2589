#include "DirSource.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace podwarden::source_dir {
namespace {

// kubelet's file source reacts to create, write, chmod (as modify), remove and rename; close_write and
// moved_to catch rename-into-place, *_SELF tells us the watched directory itself went away.
constexpr uint32_t kWatchMask = IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE |
                                IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string baseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

pw_status statusForErrno(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOSPC ? PW_RESOURCE_EXHAUSTED
                                                                          : PW_INTERNAL;
}

}  // namespace

DirSource::DirSource(const pw::Host& host, std::string_view configJson, std::string_view /*nodeName*/)
    : host_(host), config_(parseDirConfig(configJson)) {}

DirSource::~DirSource() {
  stop();
}

void DirSource::start(pw_emitter_host_ptr* emitter) {
  if (thread_.joinable()) throw pw::Error(PW_FAILED_PRECONDITION, "source-dir: start called twice");
  emitter_ = emitter;
  try {
    inotifyFd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotifyFd_ < 0) {
      int err = errno;
      throw pw::Error(statusForErrno(err), std::string("source-dir: cannot create an inotify instance for ") +
                                               config_.path + ": " + std::strerror(err) +
                                               (err == EMFILE ? " (see fs.inotify.max_user_instances)" : ""));
    }
    wakeFd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd_ < 0) {
      int err = errno;
      throw pw::Error(statusForErrno(err), std::string("source-dir: eventfd failed: ") + std::strerror(err));
    }
    lastEmitted_.reset();
    lastKind_.reset();
    lastProblem_.clear();
    lastNotes_.clear();
    watchFailureLogged_ = false;
    // The first snapshot goes out before start() returns, so the host knows this source's set at once.
    refresh(true);
    thread_ = std::thread(&DirSource::run, this);
  } catch (...) {
    closeFds();
    emitter_ = nullptr;
    throw;
  }
}

void DirSource::stop() noexcept {
  if (thread_.joinable()) {
    uint64_t one = 1;
    // An eventfd write only fails when the counter would overflow, and then the thread is woken anyway.
    ssize_t ignored = ::write(wakeFd_, &one, sizeof(one));
    (void)ignored;
    thread_.join();
  }
  closeFds();
  emitter_ = nullptr;
}

void DirSource::closeFds() noexcept {
  if (inotifyFd_ >= 0) ::close(inotifyFd_);  // drops every watch with it
  if (wakeFd_ >= 0) ::close(wakeFd_);
  inotifyFd_ = wakeFd_ = -1;
  wd_ = -1;
  watchedDir_.clear();
  watchedName_.clear();
}

void DirSource::run() noexcept {
  Clock::time_point lastRefresh = Clock::now();
  Clock::time_point nextRescan = lastRefresh + config_.rescan;
  std::optional<Clock::time_point> pendingSince;
  for (;;) {
    try {
      bool healthy = wd_ >= 0 && (lastKind_ == PathKind::kDirectory || lastKind_ == PathKind::kFile);
      Clock::time_point now = Clock::now();
      Clock::time_point deadline = nextRescan;
      if (!healthy) deadline = std::min(deadline, lastRefresh + kRetry);
      if (pendingSince) deadline = std::min(deadline, *pendingSince + kCoalesce);
      int timeoutMs = 0;
      if (deadline > now) {
        timeoutMs = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
      }

      pollfd fds[2] = {{wakeFd_, POLLIN, 0}, {inotifyFd_, POLLIN, 0}};
      if (::poll(fds, 2, timeoutMs) < 0 && errno != EINTR) {
        host_.error(std::string("poll failed while watching ") + config_.path + ": " + std::strerror(errno));
        pendingSince = Clock::now();  // re-read after the coalescing window instead of spinning
      }
      if (fds[0].revents != 0) return;
      if (fds[1].revents != 0 && drainEvents() && !pendingSince) pendingSince = Clock::now();

      now = Clock::now();
      bool due = (pendingSince && now >= *pendingSince + kCoalesce) || now >= nextRescan ||
                 (!healthy && now >= lastRefresh + kRetry);
      if (!due) continue;
      pendingSince.reset();
      lastRefresh = now;
      nextRescan = now + config_.rescan;
      refresh(false);
    } catch (const std::exception& e) {
      host_.error(std::string("re-reading ") + config_.path + " failed: " + e.what());
      pendingSince.reset();
      lastRefresh = Clock::now();
    }
  }
}

void DirSource::refresh(bool force) {
  std::string problem;
  ensureWatch(examinePath(config_.path, &problem));
  ScanResult scan = scanPath(config_);

  if (!lastKind_ || *lastKind_ != scan.kind || lastProblem_ != scan.problem) {
    switch (scan.kind) {
      case PathKind::kMissing:
        // kubelet: "path does not exist, ignoring"; an empty set, and the path is checked again every second.
        host_.info(config_.path + " does not exist; its set is empty until it appears");
        break;
      case PathKind::kOther:
        host_.error(scan.problem + "; its set is empty");
        break;
      case PathKind::kError:
        host_.warning(scan.problem + "; keeping the previous set and retrying every second");
        break;
      case PathKind::kDirectory:
      case PathKind::kFile:
        if (lastKind_) {
          host_.info(config_.path + (*lastKind_ == PathKind::kMissing ? " appeared" : " is readable again"));
        }
        break;
    }
  }
  lastKind_ = scan.kind;
  lastProblem_ = scan.problem;

  std::set<std::string> notes;
  for (const ScanNote& note : scan.notes) {
    if (lastNotes_.count(note.message) == 0) host_.log(note.level, note.message);
    notes.insert(note.message);
  }
  lastNotes_ = std::move(notes);

  // A listing that failed says nothing about the files: the previous set stands (kubelet logs and skips).
  if (scan.kind == PathKind::kError) return;
  emit(scan.docs, force);
}

void DirSource::ensureWatch(PathKind kind) {
  std::string dir = config_.path;
  std::string name;
  if (kind != PathKind::kDirectory) {
    dir = parentOf(config_.path);
    name = baseOf(config_.path);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    dropWatch();  // nothing to watch yet; the one-second retry notices when it appears
    return;
  }
  if (wd_ >= 0 && dir == watchedDir_ && name == watchedName_ && st.st_dev == watchedDev_ &&
      st.st_ino == watchedIno_) {
    return;
  }
  int wd = ::inotify_add_watch(inotifyFd_, dir.c_str(), kWatchMask);
  if (wd < 0) {
    int err = errno;
    if (!watchFailureLogged_) {
      host_.warning("cannot watch " + dir + ": " + std::strerror(err) +
                    (err == ENOSPC ? " (see fs.inotify.max_user_watches)" : "") +
                    "; re-reading it every second");
      watchFailureLogged_ = true;
    }
    dropWatch();
    return;
  }
  watchFailureLogged_ = false;
  // Watching the same inode again returns the same descriptor; only a different one replaces the old watch.
  if (wd_ >= 0 && wd_ != wd) ::inotify_rm_watch(inotifyFd_, wd_);
  wd_ = wd;
  watchedDir_ = dir;
  watchedName_ = name;
  watchedDev_ = st.st_dev;
  watchedIno_ = st.st_ino;
}

void DirSource::dropWatch() {
  if (wd_ >= 0) ::inotify_rm_watch(inotifyFd_, wd_);
  wd_ = -1;
  watchedDir_.clear();
  watchedName_.clear();
}

bool DirSource::drainEvents() {
  alignas(struct inotify_event) char buffer[16 * 1024];
  bool relevant = false;
  for (;;) {
    ssize_t n = ::read(inotifyFd_, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        host_.warning(std::string("reading inotify events for ") + config_.path +
                      " failed: " + std::strerror(errno));
        relevant = true;
      }
      return relevant;
    }
    if (n == 0) return relevant;
    for (char* p = buffer; p < buffer + n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        relevant = true;  // events were lost: only a full re-read is safe
        continue;
      }
      if (event->wd != wd_ || wd_ < 0) continue;  // a watch dropped earlier
      if (event->mask & IN_IGNORED) {             // the kernel removed the watch (directory deleted)
        wd_ = -1;
        relevant = true;
        continue;
      }
      if (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        dropWatch();
        relevant = true;
        continue;
      }
      std::string_view name = event->len > 0 ? std::string_view(event->name) : std::string_view();
      if (watchedName_.empty()) {
        // kubelet drops events for dot files; a rename-into-place shows up as moved_to of the final name.
        if (name.empty() || name.front() != '.') relevant = true;
      } else if (name == watchedName_) {
        relevant = true;
      }
    }
  }
}

void DirSource::emit(const std::vector<Doc>& docs, bool force) {
  if (!force && lastEmitted_ && *lastEmitted_ == docs) return;
  std::vector<pw_manifest_doc> raw;
  raw.reserve(docs.size());
  for (const Doc& d : docs)
    raw.push_back(pw::manifestDoc(d.origin, d.contentType, d.data, d.error, d.warning));
  pw_status status = host_.emitSnapshot(emitter_, raw);
  if (status != PW_OK) {
    host_.warning("the host did not take the " + std::to_string(docs.size()) + " documents of " +
                  config_.path + " (status " + std::to_string(status) +
                  "); they are sent again at the next change or rescan");
    lastEmitted_.reset();
    return;
  }
  host_.debug("sent " + std::to_string(docs.size()) + " documents from " + config_.path);
  lastEmitted_ = docs;
}

}  // namespace podwarden::source_dir
