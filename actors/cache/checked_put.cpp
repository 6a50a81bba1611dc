#include "cachebus/actors/cache/checked_put.hpp"

#include <algorithm>

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

caf::expected<int64_t> check_write(const node_options& opts, int64_t now_ns,
                                   std::string_view value,
                                   const std::vector<std::string>& tags,
                                   caf::timespan ttl) {
  if (auto err = opts.check_value(value))
    return err;
  if (auto err = opts.check_tags(tags))
    return err;
  return opts.expiry_for(ttl, now_ns);
}

caf::expected<uint64_t>
checked_put(shard_table& table, const node_options& opts, int64_t now_ns,
            std::string_view key, std::string value, caf::timespan ttl,
            std::vector<std::string> tags, uint64_t version) {
  auto expiry = check_write(opts, now_ns, value, tags, ttl);
  if (!expiry)
    return std::move(expiry.error());
  auto v = table.put(key, std::move(value), *expiry, std::move(tags), version);
  if (v == 0)
    return make_error(errc::stale_version,
                      "version " + std::to_string(version) + " of \""
                        + std::string{key}
                        + "\" is older than the cached one; versions never "
                          "go backwards");
  return v;
}

caf::expected<bool> checked_fill(shard_table& table, const node_options& opts,
                                 int64_t now_ns, std::string_view key,
                                 uint64_t fill, const loaded& x,
                                 const fetch_options& fo, int64_t load_ns) {
  auto expiry = check_write(opts, now_ns, x.value, fo.tags, fo.ttl);
  if (!expiry)
    return std::move(expiry.error());
  auto grace = std::max(fo.stale_while_revalidate, fo.stale_if_error);
  return table.complete_fill(key, fill, x.value, *expiry, grace.count(),
                             fo.tags, x.version, load_ns);
}

} // namespace cachebus
