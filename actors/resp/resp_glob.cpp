#include "cachebus/actors/resp/resp_glob.hpp"

#include <utility>

namespace cachebus {

namespace {

// Matches the one-byte element of `p` at `i` (not `*`) against `c`; sets
// `next` to the position after the element.
bool match_one(std::string_view p, size_t i, unsigned char c, size_t& next) {
  auto at = [&](size_t j) { return static_cast<unsigned char>(p[j]); };
  if (p[i] == '?') {
    next = i + 1;
    return true;
  }
  if (p[i] == '\\' && i + 1 < p.size()) {
    next = i + 2;
    return at(i + 1) == c;
  }
  if (p[i] != '[') {
    next = i + 1;
    return at(i) == c;
  }
  // A set, read as Redis reads it: an unterminated one runs to the end.
  size_t j = i + 1;
  bool negate = j < p.size() && p[j] == '^';
  if (negate)
    ++j;
  bool hit = false;
  for (; j < p.size() && p[j] != ']'; ++j) {
    if (p[j] == '\\' && j + 1 < p.size()) {
      ++j;
      hit |= at(j) == c;
    } else if (j + 2 < p.size() && p[j + 1] == '-') {
      auto lo = at(j), hi = at(j + 2);
      if (lo > hi)
        std::swap(lo, hi);
      hit |= c >= lo && c <= hi;
      j += 2;
    } else {
      hit |= at(j) == c;
    }
  }
  next = j < p.size() ? j + 1 : j;
  return negate ? !hit : hit;
}

} // namespace

bool resp_glob_match(std::string_view p, std::string_view t) noexcept {
  size_t pi = 0, ti = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = ++pi;
      star_t = ti;
      continue;
    }
    size_t next = 0;
    if (pi < p.size()
        && match_one(p, pi, static_cast<unsigned char>(t[ti]), next)) {
      pi = next;
      ++ti;
      continue;
    }
    if (star == std::string_view::npos)
      return false;
    // Let the last `*` swallow one more byte and retry after it.
    pi = star;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*')
    ++pi;
  return pi == p.size();
}

std::string resp_glob_prefix(std::string_view p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '*' || c == '?' || c == '[')
      break;
    if (c == '\\' && i + 1 < p.size())
      c = p[++i];
    out += c;
  }
  return out;
}

} // namespace cachebus
