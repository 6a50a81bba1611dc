// The delivery side of removal notifications (removal.hpp): a bounded queue
// that shard tables fill under their own lock, and one thread that hands
// each notification to every registered listener, never under a table's
// lock. Private to the build; node::on_removal is the API. Thread-safe.
//
// - push() never blocks on a listener: a full queue drops (counted).
// - One delivery thread, started with the sink: listeners run one at a
//   time, in queue order. A table pushes while it holds its lock, so one
//   shard's removals are queued (and delivered) in the order it applied them.
// - A listener that throws is counted and delivery goes on.
// - remove(id) returns once that listener is not running and will not be
//   called again (from inside a listener: it will not be called again).
// - stop() delivers what is queued, then joins the thread; pushes after it
//   are dropped. REQUIRES: not called from a listener, nor concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cachebus/actors/cache/removal.hpp"

namespace cachebus {

using removal_listener = std::function<void(const removal&)>;

class removal_sink {
 public:
  /// REQUIRES: max_queued >= 1
  explicit removal_sink(size_t max_queued);

  /// Calls stop().
  ~removal_sink();

  removal_sink(const removal_sink&) = delete;
  removal_sink& operator=(const removal_sink&) = delete;

  /// Queues `batch` (moved from; left empty) as far as room allows.
  void push(std::vector<removal>& batch);

  /// Registers `fn`; returns its id (never 0). With `created`, it is also
  /// told of removal_cause::created; the others never are.
  uint64_t add(removal_listener fn, bool created = false);

  /// True while a listener that wants creations is registered: only then
  /// do tables report them (a relaxed read, on the write path).
  bool wants_created() const noexcept {
    return created_listeners_.load(std::memory_order_relaxed) > 0;
  }

  /// Unregisters listener `id` (no-op if unknown); see above.
  void remove(uint64_t id);

  /// True while at least one listener is registered.
  bool has_listeners() const;

  /// Waits until everything queued before the call has been delivered, at
  /// most `timeout`; true if it was.
  bool drain(std::chrono::nanoseconds timeout);

  removal_stats stats() const;

  void stop();

 private:
  struct listener {
    uint64_t id;
    removal_listener fn;
    bool created;
  };
  using listener_list = std::vector<listener>;

  void run();

  const size_t max_queued_;
  mutable std::mutex mtx_;
  std::condition_variable wake_;      // the thread: work or stop
  std::condition_variable delivered_; // drain(): progress
  std::deque<removal> queue_;
  // Copied on change, so that the thread calls listeners without mtx_.
  std::shared_ptr<const listener_list> listeners_;
  uint64_t next_id_ = 1;
  std::atomic<uint32_t> created_listeners_{0};
  uint64_t pushed_ = 0; // notifications queued so far
  uint64_t delivered_count_ = 0;
  uint64_t dropped_ = 0;
  uint64_t failed_ = 0;
  bool stopping_ = false;
  bool done_ = false; // the thread has exited
  // Held by the thread while it calls listeners: remove() waits on it.
  std::mutex calling_;
  std::thread thread_;
  std::thread::id thread_id_;
};

} // namespace cachebus
