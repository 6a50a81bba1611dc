#include "cachebus/actors/invalidation/invalidator.hpp"

#include "cachebus/actors/invalidation/glob.hpp"
#include "cachebus/actors/node/error.hpp"

namespace cachebus {

invalidator::invalidator(std::shared_ptr<local_cache> cache,
                         std::shared_ptr<const rules> rules, node_options opts)
    : cache_(std::move(cache)), rules_(std::move(rules)),
      opts_(std::move(opts)) {
  // nop
}

caf::expected<size_t> invalidator::apply(const invalidated& ev) {
  if (ev.id.size() > opts_.max_key_size)
    return make_error(errc::invalid_argument,
                      "record id is " + std::to_string(ev.id.size())
                        + " bytes, the maximum is "
                        + std::to_string(opts_.max_key_size) + " bytes");
  auto x = rules_->expand(ev.resource, ev.id);
  if (!x)
    return std::move(x.error());
  for (auto& key : x->keys)
    if (auto err = opts_.check_key(key))
      return err;
  if (auto err = opts_.check_tags(x->tags))
    return err;
  // Version 0 means "unknown": every cached entry of the record is stale.
  // Otherwise only entries older than the event go, so a writer's fresh
  // value survives its own event.
  uint64_t below = ev.version == 0 ? UINT64_MAX : ev.version;
  removal_reason why{removal_cause::resource, ev.origin};
  size_t n = cache_->invalidate_keys(x->keys, below, why);
  for (auto& tag : x->tags)
    n += cache_->invalidate_tag(tag, below, why);
  return n;
}

caf::expected<size_t> invalidator::apply(const tag_invalidated& ev) {
  if (auto err = opts_.check_tags({ev.tag}))
    return err;
  return cache_->invalidate_tag(ev.tag, UINT64_MAX,
                                {removal_cause::tag, ev.origin});
}

caf::expected<size_t> invalidator::apply(const keys_invalidated& ev) {
  for (auto& key : ev.keys)
    if (auto err = opts_.check_key(key))
      return err;
  auto cause = ev.keys.size() == 1 ? removal_cause::key : removal_cause::keys;
  return cache_->invalidate_keys(ev.keys, UINT64_MAX, {cause, ev.origin});
}

caf::expected<size_t> invalidator::apply(const pattern_invalidated& ev) {
  if (!opts_.ordered_index)
    return make_error(errc::invalid_argument,
                      "pattern invalidation needs cachebus.ordered-index");
  if (auto err = check_glob(ev.glob, opts_.max_key_size))
    return err;
  return cache_->invalidate_pattern(ev.glob,
                                    {removal_cause::pattern, ev.origin});
}

} // namespace cachebus
