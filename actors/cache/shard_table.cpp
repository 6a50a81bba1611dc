#include "cachebus/actors/cache/shard_table.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>

#include "cachebus/actors/cache/removal_sink.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/invalidation/dependency_graph.hpp"
#include "cachebus/actors/invalidation/glob.hpp"
#include "cachebus/actors/node/options.hpp"

namespace cachebus {

namespace {

// What glibc's malloc takes for a request of `n` bytes: `n` plus its 8-byte
// chunk header, rounded up to 16, at least 32.
constexpr size_t heap_chunk(size_t n) noexcept {
  return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15});
}

// The most a request may ask for and still get the chunk of `n` bytes: the
// slack is free, so an entry takes it as room for its value to grow.
constexpr size_t usable_of(size_t n) noexcept {
  return heap_chunk(n) - 8;
}

// The ordered index's share of an entry: a B-tree slot (8 B in nodes of
// 30, two thirds full or more after random inserts) and its part of the
// node's chunk and of the inner nodes.
constexpr size_t ordered_slot_bytes = 16;

// The index (line_index): a 64 B bucket per 9 slots, at most 7/8 of them
// full, doubled when full (8.1 to 16.3 B per entry): 12 B per entry, the
// middle of the fill levels between.
constexpr size_t index_slot_bytes = 12;

// How long the value took to load and how long it stays for stale reads
// after expiry: only entries installed by a fill with either set carry them.
struct fill_times {
  int64_t grace_ns = 0;
  int64_t load_ns = 0;
};

// When an expiring entry goes: the wheel's links and its expiry, which a
// hit reads last before the entry's own bytes.
struct expiry_part : expiry_wheel::hook {
  int64_t expires_ns = no_expiry;
};

// The entry's tags (a tag_part), null while it has none.
struct tag_slot {
  tag_index::member* tags = nullptr;
};

} // namespace

// An entry is one allocation:
//
//   [fill_times] [tag_slot] [expiry_part] entry [key] [value, its room]
//
// The bracketed parts are there only if the entry needs them (`parts`): an
// entry that never expires has no wheel links and no expiry, an untagged one
// no tag pointer, one whose fill set no grace window or load time no fill
// times. What a hit reads runs from the expiry through the visited bit and
// the entry's head to the key and the value: one run of bytes, two or three
// cache lines for small values. The entry object is the queue's hook (its
// visited bit last) followed by the head, packed into the hook's tail
// padding: 40 B in all. No hash is kept: the index's metadata filters the
// candidates by hash, a rehash computes it again.
//
// A value that outgrows the room, or leaves most of it unused, or an entry
// that needs a part it lacks (a first expiry, a first tag, fill times),
// moves to a new allocation (relocate()). A part no longer used stays until
// then: charged as what it is. The parts hand hooks back (a victim, a due
// entry) and the table turns them into entries (from_queue, from_wheel);
// tag links reach it through its tag_part.
struct shard_table::entry : sieve_queue::hook {
  /// A new entry for `key` with room for a value of `value_size` bytes (and
  /// whatever else its heap chunk has room for), with `parts`, holding no
  /// value yet.
  static entry* make(std::string_view key, size_t value_size,
                     entry_parts parts) {
    // The head fits the hook's tail padding (Itanium C++ ABI: a derived
    // class's members may reuse a non-POD base's tail padding).
    static_assert(sizeof(entry) == 40);
    auto fixed = fixed_bytes(key.size(), parts);
    auto n = usable_of(fixed + value_size);
    auto* chunk = static_cast<char*>(::operator new(n));
    auto* at = chunk;
    if (parts.fill_times)
      at = place<fill_times>(at);
    if (parts.tags)
      at = place<tag_slot>(at);
    if (parts.expiry)
      at = place<expiry_part>(at);
    auto* e = new (at) entry(key.size(), n - fixed, parts);
    std::memcpy(e->key_data(), key.data(), key.size());
    return e;
  }

  static void destroy(entry* e) noexcept {
    auto* chunk = e->chunk();
    e->~entry(); // the parts are trivially destructible
    ::operator delete(chunk);
  }

  /// The bytes before the value: the parts, this object, the key.
  static size_t fixed_bytes(size_t key_size, entry_parts parts) noexcept {
    return parts_bytes(parts) + sizeof(entry) + key_size;
  }

  static entry& from_queue(sieve_queue::hook& h) noexcept {
    return static_cast<entry&>(h);
  }

  static entry& from_wheel(expiry_wheel::hook& h) noexcept {
    auto* part = static_cast<expiry_part*>(&h);
    return *std::launder(
      reinterpret_cast<entry*>(reinterpret_cast<char*>(part + 1)));
  }

