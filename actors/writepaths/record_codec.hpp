// The cache value of a record: its fields plus the store version they are
// based on, in one unambiguous, length-prefixed byte string that round-trips
// arbitrary bytes (NUL, quotes, invalid UTF-8). Pure functions; thread-safe.
//
//   value := "CBR1" | u64 version | u32 n | n x (u32 len | name | u32 len |
//   bytes)
//
// Integers are little-endian; fields are sorted by name (std::map order), so
// equal records encode to equal bytes. The version is the store version the
// fields were read or written at (0 if none yet); write-back may merge queued
// fields over it before the store has them. codec<cached_record> makes it a
// typed value: node.fetch_as<cached_record>("user:42") with the store loader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

#include "cachebus/actors/node/codec.hpp"
#include "cachebus/stores/record.hpp"

namespace cachebus {

struct cached_record {
  stores::field_map fields;
  uint64_t version = 0;
};

/// Encodes `fields` at `version`.
std::string encode_record(const stores::field_map& fields, uint64_t version);

/// Size of encode_record(fields, v) without building it.
size_t encoded_size(const stores::field_map& fields);

/// Decodes a value made by encode_record; invalid_argument for anything else
/// (a value someone else put under the record's key).
caf::expected<cached_record> decode_record(std::string_view value);

/// A record's cache value as a typed value (codec.hpp): encode_record and
/// decode_record.
template <>
struct codec<cached_record> {
  static caf::expected<std::string> encode(const cached_record& rec) {
    return encode_record(rec.fields, rec.version);
  }
  static caf::expected<cached_record> decode(std::string_view bytes) {
    return decode_record(bytes);
  }
};

} // namespace cachebus
