#include "cachebus/actors/node/options.hpp"

#include <algorithm>
#include <string>
#include <thread>
#include <unistd.h>

#include "caf/actor_system_config.hpp"

#include "cachebus/actors/cache/duration.hpp"
#include "cachebus/actors/cache/shard_table.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"

namespace cachebus {

size_t default_shards() {
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string default_node_name() {
  return "node-" + std::to_string(::getpid());
}

namespace {

std::string bytes(size_t n) {
  return std::to_string(n) + " bytes";
}

std::string ms(caf::timespan t) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(t).count())
         + " ms";
}

// Keeps every expiry (a clock reading plus at most this) far from int64's
// end for the next ~190 years of clock readings.
constexpr caf::timespan max_ttl_limit = std::chrono::hours(24 * 36500);

caf::error bad(std::string what) {
  return make_error(errc::invalid_config, std::move(what));
}

} // namespace

caf::error node_options::validate() const {
  if (shards < 1 || shards > 1024)
    return bad("cachebus.shards must be between 1 and 1024, got "
               + std::to_string(shards));
  if (max_entries < shards)
    return bad("cachebus.max-entries must be at least cachebus.shards ("
               + std::to_string(shards) + "), got "
               + std::to_string(max_entries));
  if (max_key_size < 1 || max_key_size > (size_t{1} << 20))
    return bad("cachebus.max-key-size must be between 1 byte and 1 MiB, got "
               + bytes(max_key_size));
  if (max_value_size < 1 || max_value_size > (size_t{1} << 30))
    return bad("cachebus.max-value-size must be between 1 byte and 1 GiB, got "
               + bytes(max_value_size));
  auto per_shard = max_bytes / shards;
  if (max_tags > 1024)
    return bad("cachebus.max-tags must be at most 1024, got "
               + std::to_string(max_tags));
  auto largest
    = shard_table::charge_of(max_key_size, max_value_size, ordered_index,
                             shard_table::entry_parts::all());
  if (per_shard < largest)
    return bad("cachebus.max-bytes / cachebus.shards (" + bytes(per_shard)
               + ") must hold at least one entry of the largest key and value ("
               + bytes(largest) + ")");
  if (default_ttl <= caf::timespan{0})
    return bad("cachebus.default-ttl must be positive, got " + ms(default_ttl));
  if (max_ttl <= caf::timespan{0} || max_ttl > max_ttl_limit)
    return bad("cachebus.max-ttl must be positive and at most 100 years "
               "(36500d), got "
               + ms(max_ttl));
  if (default_ttl > max_ttl)
    return bad("cachebus.default-ttl (" + ms(default_ttl)
               + ") exceeds cachebus.max-ttl (" + ms(max_ttl) + ")");
  if (sweep_interval < std::chrono::milliseconds(1)
      || sweep_interval > std::chrono::hours(1))
    return bad("cachebus.sweep-interval must be between 1 ms and 1 h, got "
               + ms(sweep_interval));
  if (sweep_batch < 1)
    return bad("cachebus.sweep-batch must be at least 1");
  if (name.empty() || name.size() > 128)
    return bad("cachebus.name must be 1 to 128 bytes, got \"" + name + "\"");
  if (lease_timeout <= caf::timespan{0})
    return bad("cachebus.lease-timeout must be positive, got "
               + ms(lease_timeout));
  if (max_waiters < 1)
    return bad("cachebus.max-waiters must be at least 1");
  if (max_queued_removals < 1)
    return bad("cachebus.max-queued-removals must be at least 1");
  if (async_loaders < 1 || async_loaders > 1024)
    return bad("cachebus.async-loaders must be 1 to 1024");
  if (max_queued_async_loads < 1)
    return bad("cachebus.max-queued-async-loads must be at least 1");
  if (request_timeout <= caf::timespan{0})
    return bad("cachebus.request-timeout must be positive, got "
               + ms(request_timeout));
  if (request_timeout < lease_timeout)
    return bad("cachebus.request-timeout (" + ms(request_timeout)
               + ") must be at least cachebus.lease-timeout ("
               + ms(lease_timeout) + "): waiters wait for a whole lease");
  return {};
}