  entry_parts parts() const noexcept { return {expiring, tagged, timed}; }

  std::string_view key() const noexcept { return {key_data(), key_size}; }

  std::string_view value() const noexcept {
    return {key_data() + key_size, value_size};
  }

  /// True if a value of `n` bytes belongs in this allocation with `need`
  /// parts: it has them, the value fits and leaves at most about half of the
  /// room empty.
  bool holds(size_t n, entry_parts need) const noexcept {
    return (expiring || !need.expiry) && (tagged || !need.tags)
           && (timed || !need.fill_times) && n <= value_capacity
           && value_capacity <= 2 * n + 64;
  }

  /// REQUIRES: holds(v.size(), ...)
  void set_value(std::string_view v) noexcept {
    if (!v.empty())
      std::memcpy(key_data() + key_size, v.data(), v.size());
    value_size = static_cast<uint32_t>(v.size());
  }

  int64_t expires_ns() const noexcept {
    return expiring ? expiry().expires_ns : no_expiry;
  }

  /// REQUIRES: parts().expiry or `at` is no_expiry
  void set_expires(int64_t at) noexcept {
    if (expiring)
      expiry().expires_ns = at;
  }

  /// The wheel's links. REQUIRES: parts().expiry
  expiry_wheel::hook& wheel_hook() noexcept { return expiry(); }

  tag_index::member* tags() const noexcept {
    return tagged ? slot().tags : nullptr;
  }

  /// REQUIRES: parts().tags or `m` is null
  void set_tags(tag_index::member* m) noexcept {
    if (tagged)
      slot().tags = m;
  }

  int64_t grace_ns() const noexcept { return timed ? times().grace_ns : 0; }
  int64_t load_ns() const noexcept { return timed ? times().load_ns : 0; }

  /// REQUIRES: parts().fill_times, or both zero
  void set_times(int64_t grace, int64_t load) noexcept {
    if (timed)
      times() = fill_times{grace, load};
  }

  /// The bytes this entry holds, as charged against max-bytes (its tags'
  /// part is charged by the table).
  size_t charge(bool ordered_index) const noexcept {
    return charge_of(key_size, value_capacity, ordered_index, parts());
  }

  /// True if an invalidation at version `v` covers this entry.
  bool older_than(uint64_t v) const noexcept { return !sourced || version < v; }

  // The head, in the hook's tail padding (after its visited bit). The flags
  // change only under the table's exclusive lock; readers change only the
  // visited bit, which is a byte of its own.
  bool has_parents : 1;
  // True if `version` came from the source record; a shard-assigned version
  // says nothing about freshness, so versioned invalidations always remove
  // such an entry.
  bool sourced : 1;
  // Removal notifications: this entry was reported gone (a tag killed it)
  // while it still occupies the table; its reclaim reports nothing.
  bool reported : 1;
  // Which parts the chunk has (parts()).
  bool expiring : 1;
  bool tagged : 1;
  bool timed : 1;
  const uint32_t key_size;
  uint64_t version = 0;
  uint32_t value_size = 0;
  const uint32_t value_capacity; // room for the value in this allocation

 private:
  entry(size_t key_size, size_t capacity, entry_parts parts)
      : has_parents(false), sourced(false), reported(false),
        expiring(parts.expiry), tagged(parts.tags), timed(parts.fill_times),
        key_size(static_cast<uint32_t>(key_size)),
        value_capacity(static_cast<uint32_t>(capacity)) {
    // nop
  }

  template <class Part>
  static char* place(char* at) noexcept {
    new (at) Part{};
    return at + sizeof(Part);
  }

  static size_t parts_bytes(entry_parts parts) noexcept {
    return (parts.fill_times ? sizeof(fill_times) : 0)
           + (parts.tags ? sizeof(tag_slot) : 0)
           + (parts.expiry ? sizeof(expiry_part) : 0);
  }

  char* chunk() noexcept {
    return reinterpret_cast<char*>(this) - parts_bytes(parts());
  }

  // The parts sit just below the entry, the last one nearest.
  template <class Part>
  Part& part_at(size_t below) const noexcept {
    auto* self = const_cast<char*>(reinterpret_cast<const char*>(this));
    return *std::launder(reinterpret_cast<Part*>(self - below));
  }
  expiry_part& expiry() const noexcept {
    return part_at<expiry_part>(sizeof(expiry_part));
  }
  tag_slot& slot() const noexcept {
    return part_at<tag_slot>((expiring ? sizeof(expiry_part) : 0)
                             + sizeof(tag_slot));
  }
  fill_times& times() const noexcept {
    return part_at<fill_times>(parts_bytes(parts()));
  }

