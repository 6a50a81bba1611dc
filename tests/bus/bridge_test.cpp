#include "cachebus/bus/bridge.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"

#include "cachebus/bus/bridge_protocol.hpp"
#include "cachebus/bus/peer_event.hpp"
#include "cachebus/bus/unexpected_messages.hpp"

#include "cluster_node.hpp"

using namespace cachebus;
using namespace cachebus::test;

namespace {

/// Waits until every node saw every other one join.
void await_mesh(const std::vector<cluster_node*>& nodes) {
  for (auto* x : nodes)
    for (auto* y : nodes)
      if (x != y) {
        INFO(x->name() << " waits for " << y->name() << " to join");
        REQUIRE(x->await_peer(y->name(), peer_event_kind::joined));
      }
}

// -- a scripted peer ----------------------------------------------------------

// A stand-in for a remote bridge, published on its own node: it answers the
// handshake as node `name` and then says exactly what the test tells it to
// (put_atom + message), and nothing else — no heartbeats unless told.
struct fake_peer_state {
  caf::actor bridge;
  uint16_t port = 0;
  static inline const char* name = "test.fake_peer";
};

caf::behavior fake_peer(caf::stateful_actor<fake_peer_state>* self,
                        std::string name) {
  self->set_default_handler(refuse_unexpected);
  return {
    [=](bridge_hello_atom, const bridge_handshake&) {
      self->state.bridge = caf::actor_cast<caf::actor>(self->current_sender());
      auto port = self->state.port;
      return bridge_handshake{
        bridge_protocol_version,    name, 42, "127.0.0.1", port, 1,
        {{name, "127.0.0.1", port}}};
    },
    [=](caf::open_atom, uint16_t port) { self->state.port = port; },
    [=](caf::put_atom, const caf::message& msg) {
      self->send(self->state.bridge, msg);
    },
    // Shakes hands again within the session, announcing position `next`.
    [=](caf::get_atom, uint64_t next) {
      auto port = self->state.port;
      self
        ->request(
          self->state.bridge, cluster_patience, bridge_hello_atom_v,
          bridge_handshake{
            bridge_protocol_version, name, 42, "127.0.0.1", port, next, {}})
        .then([](const bridge_handshake&) {}, [](caf::error&) {});
    },
  };
}

struct fake_node {
  node_config cfg;
  caf::actor_system sys{cfg};
  caf::actor actor;
  uint16_t port = 0;

  explicit fake_node(std::string name) {
    actor = sys.spawn(fake_peer, std::move(name));
    auto bound = sys.middleman().publish(actor, 0, "127.0.0.1");
    REQUIRE(bound);
    port = *bound;
    caf::anon_send(actor, caf::open_atom_v, port);
  }

  ~fake_node() { caf::anon_send_exit(actor, caf::exit_reason::user_shutdown); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  /// Makes the fake peer send `xs...` to the bridge it shook hands with.
  template <class... Ts>
  void say(Ts&&... xs) {
    caf::anon_send(actor, caf::put_atom_v,
                   caf::make_message(std::forward<Ts>(xs)...));
  }

  void event(std::string origin, uint64_t sequence) {
    say(bridge_event_atom_v,
        caf::make_message(invalidated{"users", std::to_string(sequence), 0,
                                      std::move(origin), sequence}));
  }
};

} // namespace

// -- delivery -----------------------------------------------------------------

TEST_CASE("an event published on one node reaches every other node exactly "
          "once and in order") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  auto c = start_node(fast_options("c", {a->address()}));
  await_mesh({a.get(), b.get(), c.get()});
  for (int i = 1; i <= 50; ++i)
    a->publish("users", std::to_string(i));
  for (int i = 1; i <= 20; ++i)
    b->publish("orders", std::to_string(i));
  REQUIRE(b->await_event("a", 50));
  REQUIRE(c->await_event("a", 50));
  REQUIRE(c->await_event("b", 20));
  REQUIRE(a->await_event("b", 20));
  // Everything from one origin travels one ordered path: a duplicate or a
  // reordering would show before the last event.
  CHECK(b->sequences_of("a") == iota_sequences(1, 50));
  CHECK(c->sequences_of("a") == iota_sequences(1, 50));
  CHECK(c->sequences_of("b") == iota_sequences(1, 20));
  CHECK(a->sequences_of("b") == iota_sequences(1, 20));
  // The bus hands a node's own events to its own subscribers once too.
  CHECK(a->sequences_of("a") == iota_sequences(1, 50));
  auto sa = a->stats();
  CHECK(sa.events_out == 50);
  CHECK(sa.events_in == 20);
  CHECK(sa.duplicates_dropped == 0);
  CHECK(sa.gaps_detected == 0);
  auto sc = c->stats();
  CHECK(sc.events_in == 70);
  CHECK(sc.events_out == 0);
  CHECK(sc.duplicates_dropped == 0);
  REQUIRE(sc.peers.size() == 2);
  for (auto& row : sc.peers) {
    CHECK(row.state == peer_state::connected);
    CHECK(row.last_error.empty());
  }
  CHECK(c->peer("a")->last_sequence == 50);
  CHECK(c->peer("a")->events_in == 50);
  CHECK(c->peer("b")->last_sequence == 20);
  CHECK(sa.port == a->bridge.port);
  CHECK(sa.node == "a");
  // No node reported trouble.
  for (auto* n : {a.get(), b.get(), c.get()})
    for (auto& msg : n->log())
      if (msg.match_elements<peer_event>())
        CHECK(msg.get_as<peer_event>(0).kind == peer_event_kind::joined);
}

