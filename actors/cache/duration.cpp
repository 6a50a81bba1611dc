#include "cachebus/actors/cache/duration.hpp"

#include <charconv>
#include <chrono>

namespace cachebus {

std::optional<caf::timespan> checked_span(int64_t count, caf::timespan unit) {
  int64_t ns = 0;
  if (__builtin_mul_overflow(count, unit.count(), &ns))
    return std::nullopt;
  return caf::timespan{ns};
}

std::optional<int64_t> checked_add(int64_t now_ns, caf::timespan span) {
  int64_t out = 0;
  if (__builtin_add_overflow(now_ns, span.count(), &out))
    return std::nullopt;
  return out;
}

std::optional<int64_t> parse_int64(std::string_view text) {
  if (text.empty() || text[0] == '+')
    return std::nullopt;
  int64_t x = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return x;
}

std::optional<uint64_t> parse_uint64(std::string_view text) {
  if (text.empty() || text[0] < '0' || text[0] > '9')
    return std::nullopt;
  uint64_t x = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return x;
}

std::optional<caf::timespan> parse_span(std::string_view text) {
  using namespace std::chrono;
  auto digits = text.find_first_not_of("-0123456789");
  if (digits == std::string_view::npos || digits == 0)
    return std::nullopt;
  auto n = parse_int64(text.substr(0, digits));
  if (!n)
    return std::nullopt;
  auto unit = text.substr(digits);
  caf::timespan u{0};
  if (unit == "ns")
    u = nanoseconds(1);
  else if (unit == "us")
    u = microseconds(1);
  else if (unit == "ms")
    u = milliseconds(1);
  else if (unit == "s")
    u = seconds(1);
  else if (unit == "min")
    u = minutes(1);
  else if (unit == "h")
    u = hours(1);
  else
    return std::nullopt;
  return checked_span(*n, u);
}

} // namespace cachebus
