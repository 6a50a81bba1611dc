// The line index on its own: seeded random inserts, erasures and lookups
// against std::unordered_set, with a well-spread hash and with one so weak
// that most keys share a bucket (long overflow chains, churn through them).
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "cachebus/actors/cache/line_index.hpp"

using namespace cachebus;

namespace {

struct item {
  int key;
};

struct good_hash {
  size_t operator()(const item* p) const noexcept { return of(p->key); }
  static size_t of(int k) noexcept {
    return std::hash<std::string>{}(std::to_string(k));
  }
};

struct weak_hash { // 4 distinct hashes: every key collides
  size_t operator()(const item* p) const noexcept { return of(p->key); }
  static size_t of(int k) noexcept { return static_cast<size_t>(k % 4); }
};

template <class Hash>
void check_random_history(uint32_t seed, int key_range, int steps) {
  CAPTURE(seed);
  std::mt19937 rng{seed};
  line_index<item, Hash> index;
  std::unordered_map<int, std::unique_ptr<item>> model;
  auto find = [&](int k) {
    return index.find(Hash::of(k), [&](const item* p) { return p->key == k; });
  };
  for (int step = 0; step < steps; ++step) {
    int k = std::uniform_int_distribution<int>{0, key_range - 1}(rng);
    auto found = model.find(k);
    if (rng() % 3 != 0) { // insert if absent
      if (found == model.end()) {
        auto owned = std::make_unique<item>(item{k});
        index.insert(owned.get(), Hash::of(k));
        model.emplace(k, std::move(owned));
      }
    } else if (found != model.end()) {
      REQUIRE(index.erase(found->second.get(), Hash::of(k)));
      model.erase(found);
    } else {
      item stranger{k};
      REQUIRE_FALSE(index.erase(&stranger, Hash::of(k)));
    }
    REQUIRE(index.size() == model.size());
    if (step % 97 == 0) {
      for (int q = 0; q < key_range; ++q) {
        auto m = model.find(q);
        REQUIRE(find(q) == (m == model.end() ? nullptr : m->second.get()));
      }
    }
  }
  size_t seen = 0;
  index.for_each([&](item* p) {
    ++seen;
    REQUIRE(model.count(p->key) == 1);
  });
  CHECK(seen == model.size());
}

} // namespace

TEST_CASE("the line index finds exactly what was inserted and not erased",
          "[line_index]") {
  for (uint32_t seed = 1; seed <= 10; ++seed)
    check_random_history<good_hash>(seed, 5000, 40'000);
}

TEST_CASE("the line index stays exact when every key collides and keys churn",
          "[line_index]") {
  for (uint32_t seed = 1; seed <= 5; ++seed)
    check_random_history<weak_hash>(seed, 300, 20'000);
}

TEST_CASE("an empty or cleared line index finds nothing and erases nothing",
          "[line_index]") {
  line_index<item, good_hash> index;
  item a{1};
  CHECK(index.find(good_hash::of(1), [](const item*) { return true; })
        == nullptr);
  CHECK_FALSE(index.erase(&a, good_hash::of(1)));
  index.insert(&a, good_hash::of(1));
  CHECK(index.size() == 1);
  CHECK(index.bytes() > 0);
  index.clear();
  CHECK(index.size() == 0);
  CHECK(index.bytes() == 0);
  CHECK(index.find(good_hash::of(1), [](const item*) { return true; })
        == nullptr);
  index.insert(&a, good_hash::of(1)); // usable again
  CHECK(index.find(good_hash::of(1), [](const item* p) { return p->key == 1; })
        == &a);
}

TEST_CASE("elements anywhere in user space, the stack's top addresses too, "
          "are found by the 48 bits the index keeps of them",
          "[line_index]") {
  line_index<item, good_hash> index;
  item on_stack{7};
  auto on_heap = std::make_unique<item>(item{8});
  index.insert(&on_stack, good_hash::of(7));
  index.insert(on_heap.get(), good_hash::of(8));
  auto find = [&](int k) {
    return index.find(good_hash::of(k),
                      [&](const item* p) { return p->key == k; });
  };
  CHECK(find(7) == &on_stack);
  CHECK(find(8) == on_heap.get());
  CHECK(index.erase(&on_stack, good_hash::of(7)));
  CHECK(find(7) == nullptr);
  CHECK(find(8) == on_heap.get());
}
