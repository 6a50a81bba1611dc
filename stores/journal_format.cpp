#include "cachebus/stores/journal_format.hpp"

#include <array>

#include "cachebus/stores/little_endian.hpp"

namespace cachebus::stores::journal_format {

namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto crc_table = make_crc_table();

using le::put_str;
using le::put_u32;
using le::put_u64;
using le::read_u32;
using le::read_u64;

std::string frame(const std::string& payload) {
  std::string f;
  f.reserve(frame_overhead + payload.size());
  put_u32(f, static_cast<uint32_t>(payload.size()));
  put_u32(f, crc32c(payload));
  f += payload;
  return f;
}

// A bounds-checked cursor over one payload.
struct reader {
  std::string_view in;
  bool ok = true;

  uint8_t u8() {
    if (in.size() < 1)
      return fail(), 0;
    auto x = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return x;
  }

  uint32_t u32() {
    if (in.size() < 4)
      return fail(), 0;
    auto x = read_u32(in.data());
    in.remove_prefix(4);
    return x;
  }

  uint64_t u64() {
    if (in.size() < 8)
      return fail(), 0;
    auto x = read_u64(in.data());
    in.remove_prefix(8);
    return x;
  }

  std::string str() {
    auto n = u32();
    if (!ok || in.size() < n)
      return fail(), std::string{};
    std::string x{in.substr(0, n)};
    in.remove_prefix(n);
    return x;
  }

  void fail() { ok = false; }
};

} // namespace

uint32_t crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data)
    c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string encode_write(uint64_t seq, const record_write& w) {
  std::string p;
  size_t n = min_payload + 12 + w.resource.size() + w.id.size();
  for (auto& [k, v] : w.fields)
    n += 8 + k.size() + v.size();
  p.reserve(n);
  p.push_back(static_cast<char>(kind::write));
  put_u64(p, seq);
  put_str(p, w.resource);
  put_str(p, w.id);
  put_u32(p, static_cast<uint32_t>(w.fields.size()));
  for (auto& [k, v] : w.fields) {
    put_str(p, k);
    put_str(p, v);
  }
  return frame(p);
}

std::string encode_checkpoint(uint64_t low_water) {
  std::string p;
  p.push_back(static_cast<char>(kind::checkpoint));
  put_u64(p, low_water);
  return frame(p);
}

bool decode(std::string_view data, size_t pos, decoded& out) {
  if (data.size() - pos < frame_overhead + min_payload)
    return false;
  auto len = read_u32(data.data() + pos);
  if (len < min_payload || len > max_payload
      || data.size() - pos - frame_overhead < len)
    return false;
  std::string_view payload{data.data() + pos + frame_overhead, len};
  // The kind byte first: a cheap filter for the recovery scan, which tries
  // every offset of a damaged region.
  auto k = static_cast<uint8_t>(payload[0]);
  if (k != static_cast<uint8_t>(kind::write)
      && k != static_cast<uint8_t>(kind::checkpoint))
    return false;
  if (crc32c(payload) != read_u32(data.data() + pos + 4))
    return false;
  reader rd{payload};
  rd.u8();
  out.seq = rd.u64();
  out.size = frame_overhead + len;
  if (k == static_cast<uint8_t>(kind::checkpoint)) {
    out.type = kind::checkpoint;
    out.write = record_write{};
    return rd.ok && rd.in.empty();
  }
  out.type = kind::write;
  out.write = record_write{};
  out.write.resource = rd.str();
  out.write.id = rd.str();
  auto n = rd.u32();
  for (uint32_t i = 0; rd.ok && i < n; ++i) {
    auto f = rd.str();
    auto v = rd.str();
    out.write.fields.insert_or_assign(std::move(f), std::move(v));
  }
  return rd.ok && rd.in.empty();
}

} // namespace cachebus::stores::journal_format
