// An out-of-band message for one Redis connection, produced off its
// command path: a tracking invalidation, a flush, a pub/sub message. Other
// threads (the node's removal delivery, the event relay, another session)
// make one and hand it to the server, which appends it to the connections'
// output as each connection's session renders it (resp_session::deliver:
// RESP3 push, or RESP2 pub/sub message, or nothing). Plain copyable values;
// they never cross nodes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/atom.hpp"

namespace cachebus {

struct resp_push {
  enum class kind : uint8_t {
    /// `>2 invalidate [keys]` (RESP2: a message on __redis__:invalidate).
    invalidate,
    /// `>2 invalidate _`: drop every cached key (RESP2: a message with a
    /// null payload on __redis__:invalidate).
    flush,
    /// `>2 tracking-redir-broken id` (RESP3 only): the connection that
    /// took this one's invalidations (REDIRECT id) is gone.
    redirect_broken,
    /// `>3 message channel payload`.
    message,
    /// `>4 pmessage pattern channel payload`.
    pmessage,
  };

  kind what = kind::invalidate;
  std::vector<std::string> keys;
  std::string pattern;
  std::string channel;
  std::string payload;
  uint64_t redirect = 0;
};

/// The server's message: (resp_push_atom, connection ids, push).
using resp_push_atom = caf::atom_constant<caf::atom("resp_push")>;
constexpr auto resp_push_atom_v = resp_push_atom::value;

/// Hands `p` to the connections `to` (any thread; never blocks).
using resp_push_fn = std::function<void(std::vector<uint64_t> to, resp_push p)>;

} // namespace cachebus

// Local messages only (server and session live in one process).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cachebus::resp_push)
