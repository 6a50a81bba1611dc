#include "cachebus/actors/resp/resp_tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cachebus/bus/tls_context.hpp"

namespace cachebus {

std::unique_ptr<resp_tls> resp_tls::accept(tls_context& ctx) {
  auto* ssl = ctx.new_session();
  if (ssl == nullptr)
    return nullptr;
  return std::unique_ptr<resp_tls>{new resp_tls(ssl)};
}

resp_tls::resp_tls(ssl_st* ssl) : ssl_(ssl) {
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  // A memory BIO that is empty asks to be retried, not EOF.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
}

resp_tls::~resp_tls() {
  SSL_free(ssl_); // and both BIOs
}

bool resp_tls::fail(const char* what, int ret) {
  auto code = SSL_get_error(ssl_, ret);
  char buf[256] = "";
  if (auto e = ERR_get_error())
    ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  error_ = std::string{what} + " failed (SSL error " + std::to_string(code)
           + (buf[0] ? std::string{": "} + buf : std::string{}) + ")";
  return false;
}

bool resp_tls::advance(std::string& plain) {
  if (!done_) {
    auto ret = SSL_do_handshake(ssl_);
    if (ret != 1) {
      auto code = SSL_get_error(ssl_, ret);
      if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
        return true; // more records to come
      return fail("the TLS handshake", ret);
    }
    done_ = true;
  }
  char buf[16 * 1024];
  for (;;) {
    auto n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plain.append(buf, static_cast<size_t>(n));
      continue;
    }
    auto code = SSL_get_error(ssl_, n);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
      return true;
    if (code == SSL_ERROR_ZERO_RETURN) {
      error_ = "the client closed the TLS session";
      return false;
    }
    return fail("reading TLS", n);
  }
}

bool resp_tls::feed(std::string_view cipher, std::string& plain) {
  while (!cipher.empty()) {
    auto n = BIO_write(in_, cipher.data(), static_cast<int>(cipher.size()));
    if (n <= 0) {
      error_ = "cannot buffer TLS input";
      return false;
    }
    cipher.remove_prefix(static_cast<size_t>(n));
  }
  return advance(plain);
}

void resp_tls::drain(std::vector<char>& out) {
  char buf[16 * 1024];
  for (int n; (n = BIO_read(out_, buf, sizeof buf)) > 0;)
    out.insert(out.end(), buf, buf + n);
}

bool resp_tls::write(std::string_view plain, std::vector<char>& out) {
  if (!done_) {
    held_.append(plain);
    drain(out); // handshake records
    return true;
  }
  if (!held_.empty()) {
    auto held = std::move(held_);
    held_.clear();
    if (!write(held, out))
      return false;
  }
  while (!plain.empty()) {
    auto n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n <= 0)
      return fail("writing TLS", n);
    plain.remove_prefix(static_cast<size_t>(n));
  }
  drain(out);
  return true;
}

} // namespace cachebus
