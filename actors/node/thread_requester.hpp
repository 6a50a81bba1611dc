// A plain thread's handle for request/response with actors, one request at a
// time: what the node's blocking calls (fetch) use instead of a
// caf::scoped_actor, which spawns a blocking actor with a mailbox, counts as
// a running actor and arms a timer in the actor clock for every request. Here
// the sender the receiver sees is a minimal actor without a mailbox or a
// thread: a response goes straight into a slot the thread waits on with its
// own deadline, and anything else sent to it is dropped (a request bounces).
// Actors may monitor it (the lock manager watches a key's holder): it
// terminates when the requester is destroyed, so a holder that returns or
// unwinds without releasing its key releases it. Private to the node; one
// thread at a time uses a requester.
#pragma once

#include <cstdint>
#include <type_traits>

#include "caf/actor_addr.hpp"
#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/check_typed_input.hpp"
#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/message.hpp"
#include "caf/response_type.hpp"
#include "caf/sec.hpp"
#include "caf/timespan.hpp"

namespace cachebus {

class thread_requester {
 public:
  explicit thread_requester(caf::actor_system& sys);

  /// Terminates the sender: its monitors get a down_msg (exit reason normal),
  /// and a response that arrives later is dropped.
  ~thread_requester();

  thread_requester(const thread_requester&) = delete;
  thread_requester& operator=(const thread_requester&) = delete;

  /// Sends (xs...) to `dest` as a request and waits at most `timeout` for the
  /// answer: the reply, the error the receiver answered with, or
  /// caf::sec::request_timeout (a later answer is dropped).
  /// REQUIRES: no other thread uses this requester meanwhile.
  template <class Reply, class Handle, class... Ts>
  caf::expected<Reply> request(const Handle& dest, caf::timespan timeout,
                               Ts&&... xs) {
    using token = caf::detail::type_list<
      typename caf::detail::implicit_conversions<std::decay_t<Ts>>::type...>;
    using answer
      = caf::response_type_unbox<caf::signatures_of_t<Handle>, token>;
    static_assert(answer::valid, "receiver does not accept given message");
    static_assert(
      std::is_same<typename answer::type, caf::detail::type_list<Reply>>::value
        || std::is_same<Handle, caf::actor>::value,
      "the receiver answers this message with another type");
    auto reply = call(caf::actor_cast<caf::strong_actor_ptr>(dest), timeout,
                      caf::make_message(std::forward<Ts>(xs)...));
    if (!reply)
      return std::move(reply.error());
    if (!reply->template match_elements<Reply>())
      return caf::make_error(caf::sec::unexpected_response);
    return std::move(reply->template get_mutable_as<Reply>(0));
  }

  /// The sender the receivers of its requests see.
  caf::actor_addr address() const;

 private:
  caf::expected<caf::message> call(const caf::strong_actor_ptr& dest,
                                   caf::timespan timeout, caf::message msg);

  caf::strong_actor_ptr self_;
  uint64_t last_request_ = 0;
};

} // namespace cachebus
