// An incremental parser of Redis requests (RESP): feed it the bytes of one
// connection in chunks of any size, then take complete commands out of it,
// each a vector of binary-safe arguments. It reads RESP multibulk frames
// (`*N\r\n$len\r\n<bytes>\r\n...`) and inline commands (one line of words,
// with redis-cli's quoting: "..." with \n \r \t \b \a \xHH and \<c> escapes,
// '...' with \'). Empty lines and `*0` / `*-1` frames are skipped, as Redis
// skips them.
//
// Memory is bounded by the limits, never by what a client declares: a
// declared bulk length above max_bulk_length (or a multibulk count above
// max_multibulk_length) is refused before anything is reserved, an argument
// grows as its bytes arrive, and at most max_request_bytes of arguments are
// held for one command. A refusal is a protocol error with Redis's text
// ("Protocol error: invalid bulk length", ...); the parser then stays
// failed (every later next() returns error) and the connection is to be
// closed after the error reply. Until set_authenticated(true), Redis's
// stricter bounds for unauthenticated clients apply (at most 10 arguments,
// bulks of at most 16 KiB).
//
// One parser per connection; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cachebus {

class resp_parser {
 public:
  struct limits {
    /// Longest argument of a multibulk request (Redis: proto-max-bulk-len).
    size_t max_bulk_length = size_t{16} << 20;
    /// Most arguments of one request.
    size_t max_multibulk_length = size_t{1} << 20;
    /// Longest inline command line, and longest `*N` / `$N` header line
    /// (Redis: PROTO_INLINE_MAX_SIZE).
    size_t max_inline_length = size_t{64} << 10;
    /// Most bytes of arguments held for one request.
    size_t max_request_bytes = size_t{64} << 20;
  };

  enum class status {
    /// No complete command in what was fed so far.
    need_more,
    /// A command was stored in the caller's vector.
    command,
    /// A protocol error (error() says which); the parser stays failed.
    error,
  };

  resp_parser() : resp_parser(limits{}) {
    // nop
  }

  explicit resp_parser(limits lim);

  /// Appends `bytes` to the unparsed input. Ignored once failed.
  void feed(std::string_view bytes);

  /// Parses the next complete command out of the input into `args`
  /// (replacing its contents). Call until it returns need_more.
  status next(std::vector<std::string>& args);

  /// Until called with true, unauthenticated bounds apply (see above).
  void set_authenticated(bool yes) noexcept { authenticated_ = yes; }

  bool failed() const noexcept { return !error_.empty(); }

  /// The protocol error, e.g. "Protocol error: invalid multibulk length";
  /// empty while not failed.
  const std::string& error() const noexcept { return error_; }

  /// Input bytes held: unparsed ones, plus the arguments of a command not
  /// complete yet at their declared lengths.
  size_t buffered() const noexcept {
    return buf_.size() - pos_ + request_bytes_;
  }

  const limits& bounds() const noexcept { return lim_; }

 private:
  enum class state { start, bulk_header, bulk_data };

  status fail(std::string text);
  status parse_inline();
  // Finds the `\r` ending the header line that starts at pos_; npos if the
  // line is not complete yet (or too long: then fails).
  size_t header_end(const char* too_big);
  void compact();

  limits lim_;
  std::string buf_; // fed bytes; parsing starts at pos_
  size_t pos_ = 0;
  state state_ = state::start;
  size_t args_left_ = 0;     // bulks still expected for this command
  size_t bulk_left_ = 0;     // bytes of the current bulk still expected
  size_t request_bytes_ = 0; // bytes held in args_ for this command
  std::vector<std::string> args_;
  bool authenticated_ = false;
  std::string error_;
};

/// Redis's string2ll: an optional '-' and digits without leading zeros,
/// within long long. Lengths in frames and the integer arguments of
/// commands parse so.
bool parse_resp_integer(std::string_view text, long long& out);

/// Splits one inline command line as Redis does (sdssplitargs): words
/// separated by whitespace, "..." and '...' quoting. False on unbalanced
/// quotes (or a closing quote not followed by a space).
bool split_inline(std::string_view line, std::vector<std::string>& out);

} // namespace cachebus
