// An open-addressing hash set of pointers whose buckets are one cache line
// each: 7 one-byte hash tags, one overflow byte and 7 pointers. A lookup
// reads one line (almost always one bucket), compares the tags of its 7
// slots at once and follows only the pointers whose tag matches (1 in 255
// false candidates), so a hit costs one miss for the index and one for the
// object, where a table with separate metadata and slot arrays
// (boost::unordered_flat_set) costs two for the index.
//
// Deletion leaves no tombstone: a bucket's overflow byte records (one bit per
// hash class) that a key whose probe passed it went on to a later bucket, and
// a lookup stops at the first bucket whose bit for its hash is clear. Bits
// are cleared by a rehash; erasing from an overflowed bucket brings the next
// rehash closer, so churn cannot leave every bucket overflowed.
//
// The pointees are the caller's: the index owns nothing and calls HashOf{}(p)
// (the same hash the caller passes in) only to rehash. Invariants: size() <=
// 7/8 of the slots; every element is reachable from its home bucket through
// buckets whose overflow bit for it is set. Complexity: find, insert, erase
// O(1) expected; a rehash O(n). NOT thread-safe: the owner's lock guards it
// (find is const and writes nothing, so concurrent finds are safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace cachebus {

template <class T, class HashOf>
class line_index {
 public:
  line_index() = default;
  line_index(const line_index&) = delete;
  line_index& operator=(const line_index&) = delete;
  ~line_index() { release(buckets_); }

  size_t size() const noexcept { return size_; }

  /// The element whose hash is `hash` and for which eq(element) holds, or
  /// null.
  template <class Eq>
  T* find(size_t hash, Eq&& eq) const noexcept {
    auto [b, i]
      = locate(hash, [&](T* p) { return eq(static_cast<const T*>(p)); });
    return b ? b->slots[i] : nullptr;
  }

  /// Adds `p`, whose hash is `hash`. REQUIRES: no element equal to it.
  void insert(T* p, size_t hash) {
    if (size_ + spills_ >= max_load_)
      grow();
    place(p, mix(hash));
    ++size_;
  }

  /// Removes `p` (hash `hash`) if present; returns whether it was.
  bool erase(const T* p, size_t hash) noexcept {
    auto [b, i] = locate(hash, [&](T* q) { return q == p; });
    if (!b)
      return false;
    b->tags[i] = 0;
    b->slots[i] = nullptr;
    --size_;
    if (b->overflow != 0)
      ++spills_; // lookups still pass this bucket: rehash sooner
    return true;
  }

  /// Calls f(T*) for every element (none may be added or removed meanwhile).
  template <class F>
  void for_each(F&& f) const {
    for (size_t b = 0; b < bucket_count_; ++b)
      for (size_t i = 0; i < slots_per_bucket; ++i)
        if (buckets_[b].tags[i] != 0)
          f(buckets_[b].slots[i]);
  }

  /// Removes every element and gives the buckets back.
  void clear() noexcept {
    release(buckets_);
    buckets_ = nullptr;
    bucket_count_ = mask_ = size_ = spills_ = max_load_ = 0;
  }

  /// Bytes the buckets take.
  size_t bytes() const noexcept { return bucket_count_ * sizeof(bucket); }

 private:
  static constexpr size_t slots_per_bucket = 7;

  struct alignas(64) bucket {
    uint8_t tags[slots_per_bucket]; // 0: free slot
    uint8_t overflow;               // bit k: a key of class k went on
    T* slots[slots_per_bucket];
  };
  static_assert(sizeof(bucket) == 64);

