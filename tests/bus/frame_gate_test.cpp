// frame_gate: which BASP headers reach CAF's broker on cachebus's ports.
#include <catch2/catch.hpp>

#include <string>

#include "cachebus/bus/frame_gate.hpp"

using namespace cachebus;

namespace {

std::string header(uint8_t op, uint32_t len) {
  std::string h(frame_gate::header_size, '\0');
  h[0] = static_cast<char>(op);
  h[4] = static_cast<char>(len >> 24);
  h[5] = static_cast<char>(len >> 16);
  h[6] = static_cast<char>(len >> 8);
  h[7] = static_cast<char>(len);
  return h;
}

frame_limits small() {
  frame_limits lim;
  lim.max_frame_size = 1 << 20;
  lim.max_handshake_size = 64 << 10;
  return lim;
}

} // namespace

TEST_CASE("an accepted connection must open with a client handshake of "
          "bounded size",
          "[bus][frame_gate]") {
  frame_gate g{frame_gate::role::accepted, small()};
  // The message: a server handshake announcing 0xFFFFFFF0 bytes.
  CHECK(!g.check_header(header(0x00, 0xFFFFFFF0u).data()).empty());
  frame_gate g2{frame_gate::role::accepted, small()};
  CHECK(!g2.check_header(header(0x01, 0xFFFFFFF0u).data()).empty());
  frame_gate g3{frame_gate::role::accepted, small()};
  CHECK(!g3.check_header(header(0x02, 100).data()).empty());
  CHECK(!g3.handshaken());
  frame_gate ok{frame_gate::role::accepted, small()};
  CHECK(ok.check_header(header(0x01, 200).data()).empty());
  CHECK(ok.handshaken());
  CHECK(ok.payload_len() == 200);
}

TEST_CASE("a dialed connection must open with a server handshake",
          "[bus][frame_gate]") {
  frame_gate g{frame_gate::role::dialed, small()};
  CHECK(!g.check_header(header(0x01, 10).data()).empty());
  frame_gate ok{frame_gate::role::dialed, small()};
  CHECK(ok.check_header(header(0x00, 4000).data()).empty());
  CHECK(ok.handshaken());
}

TEST_CASE("after the handshake any known frame up to max_frame_size passes",
          "[bus][frame_gate]") {
  frame_gate g{frame_gate::role::accepted, small()};
  REQUIRE(g.check_header(header(0x01, 50).data()).empty());
  CHECK(g.check_header(header(0x02, 1 << 20).data()).empty());
  CHECK(g.check_header(header(0x06, 0).data()).empty());
  CHECK(g.check_header(header(0x00, 10).data()).empty());
  CHECK(!g.check_header(header(0x02, (1 << 20) + 1).data()).empty());
  frame_gate g2{frame_gate::role::accepted, small()};
  REQUIRE(g2.check_header(header(0x01, 50).data()).empty());
  CHECK(!g2.check_header(header(0x07, 0).data()).empty());
}
