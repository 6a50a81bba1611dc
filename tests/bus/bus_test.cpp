#include "cachebus/bus/bus.hpp"

#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/all.hpp"

#include "cachebus/bus/events.hpp"
#include "cachebus/bus/topic.hpp"

#include "bus_fixture.hpp"

using namespace cachebus;
using namespace cachebus::test;

namespace {

bool refused(const caf::expected<caf::ok_atom>& x) {
  return !x && x.error() == caf::sec::invalid_argument;
}

bool refused(const caf::expected<uint64_t>& x) {
  return !x && x.error() == caf::sec::invalid_argument;
}

// A subscriber that understands only int: it forwards each to `sink`.
caf::behavior int_forwarder(caf::event_based_actor*, caf::actor sink) {
  return {
    [=](int x) { caf::anon_send(sink, x); },
  };
}

// A subscriber that tells `sink` whether a delivery named a sender.
caf::behavior sender_probe(caf::event_based_actor* self, caf::actor sink) {
  return {
    [=](int) { caf::anon_send(sink, self->current_sender() != nullptr); },
  };
}

// A typed subscriber: counts invalidations and remembers the last one.
using counter_actor = caf::typed_actor<
  caf::reacts_to<invalidated>,
  caf::replies_to<caf::get_atom>::with<uint64_t, invalidated>>;

struct counter_state {
  uint64_t count = 0;
  invalidated last;
  static inline const char* name = "test.counter";
};

counter_actor::behavior_type
counter(counter_actor::stateful_pointer<counter_state> self, caf::unit_t) {
  return {
    [=](const invalidated& ev) {
      ++self->state.count;
      self->state.last = ev;
    },
    [=](caf::get_atom) {
      return std::make_tuple(self->state.count, self->state.last);
    },
  };
}

// A subscriber for the concurrency test: checks that every origin's events
// arrive once each and in order, and reports on request.
struct tally_state {
  std::map<std::string, uint64_t> last;
  uint64_t count = 0;
  bool in_order = true;
  static inline const char* name = "test.tally";
};

caf::behavior tally(caf::stateful_actor<tally_state>* self, caf::unit_t) {
  return {
    [=](const invalidated& ev) {
      auto& st = self->state;
      auto& last = st.last[ev.origin];
      if (ev.sequence != last + 1)
        st.in_order = false;
      last = ev.sequence;
      ++st.count;
    },
    [=](caf::get_atom, const caf::actor& reporter) {
      caf::anon_send(reporter, self->state.count, self->state.in_order);
    },
  };
}

} // namespace

TEST_CASE_METHOD(bus_fixture,
                 "a subscriber receives what is published on its topic") {
  REQUIRE(subscribe(resource_topic("users")));
  auto ev = make_event("users", "42");
  auto delivered = publish(resource_topic("users"), caf::make_message(ev));
  REQUIRE(delivered);
  CHECK(*delivered == 1);
  auto got = next<invalidated>();
  REQUIRE(got);
  CHECK(*got == ev);
  auto st = stats();
  CHECK(st.published == 1);
  CHECK(st.delivered == 1);
  CHECK(st.subscribers == 1);
  CHECK(st.topics == 1);
}

TEST_CASE_METHOD(bus_fixture,
                 "a publisher on another topic reaches no subscriber") {
  REQUIRE(subscribe(resource_topic("users")));
  auto delivered = publish(resource_topic("orders"),
                           caf::make_message(make_event("orders", "1")));
  REQUIRE(delivered);
  CHECK(*delivered == 0);
  CHECK(mailbox_empty());
  CHECK(stats().published == 1);
}

TEST_CASE_METHOD(bus_fixture,
                 "a subscriber receives nothing after it unsubscribes") {
  REQUIRE(subscribe("cache:users"));
  REQUIRE(subscribe("cache:marker"));
  REQUIRE(unsubscribe("cache:users"));
  auto delivered
    = publish("cache:users", caf::make_message(make_event("users", "1")));
  REQUIRE(delivered);
  CHECK(*delivered == 0);
  // The bus forwards in order: had the users event been sent, it would be
  // ahead of the marker.
  auto marker = make_event("marker", "m");
  REQUIRE(publish("cache:marker", caf::make_message(marker)));
  auto got = next<invalidated>();
  REQUIRE(got);
  CHECK(*got == marker);
  auto st = stats();
  CHECK(st.subscribers == 1);
  CHECK(st.topics == 1);
  REQUIRE(unsubscribe("cache:marker"));
  st = stats();
  CHECK(st.subscribers == 0);
  CHECK(st.topics == 0);
}

