// What an actor of the bus layer does with a message outside its interface:
// a request gets sec::unexpected_message back, so that its sender fails at
// once instead of waiting for its timeout; anything else is dropped without
// a word. Not an answer to a plain send: that answer would reach its sender
// as an ordinary message, and an error arriving that way stops an
// event-based actor (docs/CAF-0.17.md, pitfall 6). Install it with
// `self->set_default_handler(refuse_unexpected)`. Pure; thread-safe.
#pragma once

#include "caf/fwd.hpp"
#include "caf/message.hpp"
#include "caf/result.hpp"

namespace cachebus {

caf::result<caf::message> refuse_unexpected(caf::scheduled_actor* self,
                                            caf::message_view& msg);

} // namespace cachebus
