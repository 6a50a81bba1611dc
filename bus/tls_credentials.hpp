// The certificate, key and trusted CAs a node presents and checks on TLS
// connections (CAF's OpenSSL module, options `openssl.*`), and the check that
// they are usable before the first connection. CAF loads these files anew for
// every connection and reports no error when that fails: a bad certificate
// or key throws inside CAF's multiplexer (the process aborts) or kills its
// OpenSSL middleman actor (connects then hang). So check_tls_credentials must
// pass before anything is published or dialed over TLS through CAF's module
// (cachebus's own ports read them once instead: tls_context.hpp). Its errors
// are `sec::invalid_argument` with a sentence naming the option and file.
#pragma once

#include <string>

#include "caf/error.hpp"
#include "caf/fwd.hpp"

namespace cachebus {

struct tls_credentials {
  /// openssl.certificate: PEM file, this node's certificate first, then any
  /// intermediate CA certificates.
  std::string certificate;
  /// openssl.key: PEM file with the private key of `certificate`.
  std::string key;
  /// openssl.passphrase: decrypts `key` if it is encrypted.
  std::string passphrase;
  /// openssl.cafile: PEM file of the CA certificates a peer's certificate
  /// must chain to. At least one of cafile and capath is required.
  std::string cafile;
  /// openssl.capath: directory of hashed CA certificates (c_rehash).
  std::string capath;
};

/// The credentials `cfg` gives CAF's OpenSSL module (its `openssl_*` fields).
tls_credentials tls_credentials_of(const caf::actor_system_config& cfg);

/// Returns an empty error if `x` names a certificate chain and a matching
/// private key that OpenSSL loads, the certificate is valid now, and the CA
/// file or directory loads. Reads the files; does not keep them.
caf::error check_tls_credentials(const tls_credentials& x);

} // namespace cachebus
