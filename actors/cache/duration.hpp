// Checked durations: the one place where a number from a user becomes a
// caf::timespan (int64 nanoseconds, about +-292 years) and where a TTL is
// added to a clock reading. Every path that takes a duration as a number
// (cachebus-cli's TTL_MS, rules files, config text) or turns a TTL into an
// expiry calls these, so an out-of-range value is an error, never a wrapped
// integer. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "caf/timestamp.hpp"

namespace cachebus {

/// `count` times `unit`, or nullopt if the result does not fit a timespan.
/// REQUIRES: unit > 0
std::optional<caf::timespan> checked_span(int64_t count, caf::timespan unit);

/// `now_ns + span.count()`, or nullopt if it does not fit an int64.
std::optional<int64_t> checked_add(int64_t now_ns, caf::timespan span);

/// Parses all of `text` as a decimal integer: optional '-', then digits;
/// no spaces, no '+', no trailing text, no overflow.
std::optional<int64_t> parse_int64(std::string_view text);

/// Parses all of `text` as digits only (no sign), without overflow.
std::optional<uint64_t> parse_uint64(std::string_view text);

/// Parses "<integer><unit>" with unit ns, us, ms, s, min or h (CAF's
/// duration syntax) with checked arithmetic; nullopt if malformed or out of
/// range. Negative values parse (callers decide whether they are allowed).
std::optional<caf::timespan> parse_span(std::string_view text);

} // namespace cachebus
