// TLS for one Redis-protocol connection, over OpenSSL memory BIOs, so the
// server's broker keeps moving bytes through CAF's scribe and only passes
// them through this object: ciphertext from the socket goes in (feed), the
// plaintext it carries comes out for the session; the session's replies go
// in (write) and ciphertext for the socket comes out, handshake records
// included. The session is the server side of a tls_context of the node
// (its certificate and CAs, cachebus.tls): a client must present a
// certificate of those CAs, as Redis's tls-auth-clients=yes asks. Replies
// written before the handshake completes are held until it has. Not
// thread-safe (one per connection, on the broker's thread).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct ssl_st;
struct bio_st;

namespace cachebus {

class tls_context;

class resp_tls {
 public:
  /// A server session of `ctx`'s current credentials; nullptr if OpenSSL
  /// cannot make one.
  static std::unique_ptr<resp_tls> accept(tls_context& ctx);

  ~resp_tls();

  resp_tls(const resp_tls&) = delete;
  resp_tls& operator=(const resp_tls&) = delete;

  /// Takes ciphertext read from the socket; appends the plaintext it
  /// completes to `plain`. False on a TLS error (error() says which): the
  /// connection is to be closed.
  bool feed(std::string_view cipher, std::string& plain);

  /// Encrypts `plain` (held until the handshake is done) and appends what
  /// must go to the socket (handshake records too) to `out`. False on a TLS
  /// error.
  bool write(std::string_view plain, std::vector<char>& out);

  bool handshake_done() const noexcept { return done_; }

  const std::string& error() const noexcept { return error_; }

 private:
  explicit resp_tls(ssl_st* ssl);
  bool fail(const char* what, int ret);
  bool advance(std::string& plain);
  void drain(std::vector<char>& out);

  ssl_st* ssl_;
  bio_st* in_;  // owned by ssl_
  bio_st* out_; // owned by ssl_
  bool done_ = false;
  std::string held_; // plaintext written before the handshake completed
  std::string error_;
};

} // namespace cachebus
