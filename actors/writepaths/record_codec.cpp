#include "cachebus/actors/writepaths/record_codec.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/stores/little_endian.hpp"

namespace cachebus {

namespace {

constexpr std::string_view magic = "CBR1";

using stores::le::put_u32;
using stores::le::put_u64;

bool get_uint(std::string_view& in, size_t width, uint64_t& out) {
  return stores::le::take_uint(in, static_cast<int>(width), out);
}

bool get_str(std::string_view& in, std::string& out) {
  return stores::le::take_str(in, out);
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
