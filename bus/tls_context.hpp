// The TLS credentials a node serves, read and validated once and kept in
// memory as an OpenSSL context. CAF's OpenSSL module rereads the files for
// every connection and aborts the process when that fails (a key replaced
// after start); cachebus's transport (transport.hpp) takes its sessions from
// a tls_context instead. reload() is the only way new files take effect: it
// validates them completely first, and a bad file leaves the credentials in
// force unchanged. Thread-safe: sessions may be made on the multiplexer
// thread while another thread reloads; a session keeps the context it was
// made from.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "cachebus/bus/tls_credentials.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace cachebus {

class tls_context {
 public:
  /// Reads and validates `x` (as check_tls_credentials) into a context that
  /// requires a certificate of the CAs from every peer. Errors are
  /// `sec::invalid_argument` with a sentence naming the option and file.
  static caf::expected<std::shared_ptr<tls_context>>
  load(const tls_credentials& x);

  ~tls_context();

  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  /// Replaces the credentials by `x` if they are valid; otherwise returns
  /// why and keeps the current ones.
  caf::error reload(const tls_credentials& x);

  /// A new OpenSSL session of the current credentials, nullptr if OpenSSL
  /// cannot make one. The caller owns it (SSL_free).
  ssl_st* new_session();

  /// Incremented by every successful reload (0 after load).
  uint64_t generation() const;

  /// The credentials in force (the paths they were read from).
  tls_credentials credentials() const;

 private:
  tls_context() = default;

  mutable std::mutex mtx_;
  ssl_ctx_st* ctx_ = nullptr;
  tls_credentials creds_;
  uint64_t generation_ = 0;
};

/// Reads and checks `x` into a new context; the caller owns the result.
/// Used by tls_context and check_tls_credentials.
caf::expected<ssl_ctx_st*> make_ssl_context(const tls_credentials& x);

} // namespace cachebus
