#include "cachebus/actors/writepaths/write_back_options.hpp"

#include "caf/actor_system_config.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"

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
  std::string fsync{stores::to_string(x.fsync)};
  std::string bp = "error";
  caf::error err;
  // The first option that is set to a value of the wrong type wins.
  auto read = [&](std::string_view name, auto& out) {
    if (!err)
      err = read_option(cfg, "cachebus.write-back." + std::string{name}, out);
  };
  read("journal", x.journal);
  read("fsync", fsync);
  read("fsync-interval", x.fsync_interval);
  read("fsync-records", x.fsync_records);
  read("flush-interval", x.flush_interval);
  read("max-batch", x.max_batch);
  read("max-queue", x.max_queue);
  read("backpressure", bp);
  read("backpressure-timeout", x.backpressure_timeout);
  read("retry-min", x.retry_min);
  read("retry-max", x.retry_max);
  read("compact-bytes", x.compact_bytes);
  read("shutdown-timeout", x.shutdown_timeout);
  if (err)
    return err;
  auto policy = stores::parse_fsync_policy(fsync);
  if (!policy.ok())
    return bad("fsync: " + policy.error().message());
  x.fsync = *policy;
  if (bp == "error")
    x.backpressure = backpressure_mode::error;
  else if (bp == "wait")
    x.backpressure = backpressure_mode::wait;
  else
    return bad("backpressure must be error or wait, not '" + bp + "'");
  if (auto err = x.validate())
    return err;
  return x;
}

} // namespace cachebus
