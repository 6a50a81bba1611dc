// Rendezvous (highest-random-weight) hashing: which member of a set owns a
// key. Every member scores each key with a hash of (member, key); the highest
// score wins. All nodes compute the same owner from the same member set,
// without coordination, and when a member joins or leaves only the keys it
// wins or won move (about 1/n of them). The hash is our own (FNV-1a, then a
// 64-bit finalizer), so every build and platform agrees on it; std::hash
// promises no such thing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cachebus {

/// The score of `member` for `key`; higher wins. Stable across processes.
uint64_t rendezvous_score(std::string_view member, std::string_view key);

/// The member of `members` that owns `key`, or an empty string_view if
/// `members` is empty. Ties (astronomically unlikely) go to the smaller name,
/// so that every node agrees.
std::string_view rendezvous_owner(std::string_view key,
                                  const std::vector<std::string>& members);

} // namespace cachebus
