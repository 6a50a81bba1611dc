#include "cachebus/actors/invalidation/glob.hpp"

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

bool glob_match(std::string_view glob, std::string_view text) noexcept {
  // Iterative matcher with one backtrack point for the last `*`: O(|g|*|t|)
  // worst case, no recursion.
  size_t g = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (g < glob.size()) {
      char c = glob[g];
      if (c == '*') {
        star = g++;
        star_t = t;
        continue;
      }
      if (c == '?') {
        ++g;
        ++t;
        continue;
      }
      if (c == '\\' && g + 1 < glob.size())
        c = glob[++g];
      if (c == text[t]) {
        ++g;
        ++t;
        continue;
      }
    }
    if (star == std::string_view::npos)
      return false;
    g = star + 1;
    t = ++star_t;
  }
  while (g < glob.size() && glob[g] == '*')
    ++g;
  return g == glob.size();
}

std::string glob_prefix(std::string_view glob) {
  std::string out;
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    if (c == '*' || c == '?')
      break;
    if (c == '\\' && i + 1 < glob.size())
      c = glob[++i];
    out += c;
  }
  return out;
}

caf::error check_glob(std::string_view glob, size_t max_size) {
  if (glob.empty())
    return make_error(errc::invalid_argument, "pattern is empty");
  if (glob.size() > max_size)
    return make_error(errc::invalid_argument,
                      "pattern is " + std::to_string(glob.size())
                        + " bytes, the maximum is " + std::to_string(max_size)
                        + " bytes");
  size_t backslashes = 0;
  for (auto i = glob.size(); i > 0 && glob[i - 1] == '\\'; --i)
    ++backslashes;
  if (backslashes % 2 == 1)
    return make_error(errc::invalid_argument,
                      "pattern ends in a lone backslash");
  if (glob_prefix(glob).empty())
    return make_error(errc::invalid_argument,
                      "pattern \"" + std::string{glob}
                        + "\" must start with a literal prefix (patterns are "
                          "served from an ordered index, never by a full "
                          "scan)");
  return {};
}

} // namespace cachebus
