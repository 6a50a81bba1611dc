#include "cachebus/actors/write_back_options.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/settings.hpp"

#include "cachebus/actors/error.hpp"

namespace cachebus {

namespace {

caf::error bad(std::string what) {
  return make_error(errc::invalid_config, "cachebus.write-back." + what);
}

} // namespace

caf::error write_back_options::validate() const {
  using namespace std::chrono_literals;
  if (fsync_interval <= caf::timespan{0})
    return bad("fsync-interval must be positive");
  if (fsync_records == 0)
    return bad("fsync-records must be at least 1");
  if (flush_interval <= caf::timespan{0})
    return bad("flush-interval must be positive");
  if (max_batch == 0)
    return bad("max-batch must be at least 1");
  if (max_queue == 0)
    return bad("max-queue must be at least 1");
  if (backpressure_timeout < caf::timespan{0})
    return bad("backpressure-timeout must not be negative");
  if (retry_min <= caf::timespan{0} || retry_max < retry_min)
    return bad("retry-min must be positive and at most retry-max");
  if (compact_bytes < 4096)
    return bad("compact-bytes must be at least 4096");
  if (shutdown_timeout < caf::timespan{0})
    return bad("shutdown-timeout must not be negative");
  return {};
}

caf::expected<write_back_options>
write_back_options::from(const caf::actor_system_config& cfg) {
  write_back_options x;
  const auto& c = cfg;
  x.journal = caf::get_or(c, "cachebus.write-back.journal", x.journal);
  auto fsync = caf::get_or(c, "cachebus.write-back.fsync",
                           std::string{stores::to_string(x.fsync)});
  auto policy = stores::parse_fsync_policy(fsync);
  if (!policy.ok())
    return bad("fsync: " + policy.error().message());
  x.fsync = *policy;
  x.fsync_interval = caf::get_or(c, "cachebus.write-back.fsync-interval",
                                 x.fsync_interval);
  x.fsync_records = caf::get_or(c, "cachebus.write-back.fsync-records",
                                x.fsync_records);
  x.flush_interval = caf::get_or(c, "cachebus.write-back.flush-interval",
                                 x.flush_interval);
  x.max_batch = caf::get_or(c, "cachebus.write-back.max-batch", x.max_batch);
  x.max_queue = caf::get_or(c, "cachebus.write-back.max-queue", x.max_queue);
  auto bp = caf::get_or(c, "cachebus.write-back.backpressure",
                        std::string{"error"});
  if (bp == "error")
    x.backpressure = backpressure_mode::error;
  else if (bp == "wait")
    x.backpressure = backpressure_mode::wait;
  else
    return bad("backpressure must be error or wait, not '" + bp + "'");
  x.backpressure_timeout = caf::get_or(
    c, "cachebus.write-back.backpressure-timeout", x.backpressure_timeout);
  x.retry_min = caf::get_or(c, "cachebus.write-back.retry-min", x.retry_min);
  x.retry_max = caf::get_or(c, "cachebus.write-back.retry-max", x.retry_max);
  x.compact_bytes = caf::get_or(c, "cachebus.write-back.compact-bytes",
                                x.compact_bytes);
  x.shutdown_timeout = caf::get_or(c, "cachebus.write-back.shutdown-timeout",
                                   x.shutdown_timeout);
  if (auto err = x.validate())
    return err;
  return x;
}

} // namespace cachebus
