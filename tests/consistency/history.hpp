// A history of one randomized concurrent run: every operation on a key with
// its real-time interval (steady clock, the clock cachebus nodes use) and the
// version it saw or made the truth. The checker (checker.hpp) decides from a
// history alone whether the cache behaved. Thread-safe: each worker thread
// appends to its own log; merge() collects them once the threads are done.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cachebus::consistency {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

/// What one operation did to one key.
struct op {
  enum kind_t : uint8_t {
    /// Returned the value of `version` (or nothing: a miss).
    read,
    /// Completed a write of `version`: a read that begins later must see it
    /// or a newer one (or miss).
    write,
    /// Completed an invalidation issued when the truth of the key was
    /// `version`: a read that begins later must see it or a newer one.
    invalidate,
  };
  kind_t kind = read;
  std::string key;
  int64_t start = 0;
  int64_t end = 0;
  /// read: nullopt is a miss.
  std::optional<uint64_t> version;
  /// The node the operation ran on (cluster histories).
  int node = 0;
  int thread = 0;
  /// Which call it was, for the report ("fetch", "invalidate_tag t:1", ...).
  std::string what;
  /// read: the value came from the set with this serial (see set_done),
  /// whose TTL is checked; 0 if it came from a load.
  uint64_t set_serial = 0;
};

/// The truth after quiescence, per key: the version the system of record
/// holds, and what the cache of each node held (nullopt: nothing).
struct final_state {
  std::string key;
  uint64_t truth = 0;
  int node = 0;
  std::optional<uint64_t> cached;
};

/// Collects the operations of one history.
class history {
 public:
  explicit history(size_t threads) : logs_(threads) {
    // nop
  }

  /// REQUIRES: `thread` < threads; only that thread appends to its log.
  void add(int thread, op x) {
    x.thread = thread;
    logs_[static_cast<size_t>(thread)].push_back(std::move(x));
  }

  /// Two loads of one key ran at once on one node (any thread).
  void overlapping_load(const std::string& key, int node) {
    std::lock_guard<std::mutex> guard{mtx_};
    overlaps_.push_back("node " + std::to_string(node) + ": two loads of \""
                        + key + "\" at once");
  }

  /// The set with `serial` (> 0) on `node` ended at `end` with a TTL of
  /// `ttl_ns`. (Only that node's copy has that TTL: another node that gets
  /// the value from it as the key's owner caches it with its own.)
  void set_done(uint64_t serial, int node, int64_t end, int64_t ttl_ns) {
    std::lock_guard<std::mutex> guard{mtx_};
    sets_.push_back({serial, node, end, ttl_ns});
  }

  struct set_record {
    uint64_t serial;
    int node;
    int64_t end;
    int64_t ttl_ns;
  };

  std::vector<set_record> sets() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return sets_;
  }

  /// An operation failed in a way the history does not allow.
  void unexpected(std::string what) {
    std::lock_guard<std::mutex> guard{mtx_};
    unexpected_.push_back(std::move(what));
  }

  std::vector<std::string> unexpected_errors() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return unexpected_;
  }

  void add_final(final_state s) {
    std::lock_guard<std::mutex> guard{mtx_};
    finals_.push_back(std::move(s));
  }

  /// REQUIRES: every worker thread has finished.
  std::vector<op> merge() const {
    std::vector<op> all;
    for (auto& log : logs_)
      all.insert(all.end(), log.begin(), log.end());
    return all;
  }

  std::vector<std::string> overlaps() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return overlaps_;
  }

  std::vector<final_state> finals() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return finals_;
  }

 private:
  std::vector<std::vector<op>> logs_;
  mutable std::mutex mtx_;
  std::vector<std::string> overlaps_;
  std::vector<final_state> finals_;
  std::vector<set_record> sets_;
  std::vector<std::string> unexpected_;
};

} // namespace cachebus::consistency
