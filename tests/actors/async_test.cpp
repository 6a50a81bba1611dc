// The asynchronous calls of the node: futures for fetch and invalidation,
// the same single flight as the blocking fetch, errors through the future,
// bounded loader threads, and no broken promise when the node stops.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

#include "support/gate.hpp"
#include "support/node_fixture.hpp"

using namespace cachebus;
using cachebus::test::gate;
using namespace std::chrono_literals;

namespace {

struct fixture : cachebus::test::node_fixture {
  explicit fixture(std::function<void(node_options&)> tweak = nullptr)
      : node_fixture(false, std::move(tweak)) {
    // nop
  }
};

// Waits (bounded) until `n` keys are being loaded.
bool eventually_held(fixture& f, uint64_t n) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (f.locks().held < n)
    if (std::chrono::steady_clock::now() > deadline)
      return false;
  return true;
}

bool eventually(const std::atomic<bool>& flag) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!flag)
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    else
      std::this_thread::yield();
  return true;
}

invalidation_event keys_event(std::vector<std::string> keys) {
  keys_invalidated ev;
  ev.keys = std::move(keys);
  return ev;
}

invalidation_event tag_event(std::string tag) {
  tag_invalidated ev;
  ev.tag = std::move(tag);
  return ev;
}

invalidation_event pattern_event(std::string glob) {
  pattern_invalidated ev;
  ev.glob = std::move(glob);
  return ev;
}

invalidation_event resource_event(std::string resource, std::string id) {
  invalidated ev;
  ev.resource = std::move(resource);
  ev.id = std::move(id);
  return ev;
}

template <class T>
caf::expected<T> get(std::future<caf::expected<T>>& f) {
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

bool failed_with(const caf::error& err, errc code) {
  return err && is(err, code);
}

} // namespace

TEST_CASE("many concurrent async fetches of one cold key run the loader "
          "once, on a loader thread, and all get its value",
          "[async][fetch]") {
  fixture f;
  std::atomic<int> runs{0};
  std::atomic<bool> on_caller{false};
  auto caller = std::this_thread::get_id();
  gate g;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    ++runs;
    if (std::this_thread::get_id() == caller)
      on_caller = true;
    g.wait();
    return loaded{"the value"};
  };
  constexpr int callers = 200;
  std::vector<std::future<caf::expected<std::string>>> futures;
  for (int i = 0; i < callers; ++i)
    futures.push_back(f.n->fetch_async("cold", loader));
  // None of them blocked this thread; all but the holder wait.
  CHECK(f.waiters_reach(callers - 1));
  // A blocking fetch joins the same flight.
  caf::expected<std::string> blocked{std::string{}};
  std::thread blocking{[&] { blocked = f.n->fetch("cold", loader); }};
  CHECK(f.waiters_reach(callers));
  g.open();
  blocking.join();
  CHECK(*blocked == "the value");
  for (auto& fut : futures)
    CHECK(*get(fut) == "the value");
  CHECK(runs == 1);
  CHECK_FALSE(on_caller);
  // A hit is a ready future.
  auto hit = f.n->fetch_async("cold", loader);
  CHECK(hit.wait_for(0s) == std::future_status::ready);
  CHECK(*hit.get() == "the value");
  CHECK(runs == 1);
  CHECK(f.locks().held == 0);
}

TEST_CASE("errors of an async fetch arrive through the future",
          "[async][fetch]") {
  fixture f;
  auto failing
    = f.n->fetch_async("k", [](const std::string&) -> caf::expected<loaded> {
        return make_error(errc::not_found, "no such row");
      });
  CHECK(failed_with(get(failing).error(), errc::not_found));
  auto throwing
    = f.n->fetch_async("k", [](const std::string&) -> caf::expected<loaded> {
        throw std::runtime_error("boom");
      });
  CHECK(failed_with(get(throwing).error(), errc::load_failed));
  auto bad_key = f.n->fetch_async(
    "", [](const std::string&) { return caf::expected<loaded>{loaded{"v"}}; });
  CHECK(failed_with(get(bad_key).error(), errc::invalid_key));
  // Without a node loader, the loader-less form fails as fetch does.
  auto no_loader = f.n->fetch_async("k");
  CHECK(failed_with(get(no_loader).error(), errc::invalid_config));
  CHECK(failed_with(f.n->get("k").error(), errc::miss));
  CHECK(f.locks().held == 0);
}

TEST_CASE("async loads beyond the queue bound get backpressure and release "
          "their keys",
          "[async][fetch]") {
  fixture f{[](node_options& o) {
    o.async_loaders = 1;
    o.max_queued_async_loads = 1;
  }};
  gate g;
  std::atomic<bool> started{false};
  loader_fn slow = [&](const std::string& key) -> caf::expected<loaded> {
    started = true;
    g.wait();
    return loaded{key};
  };
  auto running = f.n->fetch_async("a", slow); // on the one thread
  REQUIRE(eventually(started));
  auto queued = f.n->fetch_async("b", slow); // in the queue
  REQUIRE(eventually_held(f, 2));
  auto refused = f.n->fetch_async("c", slow); // no room
  CHECK(failed_with(get(refused).error(), errc::backpressure));
  g.open();
  CHECK(*get(running) == "a");
  CHECK(*get(queued) == "b");
  // "c" was released: a new fetch loads it.
  auto again = f.n->fetch_async("c", slow);
  CHECK(*get(again) == "c");
}

TEST_CASE("an async invalidation completes with the number of entries it "
          "removed, and errors arrive through the future",
          "[async][invalidation]") {
  fixture f;
  REQUIRE(f.n->set("a", "1"));
  REQUIRE(f.n->set("b", "2"));
  set_options tagged;
  tagged.tags = {"t"};
  REQUIRE(f.n->set("c", "3", tagged));
  auto keys = f.n->invalidate_async(keys_event({"a", "b"}));
  CHECK(*get(keys) == 2);
  CHECK(failed_with(f.n->get("a").error(), errc::miss));
  auto tag = f.n->invalidate_async(tag_event("t"));
  CHECK(*get(tag) == 1);
  CHECK(failed_with(f.n->get("c").error(), errc::miss));
  auto bad = f.n->invalidate_async(pattern_event("*"));
  CHECK(failed_with(get(bad).error(), errc::invalid_argument));
  auto unknown = f.n->invalidate_async(resource_event("planets", "1"));
  CHECK(failed_with(get(unknown).error(), errc::unknown_resource));
}

TEST_CASE("stopping the node keeps every promise of its async calls",
          "[async]") {
  fixture f{[](node_options& o) { o.async_loaders = 1; }};
  gate g;
  std::atomic<bool> started{false};
  loader_fn slow = [&](const std::string& key) -> caf::expected<loaded> {
    started = true;
    g.wait();
    return loaded{key};
  };
  auto running = f.n->fetch_async("a", slow);
  REQUIRE(eventually(started));
  auto waiting = f.n->fetch_async("a", slow);
  auto queued = f.n->fetch_async("b", slow);
  REQUIRE(eventually_held(f, 2));
  std::thread stopper{[&] { f.n->stop(); }};
  g.open();
  stopper.join();
  // The running load finished; the others got a value or an error, never
  // a broken promise.
  CHECK(*get(running) == "a");
  auto w = get(waiting);
  CHECK((w ? *w == "a" : true));
  auto q = get(queued);
  CHECK((!q ? failed_with(q.error(), errc::stopped) : *q == "b"));
  auto late = f.n->invalidate_async(keys_event({"a"}));
  CHECK(failed_with(get(late).error(), errc::stopped));
}