TEST_CASE("every event kind crosses on its own topic") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  await_mesh({a.get(), b.get()});
  caf::scoped_actor self{b->sys};
  for (auto topic : {"cache:!tags", "cache:!keys", "cache:!patterns"})
    self
      ->request(b->bus, cluster_patience, caf::subscribe_atom_v,
                std::string{topic})
      .receive([](caf::ok_atom) {},
               [](caf::error& err) { FAIL(to_string(err)); });
  auto pub = [&](std::string topic, caf::message msg) {
    caf::anon_send(a->bus, caf::publish_atom_v, std::move(topic),
                   std::move(msg));
  };
  pub("cache:!tags", caf::make_message(tag_invalidated{"user:1", "a", 1}));
  pub("cache:!keys", caf::make_message(keys_invalidated{{"k1", "k2"}, "a", 2}));
  pub("cache:!patterns",
      caf::make_message(pattern_invalidated{"search:*", "a", 3}));
  // The exact-topic subscriber sees each on the topic its kind belongs to.
  bool tag = false;
  bool keys = false;
  bool pattern = false;
  for (int i = 0; i < 3; ++i)
    self->receive(
      [&](const tag_invalidated& ev) { tag = ev.tag == "user:1"; },
      [&](const keys_invalidated& ev) { keys = ev.keys.size() == 2; },
      [&](const pattern_invalidated& ev) { pattern = ev.glob == "search:*"; },
      caf::after(cluster_patience) >>
        [] {
          // nop
        });
  CHECK(tag);
  CHECK(keys);
  CHECK(pattern);
}

// -- membership ---------------------------------------------------------------

TEST_CASE("a node that knows one seed learns every member of the cluster") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  await_mesh({a.get(), b.get()});
  // c knows only b, yet ends up in session with a as well.
  auto c = start_node(fast_options("c", {b->address()}));
  await_mesh({a.get(), b.get(), c.get()});
  a->publish("users", "1");
  REQUIRE(c->await_event("a", 1));
  c->publish("users", "2");
  REQUIRE(a->await_event("c", 1));
  auto pa = c->peer("a");
  REQUIRE(pa);
  CHECK(pa->state == peer_state::connected);
  CHECK(pa->port == a->bridge.port);
  CHECK(pa->host == "127.0.0.1");
}

TEST_CASE("a second node with a name already in use is refused") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  await_mesh({a.get(), b.get()});
  auto incarnation_b = a->peer("b")->incarnation;
  auto b2 = start_node(fast_options("b", {a->address()}));
  auto refused = b2->await_peer(a->address(), peer_event_kind::refused);
  REQUIRE(refused);
  auto& ev = b2->peer_event_at(*refused);
  CAPTURE(ev.reason);
  CHECK(ev.reason.find("\"b\" is already taken") != std::string::npos);
  // a kept the first b, which still gets a's events; b2 gets nothing.
  auto row = a->peer("b");
  REQUIRE(row);
  CHECK(row->state == peer_state::connected);
  CHECK(row->incarnation == incarnation_b);
  a->publish("users", "1");
  REQUIRE(b->await_event("a", 1));
  CHECK(b2->stats().peers.empty());
  CHECK(b2->sequences_of("a").empty());
  // A node that takes the name of the node it dials is refused as well.
  auto a2 = start_node(fast_options("a", {a->address()}));
  auto own = a2->await_peer(a->address(), peer_event_kind::refused);
  REQUIRE(own);
  auto& own_reason = a2->peer_event_at(*own).reason;
  CAPTURE(own_reason);
  CHECK(own_reason.find("\"a\" is already taken") != std::string::npos);
}

