#include "cachebus/bus/bus.hpp"

#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/message_view.hpp"
#include "caf/sec.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "cachebus/bus/subscription_table.hpp"
#include "cachebus/bus/topic.hpp"
#include "cachebus/bus/unexpected_messages.hpp"

namespace cachebus {

namespace {

struct bus_state {
  subscription_table table;
  /// Scratch buffer for publish, kept to avoid an allocation per message.
  std::vector<subscription_table::subscriber> recipients;
  /// published, delivered and rejected; the sizes come from the table.
  bus_stats counters;
  static inline const char* name = "cachebus.bus";
};

using bus_pointer = bus_actor::stateful_pointer<bus_state>;

// A reply to a plain send reaches the sender as an ordinary message. A sender
// without a handler for it sends an error back, which would stop the bus; an
// error reply would stop an event-based sender the same way (docs/CAF-0.17.md,
// pitfall 6). So the bus replies to requests only.
template <class T>
caf::result<T> reply(bus_pointer self, T value) {
  if (self->current_message_id().is_request())
    return value;
  return caf::delegated<T>{};
}

template <class T>
caf::result<T> refuse(bus_pointer self, caf::error err) {
  ++self->state.counters.rejected;
  if (self->current_message_id().is_request())
    return err;
  return caf::delegated<T>{};
}

caf::error check_subscriber(bus_pointer self, const caf::strong_actor_ptr& who,
                            const char* what) {
  if (!who)
    return caf::make_error(caf::sec::invalid_argument,
                           std::string{what}
                             + ": no subscriber (null handle or anonymous "
                               "sender)");
  // A bus on its own topics would loop on every publish it forwards.
  if (who.get() == self->ctrl())
    return caf::make_error(caf::sec::invalid_argument,
                           std::string{what}
                             + ": the bus cannot subscribe to itself");
  return {};
}

caf::result<caf::ok_atom> subscribe(bus_pointer self,
                                    const caf::strong_actor_ptr& who,
                                    const std::string& pattern) {
  if (auto err = check_pattern(pattern))
    return refuse<caf::ok_atom>(self, std::move(err));
  if (auto err = check_subscriber(self, who, "subscribe"))
    return refuse<caf::ok_atom>(self, std::move(err));
  if (self->state.table.subscribe(who, pattern))
    self->monitor(who);
  return reply(self, caf::ok_atom_v);
}

caf::result<caf::ok_atom> unsubscribe(bus_pointer self,
                                      const caf::strong_actor_ptr& who,
                                      const std::string& pattern) {
  if (auto err = check_pattern(pattern))
    return refuse<caf::ok_atom>(self, std::move(err));
  if (auto err = check_subscriber(self, who, "unsubscribe"))
    return refuse<caf::ok_atom>(self, std::move(err));
  if (self->state.table.unsubscribe(who.get(), pattern))
    self->demonitor(caf::actor_cast<caf::actor_addr>(who));
  return reply(self, caf::ok_atom_v);
}

caf::result<uint64_t> publish(bus_pointer self, const std::string& topic,
                              const caf::message& payload) {
  if (auto err = check_topic(topic))
    return refuse<uint64_t>(self, std::move(err));
  if (payload.empty())
    return refuse<uint64_t>(
      self, caf::make_error(caf::sec::invalid_argument,
                            "publish on \"" + topic + "\": empty payload"));
  auto& st = self->state;
  st.table.match(topic, st.recipients);
  // Anonymous: nothing a subscriber does with the payload, including an
  // unexpected_message error from its default handler, comes back here.
  for (auto* subscriber : st.recipients)
    subscriber->enqueue(caf::strong_actor_ptr{}, caf::make_message_id(),
                        payload, self->context());
  auto delivered = static_cast<uint64_t>(st.recipients.size());
  ++st.counters.published;
  st.counters.delivered += delivered;
  return reply(self, delivered);
}

bus_actor::behavior_type bus_impl(bus_pointer self, caf::unit_t) {
  self->set_down_handler(
    [=](caf::down_msg& dm) { self->state.table.erase(dm.source.get()); });
  // The bus makes no requests, so an error can only be an ordinary message
  // from someone else's mistake; it must not stop the bus.
  self->set_error_handler([](caf::error&) {
    // nop
  });
  // Outside the interface: say so to a requester, stay silent otherwise.
  self->set_default_handler(refuse_unexpected);
  return {
    [=](caf::subscribe_atom, const std::string& pattern) {
      return subscribe(self, self->current_sender(), pattern);
    },
    [=](caf::subscribe_atom, const std::string& pattern,
        const caf::strong_actor_ptr& who) {
      return subscribe(self, who, pattern);
    },
    [=](caf::unsubscribe_atom, const std::string& pattern) {
      return unsubscribe(self, self->current_sender(), pattern);
    },
    [=](caf::unsubscribe_atom, const std::string& pattern,
        const caf::strong_actor_ptr& who) {
      return unsubscribe(self, who, pattern);
    },
    [=](caf::publish_atom, const std::string& topic,
        const caf::message& payload) { return publish(self, topic, payload); },
    [=](bus_stats_atom) {
      auto result = self->state.counters;
      result.subscribers = self->state.table.subscribers();
      result.topics = self->state.table.patterns();
      return reply(self, result);
    },
  };
}

} // namespace

bus_actor spawn_bus(caf::actor_system& sys, bool hidden) {
  // CAF 0.17.6 dereferences a null argument tuple when it spawns a function
  // that takes nothing but `self` (UB, and fatal under CACHEBUS_SANITIZE), so
  // the bus takes a placeholder argument.
  if (hidden)
    return sys.spawn<caf::hidden>(bus_impl, caf::unit);
  return sys.spawn(bus_impl, caf::unit);
}

} // namespace cachebus
