// A key with its hash, computed once per operation: the node routes a key
// to its shard by the hash (shard_of_hash) and the shard table looks it up
// by the same hash, so a hit hashes its key once. The hash is std::hash of
// the key's bytes; `text` must outlive the hashed_key.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace cachebus {

struct hashed_key {
  std::string_view text;
  size_t hash;

  explicit hashed_key(std::string_view key) noexcept
      : text(key), hash(std::hash<std::string_view>{}(key)) {
    // nop
  }
};

} // namespace cachebus