/// A loopback port that was free a moment ago (bound by a node, then freed).
uint16_t free_port() {
  auto probe = start_node(fast_options("probe"));
  return probe->bridge.port;
}

TEST_CASE("a seed list that names the node itself is harmless") {
  // Nodes often share one seed list that includes themselves.
  auto port = free_port();
  auto self_address = "127.0.0.1:" + std::to_string(port);
  auto opts = fast_options("a", {self_address});
  opts.port = port;
  auto a = start_node(opts);
  auto b = start_node(fast_options("b", {self_address}));
  await_mesh({a.get(), b.get()});
  auto st = a->stats();
  REQUIRE(st.peers.size() == 1);
  CHECK(st.peers[0].name == "b");
  CHECK(a->count_peer_events(self_address, peer_event_kind::refused) == 0);
}

// -- sequences ----------------------------------------------------------------

TEST_CASE("a peer's duplicates are dropped and a gap is reported before the "
          "event that revealed it") {
  auto opts = fast_options("a");
  opts.peer_timeout = 60s; // the fake peer sends heartbeats only when told
  fake_node fake{"fake"};
  opts.seeds = {fake.address()};
  auto a = start_node(opts);
  REQUIRE(a->await_peer("fake", peer_event_kind::joined));
  for (uint64_t seq : {1, 2, 2, 1, 3})
    fake.event("fake", seq);
  fake.event("fake", 6);
  auto six = a->await_event("fake", 6);
  REQUIRE(six);
  CHECK(a->sequences_of("fake") == std::vector<uint64_t>{1, 2, 3, 6});
  auto gap = a->await_peer("fake", peer_event_kind::gap);
  REQUIRE(gap);
  CHECK(*gap < *six);
  CHECK(a->peer_event_at(*gap).last_sequence == 3);
  CHECK(a->peer_event_at(*gap).incarnation == 42);
  // A heartbeat that says more was sent than arrived is a gap too.
  fake.say(bridge_beat_atom_v, uint64_t{10});
  auto tail_gap = a->await_peer("fake", peer_event_kind::gap, *gap + 1);
  REQUIRE(tail_gap);
  CHECK(a->peer_event_at(*tail_gap).last_sequence == 6);
  // An event that claims another origin than its sender is not delivered;
  // sequence 10 (the next after the heartbeat) is.
  fake.event("mallory", 10);
  fake.event("fake", 10);
  REQUIRE(a->await_event("fake", 10));
  CHECK(a->sequences_of("mallory").empty());
  // A repeated handshake within the session that is further along is a gap
  // as well (and no new session: no rejoined).
  caf::anon_send(fake.actor, caf::get_atom_v, uint64_t{20});
  auto hello_gap = a->await_peer("fake", peer_event_kind::gap, *tail_gap + 1);
  REQUIRE(hello_gap);
  CHECK(a->peer_event_at(*hello_gap).last_sequence == 10);
  CHECK(a->count_peer_events("fake", peer_event_kind::rejoined) == 0);
  fake.event("fake", 20);
  REQUIRE(a->await_event("fake", 20));
  auto st = a->stats();
  CHECK(st.duplicates_dropped == 2);
  CHECK(st.gaps_detected == 3);
  CHECK(st.events_in == 6);
  CHECK(st.rejected == 1);
  CHECK(a->peer("fake")->last_sequence == 20);
}

TEST_CASE("a node that joins late learns how many events it missed") {
  auto a = start_node(fast_options("a"));
  for (int i = 1; i <= 3; ++i)
    a->publish("users", std::to_string(i));
  auto b = start_node(fast_options("b", {a->address()}));
  auto a_joined = b->await_peer("a", peer_event_kind::joined);
  REQUIRE(a_joined);
  // a published 1..3 before the session: b must treat them as missed.
  CHECK(b->peer_event_at(*a_joined).last_sequence == 3);
  auto b_joined = a->await_peer("b", peer_event_kind::joined);
  REQUIRE(b_joined);
  CHECK(a->peer_event_at(*b_joined).last_sequence == 0);
  a->publish("users", "4");
  REQUIRE(b->await_event("a", 4));
  CHECK(b->sequences_of("a") == std::vector<uint64_t>{4});
  CHECK(b->count_peer_events("a", peer_event_kind::gap) == 0);
}

