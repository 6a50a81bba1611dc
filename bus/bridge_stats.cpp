#include "cachebus/bus/bridge_stats.hpp"

namespace cachebus {

std::string to_string(peer_state x) {
  switch (x) {
  case peer_state::connecting:
    return "connecting";
  case peer_state::connected:
    return "connected";
  case peer_state::down:
    return "down";
  case peer_state::reconnecting:
    return "reconnecting";
  case peer_state::refused:
    return "refused";
  }
  return "peer_state(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace cachebus
