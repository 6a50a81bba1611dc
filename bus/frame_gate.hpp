// The check every BASP frame passes on cachebus's ports before CAF's
// middleman sees it: CAF 0.17 reserves (and zero-fills) a frame's payload as
// soon as its 32-byte header arrives, before anything is authenticated, so a
// header announcing 4 GiB costs 4 GiB. A frame_gate reads each header first:
// before the handshake only the handshake the role expects (a client's on an
// accepted connection, a server's on a dialed one) of at most
// max_handshake_size passes; afterwards any frame of at most max_frame_size.
// Anything else ends the connection. A plain value, one per connection;
// not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cachebus {

struct frame_limits {
  /// Largest payload of any frame after the handshake.
  size_t max_frame_size = size_t{16} << 20;
  /// Largest payload of the handshake frame (a node id, app identifiers and
  /// the published actor's interface: a few KiB in practice).
  size_t max_handshake_size = size_t{256} << 10;
};

class frame_gate {
 public:
  /// Size of a BASP header on the wire (caf::io::basp::header_size).
  static constexpr size_t header_size = 32;

  enum class role {
    /// An accepted connection: the peer speaks first with a client
    /// handshake (after our server handshake).
    accepted,
    /// A dialed connection: the peer's first frame is its server handshake.
    dialed,
  };

  frame_gate(role r, frame_limits lim) : role_(r), lim_(lim) {
    // nop
  }

  /// Checks one serialized header. Returns an empty string if the frame may
  /// pass, else why not (the connection must then be closed).
  /// REQUIRES: `hdr` points to header_size bytes.
  std::string check_header(const char* hdr);

  /// True once the handshake frame passed check_header.
  bool handshaken() const noexcept { return handshaken_; }

  /// The payload length of the last header that passed.
  uint32_t payload_len() const noexcept { return payload_len_; }

 private:
  role role_;
  frame_limits lim_;
  bool handshaken_ = false;
  uint32_t payload_len_ = 0;
};

} // namespace cachebus
