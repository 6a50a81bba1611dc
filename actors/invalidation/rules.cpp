#include "cachebus/actors/invalidation/rules.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "cachebus/actors/cache/duration.hpp"
#include "cachebus/actors/node/error.hpp"

#include "caf/message.hpp"

namespace cachebus {

namespace {

bool valid_resource(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'
          || c == '.'))
      return false;
  return true;
}

// A template may contain `{id}` and no other brace.
caf::error check_template(const std::string& resource, const std::string& t) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_rule, "rule \"" + resource
                                            + "\": template \"" + t + "\" "
                                            + why);
  };
  if (t.empty())
    return bad("is empty");
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{') {
      if (t.compare(i, 4, "{id}") != 0)
        return bad("has an unknown placeholder (only {id} exists)");
      i += 3;
    } else if (t[i] == '}') {
      return bad("has an unmatched '}'");
    }
  }
  return {};
}

std::string substitute(const std::string& t, std::string_view id) {
  std::string out;
  out.reserve(t.size() + id.size());
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{') {
      out += id;
      i += 3;
    } else {
      out += t[i];
    }
  }
  return out;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string{s.substr(b, e - b + 1)};
}

// `line` without its comment: a '#' or ';' at the start of the line or after
// a space or tab begins one (rules.hpp).
std::string_view without_comment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i)
    if ((line[i] == '#' || line[i] == ';')
        && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
      return line.substr(0, i);
  return line;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    auto item = trim(s.substr(start, comma == std::string_view::npos
                                       ? std::string_view::npos
                                       : comma - start));
    if (!item.empty())
      out.push_back(std::move(item));
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return out;
}

// Parses "250ms", "10s", "5min", "1h" into a span; false if malformed,
// negative or out of range (checked: duration.hpp).
bool parse_rule_span(const std::string& text, caf::timespan& out) {
  auto x = parse_span(text);
  if (!x || *x < caf::timespan{0})
    return false;
  out = *x;
  return true;
}

constexpr std::string_view placeholder = "{id}";

// The id for which template `t` makes `key` (every `{id}` of `t` the same
// id of one or more bytes), or nullopt; "" for a template without `{id}`
// that equals the key. `literal` is t's size without its placeholders.
std::optional<std::string_view> id_in(std::string_view t, size_t literal,
                                      std::string_view key) {
  auto n = (t.size() - literal) / placeholder.size();
  if (n == 0)
    return t == key ? std::optional<std::string_view>{std::string_view{}}
                    : std::nullopt;
  if (key.size() <= literal || (key.size() - literal) % n != 0)
    return std::nullopt;
  auto id_size = (key.size() - literal) / n;
  std::optional<std::string_view> id;
  size_t pos = 0; // in key
  for (size_t i = 0; i <= t.size();) {
    auto at = t.find(placeholder, i);
    auto part = t.substr(
      i, at == std::string_view::npos ? std::string_view::npos : at - i);
    if (key.compare(pos, part.size(), part) != 0)
      return std::nullopt;
    pos += part.size();
    if (at == std::string_view::npos)
      break;
    auto x = key.substr(pos, id_size);
    if (id && *id != x)
      return std::nullopt;
    id = x;
    pos += id_size;
    i = at + placeholder.size();
  }
  if (pos != key.size())
    return std::nullopt;
  return id;
}

size_t literal_size(std::string_view t) {
  size_t n = 0;
  for (auto at = t.find(placeholder); at != std::string_view::npos;
       at = t.find(placeholder, at + 1))
    ++n;
  return t.size() - n * placeholder.size();
}

bool has_placeholder(std::string_view t) {
  return t.find(placeholder) != std::string_view::npos;
}

// A key or id for a message: long ones are cut.
std::string shown(std::string_view s) {
  constexpr size_t max = 64;
  if (s.size() <= max)
    return "\"" + std::string{s} + "\"";
  return "\"" + std::string{s.substr(0, max)} + "...\" ("
         + std::to_string(s.size()) + " bytes)";
}

} // namespace

rules::key_match rules::match_key(std::string_view key) const {
  key_match best;
  size_t best_literal = 0;
  for (auto& [name, r] : rules_)
    for (size_t i = 0; i < r.keys.size(); ++i) {
      auto& t = r.keys[i];
      auto literal = literal_size(t);
      if (best.key_template != nullptr && literal < best_literal)
        continue;
      auto id = id_in(t, literal, key);
      if (!id)
        continue;
      if (best.key_template != nullptr && literal == best_literal) {
        best.ambiguous = true;
        continue;
      }
      best = key_match{&r, &t, i, *id, false};
      best_literal = literal;
    }
  if (best.ambiguous)
    best.owner = nullptr;
  return best;
}

