// Reads `cachebus.*` options strictly, the same way whatever their source:
// absent leaves the default; present with the declared type and in range
// gives the value; present with another type (a string where a number
// belongs, -3 for a count) is invalid_config naming the option and the
// value. caf::get_or silently falls back to the default on a mismatch, which
// is how an ini file's `shards=-3` used to mean "default". Every reader of
// cachebus options (options.cpp, write_back_options.cpp, store_setup.cpp,
// node.cpp) goes through read_option, and so can a program's reader of its
// own options (config::declare_options). Stateless; thread-safe on a config
// nobody modifies.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "caf/actor_system_config.hpp"
#include "caf/error.hpp"
#include "caf/settings.hpp"
#include "caf/timestamp.hpp"

namespace cachebus {

namespace detail {

/// "cachebus.x must be <what T is>, got <value>" as invalid_config.
caf::error wrong_type(std::string_view name, std::string_view expected,
                      const caf::config_value& got);

template <class T>
constexpr const char* type_words() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_same_v<T, caf::timespan>)
    return "a duration such as 250ms, 10s, 5min or 1h";
  else if constexpr (std::is_same_v<T, std::string>)
    return "a string (quoted in caf-application.ini)";
  else if constexpr (std::is_same_v<T, std::vector<std::string>>)
    return "a list of strings";
  else if constexpr (std::is_same_v<T, uint16_t>)
    return "an integer from 0 to 65535";
  else if constexpr (std::is_unsigned_v<T>)
    return "a non-negative integer";
  else
    return "an integer";
}

} // namespace detail

/// Sets `out` to option `name` of `cfg` if it is set; leaves `out` alone if
/// it is not; invalid_config if it is set to a value that is not a T.
template <class T>
caf::error read_option(const caf::actor_system_config& cfg,
                       std::string_view name, T& out) {
  auto* v = caf::get_if(&caf::content(cfg), name);
  if (v == nullptr)
    return {};
  if (auto x = caf::get_if<T>(v)) {
    out = *x;
    return {};
  }
  return detail::wrong_type(name, detail::type_words<T>(), *v);
}

/// Reads `cachebus.cluster` (the flag that gives a node started from its
/// config a cluster bridge) into `cluster`. invalid_config if it is not a
/// bool, or if `cachebus.seeds` names members while the flag is off: the
/// node would run alone and nobody would read the seeds.
caf::error read_cluster_flag(const caf::actor_system_config& cfg,
                             bool& cluster);

/// Checks the `cachebus.*` entries of the configuration file `path` (what
/// caf-application.ini or --config-file named) against the options declared
/// in `opts`: CAF drops a value of the wrong type there without a word and
/// keeps unknown keys; both are invalid_config naming the option. Durations
/// are checked for overflow before CAF's parser wraps them. A missing file
/// is fine (CAF ignores it too). Comments are CAF's: a ';' outside a quoted
/// string starts one, on its own line or after a value (`shards = 4 ;
/// four`). A '#' comment, as in a rules file, is invalid_config naming the
/// line (CAF's parser would refuse the file with a bare parser error).
/// `categories` names the subtrees checked ("global": the top-level keys
/// that are declared global options; unknown top-level keys may be other
/// CAF settings and pass).
caf::error
check_config_file(const std::string& path, const caf::config_option_set& opts,
                  const std::vector<std::string>& categories = {"cachebus"});

/// The same for command-line arguments (`--cachebus.x=value`): CAF checks
/// their types, but converts durations without an overflow check.
caf::error check_arguments(const std::vector<std::string>& args,
                           const caf::config_option_set& opts);

/// The first of `args` (up to a lone "--") that CAF's parser refuses, as
/// invalid_config in words: `--x` that no option of `opts` declares, an
/// option without its `=value`, or a value that is not of the option's
/// type. No error if every argument is fine (short options and positional
/// arguments are left to CAF).
caf::error explain_arguments(const std::vector<std::string>& args,
                             const caf::config_option_set& opts);

} // namespace cachebus
