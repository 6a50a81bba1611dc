// A fixed pool of plain threads with a bounded queue, for the blocking work
// of the node's asynchronous calls (a loader_fn runs on one of them, never
// on the caller's thread or a CAF worker). Private to the build.
// Thread-safe.
//
// - submit() never blocks: false if the queue is full or the pool stopped
//   (the task is not run and not kept).
// - stop() lets running tasks finish, calls every queued task with
//   `run = false` (so it can fail its caller) and joins the threads.
//   REQUIRES: not called from a task.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cachebus {

class task_pool {
 public:
  /// A task: `run` is false when the pool stops before it ran.
  using task = std::function<void(bool run)>;

  /// REQUIRES: threads >= 1, max_queued >= 1
  task_pool(size_t threads, size_t max_queued);

  /// Calls stop().
  ~task_pool();

  task_pool(const task_pool&) = delete;
  task_pool& operator=(const task_pool&) = delete;

  bool submit(task t);

  void stop();

 private:
  void run();

  const size_t max_queued_;
  std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace cachebus