  // The caller's hash, mixed (its low bits may be weak): the bucket comes
  // from the top bits, the tag and the overflow class from the low ones.
  static uint64_t mix(size_t hash) noexcept {
    return static_cast<uint64_t>(hash) * 0x9E3779B97F4A7C15ull;
  }
  size_t home(uint64_t h) const noexcept {
    return static_cast<size_t>(h >> 32) & mask_;
  }
  static uint8_t tag_of(uint64_t h) noexcept {
    auto t = static_cast<uint8_t>(h >> 24);
    return t == 0 ? 1 : t;
  }
  static uint8_t overflow_bit(uint64_t h) noexcept {
    return static_cast<uint8_t>(1u << ((h >> 16) & 7));
  }

  // One bit (the top bit of byte i) for each slot i whose tag is `tag`.
  static uint64_t matches(const bucket& b, uint8_t tag) noexcept {
    uint64_t word;
    std::memcpy(&word, b.tags, 8);
    constexpr uint64_t ones = 0x0101010101010101ull;
    constexpr uint64_t highs = 0x8080808080808080ull;
    auto x = word ^ (ones * tag);
    // Exact per byte (no borrow crosses a byte): the high bit of each byte
    // of x that is zero.
    auto zero = ~(((x & ~highs) + ~highs) | x) & highs;
    return zero & 0x0080808080808080ull; // byte 7 is the overflow byte
  }

  // The bucket and slot of the first element on the probe path of `hash`
  // whose tag matches and for which hit(element) holds; {null, 0} if none.
  template <class Hit>
  std::pair<bucket*, size_t> locate(size_t hash, Hit&& hit) const noexcept {
    if (size_ == 0)
      return {nullptr, 0};
    auto h = mix(hash);
    auto tag = tag_of(h);
    auto bit = overflow_bit(h);
    for (size_t b = home(h);; b = (b + 1) & mask_) {
      auto& bucket = buckets_[b];
      for (auto m = matches(bucket, tag); m != 0; m &= m - 1) {
        auto i = static_cast<size_t>(__builtin_ctzll(m)) / 8;
        if (hit(bucket.slots[i]))
          return {&bucket, i};
      }
      if ((bucket.overflow & bit) == 0)
        return {nullptr, 0};
    }
  }

  void place(T* p, uint64_t h) noexcept {
    auto tag = tag_of(h);
    auto bit = overflow_bit(h);
    for (size_t b = home(h);; b = (b + 1) & mask_) {
      auto& bucket = buckets_[b];
      for (size_t i = 0; i < slots_per_bucket; ++i) {
        if (bucket.tags[i] == 0) {
          bucket.tags[i] = tag;
          bucket.slots[i] = p;
          return;
        }
      }
      bucket.overflow |= bit;
    }
  }

  void grow() {
    // Double when the elements fill the slots; otherwise rebuild at the same
    // size to clear the overflow bits that erasures left behind.
    auto count = bucket_count_ == 0       ? size_t{2}
                 : size_ >= max_load_ / 2 ? bucket_count_ * 2
                                          : bucket_count_;
    auto* fresh = static_cast<bucket*>(
      ::operator new (count * sizeof(bucket), std::align_val_t{64}));
    std::memset(static_cast<void*>(fresh), 0, count * sizeof(bucket));
    auto* old = std::exchange(buckets_, fresh);
    auto old_count = std::exchange(bucket_count_, count);
    mask_ = count - 1;
    max_load_ = count * slots_per_bucket * 7 / 8;
    spills_ = 0;
    for (size_t b = 0; b < old_count; ++b)
      for (size_t i = 0; i < slots_per_bucket; ++i)
        if (old[b].tags[i] != 0)
          place(old[b].slots[i], mix(HashOf{}(old[b].slots[i])));
    release(old);
  }

  static void release(bucket* b) noexcept {
    if (b)
      ::operator delete (static_cast<void*>(b), std::align_val_t{64});
  }

  bucket* buckets_ = nullptr;
  size_t bucket_count_ = 0; // a power of two, or 0
  size_t mask_ = 0;
  size_t size_ = 0;
  size_t spills_ = 0; // erasures from overflowed buckets since the rehash
  size_t max_load_ = 0;
};

} // namespace cachebus
