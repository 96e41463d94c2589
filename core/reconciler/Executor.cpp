#include "reconciler/Executor.h"

#include <algorithm>

namespace podwarden {

WorkerPool::WorkerPool(size_t maxThreads, std::chrono::milliseconds idle)
    : maxThreads_(std::max<size_t>(1, maxThreads)), idle_(idle) {}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::submit(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  tasks_.push_back(std::move(task));
  if (idleCount_ >= tasks_.size() || alive_ >= maxThreads_) {
    cv_.notify_one();
    return;
  }
  // Join the threads that left after idling, so that threads_ holds at most maxThreads_ live ones.
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (std::find(exited_.begin(), exited_.end(), it->get_id()) == exited_.end()) {
      ++it;
      continue;
    }
    it->join();
    it = threads_.erase(it);
  }
  exited_.clear();
  ++alive_;
  threads_.emplace_back([this] { work(); });
}

size_t WorkerPool::threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return alive_;
}

void WorkerPool::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idleCount_;
    const bool woke = cv_.wait_for(lock, idle_, [&] { return stopping_ || !tasks_.empty(); });
    --idleCount_;
    if (tasks_.empty() && (stopping_ || !woke)) {
      --alive_;
      exited_.push_back(std::this_thread::get_id());
      return;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace podwarden