TEST_CASE_METHOD(bus_fixture,
                 "a wildcard subscriber gets every cache topic exactly once") {
  REQUIRE(subscribe("cache:*"));
  REQUIRE(subscribe("cache:users"));
  REQUIRE(subscribe("cache:u*"));
  auto users = make_event("users", "1", 1);
  auto orders = make_event("orders", "2", 2);
  auto marker = make_event("marker", "m", 3);
  CHECK(publish("cache:users", caf::make_message(users)) == uint64_t{1});
  CHECK(publish("cache:orders", caf::make_message(orders)) == uint64_t{1});
  CHECK(publish("other:users", caf::make_message(users)) == uint64_t{0});
  CHECK(publish("cache:marker", caf::make_message(marker)) == uint64_t{1});
  for (auto& expected : {users, orders, marker}) {
    auto got = next<invalidated>();
    REQUIRE(got);
    CHECK(*got == expected);
  }
  CHECK(mailbox_empty());
  auto st = stats();
  CHECK(st.published == 4);
  CHECK(st.delivered == 3);
  CHECK(st.topics == 3);
  CHECK(st.subscribers == 1);
}

TEST_CASE_METHOD(bus_fixture,
                 "every matching subscriber gets the payload unchanged") {
  auto a = spawn(int_forwarder, caf::actor_cast<caf::actor>(self.ptr()));
  auto b = spawn(int_forwarder, caf::actor_cast<caf::actor>(self.ptr()));
  REQUIRE(subscribe("cache:numbers", ptr(a)));
  REQUIRE(subscribe("cache:*", ptr(b)));
  CHECK(publish("cache:numbers", caf::make_message(7)) == uint64_t{2});
  auto x = next<int>();
  auto y = next<int>();
  REQUIRE(x);
  REQUIRE(y);
  CHECK(*x == 7);
  CHECK(*y == 7);
  CHECK(stats().subscribers == 2);
}

TEST_CASE_METHOD(bus_fixture,
                 "deliveries are anonymous so a subscriber cannot answer the "
                 "bus") {
  auto probe = spawn(sender_probe, caf::actor_cast<caf::actor>(self.ptr()));
  REQUIRE(subscribe("cache:numbers", ptr(probe)));
  CHECK(publish("cache:numbers", caf::make_message(1)) == uint64_t{1});
  CHECK(next<bool>() == false);
}

TEST_CASE_METHOD(bus_fixture, "subscribing twice is the same as once") {
  REQUIRE(subscribe("cache:users"));
  REQUIRE(subscribe("cache:users"));
  CHECK(publish("cache:users", caf::make_message(make_event("users", "1")))
        == uint64_t{1});
  REQUIRE(next<invalidated>());
  CHECK(mailbox_empty());
  REQUIRE(unsubscribe("cache:users"));
  CHECK(publish("cache:users", caf::make_message(make_event("users", "1")))
        == uint64_t{0});
  CHECK(stats().subscribers == 0);
}

TEST_CASE_METHOD(bus_fixture,
                 "a subscriber that goes down is purged from every topic") {
  auto sub = spawn(int_forwarder, caf::actor_cast<caf::actor>(self.ptr()));
  REQUIRE(subscribe("cache:users", ptr(sub)));
  REQUIRE(subscribe("cache:*", ptr(sub)));
  REQUIRE(subscribe("cache:users"));
  auto st = stats();
  CHECK(st.subscribers == 2);
  CHECK(st.topics == 2);
  self->send_exit(sub, caf::exit_reason::user_shutdown);
  CHECK(stats_eventually(
    [](const bus_stats& x) { return x.subscribers == 1 && x.topics == 1; }));
  CHECK(publish("cache:users", caf::make_message(make_event("users", "1")))
        == uint64_t{1});
  CHECK(next<invalidated>());
}

