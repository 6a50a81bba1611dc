#include "cachebus/actors/node/task_pool.hpp"

#include <algorithm>

namespace cachebus {

task_pool::task_pool(size_t threads, size_t max_queued)
    : max_queued_(std::max<size_t>(max_queued, 1)) {
  threads = std::max<size_t>(threads, 1);
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] { run(); });
}

task_pool::~task_pool() {
  stop();
}

bool task_pool::submit(task t) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_ || queue_.size() >= max_queued_)
      return false;
    queue_.push_back(std::move(t));
  }
  wake_.notify_one();
  return true;
}

void task_pool::stop() {
  std::deque<task> left;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (stopping_)
      return;
    stopping_ = true;
    left.swap(queue_);
  }
  wake_.notify_all();
  for (auto& t : left)
    t(false);
  for (auto& th : threads_)
    th.join();
}

void task_pool::run() {
  for (;;) {
    task t;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      wake_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;
      t = std::move(queue_.front());
      queue_.pop_front();
    }
    t(true);
  }
}

} // namespace cachebus