const rule* rules::rule_for_key(std::string_view key) const {
  return match_key(key).owner;
}

void rules::add_key_tags(std::string_view key,
                         std::vector<std::string>& tags) const {
  auto m = match_key(key);
  if (m.owner == nullptr || m.owner->tags.empty())
    return;
  for (auto& t : m.owner->tags) {
    if (has_placeholder(t) && m.id.empty())
      continue;
    auto tag = substitute(t, m.id);
    if (std::find(tags.begin(), tags.end(), tag) == tags.end())
      tags.push_back(std::move(tag));
  }
}

caf::error rules::check_id(std::string_view resource, std::string_view id,
                           size_t max_key_size) const {
  if (!contains(resource))
    return make_error(errc::unknown_resource, "no rule declares resource \""
                                                + std::string{resource} + "\"");
  if (id.empty())
    return make_error(errc::invalid_argument, "record id is empty");
  auto record = "record id " + shown(id) + " of resource \""
                + std::string{resource} + "\"";
  auto too_long
    = [&](const char* what, const std::string& made, const std::string& t) {
        return make_error(
          errc::invalid_key,
          record + " makes " + what + " " + shown(made) + " (template \"" + t
            + "\") of " + std::to_string(made.size())
            + " bytes, the maximum is " + std::to_string(max_key_size)
            + " bytes (cachebus.max-key-size): the cache could "
              "neither hold nor invalidate it");
      };
  std::set<std::string_view> visited;
  std::vector<std::string_view> todo{resource};
  while (!todo.empty()) {
    auto name = todo.back();
    todo.pop_back();
    if (!visited.emplace(name).second)
      continue;
    auto i = rules_.find(name);
    if (i == rules_.end())
      continue;
    auto& r = i->second;
    for (auto& t : r.keys) {
      auto key = substitute(t, id);
      if (key.size() > max_key_size)
        return too_long("key", key, t);
      if (!has_placeholder(t))
        continue; // the same key for every record: no record's own
      auto m = match_key(key);
      if (m.key_template == &t && m.id == id)
        continue;
      auto head = record + " makes key " + shown(key) + " (template \"" + t
                  + "\" of resource \"" + r.resource + "\"), which ";
      if (m.ambiguous)
        return make_error(errc::invalid_key,
                          head + "template \"" + *m.key_template
                            + "\" makes as well, as specific: the key would "
                              "be ambiguous");
      // Another template (or this one with another id) is more specific.
      return make_error(
        errc::invalid_key,
        head + "means "
          + (m.id.empty() ? std::string{"the key"} : "id " + shown(m.id))
          + " under template \"" + *m.key_template + "\" of resource \""
          + m.owner->resource
          + "\": caching the record there would overwrite "
            "another entry");
    }
    for (auto& t : r.tags)
      if (auto tag = substitute(t, id); tag.size() > max_key_size)
        return too_long("tag", tag, t);
    for (auto& d : r.dependents)
      todo.push_back(d);
  }
  return {};
}

caf::error rules::add(rule r) {
  if (!valid_resource(r.resource))
    return make_error(errc::invalid_rule,
                      "resource name \"" + r.resource
                        + "\" must be 1-64 letters, digits, '_', '-' or '.'");
  if (r.keys.empty() && r.tags.empty() && r.dependents.empty())
    return make_error(errc::invalid_rule, "rule \"" + r.resource
                                            + "\" names no keys, tags or "
                                              "dependents");
  for (auto* list : {&r.keys, &r.tags})
    for (auto& t : *list)
      if (auto err = check_template(r.resource, t))
        return err;
  for (auto& d : r.dependents)
    if (!valid_resource(d))
      return make_error(errc::invalid_rule, "rule \"" + r.resource
                                              + "\": dependent \"" + d
                                              + "\" is not a resource name");
  auto name = r.resource;
  rules_[name] = std::move(r);
  return {};
}

caf::error rules::validate() const {
  for (auto& [name, r] : rules_)
    for (auto& d : r.dependents)
      if (rules_.count(d) == 0)
        return make_error(errc::invalid_rule, "rule \"" + name
                                                + "\": dependent \"" + d
                                                + "\" has no rule of its own");
  return {};
}

