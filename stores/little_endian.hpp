// Little-endian integers and length-prefixed strings, the byte layout shared
// by the write-back journal and the cached record encoding: u32/u64 least
// significant byte first, a string as u32 length then its bytes. Pure inline
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cachebus::stores::le {

inline void put_u32(std::string& out, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

inline void put_u64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

/// REQUIRES: s.size() < 2^32.
inline void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

/// REQUIRES: `p` points at `width` (<= 8) readable bytes.
inline uint64_t read_uint(const char* p, int width) {
  uint64_t x = 0;
  for (int i = width - 1; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

inline uint32_t read_u32(const char* p) {
  return static_cast<uint32_t>(read_uint(p, 4));
}

inline uint64_t read_u64(const char* p) {
  return read_uint(p, 8);
}

/// Consumes a `width`-byte integer from the front of `in`; false (and `in`
/// unchanged) if too short.
inline bool take_uint(std::string_view& in, int width, uint64_t& out) {
  if (in.size() < static_cast<size_t>(width))
    return false;
  out = read_uint(in.data(), width);
  in.remove_prefix(static_cast<size_t>(width));
  return true;
}

/// Consumes a length-prefixed string; false if `in` is too short.
inline bool take_str(std::string_view& in, std::string& out) {
  uint64_t n = 0;
  auto rest = in;
  if (!take_uint(rest, 4, n) || rest.size() < n)
    return false;
  out.assign(rest.substr(0, n));
  rest.remove_prefix(n);
  in = rest;
  return true;
}

} // namespace cachebus::stores::le
