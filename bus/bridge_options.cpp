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
  if (opts.first_sequence == 0)
    return invalid("bridge first sequence must be at least 1 (0 marks "
                   "unsequenced events)");
  return {};
}

} // namespace cachebus