caf::expected<rules> rules::parse(std::string_view text) {
  rules result;
  rule current;
  bool in_section = false;
  size_t line_no = 0;
  auto flush = [&]() -> caf::error {
    if (!in_section)
      return {};
    return result.add(std::move(current));
  };
  auto at = [&](const std::string& why) {
    return make_error(errc::invalid_rule,
                      "line " + std::to_string(line_no) + ": " + why);
  };
  std::istringstream in{std::string{text}};
  std::string raw;
  while (std::getline(in, raw)) {
    ++line_no;
    auto line = trim(without_comment(raw));
    if (line.empty())
      continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return at("section header lacks ']'");
      if (auto err = flush())
        return at(describe(err));
      current = rule{};
      current.resource
        = trim(std::string_view{line}.substr(1, line.size() - 2));
      if (result.contains(current.resource))
        return at("resource \"" + current.resource + "\" declared twice");
      in_section = true;
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return at("expected 'keys = ...', 'tags = ...' or 'dependents = ...'");
    if (!in_section)
      return at("setting outside of a [resource] section");
    auto name = trim(std::string_view{line}.substr(0, eq));
    auto values = split_list(std::string_view{line}.substr(eq + 1));
    if (name == "ttl" || name == "stale_while_revalidate"
        || name == "stale_if_error") {
      auto text = trim(std::string_view{line}.substr(eq + 1));
      caf::timespan span{0};
      if (!parse_rule_span(text, span))
        return at("\"" + name
                  + "\" needs a duration like 250ms, 10s, 5min "
                    "or 1h (at most about 292 years), got \""
                  + text + "\"");
      (name == "ttl"                      ? current.ttl
       : name == "stale_while_revalidate" ? current.stale_while_revalidate
                                          : current.stale_if_error)
        = span;
      continue;
    }
    std::vector<std::string>* target = nullptr;
    if (name == "keys")
      target = &current.keys;
    else if (name == "tags")
      target = &current.tags;
    else if (name == "dependents")
      target = &current.dependents;
    else if (name == "fields")
      target = &current.fields;
    else
      return at("unknown setting \"" + name + "\"");
    target->insert(target->end(), values.begin(), values.end());
  }
  if (auto err = flush())
    return at(describe(err));
  if (auto err = result.validate())
    return err;
  return result;
}

caf::expected<rules> rules::load(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(errc::invalid_rule,
                      "cannot read rules file \"" + path + "\"");
  std::ostringstream buf;
  buf << in.rdbuf();
  auto parsed = parse(buf.str());
  if (!parsed) {
    // The file's name before parse()'s sentence, not a second prefix.
    auto& ctx = parsed.error().context();
    auto detail = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                                    : describe(parsed.error());
    return make_error(errc::invalid_rule, path + ": " + detail);
  }
  return parsed;
}

const rule* rules::find(std::string_view resource) const {
  auto i = rules_.find(resource);
  return i == rules_.end() ? nullptr : &i->second;
}

bool rules::contains(std::string_view resource) const {
  return rules_.find(resource) != rules_.end();
}

std::vector<std::string> rules::resources() const {
  std::vector<std::string> out;
  for (auto& kv : rules_)
    out.push_back(kv.first);
  return out;
}

caf::expected<rules::expansion> rules::expand(std::string_view resource,
                                              std::string_view id) const {
  if (!contains(resource))
    return make_error(errc::unknown_resource, "no rule declares resource \""
                                                + std::string{resource} + "\"");
  if (id.empty())
    return make_error(errc::invalid_argument, "record id is empty");
  expansion out;
  std::set<std::string, std::less<>> seen_keys, seen_tags, visited;
  std::vector<std::string_view> todo{resource};
  while (!todo.empty()) {
    auto name = todo.back();
    todo.pop_back();
    if (!visited.emplace(name).second)
      continue;
    auto i = rules_.find(name);
    if (i == rules_.end())
      continue;
    for (auto& t : i->second.keys)
      if (auto k = substitute(t, id); seen_keys.insert(k).second)
        out.keys.push_back(std::move(k));
    for (auto& t : i->second.tags)
      if (auto k = substitute(t, id); seen_tags.insert(k).second)
        out.tags.push_back(std::move(k));
    for (auto& d : i->second.dependents)
      todo.push_back(d);
  }
  return out;
}

} // namespace cachebus
