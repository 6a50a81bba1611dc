#include "cachebus/actors/cache/removal_sink.hpp"

#include <algorithm>

namespace cachebus {

removal_sink::removal_sink(size_t max_queued)
    : max_queued_(std::max<size_t>(max_queued, 1)),
      listeners_(std::make_shared<const listener_list>()) {
  thread_ = std::thread{[this] { run(); }};
  thread_id_ = thread_.get_id();
}

removal_sink::~removal_sink() {
  stop();
}

void removal_sink::push(std::vector<removal>& batch) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& r : batch) {
      if (stopping_ || queue_.size() >= max_queued_) {
        ++dropped_;
        continue;
      }
      queue_.push_back(std::move(r));
      ++pushed_;
    }
  }
  batch.clear();
  wake_.notify_one();
}

uint64_t removal_sink::add(removal_listener fn, bool created) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto next = std::make_shared<listener_list>(*listeners_);
  auto id = next_id_++;
  next->push_back({id, std::move(fn), created});
  if (created)
    created_listeners_.fetch_add(1, std::memory_order_relaxed);
  listeners_ = std::move(next);
  return id;
}

void removal_sink::remove(uint64_t id) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto next = std::make_shared<listener_list>(*listeners_);
    std::erase_if(*next, [this, id](const listener& l) {
      if (l.id != id)
        return false;
      if (l.created)
        created_listeners_.fetch_sub(1, std::memory_order_relaxed);
      return true;
    });
    listeners_ = std::move(next);
  }
  // Wait out a call in progress, unless we are that call.
  if (std::this_thread::get_id() != thread_id_)
    std::lock_guard<std::mutex> wait{calling_};
}

bool removal_sink::has_listeners() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return !listeners_->empty();
}

bool removal_sink::drain(std::chrono::nanoseconds timeout) {
  std::unique_lock<std::mutex> guard{mtx_};
  auto target = pushed_;
  return delivered_.wait_for(
    guard, timeout, [&] { return delivered_count_ >= target || done_; });
}

removal_stats removal_sink::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  removal_stats s;
  s.delivered = delivered_count_;
  s.dropped = dropped_;
  s.failed = failed_;
  s.queued = queue_.size();
  return s;
}

void removal_sink::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable() && std::this_thread::get_id() != thread_id_)
    thread_.join();
}

void removal_sink::run() {
  std::deque<removal> batch;
  for (;;) {
    std::shared_ptr<const listener_list> ls;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      wake_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) { // stopping, and everything was delivered
        done_ = true;
        delivered_.notify_all();
        return;
      }
      batch.swap(queue_);
      ls = listeners_;
    }
    uint64_t failed = 0;
    for (auto& r : batch) {
      std::lock_guard<std::mutex> calling{calling_};
      {
        // A listener removed since (maybe by the one before) is not called.
        std::lock_guard<std::mutex> guard{mtx_};
        ls = listeners_;
      }
      for (auto& l : *ls) {
        if (r.cause == removal_cause::created && !l.created)
          continue;
        try {
          l.fn(r);
        } catch (...) {
          ++failed;
        }
      }
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      delivered_count_ += batch.size();
      failed_ += failed;
    }
    batch.clear();
    delivered_.notify_all();
  }
}

} // namespace cachebus
