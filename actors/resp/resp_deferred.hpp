// Deferred replies: a session command that must wait for an actor (CB.FETCH
// on a miss, the record commands CB.UPDATE / CB.QUEUE / CB.RECORD) hands its
// work to the actor system and returns at once, so the thread that runs the
// session (the server's broker: CAF's one I/O thread) never blocks. When the
// answer arrives, on some CAF worker, it is posted back to the session's own
// thread as a resp_completion, and the transport hands it to
// resp_session::complete(), which writes the reply. Until then the
// connection's later commands wait unparsed, as Redis holds the commands
// after a blocking one: replies keep their order, and every command sees the
// effects of the ones before it. Other connections are not held up. Every
// deferred command ends: the requests behind it carry
// cachebus.request-timeout.
#pragma once

#include <cstdint>
#include <functional>

#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/atom.hpp"

namespace cachebus {

class resp_writer;

/// The reply of deferred command `ticket`, to be written on the session's
/// thread.
struct resp_completion {
  uint64_t ticket = 0;
  std::function<void(resp_writer&)> reply;
};

/// Takes a completion from any thread to the session's thread (the server:
/// a message to its broker). Must not block.
using resp_post_fn = std::function<void(resp_completion)>;

/// The server broker's message (connection_handle, resp_completion).
using resp_done_atom = caf::atom_constant<caf::atom("resp_done")>;

} // namespace cachebus

// Only within this process: it is a message to the broker, never sent over
// the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cachebus::resp_completion)
