// Glob patterns for pattern invalidation: `*` matches any run of bytes
// (including none), `?` exactly one byte, `\` makes the next byte literal.
// A pattern must start with a literal prefix, because patterns are served from
// an ordered index by that prefix and never by scanning a whole table.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "caf/error.hpp"

namespace cachebus {

/// Returns true if `text` matches `glob`.
bool glob_match(std::string_view glob, std::string_view text) noexcept;

/// The literal bytes before the first wildcard, with escapes resolved.
std::string glob_prefix(std::string_view glob);

/// invalid_argument if `glob` is empty, longer than `max_size`, has no literal
/// prefix, or ends in a lone backslash.
caf::error check_glob(std::string_view glob, size_t max_size);

} // namespace cachebus
