#include "cachebus/actors/node/option_reader.hpp"

#include <filesystem>
#include <fstream>

#include "caf/config_option_set.hpp"
#include "caf/config_value.hpp"

#include "cachebus/actors/cache/duration.hpp"
#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace detail {

caf::error wrong_type(std::string_view name, std::string_view expected,
                      const caf::config_value& got) {
  return make_error(errc::invalid_config, std::string{name} + " must be "
                                            + std::string{expected} + ", got "
                                            + caf::to_string(got));
}

} // namespace detail

namespace {

caf::error bad(std::string why) {
  return make_error(errc::invalid_config, std::move(why));
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string{s.substr(b, e - b + 1)};
}

// invalid_config if `text` is a duration literal (digits and a unit) of
// timespan option `name` that does not fit a timespan: CAF's own parser
// multiplies without a check and would wrap it.
caf::error check_span_text(const std::string& name, const std::string& text,
                           const caf::config_option_set& opts,
                           const std::string& where) {
  auto* opt = opts.qualified_name_lookup(name);
  if (opt == nullptr || opt->type_name() != "timespan")
    return {};
  auto digits = text.find_first_not_of("-0123456789");
  if (digits == 0 || digits == std::string::npos)
    return {};
  auto unit = text.substr(digits);
  if (unit != "ns" && unit != "us" && unit != "ms" && unit != "s"
      && unit != "min" && unit != "h")
    return {};
  if (!parse_span(text))
    return bad(name + where + " is out of range: \"" + text
               + "\" does not fit a duration (at most about 292 years)");
  return {};
}

// Walks the `cachebus` subtree of settings read from a file.
caf::error check_tree(const std::string& prefix, const caf::settings& xs,
                      const caf::config_option_set& opts,
                      const std::string& where) {
  for (auto& [key, value] : xs) {
    auto name = prefix + "." + key;
    auto* opt = opts.qualified_name_lookup(name);
    if (opt == nullptr) {
      if (auto sub = caf::get_if<caf::settings>(&value)) {
        if (auto err = check_tree(name, *sub, opts, where))
          return err;
        continue;
      }
      return bad("unknown option " + name + where);
    }
    if (opt->check(value))
      return bad(name + where + " must be a "
                 + std::string{opt->type_name().data(), opt->type_name().size()}
                 + ", got " + caf::to_string(value));
  }
  return {};
}

} // namespace

caf::error check_config_file(const std::string& path,
                             const caf::config_option_set& opts) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec))
    return {};
  auto where = " (in " + path + ")";
  // Durations first: the parse below would already wrap them.
  std::ifstream in{path};
  std::string line;
  std::string section;
  while (std::getline(in, line)) {
    auto t = trim(line);
    if (t.empty() || t[0] == ';' || t[0] == '#')
      continue;
    if (t.front() == '[' && t.back() == ']') {
      section = trim(std::string_view{t}.substr(1, t.size() - 2));
      continue;
    }
    auto eq = t.find('=');
    if (eq == std::string::npos)
      continue;
    auto key = trim(std::string_view{t}.substr(0, eq));
    auto name = section.empty() ? key : section + "." + key;
    if (auto err = check_span_text(
          name, trim(std::string_view{t}.substr(eq + 1)), opts, where))
      return err;
  }
  auto raw = caf::actor_system_config::parse_config_file(path.c_str());
  if (!raw)
    return bad("cannot parse " + path + ": " + caf::to_string(raw.error()));
  auto i = raw->find("cachebus");
  if (i == raw->end())
    return {};
  auto sub = caf::get_if<caf::settings>(&i->second);
  if (sub == nullptr)
    return bad("cachebus" + where + " must be a section, got "
               + caf::to_string(i->second));
  return check_tree("cachebus", *sub, opts, where);
}

caf::error check_arguments(const std::vector<std::string>& args,
                           const caf::config_option_set& opts) {
  for (auto& a : args) {
    if (a.rfind("--cachebus.", 0) != 0)
      continue;
    auto eq = a.find('=');
    if (eq == std::string::npos)
      continue;
    if (auto err = check_span_text(a.substr(2, eq - 2), a.substr(eq + 1), opts,
                                   " (on the command line)"))
      return err;
  }
  return {};
}

caf::error read_cluster_flag(const caf::actor_system_config& cfg,
                             bool& cluster) {
  cluster = false;
  if (auto err = read_option(cfg, "cachebus.cluster", cluster))
    return err;
  std::vector<std::string> seeds;
  if (auto err = read_option(cfg, "cachebus.seeds", seeds))
    return err;
  if (!cluster && !seeds.empty())
    return make_error(errc::invalid_config,
                      "cachebus.seeds is set but cachebus.cluster is not: "
                      "without it the node runs alone and joins nobody; set "
                      "cachebus.cluster (--cachebus.cluster, or cluster=true "
                      "under [cachebus] in caf-application.ini), as "
                      "cachebus-node does");
  return {};
}

} // namespace cachebus