  char* key_data() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* key_data() const noexcept {
    return reinterpret_cast<const char*>(this + 1);
  }
};

// An entry's tags: allocated on its first tag, so an untagged entry pays
// one pointer. Tag links point at the part, the part at its entry.
struct shard_table::tag_part : tag_index::member {
  explicit tag_part(entry* e) : owner(e) {
    // nop
  }
  entry* owner;
};

// Flushes the reports of one mutation to the sink before the table's lock
// is released (declared after the lock guard, so destroyed before it).
struct shard_table::report_scope {
  shard_table& t;
  ~report_scope() {
    if (t.sink_ && !t.reports_.empty())
      t.flush_reports();
  }
};

size_t shard_table::charge_of(size_t key_size, size_t value_size,
                              bool ordered_index, entry_parts parts) noexcept {
  return heap_chunk(entry::fixed_bytes(key_size, parts) + value_size)
         + index_slot_bytes + (ordered_index ? ordered_slot_bytes : 0);
}

shard_table::shard_table(limits lim, const time_source* clk,
                         dependency_graph* graph)
    : lim_(lim), clock_(clk), wheel_(lim.tick_ns), graph_(graph) {
  // nop
}

shard_table::~shard_table() {
  // Entries point into tag states; drop the links before either dies.
  map_.for_each([](entry* e) {
    if (auto* m = e->tags()) {
      m->tags.clear(); // the states die with the index, unwalked
      delete static_cast<tag_part*>(m);
    }
    entry::destroy(e);
  });
}

size_t shard_table::entry_hash::operator()(const entry* e) const noexcept {
  return hashed_key{e->key()}.hash;
}

bool shard_table::key_order::operator()(const entry* a,
                                        const entry* b) const noexcept {
  return a->key() < b->key();
}

bool shard_table::key_order::operator()(const entry* a,
                                        std::string_view b) const noexcept {
  return a->key() < b;
}

bool shard_table::key_order::operator()(std::string_view a,
                                        const entry* b) const noexcept {
  return a < b->key();
}

shard_table::entry* shard_table::find(const hashed_key& key) const {
  return map_.find(key.hash,
                   [&](const entry* e) { return e->key() == key.text; });
}

bool shard_table::tags_live(const entry& e) noexcept {
  // older_than() grows with its argument, so checking the highest dead_below
  // of the entry's tags is checking every one of them.
  auto* m = e.tags();
  if (!m)
    return true;
  auto below = tag_index::dead_below(*m);
  return below == 0 || !e.older_than(below);
}

void shard_table::count_read(bool hit) const noexcept {
  auto& r = reads_[this_thread_slot()];
  (hit ? r.hits : r.misses).fetch_add(1, std::memory_order_relaxed);
}

bool shard_table::alive(const entry& e) const noexcept {
  return clock_->before(e.expires_ns()) && tags_live(e);
}

// -- reads --------------------------------------------------------------------

bool shard_table::get(std::string_view key, std::string& out) const {
  uint64_t ignored;
  return get(key, out, ignored);
}

bool shard_table::get(std::string_view key, std::string& out,
                      uint64_t& version) const {
  {
    std::shared_lock guard{mtx_};
    auto* e = fenced() ? nullptr : find(hashed_key{key});
    if (e && alive(*e)) {
      sieve_queue::mark_visited(*e);
      out.assign(e->value());
      version = e->sourced ? e->version : 0;
      guard.unlock();
      count_read(true);
      return true;
    }
  }
  count_read(false);
  return false;
}

bool shard_table::get(const hashed_key& key, std::string& out) const {
  {
    std::shared_lock guard{mtx_};
    auto* e = fenced() ? nullptr : find(key);
    if (e && alive(*e)) {
      sieve_queue::mark_visited(*e);
      out.assign(e->value());
      guard.unlock();
      count_read(true);
      return true;
    }
  }
  count_read(false);
  return false;
}

shard_table::lookup_result shard_table::lookup(std::string_view key,
                                               std::string& out) const {
  lookup_result r;
  {
    std::shared_lock guard{mtx_};
    if (auto* found = fenced() ? nullptr : find(hashed_key{key})) {
      auto& e = *found;
      auto now = clock_->now_ns();
      bool tags_ok = tags_live(e);
      auto expires = e.expires_ns();
      if (tags_ok && expires > now) {
        r.state = lookup_result::fresh;
        sieve_queue::mark_visited(e);
      } else if (tags_ok && reclaim_at(expires, e.grace_ns()) > now) {
        r.state = lookup_result::stale;
      }
      if (r.state != lookup_result::missing) {
        out.assign(e.value());
        r.version = e.version;
        r.expires_ns = expires;
        r.stale_until_ns = reclaim_at(expires, e.grace_ns());
        r.load_ns = e.load_ns();
      }
    }
  }
  count_read(r.state == lookup_result::fresh);
  return r;
}

