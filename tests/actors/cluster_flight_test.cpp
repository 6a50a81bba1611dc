// Cluster-wide single flight, in one process: three nodes, each in its own
// actor system with its own middleman, linked by their bridges over loopback,
// each with a node loader that counts its runs. Concurrent cold fetches of a
// key on every node run the loader once, on the key's owner; when the owner
// is lost, the waiting nodes load elsewhere and keep their waiters; when two
// lock managers' views of the membership disagree, nobody deadlocks.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "caf/scoped_actor.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/flight/rendezvous.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

#include "support/cluster_member.hpp"
#include "support/eventually.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

using counter = std::shared_ptr<std::atomic<int>>;

// A loader that takes `delay` per load (workload: a slow store), detached so
// that it blocks only its own thread.
loader_actor::behavior_type slow_loader(loader_actor::pointer, counter runs,
                                        std::chrono::milliseconds delay) {
  return {
    [=](load_atom, const std::string& key) -> loaded {
      ++*runs;
      std::this_thread::sleep_for(delay);
      return loaded{"value of " + key, 7};
    },
  };
}

struct hung_state {
  std::vector<caf::typed_response_promise<loaded>> pending;
};

// A loader that never answers (a hung store): its promises stay pending.
loader_actor::behavior_type
hung_loader(loader_actor::stateful_pointer<hung_state> self, counter runs) {
  return {
    [=](load_atom, const std::string&) -> caf::result<loaded> {
      ++*runs;
      auto rp = self->make_response_promise<loaded>();
      self->state.pending.push_back(rp);
      return rp;
    },
  };
}

// A member whose node loader counts its runs: a slow one (50 ms per load),
// or one that never answers.
struct member : test::cluster_member {
  counter runs;

  member(std::string name, std::vector<std::string> seeds, bool hung = false)
      : member(std::move(name), std::move(seeds), hung,
               std::make_shared<std::atomic<int>>(0)) {
    // nop
  }

  member(std::string name, std::vector<std::string> seeds, bool hung, counter c)
      : cluster_member(std::move(name), std::move(seeds), std::nullopt,
                       [=](caf::actor_system& sys) -> loader_actor {
                         if (hung)
                           return sys.spawn(hung_loader, c);
                         return sys.spawn<caf::detached>(slow_loader, c, 50ms);
                       }),
        runs(std::move(c)) {
    // nop
  }
};

// Sends `count` fetches of `key` to `m`'s lock manager at once; the replies
// arrive in `self`'s mailbox.
void fetch_many(caf::scoped_actor& self, member& m, const std::string& key,
                int count) {
  for (int i = 0; i < count; ++i)
    self->send(m.n->lock_manager(), fetch_atom_v, key, fetch_options{});
}

// Collects `count` replies; returns how many were `expected`.
int collect(caf::scoped_actor& self, int count, const std::string& expected,
            std::vector<std::string>& errors) {
  int good = 0;
  for (int i = 0; i < count; ++i)
    self->receive([&](std::string& v) { good += v == expected ? 1 : 0; },
                  [&](caf::error& err) { errors.push_back(to_string(err)); },
                  caf::after(30s) >> [&] { errors.push_back("timeout"); });
  return good;
}

bool meshed(std::vector<member*> ms) {
  return test::eventually(
    [&] {
      for (auto* m : ms)
        if (m->locks().members != ms.size())
          return false;
      return true;
    },
    20s, 20ms);
}

} // namespace

TEST_CASE("concurrent cold fetches on three nodes run the node loader once, "
          "on the key's owner",
          "[cluster][flight]") {
  member a{"a", {}};
  member b{"b", {a.address()}};
  member c{"c", {a.address()}};
  REQUIRE(meshed({&a, &b, &c}));
  std::vector<std::string> names{"a", "b", "c"};
  std::vector<member*> all{&a, &b, &c};
  for (auto key : {"user:1", "user:2", "user:3", "user:4"}) {
    INFO(key);
    std::vector<int> before;
    for (auto* m : all)
      before.push_back(*m->runs);
    std::vector<std::unique_ptr<caf::scoped_actor>> callers;
    for (auto* m : all) {
      callers.push_back(std::make_unique<caf::scoped_actor>(*m->sys));
      fetch_many(*callers.back(), *m, key, 100);
    }
    std::vector<std::string> errors;
    int good = 0;
    for (auto& self : callers)
      good += collect(*self, 100, std::string{"value of "} + key, errors);
    CHECK(errors.empty());
    CHECK(good == 300);
    auto owner = rendezvous_owner(key, names);
    for (size_t i = 0; i < all.size(); ++i) {
      INFO("node " << all[i]->name << ", owner " << owner);
      CHECK(*all[i]->runs - before[i] == (all[i]->name == owner ? 1 : 0));
      // Every node caches the value it waited for.
      CHECK(all[i]->n->get(key) == std::string{"value of "} + key);
    }
  }
  uint64_t forwarded = 0;
  for (auto* m : all)
    forwarded += m->locks().forwarded;
  CHECK(forwarded == 8); // per key, the two non-owners ask once each
}

