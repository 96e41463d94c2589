// Executor.h - where the reconciler runs pod syncs and terminations: a seam, so that tests run them inline
// and the daemon on a bounded pool of reused threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace podwarden {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` some time later (or now, on the caller's thread). Tasks must not throw.
  virtual void submit(std::function<void()> task) = 0;
};

// Runs every task at once on the caller's thread (tests).
class InlineExecutor : public Executor {
 public:
  void submit(std::function<void()> task) override { task(); }
};

// Up to `maxThreads` threads, started when tasks wait and none is idle, each leaving after `idle` without
// work; tasks beyond that wait in order. The destructor runs the waiting tasks, then joins every thread.
class WorkerPool : public Executor {
 public:
  WorkerPool(size_t maxThreads, std::chrono::milliseconds idle);
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> task) override;
  // Threads alive now (for tests and metrics).
  size_t threads() const;

 private:
  void work();

  const size_t maxThreads_;
  const std::chrono::milliseconds idle_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;     // every thread started; finished ones are joined at the next start
  std::vector<std::thread::id> exited_;  // threads that left after idling
  size_t alive_ = 0;
  size_t idleCount_ = 0;
  bool stopping_ = false;
};

}  // namespace podwarden
