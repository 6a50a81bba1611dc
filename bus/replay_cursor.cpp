#include "cachebus/bus/replay_cursor.hpp"

#include <algorithm>

#include "caf/error.hpp"

#include "cachebus/bus/topic.hpp"

namespace cachebus {

// -- sessions -----------------------------------------------------------------

drop_cause replay_cursor::begin_session(uint64_t incarnation,
                                        uint64_t resumes_after) {
  // A request of the last session is answered into nothing.
  ++attempt_;
  ++sessions_;
  in_flight_.reset();
  auto restart = [&](drop_cause why) {
    incarnation_ = incarnation;
    delivered_ = target_ = resumes_after;
    active_ = false;
    return why;
  };
  if (incarnation_ == 0)
    return restart(resumes_after > 0 ? drop_cause::history : drop_cause::none);
  if (incarnation != incarnation_)
    return restart(drop_cause::new_incarnation);
  if (resumes_after < target_)
    return restart(drop_cause::malformed);
  target_ = resumes_after;
  return drop_cause::none;
}

drop_cause replay_cursor::end_session() {
  if (!pending() && !active_)
    return drop_cause::none;
  give_up();
  return drop_cause::lost;
}

// -- what arrives live --------------------------------------------------------

bool replay_cursor::live(uint64_t seq) {
  if (seq == delivered_ + 1 && !pending() && !in_flight_) {
    delivered_ = target_ = seq;
    return true;
  }
  target_ = std::max(target_, seq);
  return false;
}

void replay_cursor::sent_up_to(uint64_t last) {
  target_ = std::max(target_, last);
}

// -- the replay ---------------------------------------------------------------

bool replay_cursor::start() {
  if (active_ || !pending())
    return false;
  active_ = true;
  ++run_;
  return true;
}

std::optional<replay_request> replay_cursor::next_request() {
  if (!pending() || in_flight_)
    return std::nullopt;
  ++attempt_;
  in_flight_ = replay_request{incarnation_, delivered_ + 1, target_};
  return in_flight_;
}

drop_cause replay_cursor::accept(const replay_batch& b,
                                 const std::string& origin,
                                 std::vector<event_route>& routes) {
  auto fail = [&](drop_cause why) {
    give_up();
    return why;
  };
  if (!in_flight_)
    return fail(drop_cause::malformed);
  auto asked = *in_flight_;
  switch (b.status) {
  case replay_status::ok:
    break;
  case replay_status::trimmed:
    return fail(drop_cause::trimmed);
  case replay_status::other_incarnation:
    return fail(drop_cause::new_incarnation);
  default:
    return fail(drop_cause::malformed);
  }
  if (b.incarnation != asked.incarnation || b.from != asked.from
      || b.events.empty() || b.events.size() > asked.to - asked.from + 1)
    return fail(drop_cause::malformed);
  auto first = routes.size();
  auto seq = asked.from;
  for (auto& ev : b.events) {
    auto r = route_of(ev);
    if (!r || r->origin != origin || r->sequence != seq
        || r->topic == peers_topic || check_topic(r->topic)) {
      routes.resize(first);
      return fail(drop_cause::malformed);
    }
    routes.push_back(std::move(*r));
    ++seq;
  }
  delivered_ = seq - 1;
  in_flight_.reset();
  return drop_cause::none;
}

bool replay_cursor::finish() {
  if (!active_ || pending() || in_flight_)
    return false;
  active_ = false;
  return true;
}

void replay_cursor::give_up() {
  delivered_ = target_;
  in_flight_.reset();
  active_ = false;
  ++attempt_;
}

} // namespace cachebus
