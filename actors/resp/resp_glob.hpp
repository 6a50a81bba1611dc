// Redis's glob patterns (SCAN MATCH, as Redis's stringmatchlen reads them):
// `*` any run of bytes, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` one byte of
// (or not of) a set, `\x` the byte x. Unlike Redis's recursive matcher, the
// match takes O(pattern x text) time whatever the pattern (one backtrack
// point, at the last `*`), so no client pattern can stall the thread that
// serves it. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace cachebus {

/// True if `text` matches the Redis glob `pattern`.
bool resp_glob_match(std::string_view pattern, std::string_view text) noexcept;

/// The bytes every match starts with: the pattern up to its first `*`, `?`
/// or `[`, with escapes resolved ("user:\*:*" gives "user:*:").
std::string resp_glob_prefix(std::string_view pattern);

} // namespace cachebus
