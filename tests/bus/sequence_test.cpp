#include "cachebus/bus/reorder_buffer.hpp"
#include "cachebus/bus/sequence_tracker.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "caf/make_message.hpp"
#include "caf/message.hpp"

using namespace cachebus;

namespace {

using verdict = sequence_tracker::verdict;

std::vector<int> ints(const std::vector<caf::message>& xs) {
  std::vector<int> result;
  for (auto& x : xs)
    result.push_back(x.get_as<int>(0));
  return result;
}

} // namespace

TEST_CASE("the tracker delivers in order, drops repeats and reports jumps") {
  sequence_tracker t;
  CHECK(t.next() == 1);
  CHECK(t.last() == 0);
  CHECK(t.observe(1) == verdict::in_order);
  CHECK(t.observe(2) == verdict::in_order);
  CHECK(t.observe(2) == verdict::duplicate);
  CHECK(t.observe(1) == verdict::duplicate);
  CHECK(t.observe(5) == verdict::gap);
  CHECK(t.last() == 5);
  CHECK(t.observe(4) == verdict::duplicate);
  CHECK(t.observe(6) == verdict::in_order);
}

TEST_CASE("a heartbeat past the last received sequence is a gap") {
  sequence_tracker t{10};
  CHECK(!t.sent_up_to(10));
  CHECK(!t.sent_up_to(3));
  CHECK(t.sent_up_to(12));
  CHECK(t.next() == 12);
  CHECK(t.observe(11) == verdict::duplicate);
  CHECK(t.observe(12) == verdict::in_order);
}

TEST_CASE("a new session restarts tracking where the peer says") {
  sequence_tracker t;
  CHECK(t.observe(1) == verdict::in_order);
  CHECK(t.observe(2) == verdict::in_order);
  t.reset(1); // a restarted peer starts over
  CHECK(t.observe(1) == verdict::in_order);
  t.reset(40); // joined in the middle of a peer's life
  CHECK(t.last() == 39);
  CHECK(t.observe(40) == verdict::in_order);
}

TEST_CASE("the reorder buffer releases own events strictly in order") {
  reorder_buffer buf;
  std::vector<caf::message> out;
  CHECK(buf.push(2, caf::make_message(2), out)
        == reorder_buffer::outcome::held);
  CHECK(buf.push(3, caf::make_message(3), out)
        == reorder_buffer::outcome::held);
  CHECK(out.empty());
  CHECK(buf.holding());
  CHECK(buf.push(1, caf::make_message(1), out)
        == reorder_buffer::outcome::released);
  CHECK(ints(out) == std::vector<int>{1, 2, 3});
  CHECK(buf.next() == 4);
  CHECK(!buf.holding());
  out.clear();
  CHECK(buf.push(2, caf::make_message(2), out)
        == reorder_buffer::outcome::stale);
  CHECK(out.empty());
}

TEST_CASE("the reorder buffer skips a missing sequence only when told") {
  reorder_buffer buf{5};
  std::vector<caf::message> out;
  buf.push(7, caf::make_message(7), out);
  buf.push(8, caf::make_message(8), out);
  buf.push(10, caf::make_message(10), out);
  CHECK(out.empty());
  CHECK(buf.skip(out) == 2); // 5 and 6
  CHECK(ints(out) == std::vector<int>{7, 8});
  CHECK(buf.next() == 9);
  CHECK(buf.held() == 1);
  out.clear();
  CHECK(buf.skip(out) == 1);
  CHECK(ints(out) == std::vector<int>{10});
  CHECK(buf.skip(out) == 0);
}

TEST_CASE("a full reorder buffer gives up on the oldest hole") {
  reorder_buffer buf{1, 2};
  std::vector<caf::message> out;
  buf.push(3, caf::make_message(3), out);
  buf.push(4, caf::make_message(4), out);
  CHECK(out.empty());
  buf.push(6, caf::make_message(6), out);
  CHECK(ints(out) == std::vector<int>{3, 4});
  CHECK(buf.next() == 5);
  CHECK(buf.held() == 1);
}