TEST_CASE_METHOD(bus_fixture,
                 "a subscriber that can't handle the payload can't stop the "
                 "bus") {
  // The forwarder's default handler answers an unknown message with an
  // error to its sender. Had the bus been that sender, the error would stop
  // it (docs/CAF-0.17.md, pitfall 6); the forwarder keeps working either way.
  auto sub = spawn(int_forwarder, caf::actor_cast<caf::actor>(self.ptr()));
  REQUIRE(subscribe("cache:users", ptr(sub)));
  CHECK(publish("cache:users", caf::make_message(make_event("users", "1")))
        == uint64_t{1});
  CHECK(publish("cache:users", caf::make_message(std::string{"junk"}))
        == uint64_t{1});
  CHECK(publish("cache:users", caf::make_message(42)) == uint64_t{1});
  // The forwarder handled everything before 42; any error it sent back was
  // enqueued at the bus before our next request.
  auto got = next<int>();
  REQUIRE(got);
  CHECK(*got == 42);
  auto st = stats();
  CHECK(st.published == 3);
  CHECK(st.delivered == 3);
  CHECK(publish("cache:users", caf::make_message(43)) == uint64_t{1});
  CHECK(next<int>() == 43);
}

TEST_CASE_METHOD(bus_fixture,
                 "errors and unknown messages sent to the bus don't stop it") {
  auto dyn = caf::actor_cast<caf::actor>(bus);
  caf::anon_send(dyn, caf::make_error(caf::sec::runtime_error, "boom"));
  self->send(dyn, caf::make_error(caf::sec::unexpected_message));
  self->send(dyn, std::string{"what is this"});
  self->send(dyn, caf::ok_atom_v);
  // An unknown request gets an error reply instead of silence.
  bool unexpected = false;
  self->request(dyn, patience, std::string{"what is this"})
    .receive([](const caf::message&) { FAIL("unexpected reply"); },
             [&](caf::error& err) {
               unexpected = err == caf::sec::unexpected_message;
             });
  CHECK(unexpected);
  REQUIRE(subscribe("cache:users"));
  CHECK(publish("cache:users", caf::make_message(make_event("users", "1")))
        == uint64_t{1});
  CHECK(next<invalidated>());
  // None of the plain sends above was answered.
  CHECK(mailbox_empty());
}

TEST_CASE_METHOD(bus_fixture, "a typed actor can be subscribed on its behalf") {
  auto sub = spawn<counter_actor>(counter, caf::unit);
  REQUIRE(subscribe("cache:*", ptr(sub)));
  for (uint64_t i = 1; i <= 3; ++i)
    CHECK(publish(resource_topic("users"),
                  caf::make_message(make_event("users", "1", i)))
          == uint64_t{1});
  // The bus enqueued the events before replying, so they precede this.
  self->request(sub, patience, caf::get_atom_v)
    .receive(
      [](uint64_t count, const invalidated& last) {
        CHECK(count == 3);
        CHECK(last == make_event("users", "1", 3));
      },
      [](caf::error& err) { FAIL(to_string(err)); });
  REQUIRE(call<caf::ok_atom>(caf::unsubscribe_atom_v, std::string{"cache:*"},
                             ptr(sub)));
  CHECK(stats().subscribers == 0);
}

TEST_CASE_METHOD(bus_fixture,
                 "invalid topics and subscribers are refused and change "
                 "nothing") {
  REQUIRE(subscribe("cache:users"));
  auto before = stats();
  CHECK(refused(subscribe("")));
  CHECK(refused(subscribe("cache:*:profile")));
  CHECK(refused(subscribe(std::string(max_topic_size + 1, 'x'))));
  CHECK(refused(subscribe("cache:my users")));
  CHECK(refused(unsubscribe("")));
  CHECK(refused(unsubscribe("cache:u**")));
  CHECK(refused(subscribe("cache:orders", caf::strong_actor_ptr{})));
  CHECK(refused(subscribe("cache:orders", ptr(bus))));
  CHECK(refused(publish("cache:*", caf::make_message(1))));
  CHECK(refused(publish("", caf::make_message(1))));
  CHECK(refused(publish("cache:users", caf::message{})));
  auto after = stats();
  CHECK(after.rejected == before.rejected + 11);
  CHECK(after.published == before.published);
  CHECK(after.delivered == before.delivered);
  CHECK(after.subscribers == before.subscribers);
  CHECK(after.topics == before.topics);
  CHECK(mailbox_empty());
}

TEST_CASE_METHOD(bus_fixture, "a plain send to the bus gets no reply") {
  self->send(bus, caf::subscribe_atom_v, std::string{"cache:users"});
  self->send(bus, caf::subscribe_atom_v, std::string{""});
  self->send(bus, caf::publish_atom_v, std::string{"cache:users"},
             caf::make_message(make_event("users", "1")));
  self->send(bus, bus_stats_atom_v);
  // Messages from one sender are handled in order, so this reply comes
  // after anything the sends above could have produced.
  auto st = stats();
  CHECK(st.subscribers == 1);
  CHECK(st.published == 1);
  CHECK(st.rejected == 1);
  // Exactly the published event is waiting: no ack, error, count or stats.
  CHECK(next<invalidated>() == make_event("users", "1"));
  CHECK(mailbox_empty());
}

