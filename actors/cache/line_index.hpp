// An open-addressing hash set of pointers whose buckets are one cache line
// each: 9 one-byte hash tags, one overflow byte and 9 pointers of 48 bits
// (the user-space addresses of x86-64 and AArch64 Linux: 7 B per slot where
// full pointers took 9). A lookup reads one line (almost always one bucket),
// compares the tags of its 9 slots at once and follows only the pointers
// whose tag matches (1 in 255 false candidates), so a hit costs one miss for
// the index and one for the object, where a table with separate metadata and
// slot arrays (boost::unordered_flat_set) costs two for the index.
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

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

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
    return b ? load(*b, i) : nullptr;
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
    std::memset(b->slots[i], 0, pointer_bytes);
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
          f(load(buckets_[b], i));
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
  static constexpr size_t slots_per_bucket = 9;
  static constexpr size_t pointer_bytes = 6;

  struct alignas(64) bucket {
    uint8_t tags[slots_per_bucket]; // 0: free slot
    uint8_t overflow;               // bit k: a key of class k went on
    // The low 48 bits of each pointer, little-endian.
    uint8_t slots[slots_per_bucket][pointer_bytes];
  };
  static_assert(sizeof(bucket) == 64);
  static_assert(std::endian::native == std::endian::little);
  static_assert(sizeof(T*) == 8);

  static T* load(const bucket& b, size_t i) noexcept {
    uint64_t bits = 0;
    std::memcpy(&bits, b.slots[i], pointer_bytes);
    return reinterpret_cast<T*>(static_cast<uintptr_t>(bits));
  }

  static void store(bucket& b, size_t i, T* p) noexcept {
    auto bits = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p));
    // User-space addresses on x86-64 and AArch64 Linux stay below 2^48
    // (above it only for an mmap asked for such an address).
    assert(bits >> 48 == 0);
    std::memcpy(b.slots[i], &bits, pointer_bytes);
  }

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

  // Bit i set for each slot i whose tag is `tag` (0: the free slots).
  static uint32_t matches(const bucket& b, uint8_t tag) noexcept {
#if defined(__SSE2__)
    auto line = _mm_load_si128(reinterpret_cast<const __m128i*>(&b));
    auto eq = _mm_cmpeq_epi8(line, _mm_set1_epi8(static_cast<char>(tag)));
    return static_cast<uint32_t>(_mm_movemask_epi8(eq))
           & ((1u << slots_per_bucket) - 1);
#else
    uint32_t m = 0;
    for (size_t i = 0; i < slots_per_bucket; ++i)
      m |= static_cast<uint32_t>(b.tags[i] == tag) << i;
    return m;
#endif
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
        auto i = static_cast<size_t>(std::countr_zero(m));
        if (hit(load(bucket, i)))
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
      if (auto free = matches(bucket, 0)) {
        auto i = static_cast<size_t>(std::countr_zero(free));
        bucket.tags[i] = tag;
        store(bucket, i, p);
        return;
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
        if (old[b].tags[i] != 0) {
          auto* p = load(old[b], i);
          place(p, mix(HashOf{}(p)));
        }
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
