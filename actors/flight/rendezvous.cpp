#include "cachebus/actors/flight/rendezvous.hpp"

namespace cachebus {

namespace {

constexpr uint64_t fnv_offset = 14695981039346656037ull;
constexpr uint64_t fnv_prime = 1099511628211ull;

uint64_t fnv1a(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= fnv_prime;
  }
  return h;
}

// splitmix64's finalizer: FNV alone mixes its last bytes poorly.
uint64_t finalize(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

} // namespace

uint64_t rendezvous_score(std::string_view member, std::string_view key) {
  // The length separates member from key: ("ab", "c") != ("a", "bc").
  auto h = fnv1a(fnv_offset, member);
  h ^= member.size();
  h *= fnv_prime;
  return finalize(fnv1a(h, key));
}

std::string_view rendezvous_owner(std::string_view key,
                                  const std::vector<std::string>& members) {
  const std::string* best = nullptr;
  uint64_t best_score = 0;
  for (auto& m : members) {
    auto score = rendezvous_score(m, key);
    if (!best || score > best_score || (score == best_score && m < *best)) {
      best = &m;
      best_score = score;
    }
  }
  return best ? std::string_view{*best} : std::string_view{};
}

} // namespace cachebus
