// What this node's cache has taken in of every origin's invalidation events:
// per origin, the highest sequence number seen here. Cluster single flight
// compares these clocks so that an owner node's answer never predates an
// invalidation the asking node applied before its load began: a requester
// keeps its `needed` clock from when its load began, and an answer whose
// owner `applied` clock (when its load began, or at its hit) does not cover
// it is not installed; the requester loads the key itself. Both clocks err
// on the safe side: `needed` counts an event from the moment it begins to be
// applied (own events: from the moment the caller begins), `applied` only
// once it has been applied. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

namespace cachebus {

class event_source;

/// Origin -> highest sequence number; a plain value that crosses nodes.
struct event_clock {
  std::vector<std::string> origins;
  std::vector<uint64_t> sequences;

  /// The sequence of `origin`, 0 if absent.
  uint64_t of(const std::string& origin) const;

  /// True if this clock has every origin of `need` at least as far. Gone
  /// peers count too: the asker applied their last events, and an owner that
  /// never will may still cache what those events invalidated.
  bool covers(const event_clock& need) const;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_clock& x) {
  return f(caf::meta::type_name("cachebus::event_clock"), x.origins,
           x.sequences);
}

class applied_events {
 public:
  explicit applied_events(std::shared_ptr<const event_source> self);

  /// An event of `origin` with `seq` is about to be applied here, and has
  /// been: the invalidation listener calls one before and one after
  /// applying it.
  void applying(const std::string& origin, uint64_t seq);
  void applied(const std::string& origin, uint64_t seq);

  /// The partition rule just dropped everything `origin` could have made
  /// stale, as a new session with it begins after its event `seq`: count its
  /// events up to `seq` as applied, in both clocks, even if that is lower
  /// than before (a restarted peer's sequence restarts).
  void reset(const std::string& origin, uint64_t seq);

  /// This node's own invalidation begins (before it touches the cache) and
  /// ends (after its event is published): while it runs, the clock counts
  /// its event as applied.
  void begin_local() noexcept;
  void end_local() noexcept;

  /// What an answer to a load beginning now must cover.
  event_clock needed() const;

  /// What the cache has applied by now (an owner's answers carry it).
  event_clock applied() const;

 private:
  event_clock snapshot(const std::map<std::string, uint64_t>& seqs,
                       uint64_t own) const;

  std::shared_ptr<const event_source> self_;
  std::atomic<uint64_t> local_{0};
  mutable std::mutex mtx_;
  std::map<std::string, uint64_t> applying_;
  std::map<std::string, uint64_t> applied_;
};

/// Brackets one local invalidation: begin_local() now, end_local() at scope
/// exit (after the event was published).
class local_invalidation {
 public:
  explicit local_invalidation(applied_events& a) : a_(a) { a_.begin_local(); }
  ~local_invalidation() { a_.end_local(); }
  local_invalidation(const local_invalidation&) = delete;
  local_invalidation& operator=(const local_invalidation&) = delete;

 private:
  applied_events& a_;
};

} // namespace cachebus
