#include "cachebus/actors/cache/shard_table.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "cachebus/actors/cache/removal_sink.hpp"
#include "cachebus/actors/cache/time_source.hpp"
#include "cachebus/actors/invalidation/dependency_graph.hpp"
#include "cachebus/actors/invalidation/glob.hpp"
#include "cachebus/actors/node/options.hpp"

namespace cachebus {

namespace {

// What a hit reads, first: with the sieve hook's visited bit and the tag
// links' bounds right behind it, a hit touches the entry's first 128 bytes.
struct entry_head {
  entry_head(std::string_view k, size_t h) : hash(h), key(k) {
    // nop
  }

  const size_t hash; // std::hash of key (hashed_key)
  const std::string key;
  std::string value;
  int64_t expires_ns = no_expiry;
  bool has_parents = false;
  // True if `version` came from the source record; a shard-assigned version
  // says nothing about freshness, so versioned invalidations always remove
  // such an entry.
  bool sourced = false;
  // Removal notifications: this entry was reported gone (a tag killed it)
  // while it still occupies the table; its reclaim reports nothing.
  bool reported = false;
};

} // namespace

// An entry is linked into each part through the part's hook, a base class:
// the parts hand hooks back (a victim, a due entry, a dead tag member) and the
// table turns them into entries with a static_cast.
struct shard_table::entry : entry_head,
                            sieve_queue::hook,
                            tag_index::member,
                            expiry_wheel::hook {
  entry(std::string_view k, size_t h) : entry_head(k, h) {
    // nop
  }

  uint64_t version = 0;
  int64_t grace_ns = 0; // kept this long after expiry for stale reads
  int64_t load_ns = 0;  // how long the value took to load
  std::set<std::string_view>::iterator ordered_pos;

  /// The bytes this entry holds, as charged against max-bytes.
  size_t charge(bool ordered_index) const noexcept {
    return charge_of(key.capacity(), value.capacity(), ordered_index)
           + tag_bytes;
  }

  /// True if an invalidation at version `v` covers this entry.
  bool older_than(uint64_t v) const noexcept { return !sourced || version < v; }
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

namespace {

// What glibc's malloc takes for a request of `n` bytes: `n` plus its 8-byte
// chunk header, rounded up to 16, at least 32.
constexpr size_t heap_chunk(size_t n) noexcept {
  return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15});
}

// The heap a std::string holds beyond its own object: none while its
// characters fit inline (libstdc++: 15).
constexpr size_t string_heap(size_t capacity) noexcept {
  return capacity > 15 ? heap_chunk(capacity + 1) : 0;
}

// A std::set<std::string_view> node: the red-black node header (32 B) and
// the view.
constexpr size_t ordered_node_bytes = heap_chunk(32 + sizeof(std::string_view));

// The index (boost::unordered_flat_set of pointers): 8 B of pointer and 1 B
// of metadata per slot, slots at most 7/8 full, doubled when full: 16 B per
// entry covers the fill levels in between.
constexpr size_t index_slot_bytes = 16;

} // namespace

size_t shard_table::charge_of(size_t key_capacity, size_t value_capacity,
                              bool ordered_index) noexcept {
  return heap_chunk(sizeof(entry)) + index_slot_bytes
         + (ordered_index ? ordered_node_bytes : 0) + string_heap(key_capacity)
         + string_heap(value_capacity);
}

shard_table::shard_table(limits lim, const time_source* clk,
                         dependency_graph* graph)
    : lim_(lim), clock_(clk), wheel_(lim.tick_ns), graph_(graph) {
  // nop
}

shard_table::~shard_table() {
  // Entries point into tag states; drop the links before either dies.
  for (auto* e : map_) {
    e->tags.clear();
    delete e;
  }
}

size_t shard_table::entry_hash::operator()(const entry* e) const noexcept {
  return e->hash;
}

bool shard_table::entry_eq::operator()(const entry* e,
                                       const hashed_key& k) const noexcept {
  return e->hash == k.hash && e->key == k.text;
}

shard_table::entry* shard_table::find(const hashed_key& key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : *it;
}