TEST_CASE("own events put on the bus out of order are forwarded in order") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  await_mesh({a.get(), b.get()});
  // Two threads of a's event source took 1 and 2 and enqueued 2 first.
  a->publish_raw(invalidated{"users", "2", 0, "a", 2});
  a->publish_raw(invalidated{"users", "1", 0, "a", 1});
  REQUIRE(b->await_event("a", 2));
  CHECK(b->sequences_of("a") == std::vector<uint64_t>{1, 2});
  // Sequence 3 never comes: after the reorder timeout a gives up on it and
  // b learns of the gap.
  a->publish_raw(invalidated{"users", "4", 0, "a", 4});
  auto four = b->await_event("a", 4);
  REQUIRE(four);
  auto gap = b->await_peer("a", peer_event_kind::gap);
  REQUIRE(gap);
  CHECK(*gap < *four);
  CHECK(b->peer_event_at(*gap).last_sequence == 2);
  CHECK(a->stats().own_sequences_skipped == 1);
  // A late 3 is stale for a and never reaches b.
  a->publish_raw(invalidated{"users", "3", 0, "a", 3});
  a->publish_raw(invalidated{"users", "5", 0, "a", 5});
  REQUIRE(b->await_event("a", 5));
  CHECK(b->sequences_of("a") == std::vector<uint64_t>{1, 2, 4, 5});
}

// -- failures -----------------------------------------------------------------

TEST_CASE("a silent peer is lost after the peer timeout and redialed") {
  fake_node fake{"fake"};
  auto opts = fast_options("a", {fake.address()});
  opts.peer_timeout = 500ms;
  auto a = start_node(opts);
  auto joined = a->await_peer("fake", peer_event_kind::joined);
  REQUIRE(joined);
  auto lost = a->await_peer("fake", peer_event_kind::lost, *joined);
  REQUIRE(lost);
  CHECK(a->peer_event_at(*lost).reason.find("peer timeout")
        != std::string::npos);
  // It still answers handshakes, so the redial starts a new session (same
  // incarnation) that a reports as rejoined: drop again.
  auto rejoined = a->await_peer("fake", peer_event_kind::rejoined, *lost);
  REQUIRE(rejoined);
  CHECK(a->peer_event_at(*rejoined).incarnation == 42);
}

TEST_CASE("a stopped node is reported lost and the others keep working") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  auto c = start_node(fast_options("c", {a->address()}));
  await_mesh({a.get(), b.get(), c.get()});
  c->publish("users", "1");
  c->publish("users", "2");
  REQUIRE(a->await_event("c", 2));
  REQUIRE(b->await_event("c", 2));
  c.reset();
  auto lost_a = a->await_peer("c", peer_event_kind::lost);
  auto lost_b = b->await_peer("c", peer_event_kind::lost);
  REQUIRE(lost_a);
  REQUIRE(lost_b);
  CHECK(a->peer_event_at(*lost_a).last_sequence == 2);
  INFO(a->peer_event_at(*lost_a).reason);
  auto row = a->peer("c");
  REQUIRE(row);
  CHECK(row->state != peer_state::connected);
  a->publish("users", "3");
  REQUIRE(b->await_event("a", 1));
  b->publish("users", "4");
  REQUIRE(a->await_event("b", 1));
  CHECK(a->peer("b")->state == peer_state::connected);
}

TEST_CASE("a restarted node rejoins and its restarted sequence is accepted") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  await_mesh({a.get(), b.get()});
  auto first_incarnation = a->peer("b")->incarnation;
  for (int i = 0; i < 3; ++i)
    b->publish("users", std::to_string(i));
  REQUIRE(a->await_event("b", 3));
  b.reset();
  auto lost = a->await_peer("b", peer_event_kind::lost);
  REQUIRE(lost);
  CHECK(a->peer_event_at(*lost).last_sequence == 3);
  b = start_node(fast_options("b", {a->address()}));
  auto rejoined = a->await_peer("b", peer_event_kind::rejoined, *lost);
  REQUIRE(rejoined);
  auto& ev = a->peer_event_at(*rejoined);
  CHECK(ev.last_sequence == 3);
  CHECK(ev.incarnation != first_incarnation);
  CHECK(ev.incarnation == a->peer("b")->incarnation);
  REQUIRE(b->await_peer("a", peer_event_kind::joined));
  // The new b starts over at 1: not a duplicate of the old b's 1.
  b->publish("users", "again");
  auto again = a->await_event("b", 1, *rejoined);
  REQUIRE(again);
  CHECK(a->stats().duplicates_dropped == 0);
  a->publish("users", "to the new b");
  REQUIRE(b->await_event("a", 1));
}

