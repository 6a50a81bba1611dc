#include "cachebus/actors/node/thread_requester.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "caf/actor.hpp"
#include "caf/actor_config.hpp"
#include "caf/exit_reason.hpp"
#include "caf/make_actor.hpp"
#include "caf/monitorable_actor.hpp"

namespace cachebus {

namespace {

// The sender a thread_requester shows to actors: no mailbox, no behavior.
// The response to the request its thread waits for fills `reply`; every
// other message is dropped, and a request bounces (nobody would answer it).
class reply_slot final : public caf::monitorable_actor {
 public:
  explicit reply_slot(caf::actor_config& cfg) : caf::monitorable_actor(cfg) {
    // nop
  }

  const char* name() const override { return "cachebus.thread_requester"; }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    if (!what)
      return;
    if (what->mid.is_response()) {
      std::lock_guard<std::mutex> guard{mtx_};
      if (awaited_ != 0 && what->mid.request_id().integer_value() == awaited_) {
        reply_ = what->move_content_to_message();
        awaited_ = 0;
        cv_.notify_one();
      }
      return;
    }
    if (what->mid.is_request())
      bounce(what, caf::make_error(caf::sec::unexpected_message));
  }

  // -- the waiting thread's side ----------------------------------------------

  void expect(caf::message_id id) {
    std::lock_guard<std::mutex> guard{mtx_};
    awaited_ = id.request_id().integer_value();
    reply_.reset();
  }

  // The awaited response, or nothing if it did not come within `timeout`
  // (then it is no longer awaited).
  std::optional<caf::message> wait(caf::timespan timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, timeout, [&] { return reply_.has_value(); });
    awaited_ = 0;
    return std::move(reply_);
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  // The request id whose response is awaited; 0: none.
  uint64_t awaited_ = 0;
  std::optional<caf::message> reply_;
};

reply_slot& slot_of(const caf::strong_actor_ptr& self) {
  return *static_cast<reply_slot*>(caf::actor_cast<caf::abstract_actor*>(self));
}

} // namespace

thread_requester::thread_requester(caf::actor_system& sys) {
  caf::actor_config cfg;
  self_ = caf::actor_cast<caf::strong_actor_ptr>(
    caf::make_actor<reply_slot, caf::actor>(sys.next_actor_id(), sys.node(),
                                            &sys, cfg));
}

thread_requester::~thread_requester() {
  slot_of(self_).cleanup(caf::make_error(caf::exit_reason::normal), nullptr);
}

caf::actor_addr thread_requester::address() const {
  return caf::actor_cast<caf::actor_addr>(self_);
}

caf::expected<caf::message>
thread_requester::call(const caf::strong_actor_ptr& dest, caf::timespan timeout,
                       caf::message msg) {
  if (!dest)
    return caf::make_error(caf::sec::invalid_argument);
  auto& slot = slot_of(self_);
  auto id = caf::make_message_id(++last_request_);
  slot.expect(id);
  dest->enqueue(self_, id, std::move(msg), nullptr);
  auto reply = slot.wait(timeout);
  if (!reply)
    return caf::make_error(caf::sec::request_timeout);
  if (reply->match_elements<caf::error>())
    return std::move(reply->get_mutable_as<caf::error>(0));
  return std::move(*reply);
}

} // namespace cachebus
