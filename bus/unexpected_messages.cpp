#include "cachebus/bus/unexpected_messages.hpp"

#include "caf/delegated.hpp"
#include "caf/scheduled_actor.hpp"
#include "caf/sec.hpp"

namespace cachebus {

caf::result<caf::message> refuse_unexpected(caf::scheduled_actor* self,
                                            caf::message_view&) {
  if (self->current_message_id().is_request())
    return caf::make_error(caf::sec::unexpected_message);
  return caf::delegated<caf::message>{};
}

} // namespace cachebus
