#include "cachebus/bus/bridge_options.hpp"

#include "caf/sec.hpp"

#include "cachebus/bus/peer_address.hpp"

namespace cachebus {

namespace {

caf::error invalid(std::string msg) {
  return caf::make_error(caf::sec::invalid_argument, std::move(msg));
}

bool visible(const std::string& x) {
  for (auto c : x)
    if (c <= 0x20 || c >= 0x7F)
      return false;
  return true;
}

std::string ms(caf::timespan x) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(x).count())
         + " ms";
}

} // namespace

std::string node_name_problem(const std::string& name) {
  if (name.empty())
    return "bridge node name: must not be empty";
  if (name.size() > 255)
    return "bridge node name: longer than 255 bytes";
  if (!visible(name))
    return "bridge node name \"" + name
           + "\": only visible ASCII (0x21-0x7E) is allowed";
  return {};
}

caf::error check_node_name(const std::string& name) {
  if (auto why = node_name_problem(name); !why.empty())
    return invalid(std::move(why));
  return {};
}

caf::error check_bridge_options(const bridge_options& opts) {
  if (auto err = check_node_name(opts.node))
    return err;
  if (opts.host.empty() || !visible(opts.host))
    return invalid("bridge host \"" + opts.host
                   + "\": must be a non-empty address without blanks");
  if (!opts.advertised_host.empty() && !visible(opts.advertised_host))
    return invalid("bridge advertised host \"" + opts.advertised_host
                   + "\": must not contain blanks or control characters");
  auto wildcard
    = opts.host == "0.0.0.0" || opts.host == "::" || opts.host == "[::]";
  if (wildcard && opts.advertised_host.empty())
    return invalid("bridge host \"" + opts.host
                   + "\" is a wildcard address: set advertised_host to an "
                     "address the other members can dial");
  if (!opts.tls && !is_loopback_host(opts.host))
    return invalid("bridge host \"" + opts.host
                   + "\" is not a loopback address: TLS is required across "
                     "hosts (bridge option tls; --cachebus.tls for a node)");
  for (auto& seed : opts.seeds)
    if (auto addr = parse_peer_address(seed); !addr)
      return invalid("bridge seed: "
                     + addr.error().context().get_as<std::string>(0));
  if (opts.heartbeat_interval <= caf::timespan{0})
    return invalid("bridge heartbeat interval must be positive, got "
                   + ms(opts.heartbeat_interval));
  if (opts.peer_timeout <= opts.heartbeat_interval)
    return invalid("bridge peer timeout (" + ms(opts.peer_timeout)
                   + ") must exceed the heartbeat interval ("
                   + ms(opts.heartbeat_interval) + ")");
  if (opts.reconnect_initial <= caf::timespan{0})
    return invalid("bridge initial reconnect delay must be positive, got "
                   + ms(opts.reconnect_initial));
  if (opts.reconnect_max < opts.reconnect_initial)
    return invalid("bridge maximum reconnect delay (" + ms(opts.reconnect_max)
                   + ") is below the initial one (" + ms(opts.reconnect_initial)
                   + ")");
  if (opts.connect_timeout <= caf::timespan{0})
    return invalid("bridge connect timeout must be positive, got "
                   + ms(opts.connect_timeout));
  if (opts.reorder_timeout <= caf::timespan{0})
    return invalid("bridge reorder timeout must be positive, got "
                   + ms(opts.reorder_timeout));
  if (opts.replay_log_events == 0 || opts.replay_log_events > (size_t{1} << 24))
    return invalid("bridge replay log events must be from 1 to 16777216, got "
                   + std::to_string(opts.replay_log_events));
  if (opts.replay_log_bytes < (size_t{64} << 10)
      || opts.replay_log_bytes > (size_t{1} << 30))
    return invalid("bridge replay log bytes must be from 65536 (64 KiB) to "
                   "1073741824 (1 GiB), got "
                   + std::to_string(opts.replay_log_bytes));
  if (opts.replay_timeout <= caf::timespan{0})
    return invalid("bridge replay timeout must be positive, got "
                   + ms(opts.replay_timeout));
  if (opts.replay_gone_after <= caf::timespan{0})
    return invalid("bridge replay gone-after must be positive, got "
                   + ms(opts.replay_gone_after));
  if (opts.replay_batch_events == 0 || opts.replay_batch_bytes == 0
      || opts.replay_batch_bytes > (size_t{8} << 20))
    return invalid("bridge replay batch: at least one event, and 1 byte to "
                   "8 MiB (a frame carries at most 16 MiB)");
  if (opts.first_sequence == 0)
    return invalid("bridge first sequence must be at least 1 (0 marks "
                   "unsequenced events)");
  return {};
}

} // namespace cachebus
