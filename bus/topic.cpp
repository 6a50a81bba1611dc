#include "cachebus/bus/topic.hpp"

#include "caf/sec.hpp"

namespace cachebus {

namespace {

bool visible_ascii(char c) noexcept {
  return c > 0x20 && c < 0x7F;
}

caf::error invalid(std::string_view what, std::string_view name,
                   std::string reason) {
  std::string msg{what};
  msg += " \"";
  // Quote at most a bounded, printable excerpt of what we refuse.
  for (auto c : name.substr(0, 64))
    msg += visible_ascii(c) || c == ' ' ? c : '?';
  if (name.size() > 64)
    msg += "...";
  msg += "\": ";
  msg += reason;
  return caf::make_error(caf::sec::invalid_argument, std::move(msg));
}

caf::error check_name(std::string_view what, std::string_view name,
                      std::string_view body) {
  if (name.empty())
    return invalid(what, name, "must not be empty");
  if (name.size() > max_topic_size)
    return invalid(what, name,
                   "longer than " + std::to_string(max_topic_size) + " bytes");
  for (size_t i = 0; i < body.size(); ++i) {
    auto c = body[i];
    if (c == topic_wildcard)
      return invalid(what, name,
                     "'*' is only allowed as the last character of a "
                     "subscription pattern");
    if (!visible_ascii(c))
      return invalid(what, name,
                     "character at offset " + std::to_string(i)
                       + " is not visible ASCII (0x21-0x7E)");
  }
  return {};
}

} // namespace

std::string resource_topic(std::string_view resource) {
  std::string result;
  result.reserve(cache_topic_prefix.size() + resource.size());
  result += cache_topic_prefix;
  result += resource;
  return result;
}

caf::error check_topic(std::string_view topic) {
  return check_name("topic", topic, topic);
}

caf::error check_pattern(std::string_view pattern) {
  return check_name("pattern", pattern, pattern_prefix(pattern));
}

} // namespace cachebus
