#include "cachebus/actors/record_codec.hpp"

#include "cachebus/actors/error.hpp"

namespace cachebus {

namespace {

constexpr std::string_view magic = "CBR1";

void put_u32(std::string& out, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

void put_u64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

bool get_uint(std::string_view& in, size_t width, uint64_t& out) {
  if (in.size() < width)
    return false;
  out = 0;
  for (size_t i = width; i-- > 0;)
    out = (out << 8) | static_cast<unsigned char>(in[i]);
  in.remove_prefix(width);
  return true;
}

bool get_str(std::string_view& in, std::string& out) {
  uint64_t n = 0;
  if (!get_uint(in, 4, n) || in.size() < n)
    return false;
  out.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

} // namespace

size_t encoded_size(const stores::field_map& fields) {
  size_t n = magic.size() + 8 + 4;
  for (auto& [k, v] : fields)
    n += 8 + k.size() + v.size();
  return n;
}

std::string encode_record(const stores::field_map& fields, uint64_t version) {
  std::string out;
  out.reserve(encoded_size(fields));
  out += magic;
  put_u64(out, version);
  put_u32(out, static_cast<uint32_t>(fields.size()));
  for (auto& [k, v] : fields) {
    put_u32(out, static_cast<uint32_t>(k.size()));
    out += k;
    put_u32(out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  return out;
}

caf::expected<cached_record> decode_record(std::string_view in) {
  auto bad = [] {
    return make_error(errc::invalid_argument,
                      "the cached value is not an encoded record");
  };
  if (in.substr(0, magic.size()) != magic)
    return bad();
  in.remove_prefix(magic.size());
  cached_record out;
  uint64_t n = 0;
  if (!get_uint(in, 8, out.version) || !get_uint(in, 4, n))
    return bad();
  for (uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!get_str(in, k) || !get_str(in, v))
      return bad();
    out.fields.insert_or_assign(std::move(k), std::move(v));
  }
  if (!in.empty())
    return bad();
  return out;
}

} // namespace cachebus