bool shard_table::still_holds(std::string_view key, uint64_t version,
                              std::string& out) const {
  std::shared_lock guard{mtx_};
  auto* found = fenced() ? nullptr : find(hashed_key{key});
  if (!found || found->version != version)
    return false;
  auto& e = *found;
  if (!tags_live(e)
      || reclaim_at(e.expires_ns(), e.grace_ns()) <= clock_->now_ns())
    return false;
  out.assign(e.value());
  return true;
}

bool shard_table::peek(std::string_view key, std::string& out) const {
  uint64_t ignored;
  return peek(key, out, ignored);
}

bool shard_table::peek(std::string_view key, std::string& out,
                       uint64_t& version) const {
  std::shared_lock guard{mtx_};
  auto* e = fenced() ? nullptr : find(hashed_key{key});
  if (!e || !alive(*e))
    return false;
  out.assign(e->value());
  version = e->sourced ? e->version : 0;
  return true;
}

bool shard_table::contains(std::string_view key) const {
  std::shared_lock guard{mtx_};
  auto* e = fenced() ? nullptr : find(hashed_key{key});
  return e && alive(*e);
}

bool shard_table::expiry_of(std::string_view key, int64_t& expires_ns) const {
  std::shared_lock guard{mtx_};
  auto* e = fenced() ? nullptr : find(hashed_key{key});
  if (!e || !alive(*e))
    return false;
  expires_ns = e->expires_ns();
  return true;
}

bool shard_table::scan(std::string_view prefix, std::string& after,
                       size_t& budget,
                       const std::function<bool(std::string_view)>& match,
                       std::vector<std::string>& out) const {
  std::shared_lock guard{mtx_};
  auto i = after.empty() || std::string_view{after} < prefix
             ? ordered_.lower_bound(prefix)
             : ordered_.upper_bound(std::string_view{after});
  for (; i != ordered_.end(); ++i) {
    auto key = (*i)->key();
    if (key.substr(0, prefix.size()) != prefix)
      return false;
    if (budget == 0)
      return true;
    --budget;
    if (alive(**i) && match(key))
      out.emplace_back(key);
    after.assign(key);
  }
  return false;
}

shard_stats shard_table::stats() const {
  shard_stats s;
  for (auto& r : reads_) {
    s.hits += r.hits.load(std::memory_order_relaxed);
    s.misses += r.misses.load(std::memory_order_relaxed);
  }
  s.sets = sets_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.expirations = expirations_.load(std::memory_order_relaxed);
  s.invalidations = invalidations_.load(std::memory_order_relaxed);
  s.stale_fills_refused = stale_fills_refused_.load(std::memory_order_relaxed);
  s.older_versions_refused
    = older_versions_refused_.load(std::memory_order_relaxed);
  s.entries = entries_.load(std::memory_order_relaxed);
  s.bytes = bytes_pub_.load(std::memory_order_relaxed);
  return s;
}

shard_table::index_sizes shard_table::indexes() const {
  std::shared_lock guard{mtx_};
  index_sizes x;
  x.entries = map_.size();
  x.ordered = ordered_.size();
  x.live_tags = tags_.live_tags();
  x.dead_tags = tags_.dead_tags();
  x.tag_links = tags_.links();
  x.buckets = wheel_.buckets();
  return x;
}

bool shard_table::has_dead_tags() const {
  std::shared_lock guard{mtx_};
  return tags_.has_dead();
}

// -- mutations ----------------------------------------------------------------

uint64_t shard_table::put(std::string_view key, std::string value,
                          int64_t expires_ns, std::vector<std::string> tags,
                          uint64_t version) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  fills_.cancel_key(key);
  return install(key, std::move(value), expires_ns, 0, std::move(tags), version,
                 0);
}

put_outcome shard_table::put_if(std::string_view key, std::string value,
                                int64_t expires_ns,
                                std::vector<std::string> tags,
                                put_condition cond) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  put_outcome r;
  auto* e = find(hashed_key{key});
  bool live = e && alive(*e);
  if (live && cond.want_old)
    r.old.emplace(e->value());
  if ((cond.only == put_condition::when::if_absent && live)
      || (cond.only == put_condition::when::if_present && !live))
    return r;
  if (cond.keep_ttl && live)
    expires_ns = e->expires_ns();
  fills_.cancel_key(key);
  r.version
    = install(key, std::move(value), expires_ns, 0, std::move(tags), 0, 0);
  r.written = true;
  return r;
}

