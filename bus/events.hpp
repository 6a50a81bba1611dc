// The invalidation events that travel on the bus: plain copyable values with
// an `inspect` overload, registered in bus/type_ids.hpp so they can cross
// nodes. Every event names its origin node and that node's sequence number
// (one counter per origin over all event kinds, starting at 1; 0 means
// "unsequenced"), which lets a receiver drop duplicates and detect gaps, and
// the origin's wall-clock send time (ns since the Unix epoch; 0: unknown), by
// which receivers measure how late invalidations arrive. The bus itself never
// reads them: it forwards any payload unchanged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

namespace cachebus {

/// Record `id` of `resource` changed; published on resource_topic(resource).
/// The seed's `{:cache_invalidated, resource, id}`. `version` is the record's
/// new version, or 0 if unknown (then every cached entry of it is stale).
struct invalidated {
  std::string resource;
  std::string id;
  uint64_t version = 0;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const invalidated&, const invalidated&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invalidated& x) {
  return f(caf::meta::type_name("cachebus::invalidated"), x.resource, x.id,
           x.version, x.origin, x.sequence, x.sent_ns);
}

/// Every entry carrying `tag` is stale.
struct tag_invalidated {
  std::string tag;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const tag_invalidated&, const tag_invalidated&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tag_invalidated& x) {
  return f(caf::meta::type_name("cachebus::tag_invalidated"), x.tag, x.origin,
           x.sequence, x.sent_ns);
}

/// The entries under exactly these keys are stale.
struct keys_invalidated {
  std::vector<std::string> keys;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const keys_invalidated&, const keys_invalidated&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, keys_invalidated& x) {
  return f(caf::meta::type_name("cachebus::keys_invalidated"), x.keys, x.origin,
           x.sequence, x.sent_ns);
}

/// Every key matching the glob is stale (`search:q:page:*`).
struct pattern_invalidated {
  std::string glob;
  std::string origin;
  uint64_t sequence = 0;
  int64_t sent_ns = 0;

  friend bool operator==(const pattern_invalidated&, const pattern_invalidated&)
    = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pattern_invalidated& x) {
  return f(caf::meta::type_name("cachebus::pattern_invalidated"), x.glob,
           x.origin, x.sequence, x.sent_ns);
}

} // namespace cachebus
