#include "cachebus/bus/frame_gate.hpp"

namespace cachebus {

namespace {

// caf::io::basp::message_type of CAF 0.17.6.
constexpr uint8_t server_handshake = 0x00;
constexpr uint8_t client_handshake = 0x01;
constexpr uint8_t last_operation = 0x06; // heartbeat

uint32_t read_u32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8)
         | uint32_t{b[3]};
}

} // namespace

std::string frame_gate::check_header(const char* hdr) {
  // Layout (network byte order): operation, 2 padding bytes, flags,
  // payload_len (u32), operation_data (u64), source and dest actor (u64).
  auto op = static_cast<uint8_t>(hdr[0]);
  auto len = read_u32(hdr + 4);
  if (op > last_operation)
    return "unknown BASP operation " + std::to_string(op);
  if (!handshaken_) {
    auto expected
      = role_ == role::accepted ? client_handshake : server_handshake;
    if (op != expected)
      return "BASP operation " + std::to_string(op) + " before the "
             + (expected == client_handshake ? "client" : "server")
             + " handshake";
    if (len > lim_.max_handshake_size)
      return "handshake of " + std::to_string(len) + " bytes (at most "
             + std::to_string(lim_.max_handshake_size) + ")";
    handshaken_ = true;
  } else if (len > lim_.max_frame_size) {
    return "frame of " + std::to_string(len) + " bytes (at most "
           + std::to_string(lim_.max_frame_size) + ")";
  }
  payload_len_ = len;
  return {};
}

} // namespace cachebus