bool shard_table::set_expiry(std::string_view key, int64_t expires_ns) {
  return set_expiry_if(key, expires_ns, expire_condition{});
}

bool shard_table::set_expiry_if(std::string_view key, int64_t expires_ns,
                                expire_condition cond) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this}; // enforce_limits() may evict
  auto* e = find(hashed_key{key});
  if (!e || !alive(*e) || !cond.holds(e->expires_ns(), expires_ns))
    return false;
  if (e->expiring) {
    wheel_.reschedule(e->wheel_hook(), reclaim_at(expires_ns, e->grace_ns()));
    e->set_expires(expires_ns);
    return true;
  }
  if (expires_ns == no_expiry)
    return true; // it never expires already
  // An entry made to never expire has no room for an expiry: it moves to
  // an allocation with one, and joins the wheel.
  std::string value{e->value()};
  bytes_ -= charge(*e);
  auto need = e->parts();
  need.expiry = true;
  auto& moved = relocate(*e, value.size(), need);
  moved.set_value(value);
  moved.set_expires(expires_ns);
  wheel_.schedule(moved.wheel_hook(), reclaim_at(expires_ns, moved.grace_ns()));
  bytes_ += charge(moved);
  enforce_limits();
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return true;
}

uint64_t shard_table::install(std::string_view key, std::string value,
                              int64_t expires_ns, int64_t grace_ns,
                              std::vector<std::string> tags, uint64_t version,
                              int64_t load_ns) {
  bool sourced = version != 0;
  hashed_key hk{key};
  auto* found = find(hk);
  if (sourced && found && found->sourced && version < found->version) {
    older_versions_refused_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  if (version == 0)
    version = next_version_++;
  else if (version >= next_version_)
    next_version_ = version + 1;
  entry_parts need{expires_ns != no_expiry, !tags.empty(),
                   grace_ns != 0 || load_ns != 0};
  if (!found) {
    auto* made = entry::make(key, value.size(), need);
    map_.insert(made, hk.hash);
    auto& e = *made;
    e.set_value(value);
    e.version = version;
    e.sourced = sourced;
    e.set_expires(expires_ns);
    e.set_times(grace_ns, load_ns);
    if (lim_.ordered_index)
      ordered_.insert(&e);
    link_tags(e, std::move(tags));
    queue_.push(e);
    if (e.expiring)
      wheel_.schedule(e.wheel_hook(), reclaim_at(expires_ns, grace_ns));
    bytes_ += charge(e);
    entries_.store(map_.size(), std::memory_order_relaxed);
    if (sink_)
      report_created(key, sourced ? version : 0);
  } else {
    // An entry already reported gone (a tag invalidation made it
    // unreadable) was absent to readers: this write creates the key.
    if (sink_ && found->reported)
      report_created(key, sourced ? version : 0);
    else if (sink_)
      report(*found, {removal_cause::replaced, {}});
    bytes_ -= charge(*found);
    auto& e = found->holds(value.size(), need)
                ? *found
                : relocate(*found, value.size(), need);
    e.reported = false;
    // Memory goes once the grace window after expiry has passed.
    if (e.expiring)
      wheel_.reschedule(e.wheel_hook(), reclaim_at(expires_ns, grace_ns));
    e.set_expires(expires_ns);
    e.set_value(value);
    e.set_times(grace_ns, load_ns);
    e.version = version;
    e.sourced = sourced;
    if (!tags.empty() || e.tags()) {
      unlink_tags(e);
      link_tags(e, std::move(tags));
    }
    sieve_queue::mark_written(e);
    bytes_ += charge(e);
  }
  sets_.fetch_add(1, std::memory_order_relaxed);
  enforce_limits();
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return version;
}

size_t shard_table::erase(std::string_view key, removal_reason why) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  fills_.cancel_key(key);
  auto* e = find(hashed_key{key});
  if (!e)
    return 0;
  remove(*e, why);
  invalidations_.fetch_add(1, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return 1;
}

size_t shard_table::erase(const std::vector<std::string>& keys,
                          removal_reason why) {
  return erase_older(keys, UINT64_MAX, why);
}

size_t shard_table::erase_older(const std::vector<std::string>& keys,
                                uint64_t version, removal_reason why) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  size_t n = 0;
  for (auto& key : keys) {
    // A fill in flight may hold a value read before this invalidation, so it
    // must not be installed, whatever its version turns out to be.
    fills_.cancel_key(key);
    auto* e = find(hashed_key{key});
    if (e && e->older_than(version)) {
      remove(*e, why);
      ++n;
    }
  }
  invalidations_.fetch_add(n, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return n;
}

size_t shard_table::erase_matching(std::string_view glob,
                                   std::vector<std::string>* removed,
                                   removal_reason why) {
  if (!lim_.ordered_index)
    return 0;
  auto prefix = glob_prefix(glob);
  {
    std::unique_lock guard{mtx_};
    fills_.cancel_matching(glob);
  }
  // Matches are collected scan_batch keys at a time under the shared lock,
  // each chunk resuming after the last key the one before saw: readers never
  // wait for the scan, writers for one chunk, however wide the pattern ("*x"
  // scans every key). A key the scan has not reached yet is found as long as
  // it stays; one written behind it is a write concurrent with the call.
  std::vector<std::string> hits;
  std::string last;
  for (bool first = true, more = true; more; first = false) {
    std::shared_lock guard{mtx_};
    auto i = first ? ordered_.lower_bound(prefix)
                   : ordered_.upper_bound(std::string_view{last});
    more = false;
    for (size_t seen = 0; i != ordered_.end(); ++i, ++seen) {
      auto key = (*i)->key();
      if (key.substr(0, prefix.size()) != prefix)
        break;
      if (seen == scan_batch) {
        more = true;
        break;
      }
      if (glob_match(glob, key))
        hits.emplace_back(key);
      last.assign(key);
    }
  }
  // Removed lock_batch at a time, so readers wait for one batch, never for
  // the whole pattern. Every key that matched when the call began is gone
  // when it returns; a key written meanwhile is a write concurrent with
  // the invalidation, and removing its value as well leaves a miss, which
  // is never stale. Loads that began before the call were cancelled above.
  size_t n = 0;
  for (size_t first = 0; first < hits.size(); first += lock_batch) {
    std::unique_lock guard{mtx_};
    report_scope reports{*this};
    auto last = std::min(hits.size(), first + lock_batch);
    size_t batch = 0;
    // The matches are in key order, and so is the ordered index: one search
    // finds the batch's first, then a cursor walks to the next ones and
    // erases them where it stands. Erasing by key searches the B-tree,
    // comparing keys of entries all over memory (~1 us each at 100k keys;
    // a batch of them held readers up ~30 us).
    auto pos = ordered_.lower_bound(std::string_view{hits[first]});
    for (auto i = first; i < last; ++i) {
      auto* e = find(hashed_key{hits[i]});
      if (!e)
        continue; // gone meanwhile (evicted, expired, invalidated)
      for (int step = 0; pos != ordered_.end() && *pos != e
                         && (*pos)->key() < hits[i] && step < 64;
           ++step)
        ++pos;
      if (pos != ordered_.end() && *pos == e) {
        pos = ordered_.erase(pos);
      } else { // too far on (keys between that do not match): search
        ordered_.erase(e);
        pos = ordered_.lower_bound(std::string_view{hits[i]});
      }
      forget(*e, why);
      ++batch;
      if (removed)
        removed->push_back(std::move(hits[i]));
    }
    invalidations_.fetch_add(batch, std::memory_order_relaxed);
    bytes_pub_.store(bytes_, std::memory_order_relaxed);
    n += batch;
  }
  return n;
}

size_t shard_table::invalidate_tag(std::string_view tag, uint64_t version,
                                   removal_reason why) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  // Even a tag without entries here may be on a value being loaded.
  fills_.cancel_tagged();
  auto* state = tags_.invalidate(tag, version);
  if (!state)
    return 0;
  size_t n = state->members;
  if (sink_) {
    // Reported now, while readers stop seeing them; their reclaim by the
    // sweep reports nothing more.
    for (auto* l = state->head; l; l = l->next) {
      auto& e = *static_cast<tag_part*>(l->owner)->owner;
      if (e.older_than(version))
        report(e, why, true);
    }
  }
  if (version != UINT64_MAX) {
    // The entries at `version` or newer survive. They go back to the tag's
    // live state now, not when the sweep reclaims the retired one: the tag's
    // next invalidation finds only the live state, and must reach them (a
    // write-through's fresh entry survives its own event, then an
    // invalidate_tag of the record's tag must remove it). One dead under
    // another retired tag stays for the sweep: relinking would revive it.
    n = 0;
    std::vector<entry*> survivors;
    for (auto* l = state->head; l; l = l->next) {
      auto& e = *static_cast<tag_part*>(l->owner)->owner;
      if (e.older_than(version))
        ++n;
      else if (!e.older_than(tag_index::dead_below(*e.tags())))
        survivors.push_back(&e);
    }
    for (auto* e : survivors) {
      bytes_ -= charge(*e);
      tags_.relink(*e->tags());
      bytes_ += charge(*e);
    }
  }
  invalidations_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

size_t shard_table::clear(removal_reason why) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  fills_.cancel_all(); // tagged fills that began before are refused too
  // Taken out first: remove() changes the index a walk would be on.
  std::vector<entry*> all;
  all.reserve(map_.size());
  map_.for_each([&](entry* e) { all.push_back(e); });
  for (auto* e : all)
    remove(*e, why);
  auto n = all.size();
  invalidations_.fetch_add(n, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return n;
}

void shard_table::set_fenced(bool on) {
  std::unique_lock guard{mtx_};
  fenced_.store(on, std::memory_order_relaxed);
}

bool shard_table::attach_parent(std::string_view dependent,
                                const std::string& parent) {
  std::unique_lock guard{mtx_};
  auto* e = find(hashed_key{dependent});
  if (!e || !alive(*e) || !graph_)
    return false;
  e->has_parents = true;
  graph_->add(parent, std::string{e->key()});
  return true;
}

uint64_t shard_table::begin_fill(std::string_view key) {
  std::unique_lock guard{mtx_};
  return fills_.begin(key);
}

bool shard_table::complete_fill(std::string_view key, uint64_t id,
                                std::string value, int64_t expires_ns,
                                int64_t grace_ns, std::vector<std::string> tags,
                                uint64_t version, int64_t load_ns) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  if (fenced()) {
    // A replay is under way: what it is about to apply may make this stale.
    fills_.cancel(key, id);
    stale_fills_refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!fills_.finish(key, id, !tags.empty())) {
    // Cancelled by a write or an invalidation, replaced by a later fill, or
    // tagged while a tag was invalidated.
    stale_fills_refused_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return install(key, std::move(value), expires_ns, grace_ns, std::move(tags),
                 version, load_ns)
         != 0;
}

uint64_t shard_table::begin_write(std::string_view key) {
  std::unique_lock guard{mtx_};
  return fills_.begin_write(key);
}

void shard_table::cancel_fill(std::string_view key, uint64_t id) {
  std::unique_lock guard{mtx_};
  fills_.cancel(key, id);
}

bool shard_table::complete_write(std::string_view key, uint64_t id,
                                 std::string value, int64_t expires_ns,
                                 std::vector<std::string> tags,
                                 uint64_t version) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  if (fills_.finish(key, id, !tags.empty())) {
    if (install(key, std::move(value), expires_ns, 0, std::move(tags), version,
                0)
        != 0)
      return true;
  } else {
    stale_fills_refused_.fetch_add(1, std::memory_order_relaxed);
  }
  drop_written(key);
  return false;
}