TEST_CASE("when the owner of a key is lost, the waiting nodes load it "
          "elsewhere and every waiter gets the value",
          "[cluster][flight]") {
  auto a = std::make_unique<member>("a", std::vector<std::string>{});
  member b{"b", {a->address()}};
  auto c = std::make_unique<member>("c", std::vector<std::string>{a->address()},
                                    true);
  REQUIRE(meshed({a.get(), &b, c.get()}));
  // A key that c owns while all three are up, and a owns once c is gone.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    auto k = "order:" + std::to_string(i);
    if (rendezvous_owner(k, {"a", "b", "c"}) == "c"
        && rendezvous_owner(k, {"a", "b"}) == "a")
      key = k;
  }
  caf::scoped_actor at_a{*a->sys};
  caf::scoped_actor at_b{*b.sys};
  fetch_many(at_a, *a, key, 20);
  fetch_many(at_b, b, key, 20);
  // c's loader holds the load: both a and b wait for c.
  REQUIRE(test::eventually([&] { return *c->runs == 1; }, 20s, 5ms));
  c.reset();
  std::vector<std::string> errors;
  CHECK(collect(at_a, 20, "value of " + key, errors) == 20);
  CHECK(collect(at_b, 20, "value of " + key, errors) == 20);
  CHECK(errors.empty());
  // a, the new owner, loaded; b asked a. (A second load on a is allowed:
  // the partition rule may cancel the first one's fill, and then a reloads.)
  CHECK(*a->runs >= 1);
  CHECK(*a->runs <= 2);
  CHECK(*b.runs == 0);
  CHECK(a->locks().rerouted + b.locks().rerouted >= 2);
}

TEST_CASE("two lock managers that each think the other owns a key both "
          "answer instead of waiting for each other",
          "[cluster][flight]") {
  config cfg;
  caf::actor_system sys{cfg};
  std::vector<counter> runs;
  std::vector<std::unique_ptr<node>> nodes;
  for (auto name : {"a", "b"}) {
    runs.push_back(std::make_shared<std::atomic<int>>(0));
    node_options opts;
    opts.name = name;
    opts.shards = 1;
    node_setup setup;
    setup.loader = sys.spawn<caf::detached>(slow_loader, runs.back(), 50ms);
    auto n = node::start(sys, opts, std::move(setup));
    REQUIRE(n);
    nodes.push_back(std::move(*n));
  }
  // a believes in a peer "b" (node b); b believes in a peer "c" that is in
  // truth node a. Pick a key that b owns in a's view and "c" in b's view:
  // a forwards to b, b forwards to a.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    auto k = "k" + std::to_string(i);
    if (rendezvous_owner(k, {"a", "b"}) == "b"
        && rendezvous_owner(k, {"b", "c"}) == "c")
      key = k;
  }
  auto& lm_a = nodes[0]->lock_manager();
  auto& lm_b = nodes[1]->lock_manager();
  caf::anon_send(lm_a, peer_event{"b",
                                  peer_event_kind::joined,
                                  0,
                                  1,
                                  {},
                                  caf::actor_cast<caf::actor>(lm_b),
                                  0});
  caf::anon_send(lm_b, peer_event{"c",
                                  peer_event_kind::joined,
                                  0,
                                  1,
                                  {},
                                  caf::actor_cast<caf::actor>(lm_a),
                                  0});
  caf::scoped_actor self{sys};
  for (int i = 0; i < 10; ++i) {
    self->send(lm_a, fetch_atom_v, key, fetch_options{});
    self->send(lm_b, fetch_atom_v, key, fetch_options{});
  }
  std::vector<std::string> errors;
  CHECK(collect(self, 20, "value of " + key, errors) == 20);
  CHECK(errors.empty());
  auto total = *runs[0] + *runs[1];
  CHECK(total >= 1);
  CHECK(total <= 2);
  for (auto& n : nodes)
    n->stop();
}

TEST_CASE("fetch without a loader argument needs a node loader",
          "[cluster][flight]") {
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  opts.name = "solo";
  auto n = node::start(sys, opts);
  REQUIRE(n);
  auto v = (*n)->fetch("user:1");
  REQUIRE_FALSE(v);
  CHECK(is(v.error(), errc::invalid_config));
  CHECK_FALSE((*n)->get("user:1"));
}

TEST_CASE("a single node with a node loader fetches through it once",
          "[flight]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto runs = std::make_shared<std::atomic<int>>(0);
  node_options opts;
  opts.name = "solo";
  node_setup setup;
  setup.loader = sys.spawn<caf::detached>(slow_loader, runs, 1ms);
  auto n = node::start(sys, opts, std::move(setup));
  REQUIRE(n);
  CHECK((*n)->fetch("user:1") == std::string{"value of user:1"});
  CHECK((*n)->fetch("user:1") == std::string{"value of user:1"});
  CHECK(*runs == 1);
  auto st = (*n)->stats().total;
  CHECK(st.hits == 1);
  CHECK(st.misses == 1);
}
