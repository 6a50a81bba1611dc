// One shard's table: the entries of one partition of the key space. It plays
// the role of an ETS table owned by a GenServer: any thread may read it
// directly (shared lock, no actor round trip), and every mutation takes the
// exclusive lock, so all writes, erasures, evictions and sweeps of a key
// happen in one order. The shard actor that owns the table runs its sweeps;
// callers on plain threads write through the node facade. Thread-safe. Keys
// and values are validated by the caller (node_options::check_*); the table
// trusts them.
//
// The table holds the lock, the entry map, the optional ordered index of the
// keys (a glob is served from its literal prefix: O(log n + matching range),
// never a full scan), the dependency edges of its entries (dependency_graph;
// removing an entry for any reason removes its edges) and the counters, and
// orchestrates its parts, each in its own file and each guarded by this lock:
//   sieve_queue   the eviction order (SIEVE: a hit only sets a bit)
//   expiry_wheel  when each entry's memory goes; sweep() frees due buckets
//   tag_index     tag states: O(1) tag invalidation, reclaimed by sweep()
//   fill_leases   loads in flight, and what cancels them
//
// Fills (no stale fill; every write wins): a loader registers a fill before it
// reads the source. Any later write of the key (put, begin_write, a later
// begin_fill) and any invalidation of it (or of any tag, pattern or
// dependency reaching it) cancels the fill, and complete_fill() then refuses
// to install the value it loaded. An entry may also keep a grace window after
// expiry, during which only lookup() (for stale-while-revalidate /
// stale-if-error) still sees it.
//
// Removal notifications (removal.hpp): with a sink set, every entry that
// leaves the table (or, for a tag, becomes unreadable) is reported once,
// with its cause, into the sink while the lock is held (so one table's
// reports are queued in its lock order); the sink calls listeners on its
// own thread, never under this lock. Without a sink nothing is collected
// (one branch on the mutation paths, nothing on reads).
//
// Versions never go backwards: a value with a source version ("sourced")
// older than the sourced version cached under its key is refused, whether
// it arrives by put() or by complete_fill(). Unsourced values (version 0:
// the shard assigns its next counter value) say nothing about the source,
// so they are never refused and never refuse; they replace what is cached
// (last writer in lock order wins) and every versioned invalidation
// removes them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <absl/container/btree_set.h>

#include "cachebus/actors/cache/expire_condition.hpp"
#include "cachebus/actors/cache/expiry_wheel.hpp"
#include "cachebus/actors/cache/fill_leases.hpp"
#include "cachebus/actors/cache/hashed_key.hpp"
#include "cachebus/actors/cache/line_index.hpp"
#include "cachebus/actors/cache/put_condition.hpp"
#include "cachebus/actors/cache/read_mostly_mutex.hpp"
#include "cachebus/actors/cache/removal.hpp"
#include "cachebus/actors/cache/shard_messages.hpp"
#include "cachebus/actors/cache/sieve_queue.hpp"
#include "cachebus/actors/cache/tag_index.hpp"

namespace cachebus {

class time_source;
class dependency_graph;
class removal_sink;

/// Why a mutation removes entries, for removal notifications: the cause
/// reported for an entry still alive when it goes, and the event's origin.
struct removal_reason {
  removal_cause cause = removal_cause::key;
  std::string_view origin;
};

class shard_table {
 public:
  struct limits {
    size_t max_entries;
    size_t max_bytes;
    int64_t tick_ns; // width of one expiry bucket (the sweep interval)
    bool ordered_index = true; // needed by erase_matching
  };

  /// Sizes of the table's indexes (for tests and stats).
  struct index_sizes {
    size_t entries = 0;
    size_t ordered = 0;   // keys in the ordered index
    size_t live_tags = 0; // tags with a live state
    size_t dead_tags = 0; // invalidated states awaiting reclamation
    size_t tag_links = 0; // entry-to-tag links
    size_t buckets = 0;   // expiry wheel buckets
  };

  /// The parts an entry stores only when it uses them.
  struct entry_parts {
    bool expiry = false;     // it expires (its wheel links and expiry: 32 B)
    bool tags = false;       // it is tagged (a pointer to its tags: 8 B)
    bool fill_times = false; // a fill set a grace window or load time (16 B)