size_t shard_table::fills() const {
  std::shared_lock guard{mtx_};
  return fills_.size();
}

bool shard_table::sweep(int64_t now_ns, size_t budget) {
  // In chunks of lock_batch, each under its own hold of the lock: readers
  // wait for one chunk, never for the whole budget.
  for (size_t done = 0;;) {
    std::unique_lock guard{mtx_};
    report_scope reports{*this};
    auto chunk = std::min(budget - done, lock_batch);
    size_t freed = reclaim_dead_tags(chunk);
    size_t expired = 0;
    while (freed < chunk) {
      auto* due = wheel_.due(now_ns);
      if (!due)
        break;
      // remove() unschedules the entry (dropping its bucket when empty).
      remove(entry::from_wheel(*due), {removal_cause::expired, {}});
      ++freed;
      ++expired;
    }
    expirations_.fetch_add(expired, std::memory_order_relaxed);
    bytes_pub_.store(bytes_, std::memory_order_relaxed);
    done += freed;
    bool more = tags_.has_dead() || wheel_.due(now_ns) != nullptr;
    if (!more || freed < chunk || done >= budget)
      return more;
  }
}

// -- private helpers ----------------------------------------------------------

void shard_table::drop_written(std::string_view key) {
  if (auto* e = find(hashed_key{key})) {
    remove(*e, {removal_cause::replaced, {}});
    bytes_pub_.store(bytes_, std::memory_order_relaxed);
  }
}