bool shard_table::tags_live(const entry& e) noexcept {
  // older_than() grows with its argument, so checking the highest dead_below
  // of the entry's tags is checking every one of them.
  auto below = tag_index::dead_below(e);
  return below == 0 || !e.older_than(below);
}

void shard_table::count_read(bool hit) const noexcept {
  auto& r = reads_[this_thread_slot()];
  (hit ? r.hits : r.misses).fetch_add(1, std::memory_order_relaxed);
}

bool shard_table::alive(const entry& e, int64_t now) const noexcept {
  return e.expires_ns > now && tags_live(e);
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
    auto* e = find(hashed_key{key});
    if (e && alive(*e, clock_->now_ns())) {
      sieve_queue::mark_visited(*e);
      out.assign(e->value);
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
    auto* e = find(key);
    if (e && alive(*e, clock_->now_ns())) {
      sieve_queue::mark_visited(*e);
      out.assign(e->value);
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
    if (auto* found = find(hashed_key{key})) {
      auto& e = *found;
      auto now = clock_->now_ns();
      bool tags_ok = tags_live(e);
      if (tags_ok && e.expires_ns > now) {
        r.state = lookup_result::fresh;
        sieve_queue::mark_visited(e);
      } else if (tags_ok && reclaim_at(e.expires_ns, e.grace_ns) > now) {
        r.state = lookup_result::stale;
      }
      if (r.state != lookup_result::missing) {
        out.assign(e.value);
        r.version = e.version;
        r.expires_ns = e.expires_ns;
        r.stale_until_ns = reclaim_at(e.expires_ns, e.grace_ns);
        r.load_ns = e.load_ns;
      }
    }
  }
  count_read(r.state == lookup_result::fresh);
  return r;
}

bool shard_table::still_holds(std::string_view key, uint64_t version,
                              std::string& out) const {
  std::shared_lock guard{mtx_};
  auto* found = find(hashed_key{key});
  if (!found || found->version != version)
    return false;
  auto& e = *found;
  if (!tags_live(e) || reclaim_at(e.expires_ns, e.grace_ns) <= clock_->now_ns())
    return false;
  out.assign(e.value);
  return true;
}

bool shard_table::peek(std::string_view key, std::string& out) const {
  uint64_t ignored;
  return peek(key, out, ignored);
}

bool shard_table::peek(std::string_view key, std::string& out,
                       uint64_t& version) const {
  std::shared_lock guard{mtx_};
  auto* e = find(hashed_key{key});
  if (!e || !alive(*e, clock_->now_ns()))
    return false;
  out.assign(e->value);
  version = e->sourced ? e->version : 0;
  return true;
}

bool shard_table::contains(std::string_view key) const {
  std::shared_lock guard{mtx_};
  auto* e = find(hashed_key{key});
  return e && alive(*e, clock_->now_ns());
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
  if (!found) {
    auto owned = std::make_unique<entry>(key, hk.hash);
    map_.insert(owned.get());
    auto& e = *owned.release();
    e.value = std::move(value);
    e.version = version;
    e.sourced = sourced;
    e.expires_ns = expires_ns;
    e.grace_ns = grace_ns;
    e.load_ns = load_ns;
    if (lim_.ordered_index)
      e.ordered_pos = ordered_.emplace(e.key).first;
    tags_.link(e, std::move(tags));
    queue_.push(e);
    wheel_.schedule(e, reclaim_at(expires_ns, grace_ns));
    bytes_ += e.charge(lim_.ordered_index);
    entries_.store(map_.size(), std::memory_order_relaxed);
  } else {
    auto& e = *found;
    if (sink_)
      report(e, {removal_cause::replaced, {}});
    e.reported = false;
    bytes_ -= e.charge(lim_.ordered_index);
    // Memory goes once the grace window after expiry has passed.
    wheel_.reschedule(e, reclaim_at(expires_ns, grace_ns));
    e.expires_ns = expires_ns;
    e.grace_ns = grace_ns;
    e.value = std::move(value);
    e.version = version;
    e.sourced = sourced;
    e.load_ns = load_ns;
    if (!tags.empty() || !e.tags.empty()) {
      tags_.unlink(e);
      tags_.link(e, std::move(tags));
    }
    sieve_queue::mark_written(e);
    bytes_ += e.charge(lim_.ordered_index);
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
  std::vector<std::string> hits;
  {
    std::unique_lock guard{mtx_};
    fills_.cancel_matching(glob);
    for (auto i = ordered_.lower_bound(prefix);
         i != ordered_.end() && i->substr(0, prefix.size()) == prefix; ++i)
      if (glob_match(glob, *i))
        hits.emplace_back(*i);
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
    for (auto i = first; i < last; ++i) {
      auto* e = find(hashed_key{hits[i]});
      if (!e)
        continue; // gone meanwhile (evicted, expired, invalidated)
      remove(*e, why);
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
      auto& e = const_cast<entry&>(static_cast<const entry&>(*l->owner));
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
      auto& e = static_cast<entry&>(*l->owner);
      if (e.older_than(version))
        ++n;
      else if (!e.older_than(tag_index::dead_below(e)))
        survivors.push_back(&e);
    }
    for (auto* e : survivors) {
      bytes_ -= e->charge(lim_.ordered_index);
      tags_.relink(*e);
      bytes_ += e->charge(lim_.ordered_index);
    }
  }
  invalidations_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

size_t shard_table::clear(removal_reason why) {
  std::unique_lock guard{mtx_};
  report_scope reports{*this};
  fills_.cancel_all(); // tagged fills that began before are refused too
  // Taken out first: begin() of an open-addressing table scans for the
  // first full slot, so removing begin() again and again is quadratic.
  std::vector<entry*> all(map_.begin(), map_.end());
  for (auto* e : all)
    remove(*e, why);
  auto n = all.size();
  invalidations_.fetch_add(n, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return n;
}

bool shard_table::attach_parent(std::string_view dependent,
                                const std::string& parent) {
  std::unique_lock guard{mtx_};
  auto* e = find(hashed_key{dependent});
  if (!e || !alive(*e, clock_->now_ns()) || !graph_)
    return false;
  e->has_parents = true;
  graph_->add(parent, e->key);
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
      remove(static_cast<entry&>(*due), {removal_cause::expired, {}});
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
    auto& e = static_cast<entry&>(*m);
    // Dead if this state or any other retired state it is linked to says so:
    // relinking would move it off those states and revive it.
    if (e.older_than(std::max(dead_below, tag_index::dead_below(e)))) {
      // Dead: free it (this unlinks it from every tag, this one included).
      remove(e, {removal_cause::tag, {}});
    } else {
      // Newer than the invalidation: move its links to the live states.
      bytes_ -= e.charge(lim_.ordered_index);
      tags_.relink(e);
      bytes_ += e.charge(lim_.ordered_index);
    }
    ++freed; // either way, work done
  }
  return freed;
}

void shard_table::remove(entry& e, removal_reason why) {
  if (sink_)
    report(e, why);
  bytes_ -= e.charge(lim_.ordered_index);
  wheel_.unschedule(e);
  queue_.unlink(e);
  tags_.unlink(e);
  if (lim_.ordered_index)
    ordered_.erase(e.ordered_pos);
  if (e.has_parents && graph_)
    graph_->remove_dependent(e.key);
  map_.erase(&e);
  delete &e;
  entries_.store(map_.size(), std::memory_order_relaxed);
}

int64_t shard_table::reclaim_at(int64_t expires_ns, int64_t grace_ns) noexcept {
  if (expires_ns == no_expiry || grace_ns >= no_expiry - expires_ns)
    return no_expiry;
  return expires_ns + grace_ns;
}

void shard_table::evict_one() {
  auto& victim = static_cast<entry&>(queue_.victim());
  remove(victim, {removal_cause::evicted, {}});
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void shard_table::report(entry& e, removal_reason why, bool killed_now) {
  if (e.reported)
    return;
  e.reported = true;
  removal r;
  r.key = e.key;
  r.version = e.sourced ? e.version : 0;
  if (!killed_now && !tags_live(e)) {
    r.cause = removal_cause::tag; // an earlier tag invalidation
  } else if (e.expires_ns <= clock_->now_ns()) {
    r.cause = removal_cause::expired;
  } else {
    r.cause = why.cause;
    r.origin = why.origin;
  }
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