    static constexpr entry_parts all() noexcept { return {true, true, true}; }
  };

  /// What an entry with a key and a value of these sizes holds, as max-bytes
  /// charges it (its tags come on top): its one heap chunk (the entry, its
  /// `parts`, its key and its value), its share of the index and, with the
  /// ordered index, that index's node. Real allocator sizes (glibc: 8 B of
  /// header, 16 B granules), so that filling a table to max-bytes takes
  /// about max-bytes of heap.
  static size_t charge_of(size_t key_size, size_t value_size,
                          bool ordered_index, entry_parts parts) noexcept;

  /// `graph` may be null (no dependency tracking).
  shard_table(limits lim, const time_source* clk,
              dependency_graph* graph = nullptr);
  ~shard_table();

  shard_table(const shard_table&) = delete;
  shard_table& operator=(const shard_table&) = delete;

  // -- reads (any thread)
  // ------------------------------------------------------

  /// Copies the value of a live entry into `out` and returns true; returns
  /// false for a missing or expired key. Counts a hit or a miss.
  bool get(std::string_view key, std::string& out) const;

  /// Like get(), also reporting the entry's source version: 0 if the entry
  /// is unsourced (its shard-assigned version says nothing about the source,
  /// so it must never travel as one, e.g. to another node).
  bool get(std::string_view key, std::string& out, uint64_t& version) const;

  /// get() for a key hashed by the caller (the node routes by the same hash).
  bool get(const hashed_key& key, std::string& out) const;

  /// Returns true if a live entry exists; counts nothing.
  bool contains(std::string_view key) const;

  /// Returns true and sets `expires_ns` (clock nanoseconds; no_expiry for an
  /// entry that never expires) if a live entry exists; counts nothing and
  /// copies no value.
  bool expiry_of(std::string_view key, int64_t& expires_ns) const;

  /// Like get() but counts nothing: for internal re-checks (the lock
  /// manager), so that one caller's miss is not counted twice.
  bool peek(std::string_view key, std::string& out) const;
  /// Like peek(), also reporting the source version as get() does.
  bool peek(std::string_view key, std::string& out, uint64_t& version) const;

  /// What lookup() found.
  struct lookup_result {
    enum state_t { missing, fresh, stale } state = missing;
    uint64_t version = 0;
    int64_t expires_ns = 0;
    int64_t stale_until_ns = 0; // end of the grace window
    int64_t load_ns = 0;        // how long the value took to load (XFetch)
  };

  /// Like get(), but also reports an expired entry still inside its grace
  /// window (state stale, value copied). Counts a hit only when fresh.
  lookup_result lookup(std::string_view key, std::string& out) const;

  /// Copies the value of `key` into `out` and returns true iff the table
  /// still holds the very entry lookup() reported as `version` (fresh or
  /// inside its grace window): no write, invalidation, eviction or expiry
  /// removed it since. Counts nothing. (Stale-if-error: the waiters of a
  /// failed load get the old entry only while it is still there.)
  bool still_holds(std::string_view key, uint64_t version,
                   std::string& out) const;

  shard_stats stats() const;

  index_sizes indexes() const;

  /// One step of a key iteration (SCAN), under the shared lock: visits at
  /// most `budget` keys of the ordered index in key order (decrementing
  /// it), from the first key that starts with `prefix` (`after` empty or
  /// before the prefix's range) or from the first key after `after`, and
  /// stops at the first key that does not start with `prefix`. Appends the
  /// live keys that `match` accepts to `out` and sets `after` to the last
  /// key visited. Returns true if keys with the prefix may remain after it.
  /// A key that stays in the table from the first step to the last is
  /// visited exactly once: steps resume after a key, not at a position.
  /// Counts nothing. REQUIRES: the ordered index is on.
  bool scan(std::string_view prefix, std::string& after, size_t& budget,
            const std::function<bool(std::string_view)>& match,
            std::vector<std::string>& out) const;

  // -- mutations (any thread; serialized by the table's lock) -----------------