size_t shard_table::reclaim_dead_tags(size_t budget) {
  size_t freed = 0;
  while (freed < budget) {
    uint64_t dead_below = 0;
    auto* m = tags_.next_dead(dead_below);
    if (!m)
      break;
    auto& e = *static_cast<tag_part*>(m)->owner;
    // Dead if this state or any other retired state it is linked to says so:
    // relinking would move it off those states and revive it.
    if (e.older_than(std::max(dead_below, tag_index::dead_below(*e.tags())))) {
      // Dead: free it (this unlinks it from every tag, this one included).
      remove(e, {removal_cause::tag, {}});
    } else {
      // Newer than the invalidation: move its links to the live states.
      bytes_ -= charge(e);
      tags_.relink(*e.tags());
      bytes_ += charge(e);
    }
    ++freed; // either way, work done
  }
  return freed;
}

void shard_table::remove(entry& e, removal_reason why) {
  if (lim_.ordered_index)
    ordered_.erase(&e);
  forget(e, why);
}

void shard_table::forget(entry& e, removal_reason why) {
  if (sink_)
    report(e, why);
  bytes_ -= charge(e);
  if (e.expiring)
    wheel_.unschedule(e.wheel_hook());
  queue_.unlink(e);
  unlink_tags(e);
  if (e.has_parents && graph_)
    graph_->remove_dependent(e.key());
  map_.erase(&e, hashed_key{e.key()}.hash);
  entry::destroy(&e);
  entries_.store(map_.size(), std::memory_order_relaxed);
}

