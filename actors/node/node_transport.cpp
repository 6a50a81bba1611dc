#include "cachebus/actors/node/node_transport.hpp"

#include <string>

#include "caf/config_option_adder.hpp"
#include "caf/settings.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/tls_setup.hpp"
#include "cachebus/bus/tls_credentials.hpp"

namespace cachebus {

namespace {

caf::error bad(const std::string& option, const std::string& why) {
  return make_error(errc::invalid_config, "cachebus." + option + " " + why);
}

/// Reads `cachebus.<name>` strictly (option_reader.hpp).
template <class T>
caf::error read(const caf::actor_system_config& cfg, const std::string& name,
                T& out) {
  return read_option(cfg, "cachebus." + name, out);
}

} // namespace

void declare_transport_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "cachebus"}
    .add<size_t>("max-frame-size",
                 "largest BASP frame payload on the node's ports after the "
                 "handshake (16 MiB)")
    .add<size_t>("max-pending-connections",
                 "connections without a completed handshake; a new one "
                 "evicts the oldest of the port holding the most (64)")
    .add<caf::timespan>("handshake-timeout",
                        "longest time from accept to the BASP handshake, TLS "
                        "included (5s)");
}

caf::expected<transport_options>
transport_options_from(const caf::actor_system_config& cfg) {
  transport_options opts;
  if (auto err = read(cfg, "max-frame-size", opts.frames.max_frame_size))
    return err;
  if (auto err = read(cfg, "max-pending-connections", opts.max_pending))
    return err;
  if (auto err = read(cfg, "handshake-timeout", opts.handshake_timeout))
    return err;
  auto& f = opts.frames.max_frame_size;
  if (f < (size_t{64} << 10) || f > 0xFFFFFFFFu)
    return bad("max-frame-size",
               "must be 64 KiB .. 4 GiB - 1 bytes, got " + std::to_string(f));
  opts.frames.max_handshake_size = std::min(opts.frames.max_handshake_size, f);
  if (opts.max_pending < 1 || opts.max_pending > 65536)
    return bad("max-pending-connections",
               "must be 1 .. 65536, got " + std::to_string(opts.max_pending));
  using namespace std::chrono_literals;
  auto t = opts.handshake_timeout;
  if (t < 10ms || t > 10min)
    return bad(
      "handshake-timeout",
      "must be 10ms .. 10min, got "
        + std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(t).count())
        + "ms");
  return opts;
}

caf::expected<std::shared_ptr<transport>>
start_node_transport(caf::actor_system& sys) {
  auto opts = transport_options_from(sys.config());
  if (!opts)
    return std::move(opts.error());
  if (tls_enabled(sys.config())) {
    auto ctx = tls_context::load(tls_credentials_of(sys.config()));
    if (!ctx) {
      auto text = describe(ctx.error());
      if (text.rfind("TLS: ", 0) == 0)
        text.erase(0, 5);
      return make_error(errc::invalid_config, "cachebus.tls: " + text);
    }
    opts->tls = std::move(*ctx);
  }
  auto tr = transport::start(sys, std::move(*opts));
  if (!tr)
    return make_error(errc::invalid_config, describe(tr.error()));
  return tr;
}

} // namespace cachebus
