#include "cachebus/bus/tls_context.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "caf/sec.hpp"

namespace cachebus {

namespace {

caf::error invalid(std::string msg) {
  return caf::make_error(caf::sec::invalid_argument, "TLS: " + std::move(msg));
}

/// Drains OpenSSL's error queue of this thread into one readable line.
std::string ssl_errors() {
  std::string result;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!result.empty())
      result += "; ";
    result += buf;
  }
  return result.empty() ? "no detail from OpenSSL" : result;
}

/// `option "path"`, the way every message names a file.
std::string named(const char* option, const std::string& path) {
  return std::string{option} + " \"" + path + "\"";
}

/// Empty if `path` is a readable regular file (or directory, if `dir`).
std::string unreadable(const std::string& path, bool dir) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return std::strerror(errno);
  if (dir != S_ISDIR(st.st_mode))
    return dir ? "not a directory" : "not a regular file";
  if (::access(path.c_str(), R_OK) != 0)
    return std::strerror(errno);
  return {};
}

int passphrase_cb(char* buf, int size, int, void* userdata) {
  auto* pass = static_cast<const std::string*>(userdata);
  if (size <= 0 || pass->size() >= static_cast<size_t>(size))
    return 0;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

struct ctx_deleter {
  void operator()(SSL_CTX* x) const { SSL_CTX_free(x); }
};
struct bio_deleter {
  void operator()(BIO* x) const { BIO_free(x); }
};
struct pkey_deleter {
  void operator()(EVP_PKEY* x) const { EVP_PKEY_free(x); }
};

} // namespace

caf::expected<ssl_ctx_st*> make_ssl_context(const tls_credentials& x) {
  if (x.certificate.empty())
    return invalid("openssl.certificate is not set: TLS needs this node's "
                   "certificate (PEM)");
  if (x.key.empty())
    return invalid("openssl.key is not set: TLS needs the private key of "
                   "openssl.certificate (PEM)");
  if (x.cafile.empty() && x.capath.empty())
    return invalid("neither openssl.cafile nor openssl.capath is set: TLS "
                   "needs the CA certificates that peers' certificates must "
                   "be signed by");
  if (auto why = unreadable(x.certificate, false); !why.empty())
    return invalid(named("openssl.certificate", x.certificate)
                   + " cannot be read: " + why);
  if (auto why = unreadable(x.key, false); !why.empty())
    return invalid(named("openssl.key", x.key) + " cannot be read: " + why);
  if (!x.cafile.empty())
    if (auto why = unreadable(x.cafile, false); !why.empty())
      return invalid(named("openssl.cafile", x.cafile)
                     + " cannot be read: " + why);
  if (!x.capath.empty())
    if (auto why = unreadable(x.capath, true); !why.empty())
      return invalid(named("openssl.capath", x.capath)
                     + " cannot be read: " + why);
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, ctx_deleter> ctx{SSL_CTX_new(TLS_method())};
  if (!ctx)
    return invalid("cannot create an OpenSSL context: " + ssl_errors());
  // The same calls CAF makes for every connection.
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), x.certificate.c_str()) != 1)
    return invalid(named("openssl.certificate", x.certificate)
                   + " is not a PEM certificate chain: " + ssl_errors());
  auto* cert = SSL_CTX_get0_certificate(ctx.get());
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
    return invalid(named("openssl.certificate", x.certificate)
                   + " is not valid yet");
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
    return invalid(named("openssl.certificate", x.certificate)
                   + " has expired");
  std::unique_ptr<BIO, bio_deleter> bio{BIO_new_file(x.key.c_str(), "r")};
  if (!bio)
    return invalid(named("openssl.key", x.key)
                   + " cannot be opened: " + ssl_errors());
  std::unique_ptr<EVP_PKEY, pkey_deleter> pkey{
    PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb,
                            const_cast<std::string*>(&x.passphrase))};
  if (!pkey)
    return invalid(named("openssl.key", x.key) + " is not a PEM private key"
                   + (x.passphrase.empty()
                        ? " (or it is encrypted and openssl.passphrase is "
                          "not set)"
                        : " (or openssl.passphrase does not decrypt it)")
                   + ": " + ssl_errors());
  if (X509_check_private_key(cert, pkey.get()) != 1) {
    ERR_clear_error();
    return invalid(named("openssl.key", x.key)
                   + " does not match the certificate in "
                   + named("openssl.certificate", x.certificate));
  }
  auto* cafile = x.cafile.empty() ? nullptr : x.cafile.c_str();
  auto* capath = x.capath.empty() ? nullptr : x.capath.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), cafile, capath) != 1)
    return invalid((cafile ? named("openssl.cafile", x.cafile)
                           : named("openssl.capath", x.capath))
                   + " holds no usable CA certificate: " + ssl_errors());
  // Served from memory from now on: the key is the one read above, never
  // the file again. The same policy as CAF's own module (both sides present
  // a certificate of the CAs), so CAF's OpenSSL clients interoperate.
  if (SSL_CTX_use_PrivateKey(ctx.get(), pkey.get()) != 1)
    return invalid(named("openssl.key", x.key)
                   + " cannot be used: " + ssl_errors());
  SSL_CTX_set_verify(
    ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  if (SSL_CTX_set_cipher_list(ctx.get(), "HIGH:!aNULL:!MD5") != 1)
    return invalid("cannot set the cipher list: " + ssl_errors());
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  ERR_clear_error();
  return ctx.release();
}

// -- tls_context --------------------------------------------------------------

caf::expected<std::shared_ptr<tls_context>>
tls_context::load(const tls_credentials& x) {
  auto ctx = make_ssl_context(x);
  if (!ctx)
    return std::move(ctx.error());
  std::shared_ptr<tls_context> result{new tls_context};
  result->ctx_ = *ctx;
  result->creds_ = x;
  return result;
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

caf::error tls_context::reload(const tls_credentials& x) {
  auto ctx = make_ssl_context(x);
  if (!ctx)
    return std::move(ctx.error());
  std::lock_guard<std::mutex> guard{mtx_};
  // Sessions made from the old context hold a reference of their own.
  SSL_CTX_free(ctx_);
  ctx_ = *ctx;
  creds_ = x;
  ++generation_;
  return {};
}

ssl_st* tls_context::new_session() {
  std::lock_guard<std::mutex> guard{mtx_};
  return SSL_new(ctx_);
}

uint64_t tls_context::generation() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return generation_;
}

tls_credentials tls_context::credentials() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return creds_;
}

} // namespace cachebus
