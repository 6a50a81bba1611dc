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

// Where the comment of a line of a CAF configuration file begins, or npos:
// CAF's parser takes a ';' outside a quoted string as one, at the start of a
// line or after a value. A '#' there (the rules file's comment, which CAF
// refuses) is reported as its position too.
size_t comment_at(std::string_view line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != 0) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ';') {
      return i;
    } else if (c == '#'
               && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return i;
    }
  }
  return std::string_view::npos;
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

// The global options among the top-level keys of a file (and of a [global]
// section): only declared ones are checked, the rest may be CAF sections.
caf::error check_globals(const caf::settings& raw,
                         const caf::config_option_set& opts,
                         const std::string& where) {
  auto check = [&](const std::string& key, const caf::config_value& value) {
    auto* opt = opts.qualified_name_lookup("global", key);
    if (opt == nullptr || !opt->check(value))
      return caf::error{};
    return bad(key + where + " must be a "
               + std::string{opt->type_name().data(), opt->type_name().size()}
               + ", got " + caf::to_string(value));
  };
  for (auto& [key, value] : raw) {
    auto* sub = caf::get_if<caf::settings>(&value);
    if (sub == nullptr) {
      if (auto err = check(key, value))
        return err;
    } else if (key == "global") {
      for (auto& [k, v] : *sub)
        if (auto err = check(k, v))
          return err;
    }
  }
  return {};
}

// The subtree of a category (dotted: "app.http") of a file, if it has one.
caf::error check_category(const std::string& category, const caf::settings& raw,
                          const caf::config_option_set& opts,
                          const std::string& where) {
  const caf::settings* node = &raw;
  size_t from = 0;
  for (;;) {
    auto dot = category.find('.', from);
    auto part = category.substr(
      from, dot == std::string::npos ? std::string::npos : dot - from);
    auto i = node->find(part);
    if (i == node->end())
      return {};
    node = caf::get_if<caf::settings>(&i->second);
    if (node == nullptr)
      return bad(category.substr(0, dot) + where + " must be a section, got "
                 + caf::to_string(i->second));
    if (dot == std::string::npos)
      break;
    from = dot + 1;
  }
  return check_tree(category, *node, opts, where);
}

std::string type_name_of(const caf::config_option& opt) {
  std::string name{opt.type_name().data(), opt.type_name().size()};
  if (name == "timespan")
    return "duration such as 250ms, 10s, 5min or 1h";
  return name;
}

} // namespace

caf::error check_config_file(const std::string& path,
                             const caf::config_option_set& opts,
                             const std::vector<std::string>& categories) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec))
    return {};
  auto where = " (in " + path + ")";
  // Durations first: the parse below would already wrap them.
  std::ifstream in{path};
  std::string line;
  std::string section;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto comment = comment_at(line);
    if (comment != std::string::npos && line[comment] == '#')
      return bad(path + " line " + std::to_string(line_no)
                 + ": '#' does not start a comment in a CAF configuration "
                   "file (CAF's parser refuses it); use ';'");
    auto t = trim(std::string_view{line}.substr(0, comment));
    if (t.empty())
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
  for (auto& category : categories) {
    caf::error err;
    if (category == "global")
      err = check_globals(*raw, opts, where);
    else
      err = check_category(category, *raw, opts, where);
    if (err)
      return err;
  }
  return {};
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

caf::error explain_arguments(const std::vector<std::string>& args,
                             const caf::config_option_set& opts) {
  for (auto& a : args) {
    if (a == "--")
      break;
    if (a.rfind("--", 0) != 0)
      continue;
    auto eq = a.find('=');
    auto name
      = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (name.rfind("caf#", 0) == 0)
      name.erase(0, 4);
    auto* opt = opts.cli_long_name_lookup(name);
    if (opt == nullptr)
      return bad("unknown option --" + name + " (--help lists every option)");
    if (eq == std::string::npos) {
      if (opt->is_flag())
        continue;
      return bad("option --" + name + " needs a value: --" + name + "=VALUE");
    }
    auto value = a.substr(eq + 1);
    if (!opt->parse(value))
      return bad("--" + name + " must be a " + type_name_of(*opt) + ", got \""
                 + value + "\"");
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