TEST_CASE_METHOD(bus_fixture,
                 "many publishers and subscribers: each subscriber gets each "
                 "event exactly once") {
  constexpr int publishers = 4;
  constexpr uint64_t per_publisher = 500;
  const std::vector<std::string> topics{"cache:r0", "cache:r1", "cache:r2"};
  const std::string report = "cache:report";
  // Two wildcard-only, two exact-only and two with both kinds.
  std::vector<caf::actor> subs;
  for (int i = 0; i < 6; ++i) {
    auto sub = spawn(tally, caf::unit);
    if (i < 2 || i >= 4)
      REQUIRE(subscribe("cache:*", ptr(sub)));
    if (i >= 2) {
      for (auto& topic : topics)
        REQUIRE(subscribe(topic, ptr(sub)));
      REQUIRE(subscribe(report, ptr(sub)));
    }
    subs.push_back(sub);
  }
  std::vector<std::thread> threads;
  for (int p = 0; p < publishers; ++p)
    threads.emplace_back([&, p] {
      caf::scoped_actor publisher{sys};
      auto origin = "node-" + std::to_string(p);
      for (uint64_t seq = 1; seq <= per_publisher; ++seq) {
        auto& topic = topics[seq % topics.size()];
        invalidated ev{topic.substr(6), std::to_string(seq), seq, origin, seq};
        // Half fire-and-forget, half requests.
        if (p % 2 == 0)
          publisher->send(bus, caf::publish_atom_v, topic,
                          caf::make_message(std::move(ev)));
        else
          publisher
            ->request(bus, patience, caf::publish_atom_v, topic,
                      caf::make_message(std::move(ev)))
            .receive([](uint64_t) {}, [](caf::error&) {});
      }
      // In-order handling per sender: once this returns, all were published.
      publisher->request(bus, patience, bus_stats_atom_v)
        .receive([](const bus_stats&) {}, [](caf::error&) {});
    });
  for (auto& t : threads)
    t.join();
  auto total = publishers * per_publisher;
  CHECK(stats().published == total);
  // The report request travels behind every event on each bus->subscriber
  // channel, so each tally is final when it answers.
  CHECK(
    publish(report, caf::make_message(caf::get_atom_v,
                                      caf::actor_cast<caf::actor>(self.ptr())))
    == uint64_t{subs.size()});
  for (size_t i = 0; i < subs.size(); ++i) {
    auto msg = next_message();
    REQUIRE(msg);
    REQUIRE(msg->match_elements<uint64_t, bool>());
    CHECK(msg->get_as<uint64_t>(0) == total);
    CHECK(msg->get_as<bool>(1));
  }
  auto st = stats();
  CHECK(st.delivered == subs.size() * (total + 1));
}

TEST_CASE("the bus keeps its subscribers alive until it stops") {
  bus_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto bus = spawn_bus(sys);
  {
    // After this block nobody but the bus references the subscriber.
    auto sub
      = sys.spawn(int_forwarder, caf::actor_cast<caf::actor>(self.ptr()));
    self->monitor(sub);
    self
      ->request(bus, patience, caf::subscribe_atom_v,
                std::string{"cache:numbers"},
                caf::actor_cast<caf::strong_actor_ptr>(sub))
      .receive([](caf::ok_atom) {},
               [](caf::error& err) { FAIL(to_string(err)); });
  }
  bool delivered = false;
  self
    ->request(bus, patience, caf::publish_atom_v, std::string{"cache:numbers"},
              caf::make_message(5))
    .receive([&](uint64_t n) { delivered = n == 1; },
             [](caf::error& err) { FAIL(to_string(err)); });
  CHECK(delivered);
  // Still alive: it forwards the 5 (and no down_msg comes first).
  bool forwarded = false;
  self->receive([&](int x) { forwarded = x == 5; }, caf::after(patience) >>
                                                      [] {
                                                        // nop
                                                      });
  CHECK(forwarded);
  // Stopping the bus drops the last reference, and CAF collects the actor.
  self->send_exit(bus, caf::exit_reason::user_shutdown);
  bool released = false;
  self->receive([&](const caf::down_msg&) { released = true; },
                caf::after(patience) >>
                  [] {
                    // nop
                  });
  CHECK(released);
}
