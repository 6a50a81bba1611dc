// Topic names and subscription patterns of the bus. A topic is 1 to
// max_topic_size visible ASCII characters (0x21-0x7E, no spaces) without '*';
// invalidations of a resource travel on resource_topic(resource), e.g.
// "cache:users". A pattern is a topic, or a prefix followed by one trailing
// '*' that matches every topic starting with that prefix ("cache:*" matches
// "cache:" and "cache:users"; a lone "*" matches everything). Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "caf/error.hpp"

namespace cachebus {

/// The prefix of every cache invalidation topic.
constexpr std::string_view cache_topic_prefix = "cache:";

/// The longest topic or pattern, in bytes (the trailing '*' counts).
constexpr size_t max_topic_size = 255;

/// The character that ends a wildcard pattern.
constexpr char topic_wildcard = '*';

/// The topic on which invalidations of `resource` are published:
/// `resource_topic("users") == "cache:users"`.
std::string resource_topic(std::string_view resource);

/// Returns true if `pattern` ends in the wildcard '*'.
constexpr bool is_wildcard(std::string_view pattern) noexcept {
  return !pattern.empty() && pattern.back() == topic_wildcard;
}

/// The fixed part of `pattern`: everything before a trailing '*', or the
/// whole pattern if it has none.
constexpr std::string_view pattern_prefix(std::string_view pattern) noexcept {
  return is_wildcard(pattern) ? pattern.substr(0, pattern.size() - 1) : pattern;
}

/// Returns true if a subscription to `pattern` receives what is published on
/// `topic`. REQUIRES: both are valid (check_pattern, check_topic).
constexpr bool topic_matches(std::string_view pattern,
                             std::string_view topic) noexcept {
  if (!is_wildcard(pattern))
    return pattern == topic;
  auto prefix = pattern_prefix(pattern);
  return topic.substr(0, prefix.size()) == prefix;
}

/// Returns an empty error if `topic` may be published to, otherwise
/// `sec::invalid_argument` with a readable reason.
caf::error check_topic(std::string_view topic);

/// Returns an empty error if `pattern` may be subscribed to, otherwise
/// `sec::invalid_argument` with a readable reason.
caf::error check_pattern(std::string_view pattern);

} // namespace cachebus
