// thread_requester: request/response from a plain thread without a
// scoped_actor. The reply or the receiver's error comes back; a reply later
// than the timeout is dropped and never answers a later request; a monitor
// sees the requester end.
#include <catch2/catch.hpp>

#include "caf/scoped_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/thread_requester.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

// Answers an int with its double; a negative int with an error; zero not
// before the next ok_atom arrives (then the held request gets -1).
using doubler_actor = caf::typed_actor<caf::replies_to<int>::with<int>,
                                       caf::reacts_to<caf::ok_atom>>;

struct doubler_state {
  std::vector<caf::typed_response_promise<int>> held;
};

doubler_actor::behavior_type
doubler(doubler_actor::stateful_pointer<doubler_state> self, int) {
  return {
    [=](int x) -> caf::result<int> {
      if (x < 0)
        return caf::make_error(caf::sec::invalid_argument);
      if (x == 0) {
        auto rp = self->make_response_promise<int>();
        self->state.held.push_back(rp);
        return rp;
      }
      return 2 * x;
    },
    [=](caf::ok_atom) {
      for (auto& rp : self->state.held)
        rp.deliver(-1);
      self->state.held.clear();
    },
  };
}

struct requester_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  doubler_actor d = sys.spawn(doubler, 0);

  ~requester_fixture() {
    caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  }
};

} // namespace

TEST_CASE_METHOD(requester_fixture,
                 "a thread_requester gets the reply of the actor it asks",
                 "[thread_requester]") {
  thread_requester self{sys};
  for (int i = 1; i <= 3; ++i) {
    auto r = self.request<int>(d, 5s, i);
    REQUIRE(r);
    CHECK(*r == 2 * i);
  }
}

TEST_CASE_METHOD(requester_fixture,
                 "an error the actor answers reaches the thread_requester as "
                 "that error",
                 "[thread_requester]") {
  thread_requester self{sys};
  auto r = self.request<int>(d, 5s, -1);
  REQUIRE_FALSE(r);
  CHECK(r.error() == caf::sec::invalid_argument);
}

TEST_CASE_METHOD(requester_fixture,
                 "a reply later than the timeout is dropped and answers no "
                 "later request",
                 "[thread_requester]") {
  thread_requester self{sys};
  auto held = self.request<int>(d, 20ms, 0);
  REQUIRE_FALSE(held);
  CHECK(held.error() == caf::sec::request_timeout);
  // The doubler answers the held request (-1) before the next one.
  caf::anon_send(d, caf::ok_atom_v);
  auto r = self.request<int>(d, 5s, 21);
  REQUIRE(r);
  CHECK(*r == 42);
}

TEST_CASE_METHOD(requester_fixture, "a request to a dead actor fails at once",
                 "[thread_requester]") {
  caf::scoped_actor watcher{sys};
  watcher->monitor(d);
  caf::anon_send_exit(d, caf::exit_reason::user_shutdown);
  watcher->receive([](caf::down_msg&) {});
  thread_requester self{sys};
  auto r = self.request<int>(d, 30s, 1);
  REQUIRE_FALSE(r);
  CHECK(r.error() != caf::sec::request_timeout);
}

TEST_CASE_METHOD(requester_fixture,
                 "an actor that monitors a thread_requester sees it end when "
                 "it is destroyed",
                 "[thread_requester]") {
  caf::scoped_actor watcher{sys};
  caf::actor_addr addr;
  {
    thread_requester self{sys};
    addr = self.address();
    REQUIRE(addr);
    watcher->monitor(addr);
  }
  bool down = false;
  watcher->receive([&](caf::down_msg& dm) { down = dm.source == addr; },
                   caf::after(10s) >> [] {});
  CHECK(down);
}
