// DirSource.h - the `dir` source: a manifest directory (or single file) watched with inotify.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <podwarden/plugin.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "DirConfig.h"
#include "DirScanner.h"

namespace podwarden::source_dir {

// Emits the complete set of documents under config.path: once from inside start(), then from its own
// thread after inotify events (coalesced for kCoalesce), every rescan period, and every second while the
// path is missing or unreadable. A snapshot equal (byte for byte) to the last one emitted is not sent again.
//
// Threads: start/stop come from the host (serialized); everything else runs on the watcher thread, which
// stop() wakes through an eventfd and joins.
class DirSource : public pw::Source {
 public:
  // A burst of events (an editor's write + chmod + rename) settles within this window before one re-read.
  // Short on purpose: it adds to every manifest-to-container latency.
  static constexpr std::chrono::milliseconds kCoalesce{10};
  // kubelet retries a missing path every second.
  static constexpr std::chrono::seconds kRetry{1};

  DirSource(const pw::Host& host, std::string_view configJson, std::string_view nodeName);
  ~DirSource() override;

  void start(pw_emitter_host_ptr* emitter) override;
  void stop() noexcept override;

 private:
  using Clock = std::chrono::steady_clock;

  void run() noexcept;
  // Re-arms the watch if needed, scans, logs what changed since the last scan and emits if the set changed
  // (or always, with `force`).
  void refresh(bool force);
  // Watches the directory itself, or for a single file or a missing path, its parent (filtered by name).
  void ensureWatch(PathKind kind);
  void dropWatch();
  // Reads every pending inotify event; true if any of them can change the snapshot.
  bool drainEvents();
  void emit(const std::vector<Doc>& docs, bool force);
  void closeFds() noexcept;

  pw::Host host_;
  DirConfig config_;
  pw_emitter_host_ptr* emitter_ = nullptr;

  int inotifyFd_ = -1;
  int wakeFd_ = -1;  // eventfd; stop() writes to it
  std::thread thread_;

  // Watcher-thread state (also touched by start() before the thread exists).
  int wd_ = -1;
  std::string watchedDir_;
  std::string watchedName_;  // empty: every non-dot name in watchedDir_ matters; else only this name
  dev_t watchedDev_ = 0;
  ino_t watchedIno_ = 0;
  bool watchFailureLogged_ = false;
  std::optional<std::vector<Doc>> lastEmitted_;
  std::optional<PathKind> lastKind_;
  std::string lastProblem_;
  std::set<std::string> lastNotes_;
};

}  // namespace podwarden::source_dir