TEST_CASE("a node that cannot reach its seed keeps retrying and joins when "
          "the seed appears") {
  auto port = free_port();
  auto b = start_node(fast_options("b", {"127.0.0.1:" + std::to_string(port)}));
  // The seed is down: b is alone but alive.
  CHECK(b->stats().peers.empty());
  auto opts = fast_options("a");
  opts.port = port;
  auto a = start_node(opts);
  REQUIRE(b->await_peer("a", peer_event_kind::joined));
  a->publish("users", "1");
  REQUIRE(b->await_event("a", 1));
}

// -- configuration ------------------------------------------------------------

TEST_CASE("a bridge with malformed options is refused with a clear error") {
  cluster_node node{"a"};
  auto refused_with = [&](bridge_options opts, std::string needle) {
    auto result = node.start(std::move(opts));
    REQUIRE(!result);
    auto text = node.sys.render(result.error());
    INFO(text);
    CHECK(text.find(needle) != std::string::npos);
  };
  auto with_seed
    = [](std::string seed) { return fast_options("a", {std::move(seed)}); };
  refused_with(with_seed("localhost"), "missing ':port'");
  refused_with(with_seed("127.0.0.1:"), "the port is empty");
  refused_with(with_seed("127.0.0.1:70000"), "out of range");
  refused_with(with_seed("127.0.0.1:0"), "out of range");
  refused_with(with_seed("127.0.0.1:-1"), "not a decimal number");
  refused_with(with_seed("127.0.0.1:80x"), "not a decimal number");
  refused_with(with_seed(":4000"), "the host is empty");
  refused_with(with_seed("::1:4000"), "must be written in brackets");
  refused_with(fast_options(""), "must not be empty");
  refused_with(fast_options("a b"), "visible ASCII");
  auto opts = fast_options("a");
  opts.peer_timeout = opts.heartbeat_interval;
  refused_with(opts, "must exceed the heartbeat interval");
  opts = fast_options("a");
  opts.reconnect_max = 1ms;
  refused_with(opts, "below the initial one");
  opts = fast_options("a");
  opts.host = "0.0.0.0";
  refused_with(opts, "set advertised_host");
  // A port that is taken: the error names the address.
  auto other = start_node(fast_options("other"));
  opts = fast_options("a");
  opts.port = other->bridge.port;
  refused_with(opts, "cannot listen on 127.0.0.1:"
                       + std::to_string(other->bridge.port));
  CHECK(!node.bridge.actor);
}

TEST_CASE("a bridge needs the middleman") {
  caf::actor_system_config cfg;
  add_bus_types(cfg);
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  auto bus = spawn_bus(sys);
  auto result = spawn_bridge(sys, bus, fast_options("a"));
  REQUIRE(!result);
  CHECK(sys.render(result.error()).find("middleman") != std::string::npos);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

TEST_CASE("stopping its bus stops the bridge") {
  auto a = start_node(fast_options("a"));
  caf::scoped_actor self{a->sys};
  self->monitor(a->bridge.actor);
  caf::anon_send_exit(a->bus, caf::exit_reason::user_shutdown);
  bool down = false;
  self->receive([&](const caf::down_msg&) { down = true; },
                caf::after(cluster_patience) >>
                  [] {
                    // nop
                  });
  CHECK(down);
}

// -- measurement --------------------------------------------------------------

TEST_CASE("latency of one event from bus to remote bus", "[.latency]") {
  auto a = start_node(fast_options("a"));
  auto b = start_node(fast_options("b", {a->address()}));
  await_mesh({a.get(), b.get()});
  // The publisher stamps steady-clock nanoseconds into `version`; one
  // process means one clock. One event in flight at a time.
  constexpr int n = 1000;
  std::vector<int64_t> micros;
  for (uint64_t seq = 1; seq <= n; ++seq) {
    auto sent = std::chrono::steady_clock::now();
    a->publish_raw(invalidated{
      "users", std::to_string(seq),
      static_cast<uint64_t>(sent.time_since_epoch().count()), "a", seq});
    auto got = b->await_event("a", seq, b->log().size());
    REQUIRE(got);
    auto& ev = b->log()[*got].get_as<invalidated>(0);
    auto arrived = std::chrono::steady_clock::now();
    micros.push_back(
      std::chrono::duration_cast<std::chrono::microseconds>(
        arrived
        - std::chrono::steady_clock::
          time_point{std::chrono::steady_clock::duration{ev.version}})
        .count());
  }
  std::sort(micros.begin(), micros.end());
  WARN("bus(a) -> bridge -> bridge -> bus(b) -> subscriber, "
       << n << " events: p50 " << micros[n / 2] << " us, p99 "
       << micros[n * 99 / 100] << " us, max " << micros.back() << " us");
}
