// max-bytes is honest: what a node charges for its entries is the heap they
// really take, so a node filled far past its max-bytes holds about max-bytes
// of memory, not 1.5x it.
#include <catch2/catch.hpp>

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool heap_is_measurable = false; // ASan's allocator has redzones
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
constexpr bool heap_is_measurable = false;
#  else
constexpr bool heap_is_measurable = true;
#  endif
#else
constexpr bool heap_is_measurable = true;
#endif

// Bytes malloc has handed out and not taken back (arena and mmap).
size_t heap_in_use() {
  auto mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// Resident set size of this process.
size_t rss_bytes() {
  size_t pages = 0;
  size_t resident = 0;
  if (auto* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%zu %zu", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

void fill_ten_times(bool ordered_index, bool tagged) {
  constexpr size_t max_bytes = size_t{32} << 20;
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  opts.shards = 2;
  opts.max_entries = 10'000'000; // bytes bind, not entries
  opts.max_bytes = max_bytes;
  opts.ordered_index = ordered_index;
  auto started = node::start(sys, opts);
  REQUIRE(started);
  auto& n = **started;
  auto heap_before = heap_in_use();
  auto rss_before = rss_bytes();
  // 11-byte keys and 100-byte values, as in `cachebus-bench memory`; every
  // 10th entry tagged when `tagged`.
  // An entry of this shape takes well over 300 B, so this puts at least ten
  // times max-bytes.
  constexpr size_t puts = 10 * max_bytes / 300;
  for (size_t i = 0; i < puts; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "k:%09zu", i);
    set_options so;
    if (tagged && i % 10 == 0)
      so.tags = {"t" + std::to_string(i % 7)};
    REQUIRE(n.set(key, std::string(100, 'v'), so));
  }
  auto s = n.stats().total;
  CHECK(s.evictions > 0);
  INFO("entries " << s.entries << ", charged " << s.bytes << " B, max-bytes "
                  << max_bytes);
  CHECK(s.bytes <= max_bytes);
  CHECK(s.bytes >= max_bytes * 9 / 10); // full, not far below its limit
  if (heap_is_measurable) {
    // Growth, or 0 if it shrank (malloc may give back what earlier tests in
    // this process left free).
    auto grown = [](size_t before, size_t after) {
      return after > before ? after - before : 0;
    };
    auto heap = grown(heap_before, heap_in_use());
    auto rss = grown(rss_before, rss_bytes());
    INFO("heap in use grew " << heap << " B, RSS grew " << rss << " B");
    CHECK(heap <= max_bytes * 11 / 10);
    CHECK(rss <= max_bytes * 11 / 10);
    // And the charge is no gross overestimate either.
    CHECK(heap >= max_bytes * 8 / 10);
  }
  n.stop();
}

} // namespace

TEST_CASE("a node filled with ten times its max-bytes holds no more than "
          "1.1x max-bytes of memory",
          "[node][memory]") {
  SECTION("with the ordered index") {
    fill_ten_times(true, false);
  }
  SECTION("without the ordered index") {
    fill_ten_times(false, false);
  }
  SECTION("with tagged entries") {
    fill_ten_times(true, true);
  }
}
