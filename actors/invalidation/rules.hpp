// Central invalidation rules: the one place that says which cache keys and
// tags belong to a record of a resource (the seed's "invalidate
// consistently"). A rule maps a resource to key templates ("user:{id}",
// "user:{id}:profile"), tag templates ("user:{id}") and dependent resources
// whose rules apply to the same id (expanded transitively, cycle-safe).
// Declared in code (add) or in a rules file (parse/load); this example is
// parsed as it stands by a test (tests/actors/rules_test.cpp):
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
//   [feeds]
//   keys = feed:{id}
//
// Comments: a `#` or `;` that begins a line (after blanks) or follows a
// space or tab starts a comment that runs to the end of the line. A `#` or
// `;` glued to what precedes it is text: `keys = item#{id}` is the template
// "item#{id}". No value of a rules file contains a blank, so none needs
// more. `{id}` is the only placeholder.
//
// `fields` matters only to a node with a system of record (cachebus.store):
// it declares the resource with these fields in the store, so that the
// node's store loader and write-through updates can use it
// (store_setup.hpp). Rules without `fields` are cache-only.
//
// What a key means (match_key): of all templates that make it, the most
// specific (most literal characters; `{id}` matches one or more bytes, the
// same at every place) decides: "user:8:posts" is derived data of users/8
// under `user:{id}:posts`, not the record "8:posts" under `user:{id}`. Two
// templates of equal specificity that make one key make it ambiguous. The
// fetch defaults and tags of a key come from the rule that so owns it; a
// record's canonical key is its rule's first template.
// Record ids (check_id): an id is refused if a key its rules make for it
// means something else (another template or another id decides it), since
// caching under that key would overwrite another record's entry. Ids with
// ':' are fine where no template can mistake them ("order:a:b" is order
// "a:b" when no other template makes it).
//
// Immutable after setup; safe to share between threads for reading.
#pragma once

#include <cstddef>
#include <cstdint>
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

  /// Who makes a key: the most specific template (see above).
  struct key_match {
    /// The rule of that template; nullptr if no template makes the key or
    /// it is ambiguous.
    const rule* owner = nullptr;
    /// The template (of `owner`, or one of the tied ones if ambiguous), or
    /// nullptr if none makes the key.
    const std::string* key_template = nullptr;
    /// Its index in the keys of its rule (0: a record's canonical key).
    size_t index = 0;
    /// The id it captures (a view into the key); empty for a template
    /// without `{id}`.
    std::string_view id;
    /// Two templates of equal specificity make the key.
    bool ambiguous = false;
  };

  /// The template that makes `key` and the id it captures (see above).
  key_match match_key(std::string_view key) const;

  /// The rule whose key templates make `key` (e.g. "user:{id}" for
  /// "user:42"; the most specific wins), or nullptr if none does or the key
  /// is ambiguous.
  const rule* rule_for_key(std::string_view key) const;

  /// Appends to `tags` the tags of the rule that owns `key`, expanded with
  /// the id its template captures ("user:{id}" -> "user:8" for key
  /// "user:8:posts"), each unless `tags` holds it already. A tag template
  /// with `{id}` is skipped when the key's template has none.
  void add_key_tags(std::string_view key, std::vector<std::string>& tags) const;

  /// Whether record `id` of `resource` can be cached: every key that
  /// expand(resource, id) makes from a template with `{id}` must mean that
  /// template with this id (match_key), and every key and tag it makes must
  /// be at most `max_key_size` bytes (the node's cachebus.max-key-size: an
  /// invalidation of the record would otherwise be refused). invalid_key
  /// naming the id, the key and the template that takes it;
  /// unknown_resource / invalid_argument as expand().
  caf::error check_id(std::string_view resource, std::string_view id,
                      size_t max_key_size = SIZE_MAX) const;

  /// Expands the rules of `resource` (and its dependents) for record `id`.
  /// unknown_resource if no rule declares `resource`; invalid_argument for an
  /// empty id.
  caf::expected<expansion> expand(std::string_view resource,
                                  std::string_view id) const;

 private:
  std::map<std::string, rule, std::less<>> rules_;
};

} // namespace cachebus