  /// Inserts or replaces `key`; evicts as needed to stay within the limits.
  /// `version` 0 assigns the next shard version (unsourced). Cancels every
  /// fill of `key` in flight: a write supersedes a load that began before
  /// it. Returns the entry's version, or 0 if `version` is older than the
  /// sourced version cached under `key` (nothing changed, counted in
  /// shard_stats::older_versions_refused; the fills are cancelled anyway).
  uint64_t put(std::string_view key, std::string value, int64_t expires_ns,
               std::vector<std::string> tags, uint64_t version = 0);

  /// put() of an unsourced value if `cond` holds for what `key` holds now,
  /// decided under the lock: no other write of the key lands between the
  /// check and the write. A write cancels the key's fills as put() does; a
  /// refused one changes nothing. `expires_ns` applies unless cond.keep_ttl
  /// and a live entry exists (then its expiry stays).
  put_outcome put_if(std::string_view key, std::string value,
                     int64_t expires_ns, std::vector<std::string> tags,
                     put_condition cond);

  /// Moves the expiry of the live entry of `key` to `expires_ns`
  /// (no_expiry: never), keeping its value, version and tags; returns false
  /// (and changes nothing) if there is no live entry. Not a write: fills in
  /// flight are not cancelled (none can be: a fill only begins on a miss,
  /// and the write that made the entry cancelled earlier ones).
  bool set_expiry(std::string_view key, int64_t expires_ns);

  /// set_expiry() if `cond` holds for the live entry's current expiry and
  /// `expires_ns`, decided under the lock; false (nothing changed) if there
  /// is no live entry or the condition does not hold.
  bool set_expiry_if(std::string_view key, int64_t expires_ns,
                     expire_condition cond);

  /// Removes the keys that exist; returns how many were removed. Counted as
  /// invalidations. `why` is what removal notifications report.
  size_t erase(std::string_view key, removal_reason why = {});
  size_t erase(const std::vector<std::string>& keys,
               removal_reason why = {removal_cause::keys, {}});

  /// Removes the keys whose entry version is below `version` (a versioned
  /// invalidation: a writer's fresher value survives its own event).
  size_t erase_older(const std::vector<std::string>& keys, uint64_t version,
                     removal_reason why = {removal_cause::keys, {}});

  /// Removes every key matching `glob` (REQUIRES: check_glob passed and the
  /// ordered index is on). Appends removed keys to `removed` if not null.
  /// Matches are found in chunks under the shared lock (scan_batch) and
  /// removed in batches (lock_batch), so a wide pattern holds neither readers
  /// nor writers up; every key that matched when the call began is gone when
  /// it returns.
  size_t erase_matching(std::string_view glob,
                        std::vector<std::string>* removed = nullptr,
                        removal_reason why = {removal_cause::pattern, {}});

  /// Invalidates every entry tagged `tag` whose version is below `version`
  /// (UINT64_MAX: all). O(1) unless versioned or a removal sink is set (then
  /// O(tagged entries), to report them now); memory is reclaimed by sweep().
  /// Versioned, the entries it spares stay tagged at once, so the tag's next
  /// invalidation reaches them. Returns how many entries it invalidated.
  size_t invalidate_tag(std::string_view tag, uint64_t version = UINT64_MAX,
                        removal_reason why = {removal_cause::tag, {}});

  /// Removes every entry and cancels every fill in flight (the partition
  /// rule: after events may have been lost, nothing cached can be trusted).
  /// Returns how many entries were removed; counted as invalidations.
  size_t clear(removal_reason why = {removal_cause::cleared, {}});

  /// Reports removals into `sink` from now on (nullptr: stop reporting).
  /// REQUIRES: `sink` outlives the table or is unset before it dies.
  void set_removal_sink(removal_sink* sink);

  /// Marks the live entry `dependent` as depending on `parent` in the graph.
  /// Returns false if `dependent` has no live entry (nothing recorded).
  bool attach_parent(std::string_view dependent, const std::string& parent);

  // -- fills ------------------------------------------------------------------