caf::expected<node_options>
node_options::from(const caf::actor_system_config& cfg) {
  node_options x;
  std::string policy = "propagate";
  caf::error err;
  // The first option that is set to a value of the wrong type wins.
  auto read = [&](std::string_view name, auto& out) {
    if (!err)
      err = read_option(cfg, name, out);
  };
  read("cachebus.shards", x.shards);
  read("cachebus.default-ttl", x.default_ttl);
  read("cachebus.max-ttl", x.max_ttl);
  read("cachebus.max-entries", x.max_entries);
  read("cachebus.max-bytes", x.max_bytes);
  read("cachebus.max-key-size", x.max_key_size);
  read("cachebus.max-value-size", x.max_value_size);
  read("cachebus.sweep-interval", x.sweep_interval);
  read("cachebus.sweep-batch", x.sweep_batch);
  read("cachebus.max-tags", x.max_tags);
  read("cachebus.ordered-index", x.ordered_index);
  read("cachebus.name", x.name);
  read("cachebus.lease-timeout", x.lease_timeout);
  read("cachebus.max-waiters", x.max_waiters);
  read("cachebus.loader-error", policy);
  read("cachebus.request-timeout", x.request_timeout);
  read("cachebus.max-queued-removals", x.max_queued_removals);
  read("cachebus.async-loaders", x.async_loaders);
  read("cachebus.max-queued-async-loads", x.max_queued_async_loads);
  if (err)
    return err;
  if (policy != "propagate" && policy != "retry")
    return bad("cachebus.loader-error must be \"propagate\" or \"retry\", "
               "got \""
               + policy + "\"");
  x.loader_error_retry = policy == "retry";
  if (auto err = x.validate())
    return err;
  return x;
}

caf::error node_options::check_key(std::string_view key) const {
  if (key.empty())
    return make_error(errc::invalid_key, "key is empty");
  if (key.size() > max_key_size)
    return make_error(errc::invalid_key, "key is " + bytes(key.size())
                                           + ", the maximum is "
                                           + bytes(max_key_size));
  return {};
}

caf::error node_options::check_value(std::string_view value) const {
  if (value.size() > max_value_size)
    return make_error(errc::value_too_large, "value is " + bytes(value.size())
                                               + ", the maximum is "
                                               + bytes(max_value_size));
  return {};
}

caf::error
node_options::check_tags(const std::vector<std::string>& tags) const {
  if (tags.size() > max_tags)
    return make_error(errc::invalid_argument,
                      std::to_string(tags.size()) + " tags given, at most "
                        + std::to_string(max_tags) + " are allowed");
  for (auto& tag : tags) {
    if (tag.empty())
      return make_error(errc::invalid_argument, "tag is empty");
    if (tag.size() > max_key_size)
      return make_error(errc::invalid_argument, "tag is " + bytes(tag.size())
                                                  + ", the maximum is "
                                                  + bytes(max_key_size));
  }
  return {};
}

caf::expected<int64_t> node_options::expiry_for(caf::timespan ttl,
                                                int64_t now_ns) const {
  if (ttl == never_expires)
    return no_expiry;
  if (ttl < caf::timespan{0})
    return make_error(errc::invalid_ttl, "TTL is negative ("
                                           + std::to_string(ttl.count())
                                           + " ns)");
  if (ttl == caf::timespan{0})
    ttl = default_ttl;
  if (ttl > max_ttl)
    return make_error(errc::invalid_ttl, "TTL of " + ms(ttl)
                                           + " exceeds cachebus.max-ttl ("
                                           + ms(max_ttl) + ")");
  auto expiry = checked_add(now_ns, ttl);
  if (!expiry || *expiry == no_expiry)
    return make_error(errc::invalid_ttl,
                      "TTL of " + ms(ttl)
                        + " from now lies beyond the clock's range");
  return *expiry;
}

} // namespace cachebus
