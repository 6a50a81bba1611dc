// Shared fixture of the bus tests: an actor system with the bus types
// registered and two scheduler threads, a scoped actor to drive it, and one
// bus. Every actor spawned through the fixture gets an exit message at the
// end, so the actor_system destructor never waits for a forgotten actor.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/all.hpp"

#include "cachebus/bus/bus.hpp"
#include "cachebus/bus/events.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus::test {

using namespace std::chrono_literals;

/// The generous bound of every wait in these tests.
constexpr auto patience = std::chrono::seconds(10);

struct bus_config : caf::actor_system_config {
  bus_config() {
    add_bus_types(*this);
    set("scheduler.max-threads", size_t{2});
  }
};

struct bus_fixture {
  bus_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  bus_actor bus = spawn_bus(sys);
  std::vector<caf::actor> spawned;

  ~bus_fixture() {
    for (auto& x : spawned)
      self->send_exit(x, caf::exit_reason::user_shutdown);
    self->send_exit(bus, caf::exit_reason::user_shutdown);
  }

  /// Spawns an actor that the fixture stops at the end. Pass at least one
  /// argument besides the function (caf::unit if there is none): CAF 0.17.6
  /// dereferences a null pointer when it spawns a function without any.
  template <class Handle = caf::actor, class... Ts>
  Handle spawn(Ts&&... xs) {
    auto result = sys.spawn(std::forward<Ts>(xs)...);
    spawned.push_back(caf::actor_cast<caf::actor>(result));
    return result;
  }

  /// The strong pointer of any handle, for the on-behalf-of messages.
  template <class Handle>
  static caf::strong_actor_ptr ptr(const Handle& x) {
    return caf::actor_cast<caf::strong_actor_ptr>(x);
  }

  caf::strong_actor_ptr self_ptr() {
    return caf::actor_cast<caf::strong_actor_ptr>(self.ptr());
  }

  /// Sends a request to the bus and waits for its reply; the error of a
  /// failed request (or of no reply within `patience`) otherwise.
  template <class T, class... Ts>
  caf::expected<T> call(Ts&&... xs) {
    caf::expected<T> result{caf::sec::request_timeout};
    self->request(bus, patience, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  caf::expected<caf::ok_atom> subscribe(const std::string& pattern) {
    return call<caf::ok_atom>(caf::subscribe_atom_v, pattern);
  }

  caf::expected<caf::ok_atom> subscribe(const std::string& pattern,
                                        caf::strong_actor_ptr who) {
    return call<caf::ok_atom>(caf::subscribe_atom_v, pattern, std::move(who));
  }

  caf::expected<caf::ok_atom> unsubscribe(const std::string& pattern) {
    return call<caf::ok_atom>(caf::unsubscribe_atom_v, pattern);
  }

  caf::expected<uint64_t> publish(const std::string& topic,
                                  caf::message payload) {
    return call<uint64_t>(caf::publish_atom_v, topic, std::move(payload));
  }

  bus_stats stats() {
    auto result = call<bus_stats>(bus_stats_atom_v);
    REQUIRE(result);
    return *result;
  }

  /// Polls the bus's stats until `pred` holds; false after `patience`.
  template <class Predicate>
  bool stats_eventually(Predicate pred) {
    auto deadline = std::chrono::steady_clock::now() + patience;
    while (!pred(stats())) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  /// The next message in the scoped actor's mailbox, or none after `wait`.
  std::optional<caf::message> next_message(std::chrono::milliseconds wait
                                           = patience) {
    std::optional<caf::message> result;
    self->receive(
      caf::others >> [&](caf::message_view& x) -> caf::result<caf::message> {
        result = x.copy_content_to_message();
        return caf::delegated<caf::message>{};
      },
      caf::after(wait) >>
        [] {
          // nop
        });
    return result;
  }

  /// The next message, which must be a single T.
  template <class T>
  std::optional<T> next(std::chrono::milliseconds wait = patience) {
    auto msg = next_message(wait);
    if (!msg) {
      UNSCOPED_INFO("no message within the wait");
      return std::nullopt;
    }
    if (!msg->match_elements<T>()) {
      UNSCOPED_INFO("unexpected message " << to_string(*msg));
      return std::nullopt;
    }
    return msg->get_as<T>(0);
  }

  /// True if the scoped actor's mailbox holds no message right now.
  bool mailbox_empty() { return !next_message(0ms); }
};

inline invalidated make_event(std::string resource, std::string id,
                              uint64_t sequence = 1) {
  return invalidated{std::move(resource), std::move(id), 7, "node-a", sequence};
}

} // namespace cachebus::test
