// The encoder of Redis replies: appends RESP2 or RESP3 to a byte buffer the
// caller owns (a connection's output). The protocol is per connection (HELLO
// switches it) and may change between replies. Every RESP3 type has its
// RESP2 form, as Redis sends it to a RESP2 client: null is `$-1` (and a null
// array `*-1`), a map a flat array of 2n elements, a set and a push an
// array, a double a bulk string, a boolean the integer 0 or 1, a verbatim
// string a bulk string without its format. Aggregates are written as a
// header (array(n), map(n), ...) followed by their n (map: 2n) elements.
// Error texts are the whole line after '-' ("ERR syntax error"); a CR or LF
// in one is replaced by a space, so a reply can never be split. Not
// thread-safe; cheap to construct (a reference and a number).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cachebus {

class resp_writer {
 public:
  /// REQUIRES: protocol is 2 or 3; `out` outlives the writer.
  explicit resp_writer(std::string& out, int protocol = 2)
      : out_(&out), proto_(protocol) {
    // nop
  }

  int protocol() const noexcept { return proto_; }

  /// REQUIRES: 2 or 3.
  void set_protocol(int protocol) noexcept { proto_ = protocol; }

  std::string& buffer() noexcept { return *out_; }

  // -- simple types -----------------------------------------------------------

  /// `+text`. REQUIRES: no CR or LF in `text` (they become spaces).
  void simple(std::string_view text);

  /// `-text`, e.g. error("ERR syntax error"); CR and LF become spaces.
  void error(std::string_view text);

  void integer(int64_t x);

  void bulk(std::string_view bytes);

  /// RESP2 `$-1`, RESP3 `_`.
  void null();

  /// RESP2 `*-1`, RESP3 `_`.
  void null_array();

  /// RESP3 `,x` (shortest exact form; inf, -inf, nan); RESP2 a bulk string.
  void real(double x);

  /// RESP3 `#t` / `#f`; RESP2 `:1` / `:0`.
  void boolean(bool x);

  /// RESP3 `=len\r\nfmt:text`; RESP2 bulk(text). REQUIRES: fmt has 3 bytes
  /// (e.g. "txt", "mkd").
  void verbatim(std::string_view fmt, std::string_view text);

  // -- aggregate headers ------------------------------------------------------

  void array(size_t n);

  /// n key-value pairs follow (2n elements). RESP2: `*2n`.
  void map(size_t n);

  /// RESP2: an array.
  void set(size_t n);

  /// An out-of-band message (`>n`); RESP2: an array.
  void push(size_t n);

 private:
  void header(char type, int64_t n);
  void line(char type, std::string_view text);

  std::string* out_;
  int proto_;
};

} // namespace cachebus
