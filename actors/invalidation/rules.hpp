// Central invalidation rules: the one place that says which cache keys and
// tags belong to a record of a resource (the seed's "invalidate
// consistently"). A rule maps a resource to key templates ("user:{id}",
// "user:{id}:profile"), tag templates ("user:{id}") and dependent resources
// whose rules apply to the same id (expanded transitively, cycle-safe).
// Declared in code (add) or in a rules file (parse/load):
//
//   # comment
//   [users]
//   keys = user:{id}, user:{id}:profile, user:{id}:posts
//   tags = user:{id}
//   dependents = feeds
//   ttl = 5min                      # fetch defaults for keys of this rule
//   stale_while_revalidate = 10s
//   stale_if_error = 1min
//   fields = name, email            # the record's fields in the store
//
// `fields` matters only to a node with a system of record (cachebus.store):
// it declares the resource with these fields in the store, so that the
// node's store loader and write-through updates can use it
// (store_setup.hpp). Rules without `fields` are cache-only.
// `{id}` is the only placeholder. Immutable after setup; safe to share
// between threads for reading.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"
#include "caf/timestamp.hpp"

namespace cachebus {

struct rule {
  std::string resource;
  std::vector<std::string> keys;
  std::vector<std::string> tags;
  std::vector<std::string> dependents;
  /// Fetch defaults for keys made from this rule's key templates (0: none);
  /// a fetch's own options take precedence.
  caf::timespan ttl{0};
  caf::timespan stale_while_revalidate{0};
  caf::timespan stale_if_error{0};
  /// The record's fields in the system of record (empty: not a stored
  /// resource); names are checked by the store when it is opened.
  std::vector<std::string> fields{};
};

class rules {
 public:
  /// What one record's invalidation touches.
  struct expansion {
    std::vector<std::string> keys;
    std::vector<std::string> tags;
  };

  /// Adds or replaces the rule of `r.resource`; invalid_rule if a name or
  /// template is malformed. Dependents are checked by validate().
  caf::error add(rule r);

  /// invalid_rule if a dependent names an undeclared resource.
  caf::error validate() const;

  /// Parses the text format above; errors name the line.
  static caf::expected<rules> parse(std::string_view text);

  /// Reads and parses a rules file.
  static caf::expected<rules> load(const std::string& path);

  bool contains(std::string_view resource) const;

  std::vector<std::string> resources() const;

  /// The rule of `resource`, or nullptr.
  const rule* find(std::string_view resource) const;

  bool empty() const noexcept { return rules_.empty(); }

  /// The rule whose key templates produce `key` (e.g. "user:{id}" for
  /// "user:42"), or nullptr.
  const rule* rule_for_key(std::string_view key) const;

  /// Expands the rules of `resource` (and its dependents) for record `id`.
  /// unknown_resource if no rule declares `resource`; invalid_argument for an
  /// empty id.
  caf::expected<expansion> expand(std::string_view resource,
                                  std::string_view id) const;

 private:
  std::map<std::string, rule, std::less<>> rules_;
};

} // namespace cachebus