size_t shard_table::charge(const entry& e) const noexcept {
  auto n = e.charge(lim_.ordered_index);
  if (auto* m = e.tags())
    n += heap_chunk(sizeof(tag_part)) + m->tag_bytes;
  return n;
}

void shard_table::link_tags(entry& e, std::vector<std::string> tags) {
  if (tags.empty())
    return;
  auto* part = new tag_part(&e);
  e.set_tags(part);
  tags_.link(*part, std::move(tags));
}

void shard_table::unlink_tags(entry& e) noexcept {
  auto* m = e.tags();
  if (!m)
    return;
  tags_.unlink(*m);
  delete static_cast<tag_part*>(m);
  e.set_tags(nullptr);
}

shard_table::entry& shard_table::relocate(entry& old, size_t value_size,
                                          entry_parts need) {
  auto has = old.parts();
  auto* e = entry::make(old.key(), value_size,
                        {has.expiry || need.expiry, has.tags || need.tags,
                         has.fill_times || need.fill_times});
  e->set_expires(old.expires_ns());
  e->version = old.version;
  e->has_parents = old.has_parents;
  e->sourced = old.sourced;
  e->reported = old.reported;
  e->set_times(old.grace_ns(), old.load_ns());
  if (auto* m = old.tags()) {
    e->set_tags(m);
    static_cast<tag_part*>(m)->owner = e;
    old.set_tags(nullptr);
  }
  auto hash = hashed_key{old.key()}.hash;
  map_.erase(&old, hash);
  map_.insert(e, hash);
  queue_.replace(old, *e);
  if (old.expiring)
    wheel_.replace(old.wheel_hook(), e->wheel_hook());
  if (lim_.ordered_index) {
    // Same key, same place in the order: the new pointer goes where the
    // old one was.
    auto next = ordered_.erase(ordered_.find(&old));
    ordered_.insert(next, e);
  }
  entry::destroy(&old);
  return *e;
}

int64_t shard_table::reclaim_at(int64_t expires_ns, int64_t grace_ns) noexcept {
  if (expires_ns == no_expiry || grace_ns >= no_expiry - expires_ns)
    return no_expiry;
  return expires_ns + grace_ns;
}

void shard_table::evict_one() {
  auto& victim = entry::from_queue(queue_.victim());
  remove(victim, {removal_cause::evicted, {}});
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void shard_table::report(entry& e, removal_reason why, bool killed_now) {
  if (e.reported)
    return;
  e.reported = true;
  removal r;
  r.key = e.key();
  r.version = e.sourced ? e.version : 0;
  if (!killed_now && !tags_live(e)) {
    r.cause = removal_cause::tag; // an earlier tag invalidation
  } else if (e.expires_ns() <= clock_->now_ns()) {
    r.cause = removal_cause::expired;
  } else {
    r.cause = why.cause;
    r.origin = why.origin;
  }
  switch (r.cause) {
  case removal_cause::replaced:
  case removal_cause::key:
  case removal_cause::keys:
    r.writer = removal_writer::current();
    break;
  default:
    break;
  }
  reports_.push_back(std::move(r));
}

void shard_table::report_created(std::string_view key, uint64_t version) {
  if (!sink_->wants_created())
    return;
  removal r;
  r.key = key;
  r.version = version;
  r.cause = removal_cause::created;
  r.writer = removal_writer::current();
  reports_.push_back(std::move(r));
}

void shard_table::flush_reports() {
  sink_->push(reports_);
}

void shard_table::set_removal_sink(removal_sink* sink) {
  std::unique_lock guard{mtx_};
  if (sink_ && !reports_.empty())
    flush_reports();
  sink_ = sink;
  reports_.clear();
}

void shard_table::enforce_limits() {
  // Never evict the last entry: config validation guarantees that one entry
  // of the largest key and value fits into a shard.
  while (map_.size() > 1
         && (map_.size() > lim_.max_entries || bytes_ > lim_.max_bytes))
    evict_one();
}

} // namespace cachebus
