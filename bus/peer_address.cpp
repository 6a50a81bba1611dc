#include "cachebus/bus/peer_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "caf/sec.hpp"

namespace cachebus {

namespace {

caf::error refuse(std::string_view text, std::string_view reason) {
  std::string msg = "peer address \"";
  for (auto c : text.substr(0, 128))
    msg += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > 128)
    msg += "...";
  msg += "\": ";
  msg += reason;
  msg += " (expected host:port or [ipv6]:port)";
  return caf::make_error(caf::sec::invalid_argument, std::move(msg));
}

bool blank_or_invisible(std::string_view host) {
  if (host.empty())
    return true;
  for (auto c : host)
    if (c <= 0x20 || c >= 0x7F)
      return true;
  return false;
}

} // namespace

caf::expected<peer_address> parse_peer_address(std::string_view text) {
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return refuse(text, "'[' without a closing ']'");
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      return refuse(text, "missing ':port' after the bracketed host");
    rest.remove_prefix(1);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return refuse(text, "missing ':port'");
    host = text.substr(0, colon);
    rest = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return refuse(text, "an IPv6 host must be written in brackets");
  }
  if (blank_or_invisible(host))
    return refuse(text, "the host is empty or contains blanks or control "
                        "characters");
  if (rest.empty())
    return refuse(text, "the port is empty");
  uint32_t port = 0;
  for (auto c : rest) {
    if (c < '0' || c > '9')
      return refuse(text, "the port is not a decimal number");
    port = port * 10 + static_cast<uint32_t>(c - '0');
    if (port > 65535)
      return refuse(text, "the port is out of range 1-65535");
  }
  if (port == 0)
    return refuse(text, "the port is out of range 1-65535 (0 means "
                        "\"any port\" and cannot be dialed)");
  return peer_address{std::string{host}, static_cast<uint16_t>(port)};
}

std::string to_string(const peer_address& x) {
  std::string result;
  if (x.host.find(':') != std::string::npos) {
    result += '[';
    result += x.host;
    result += ']';
  } else {
    result += x.host;
  }
  result += ':';
  result += std::to_string(x.port);
  return result;
}

bool is_loopback_host(const std::string& host) {
  auto h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  if (h == "localhost")
    return true;
  in_addr v4;
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

} // namespace cachebus
