// What the bridge tells others: peer_events on the local bus, the wording of
// its refusals and of the errors it records.
#include <chrono>
#include <utility>

#include "caf/actor_system.hpp"
#include "caf/make_message.hpp"
#include "caf/sec.hpp"
#include "caf/send.hpp"

#include "cachebus/bus/bridge_internal.hpp"
#include "cachebus/bus/error_text.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus::bridge_detail {

caf::error refusal(std::string reason) {
  return caf::make_error(caf::sec::invalid_argument, std::move(reason));
}

std::string ms(caf::timespan x) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(x).count())
         + " ms";
}

std::string describe(bridge_pointer self, const caf::error& err) {
  return error_text(err, &self->system());
}

void publish_peer_event(bridge_pointer self, std::string peer,
                        peer_event_kind kind, uint64_t last_sequence,
                        uint64_t incarnation, std::string reason,
                        caf::actor endpoint, uint64_t resumes_after,
                        drop_cause drop) {
  caf::anon_send(
    self->state.bus, caf::publish_atom_v, std::string{peers_topic},
    caf::make_message(peer_event{std::move(peer), kind, last_sequence,
                                 incarnation, std::move(reason),
                                 std::move(endpoint), resumes_after, drop}));
}

} // namespace cachebus::bridge_detail