  /// Registers a fill of `key` and returns its id; replaces any earlier fill
  /// of the key (whose completion will then be refused), but no write.
  uint64_t begin_fill(std::string_view key);

  /// Registers a write of `key` that installs later (by complete_fill) and
  /// returns its id; supersedes every fill and write of the key in flight.
  /// No later begin_fill replaces it, and when it completes or is cancelled
  /// it ends the fill that began meanwhile (fill_leases.hpp says why).
  uint64_t begin_write(std::string_view key);

  /// Installs a loaded value iff fill (or write) `id` of `key` is still current
  /// (no write or invalidation reached the key, and no tag was invalidated if
  /// `tags` is not empty, since begin_fill) and `version` is not older than
  /// a cached sourced version. The fill ends either way. `grace_ns` keeps
  /// the entry for stale reads that long after `expires_ns`. Refusals are
  /// counted in shard_stats::stale_fills_refused / older_versions_refused.
  bool complete_fill(std::string_view key, uint64_t id, std::string value,
                     int64_t expires_ns, int64_t grace_ns,
                     std::vector<std::string> tags, uint64_t version,
                     int64_t load_ns);

  /// Ends fill (or write) `id` of `key` without installing anything (for a
  /// write: it did not happen, or nothing older than it can be cached).
  void cancel_fill(std::string_view key, uint64_t id);

  /// Installs the value of write `id` (from begin_write) as complete_fill
  /// does, and returns true; if that is refused (an invalidation or a later
  /// write reached the key, or a newer sourced version is cached), drops
  /// what the key holds instead and returns false. Whatever refused the
  /// write may have left a value older than it: an entry a versioned
  /// invalidation spared (not older than the event, but older than the
  /// write), or one a load that began during the write installed. A miss is
  /// never stale; either way no value from before the write stays readable
  /// once it completes. A dropped entry is reported as `replaced`.
  bool complete_write(std::string_view key, uint64_t id, std::string value,
                      int64_t expires_ns, std::vector<std::string> tags,
                      uint64_t version);

  /// Number of fills in flight (bounded by the lock manager).
  size_t fills() const;

  // -- the replay fence -------------------------------------------------------

  /// While fenced the table serves nothing: every read (get, peek, lookup,
  /// still_holds, contains, expiry_of) finds nothing and counts a miss where
  /// get() would, and complete_fill() refuses (counted as a stale fill; the
  /// loader's caller still gets its value). Writes, invalidations and sweeps
  /// go on. Set under the exclusive lock, so a read that begins after
  /// set_fenced(true) returned sees it. The invalidation listener fences
  /// while a peer's missed events are replayed (invalidation_listener.hpp).
  void set_fenced(bool on);

  bool fenced() const noexcept {
    return fenced_.load(std::memory_order_relaxed);
  }

  /// Frees at most `budget` entries: first those of invalidated tags, then
  /// expired ones whose bucket is due at `now_ns`, lock_batch per hold of the
  /// lock. Returns true if such work remains (call again soon).
  bool sweep(int64_t now_ns, size_t budget);

  /// True if invalidated tags still hold entries to reclaim.
  bool has_dead_tags() const;

 private:
  struct entry;
  struct tag_part;

  // The index: a line_index (one cache line per bucket: tags and pointers
  // together) of pointers to entries, each entry one allocation that holds
  // its key and its value. A lookup reads one bucket and compares the keys
  // of the candidates whose tag matches; a rehash moves no entry, so the
  // hooks of the queue, the wheel, the tags and the ordered index stay
  // valid. An entry moves only when its value outgrows its allocation
  // (relocate()).
  struct entry_hash {
    size_t operator()(const entry* e) const noexcept;
  };

  using map_type = line_index<entry, entry_hash>;

  // The ordered index: a B-tree (absl::btree_set) of pointers to entries in
  // the order of their keys, about 12 B per entry where a std::set node
  // took 64. Looked up by key (transparent), so a prefix is a lower_bound.
  struct key_order {
    using is_transparent = void;
    bool operator()(const entry* a, const entry* b) const noexcept;
    bool operator()(const entry* a, std::string_view b) const noexcept;
    bool operator()(std::string_view a, const entry* b) const noexcept;
  };

