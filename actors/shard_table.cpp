#include "cachebus/actors/shard_table.hpp"

#include <mutex>

#include "cachebus/actors/clock.hpp"
#include "cachebus/actors/options.hpp"

namespace cachebus {

struct shard_table::entry {
  std::string value;
  uint64_t version = 0;
  int64_t expires_ns = no_expiry;
  std::vector<std::string> tags;
  const std::string* key = nullptr; // the map node's key; stable
  // SIEVE queue links: `newer` points toward head_, `older` toward tail_.
  entry* newer = nullptr;
  entry* older = nullptr;
  mutable std::atomic<bool> visited{false}; // set by readers
  // Expiry bucket links (tick < 0: not scheduled).
  entry* x_prev = nullptr;
  entry* x_next = nullptr;
  int64_t tick = -1;

  size_t charge() const noexcept {
    size_t n = key->size() + value.size() + entry_overhead;
    for (auto& t : tags)
      n += t.size() + sizeof(std::string);
    return n;
  }

  bool live(int64_t now) const noexcept {
    return expires_ns > now;
  }
};

shard_table::shard_table(limits lim, const clock* clk)
  : lim_(lim), clock_(clk) {
  // nop
}

shard_table::~shard_table() = default;

// -- reads --------------------------------------------------------------------

bool shard_table::get(std::string_view key, std::string& out) const {
  uint64_t ignored;
  return get(key, out, ignored);
}

bool shard_table::get(std::string_view key, std::string& out,
                      uint64_t& version) const {
  {
    std::shared_lock guard{mtx_};
    auto it = map_.find(key);
    if (it != map_.end() && it->second.live(clock_->now_ns())) {
      auto& e = it->second;
      // Avoid dirtying the cache line when the bit is already set.
      if (!e.visited.load(std::memory_order_relaxed))
        e.visited.store(true, std::memory_order_relaxed);
      out.assign(e.value);
      version = e.version;
      guard.unlock();
      hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool shard_table::contains(std::string_view key) const {
  std::shared_lock guard{mtx_};
  auto it = map_.find(key);
  return it != map_.end() && it->second.live(clock_->now_ns());
}

shard_stats shard_table::stats() const {
  shard_stats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.sets = sets_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.expirations = expirations_.load(std::memory_order_relaxed);
  s.invalidations = invalidations_.load(std::memory_order_relaxed);
  s.entries = entries_.load(std::memory_order_relaxed);
  s.bytes = bytes_pub_.load(std::memory_order_relaxed);
  return s;
}

// -- mutations ----------------------------------------------------------------

uint64_t shard_table::put(std::string_view key, std::string value,
                          int64_t expires_ns, std::vector<std::string> tags,
                          uint64_t version) {
  std::unique_lock guard{mtx_};
  if (version == 0)
    version = next_version_++;
  else if (version >= next_version_)
    next_version_ = version + 1;
  auto it = map_.find(key);
  if (it == map_.end()) {
    it = map_.emplace(std::piecewise_construct,
                      std::forward_as_tuple(std::string{key}),
                      std::forward_as_tuple())
           .first;
    auto& e = it->second;
    e.key = &it->first;
    e.value = std::move(value);
    e.version = version;
    e.expires_ns = expires_ns;
    e.tags = std::move(tags);
    queue_push(e);
    schedule(e);
    bytes_ += e.charge();
    entries_.store(map_.size(), std::memory_order_relaxed);
  } else {
    auto& e = it->second;
    bytes_ -= e.charge();
    // Overwrites usually land in the same expiry bucket: keep the entry's
    // place instead of re-filing it.
    if (tick_of(expires_ns) != e.tick) {
      unschedule(e);
      e.expires_ns = expires_ns;
      schedule(e);
    } else {
      e.expires_ns = expires_ns;
    }
    e.value = std::move(value);
    e.version = version;
    e.tags = std::move(tags);
    e.visited.store(true, std::memory_order_relaxed);
    bytes_ += e.charge();
  }
  sets_.fetch_add(1, std::memory_order_relaxed);
  enforce_limits();
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return version;
}

size_t shard_table::erase(std::string_view key) {
  std::unique_lock guard{mtx_};
  auto it = map_.find(key);
  if (it == map_.end())
    return 0;
  remove(it);
  invalidations_.fetch_add(1, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return 1;
}

size_t shard_table::erase(const std::vector<std::string>& keys) {
  std::unique_lock guard{mtx_};
  size_t n = 0;
  for (auto& key : keys) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      remove(it);
      ++n;
    }
  }
  invalidations_.fetch_add(n, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return n;
}

bool shard_table::sweep(int64_t now_ns, size_t budget) {
  std::unique_lock guard{mtx_};
  size_t freed = 0;
  while (!buckets_.empty()) {
    auto first = buckets_.begin();
    // A bucket is due once its whole span lies in the past.
    if (first->first * lim_.tick_ns > now_ns)
      break;
    if (freed == budget)
      break;
    auto* e = first->second;
    // remove() unlinks e from the bucket and drops the bucket when empty.
    remove(map_.find(*e->key));
    ++freed;
  }
  expirations_.fetch_add(freed, std::memory_order_relaxed);
  bytes_pub_.store(bytes_, std::memory_order_relaxed);
  return !buckets_.empty() && buckets_.begin()->first * lim_.tick_ns <= now_ns;
}

// -- private helpers ----------------------------------------------------------

void shard_table::remove(map_type::iterator it) {
  auto& e = it->second;
  bytes_ -= e.charge();
  unschedule(e);
  queue_unlink(e);
  map_.erase(it);
  entries_.store(map_.size(), std::memory_order_relaxed);
}

int64_t shard_table::tick_of(int64_t expires_ns) const noexcept {
  // Bucket T holds expiries in [(T-1)*tick, T*tick); -1 means "no bucket".
  return expires_ns == no_expiry ? -1 : expires_ns / lim_.tick_ns + 1;
}

void shard_table::schedule(entry& e) {
  auto tick = tick_of(e.expires_ns);
  if (tick < 0)
    return;
  e.tick = tick;
  auto& head = buckets_[tick];
  e.x_prev = nullptr;
  e.x_next = head;
  if (head)
    head->x_prev = &e;
  head = &e;
}

void shard_table::unschedule(entry& e) {
  if (e.tick < 0)
    return;
  if (e.x_prev) {
    e.x_prev->x_next = e.x_next;
  } else {
    auto i = buckets_.find(e.tick);
    if (e.x_next)
      i->second = e.x_next;
    else
      buckets_.erase(i);
  }
  if (e.x_next)
    e.x_next->x_prev = e.x_prev;
  e.x_prev = e.x_next = nullptr;
  e.tick = -1;
}

void shard_table::queue_push(entry& e) {
  e.older = head_;
  e.newer = nullptr;
  if (head_)
    head_->newer = &e;
  head_ = &e;
  if (!tail_)
    tail_ = &e;
}

void shard_table::queue_unlink(entry& e) {
  if (hand_ == &e)
    hand_ = e.newer;
  if (e.newer)
    e.newer->older = e.older;
  else
    head_ = e.older;
  if (e.older)
    e.older->newer = e.newer;
  else
    tail_ = e.newer;
  e.newer = e.older = nullptr;
}

void shard_table::evict_one() {
  // SIEVE: walk from the hand (or the tail) toward the head, clearing visited
  // bits, and evict the first unvisited entry; wrap to the tail at the head.
  auto* obj = hand_ ? hand_ : tail_;
  while (obj->visited.load(std::memory_order_relaxed)) {
    obj->visited.store(false, std::memory_order_relaxed);
    obj = obj->newer ? obj->newer : tail_;
  }
  hand_ = obj->newer;
  remove(map_.find(*obj->key));
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void shard_table::enforce_limits() {
  // Never evict the last entry: config validation guarantees that one entry
  // of the largest key and value fits into a shard.
  while (map_.size() > 1
         && (map_.size() > lim_.max_entries || bytes_ > lim_.max_bytes))
    evict_one();
}

} // namespace cachebus
