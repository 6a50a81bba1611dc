#include "cachebus/bus/peer_event.hpp"

namespace cachebus {

std::string to_string(peer_event_kind x) {
  switch (x) {
  case peer_event_kind::joined:
    return "joined";
  case peer_event_kind::lost:
    return "lost";
  case peer_event_kind::gap:
    return "gap";
  case peer_event_kind::rejoined:
    return "rejoined";
  case peer_event_kind::refused:
    return "refused";
  }
  return "peer_event_kind(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace cachebus
