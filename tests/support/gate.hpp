// A one-shot gate for tests that stage interleavings between threads:
// wait() blocks until open() (bounded, so a broken test fails instead of
// hanging) and returns whether it opened. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace cachebus::test {

class gate {
 public:
  void open() {
    std::lock_guard<std::mutex> g{mtx_};
    open_ = true;
    cv_.notify_all();
  }

  bool wait(std::chrono::seconds bound = std::chrono::seconds{30}) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, bound, [this] { return open_; });
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
};

} // namespace cachebus::test
