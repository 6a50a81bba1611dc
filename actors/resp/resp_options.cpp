#include "cachebus/actors/resp/resp_options.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/config_option_adder.hpp"
#include "caf/settings.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/tls_setup.hpp"
#include "cachebus/bus/peer_address.hpp"

namespace cachebus {

namespace {

caf::error bad(const std::string& option, const std::string& why) {
  return make_error(errc::invalid_config, "cachebus." + option + " " + why);
}

} // namespace

void declare_resp_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "cachebus"}
    .add<uint16_t>("resp-port", "port of the Redis protocol (RESP2/RESP3) "
                                "front end (0: any free port; default: off)")
    .add<std::string>("resp-password",
                      "AUTH password of the Redis port (user \"default\"); "
                      "required unless it listens on loopback")
    .add<size_t>("resp-max-request-bytes",
                 "largest Redis request, all arguments (64 MiB)")
    .add<size_t>("resp-max-bulk-length",
                 "largest argument of a Redis request (16 MiB)")
    .add<size_t>("resp-max-multibulk-length",
                 "most arguments of a Redis request (1048576)")
    .add<size_t>("resp-max-output-bytes",
                 "unwritten replies after which a Redis client is "
                 "disconnected (64 MiB)")
    .add<caf::timespan>("resp-idle-timeout",
                        "a silent Redis client is disconnected after this "
                        "(0: never)")
    .add<size_t>("resp-tracking-max-keys",
                 "keys CLIENT TRACKING remembers at most; beyond, the oldest "
                 "is invalidated and forgotten (1000000)");
}

caf::expected<resp_options>
resp_options_from(const caf::actor_system_config& cfg) {
  resp_options x;
  if (caf::get_if(&caf::content(cfg), "cachebus.resp-port") != nullptr) {
    if (auto err = read_option(cfg, "cachebus.resp-port", x.port))
      return err;
    x.enabled = true;
  }
  for (auto err :
       {read_option(cfg, "cachebus.listen-host", x.host),
        read_option(cfg, "cachebus.resp-password", x.password),
        read_option(cfg, "cachebus.resp-max-request-bytes",
                    x.limits.max_request_bytes),
        read_option(cfg, "cachebus.resp-max-bulk-length",
                    x.limits.max_bulk_length),
        read_option(cfg, "cachebus.resp-max-multibulk-length",
                    x.limits.max_multibulk_length),
        read_option(cfg, "cachebus.resp-max-output-bytes", x.max_output_bytes),
        read_option(cfg, "cachebus.resp-idle-timeout", x.idle_timeout),
        read_option(cfg, "cachebus.resp-tracking-max-keys",
                    x.tracking_max_keys)})
    if (err)
      return err;
  auto& l = x.limits;
  if (l.max_request_bytes < 1024 || l.max_request_bytes > (size_t{4} << 30))
    return bad("resp-max-request-bytes",
               "must be 1 KiB .. 4 GiB, got "
                 + std::to_string(l.max_request_bytes));
  if (l.max_bulk_length < 1 || l.max_bulk_length > l.max_request_bytes)
    return bad("resp-max-bulk-length",
               "must be 1 .. cachebus.resp-max-request-bytes ("
                 + std::to_string(l.max_request_bytes) + "), got "
                 + std::to_string(l.max_bulk_length));
  if (l.max_multibulk_length < 1 || l.max_multibulk_length > (size_t{1} << 30))
    return bad("resp-max-multibulk-length",
               "must be 1 .. 1073741824, got "
                 + std::to_string(l.max_multibulk_length));
  if (x.max_output_bytes < (size_t{64} << 10))
    return bad("resp-max-output-bytes", "must be at least 64 KiB, got "
                                          + std::to_string(x.max_output_bytes));
  if (x.tracking_max_keys < 1 || x.tracking_max_keys > (size_t{1} << 32))
    return bad("resp-tracking-max-keys",
               "must be 1 .. 4294967296, got "
                 + std::to_string(x.tracking_max_keys));
  if (x.idle_timeout < caf::timespan{0})
    return bad("resp-idle-timeout", "must not be negative");
  x.tls = tls_enabled(cfg);
  if (x.enabled && (x.password.empty() || !x.tls) && !is_loopback_host(x.host))
    return make_error(
      errc::invalid_config,
      "cachebus.resp-port on a non-loopback address (cachebus.listen-host = "
        + x.host + ") needs "
        + (x.tls ? "cachebus.resp-password"
           : x.password.empty()
             ? "cachebus.tls (with the node's certificates) and "
               "cachebus.resp-password"
             : "cachebus.tls (with the node's certificates)")
        + ": without them anyone who reaches it can read and write the "
          "cache, or read what others do");
  return x;
}

} // namespace cachebus
