// The tag index of one shard table: for every tag, a state object listing the
// entries that carry it. Invalidating a tag retires its state in O(1): the
// state leaves the index (later entries of the tag get a fresh one) and
// records the version below which its entries are dead (UINT64_MAX: all),
// so readers treat them as missing at once (dead_below()). The entries of
// retired states are then reclaimed in batches, oldest state first
// (next_dead()), so the index shrinks back to what is live.
//
// The index does not know what a version is: it reports the tag facts and the
// table applies its version rule (an entry is dead under a retired state if
// it is older than that state's dead_below).
//
// Intrusive: an entry derives from tag_index::member, which holds one link per
// tag; each state heads a doubly linked list of its links. Invariants: a
// member's links are each in the list of their state; a live state is in the
// index by name and has members (it goes with its last one); a retired state
// has dead_below != 0 unless it was invalidated at version 0, and stays
// queued until its last member left. Complexity: link() O(t) hash lookups for
// t tags; unlink() O(t); invalidate() O(1); dead_below() O(t) without
// allocating (on the hit path); next_dead() O(1) amortized.
//
// NOT thread-safe on its own: every operation REQUIRES the owning shard_table's
// exclusive lock, except the const ones (dead_below, has_dead, the counts),
// which REQUIRE at least its shared lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cachebus {

class tag_index {
 public:
  struct member;
  struct tag_state;

  /// One tag of one member.
  struct tag_link {
    tag_state* state = nullptr;
    member* owner = nullptr;
    tag_link* prev = nullptr;
    tag_link* next = nullptr;
  };

  /// The index's part of an entry.
  struct member {
    // Never resized while linked: the states' lists point into it.
    std::vector<tag_link> tags;
    size_t tag_bytes = 0; // what the links cost, charged to the entry
  };

  /// A tag's entries. `dead_below` is 0 while the state is live; invalidate()
  /// sets it (members with a lower version are dead) and retires the state.
  struct tag_state {
    std::string name;
    uint64_t dead_below = 0;
    tag_link* head = nullptr;
    size_t members = 0;
  };

  tag_index() = default;
  tag_index(const tag_index&) = delete;
  tag_index& operator=(const tag_index&) = delete;

  /// The highest dead_below of the retired states `m` is linked to: `m` is
  /// dead if it is older than that. 0 if none of its tags was invalidated.
  static uint64_t dead_below(const member& m) noexcept {
    uint64_t below = 0;
    for (auto& link : m.tags)
      if (link.state->dead_below > below)
        below = link.state->dead_below;
    return below;
  }

  /// Links `m` to the live state of each tag in `tags`, creating states as
  /// needed, and sets m.tag_bytes. REQUIRES: `m` has no links.
  void link(member& m, std::vector<std::string> tags);

  /// Removes every link of `m`; a live state that loses its last member goes.
  void unlink(member& m) noexcept;

  /// Moves every link of `m` to the live state of the same name: a member
  /// that survived the invalidation of one of its tags keeps its tags.
  void relink(member& m);

  /// Retires the live state of `tag` with `dead_below` = `version` and
  /// returns it (its members are still linked), or null if `tag` has no live
  /// state here.
  const tag_state* invalidate(std::string_view tag, uint64_t version);

  /// The next member to reclaim: the first member of the oldest retired state
  /// that still has members, with that state's dead_below in `dead_below`;
  /// null if no retired state has members. Drops the retired states it finds
  /// empty. The caller must unlink() or relink() the member before asking
  /// again, or it gets the same one.
  member* next_dead(uint64_t& dead_below);

  /// True if retired states await reclamation.
  bool has_dead() const noexcept { return !dead_.empty(); }

  size_t live_tags() const noexcept { return live_.size(); }
  size_t dead_tags() const noexcept { return dead_.size(); }
  size_t links() const noexcept { return links_; }

 private:
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  // Live states by name (the key views the state's name).
  std::unordered_map<std::string_view, std::unique_ptr<tag_state>, string_hash,
                     std::equal_to<>>
    live_;
  // Retired states awaiting reclamation, oldest first.
  std::deque<std::unique_ptr<tag_state>> dead_;
  size_t links_ = 0;
};

} // namespace cachebus
