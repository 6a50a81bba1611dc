// The bus's index from topics and patterns (topic.hpp) to subscribers. An
// exact topic is one hash lookup; wildcard patterns are found by one lookup
// per distinct wildcard prefix length, so matching costs O(prefix lengths +
// matching subscribers), never O(all topics). Holds one strong reference per
// subscriber. Not thread-safe: a table belongs to one bus actor.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "caf/actor_control_block.hpp"

namespace cachebus {

class subscription_table {
 public:
  /// A subscriber's identity: its control block, unique per actor (and per
  /// remote actor on one node), alive while the table holds its reference.
  using subscriber = caf::actor_control_block*;

  // -- mutation ---------------------------------------------------------------

  /// Subscribes `who` to `pattern` (idempotent). Returns true if `who` had no
  /// subscription before, i.e. the caller should start monitoring it.
  /// REQUIRES: `who` is not null and check_pattern(pattern) is empty.
  bool subscribe(const caf::strong_actor_ptr& who, std::string_view pattern);

  /// Unsubscribes `who` from `pattern` (a no-op if it is not subscribed).
  /// Returns true if that was its last subscription: the table dropped its
  /// reference and the caller should stop monitoring it.
  bool unsubscribe(subscriber who, std::string_view pattern);

  /// Drops every subscription of `who`. Returns true if it had any.
  bool erase(subscriber who);

  // -- queries ----------------------------------------------------------------

  /// Replaces the contents of `out` with every subscriber of `topic`, each
  /// exactly once even if several of its patterns match. The pointers stay
  /// valid until the next mutation.
  void match(std::string_view topic, std::vector<subscriber>& out) const;

  /// Returns true if `who` is subscribed to exactly `pattern`.
  bool contains(subscriber who, std::string_view pattern) const;

  /// Distinct subscribers.
  size_t subscribers() const noexcept { return subscribers_.size(); }

  /// Distinct subscribed topics and patterns.
  size_t patterns() const noexcept { return exact_.size() + prefixes_.size(); }

 private:
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view x) const noexcept {
      return std::hash<std::string_view>{}(x);
    }
  };

  template <class T>
  using string_map
    = std::unordered_map<std::string, T, string_hash, std::equal_to<>>;

  using string_set
    = std::unordered_set<std::string, string_hash, std::equal_to<>>;

  using subscriber_set = std::unordered_set<subscriber>;

  struct entry {
    caf::strong_actor_ptr handle;
    string_set patterns;
  };

  void index_add(subscriber who, std::string_view pattern);

  void index_remove(subscriber who, std::string_view pattern);

  /// Exact topic -> subscribers.
  string_map<subscriber_set> exact_;

  /// Wildcard pattern without its '*' -> subscribers.
  string_map<subscriber_set> prefixes_;

  /// Length of a key in prefixes_ -> how many keys have that length. Ordered,
  /// so that match() stops at the first length longer than the topic.
  std::map<size_t, size_t> prefix_lengths_;

  /// Every subscriber with its reference and its patterns.
  std::unordered_map<subscriber, entry> subscribers_;
};

} // namespace cachebus