  using ordered_type = absl::btree_set<entry*, key_order>;

  // Entries one hold of the write lock removes at most, in a sweep or a
  // pattern invalidation: readers wait for one batch (a few microseconds),
  // never for the whole operation.
  static constexpr size_t lock_batch = 32;
  // Keys a pattern invalidation scans per hold of the shared lock.
  static constexpr size_t scan_batch = 256;

  // All private helpers REQUIRE: mtx_ held exclusively (alive() and
  // tags_live(): at least shared).
  // The entry of `key`, or nullptr.
  entry* find(const hashed_key& key) const;
  void remove(entry& e, removal_reason why);
  // remove() but for the ordered index, which the caller erased `e` from.
  void forget(entry& e, removal_reason why);
  // Removes `key`'s entry, if any, for a write that did not install.
  // REQUIRES: mtx_ held exclusively, a report_scope open
  void drop_written(std::string_view key);
  // Reports `e` (REQUIRES: sink_) unless it was reported already, with what
  // ended its life first: a dead tag, its expiry, or `why` (`killed_now`:
  // the tag invalidation reporting it is what made it dead).
  void report(entry& e, removal_reason why, bool killed_now = false);
  // Reports that a write made `key` readable (REQUIRES: sink_), if a
  // listener wants creations.
  void report_created(std::string_view key, uint64_t version);
  // Hands what report() collected to the sink (end of every mutation).
  void flush_reports();
  struct report_scope;
  static int64_t reclaim_at(int64_t expires_ns, int64_t grace_ns) noexcept;
  void evict_one();
  // What `e` holds, as charged against max-bytes: the entry and its tags.
  size_t charge(const entry& e) const noexcept;
  void link_tags(entry& e, std::vector<std::string> tags);
  void unlink_tags(entry& e) noexcept;
  // Moves `e` to a new allocation with room for a value of `value_size`,
  // with the parts of `e` and `need`, in its place in every index, and frees
  // `e`. The new entry holds no value: the caller sets it.
  entry& relocate(entry& e, size_t value_size, entry_parts need);
  void enforce_limits();
  // Fresh: not expired (time_source::before) and no tag invalidated it.
  bool alive(const entry& e) const noexcept;
  static bool tags_live(const entry& e) noexcept;
  // Counts a hit or a miss in this thread's slot (no lock needed).
  void count_read(bool hit) const noexcept;
  size_t reclaim_dead_tags(size_t budget);
  // Returns 0 (and changes nothing) if `version` is older than the sourced
  // version cached under `key`.
  uint64_t install(std::string_view key, std::string value, int64_t expires_ns,
                   int64_t grace_ns, std::vector<std::string> tags,
                   uint64_t version, int64_t load_ns);

  limits lim_;
  const time_source* clock_;
  // Readers (hits) write no line another reader thread writes: neither the
  // lock (read_mostly_mutex.hpp) nor the hit and miss counts (one line per
  // thread slot, summed by stats()).
  mutable read_mostly_mutex mtx_;
  map_type map_;
  sieve_queue queue_;
  expiry_wheel wheel_;
  dependency_graph* graph_;
  // The keys in order, for pattern invalidation (with lim_.ordered_index).
  ordered_type ordered_;
  tag_index tags_;
  fill_leases fills_;
  removal_sink* sink_ = nullptr;
  std::vector<removal> reports_; // collected, not yet handed to sink_
  uint64_t next_version_ = 1;
  size_t bytes_ = 0;
  // Counters, readable without the lock.
  struct alignas(64) read_counts {
    std::atomic<uint64_t> hits{0};
    std::atomic<uint64_t> misses{0};
  };
  mutable std::array<read_counts, read_slots> reads_;
  std::atomic<uint64_t> sets_{0};
  // Written under the exclusive lock, read under the shared one.
  std::atomic<bool> fenced_{false};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> expirations_{0};
  std::atomic<uint64_t> invalidations_{0};
  std::atomic<uint64_t> stale_fills_refused_{0};
  std::atomic<uint64_t> older_versions_refused_{0};
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> bytes_pub_{0};
};

} // namespace cachebus
