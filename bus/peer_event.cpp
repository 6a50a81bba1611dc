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
  case peer_event_kind::replaying:
    return "replaying";
  case peer_event_kind::replayed:
    return "replayed";
  }
  return "peer_event_kind(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(drop_cause x) {
  switch (x) {
  case drop_cause::none:
    return "none";
  case drop_cause::replay_off:
    return "replay_off";
  case drop_cause::history:
    return "history";
  case drop_cause::trimmed:
    return "trimmed";
  case drop_cause::new_incarnation:
    return "new_incarnation";
  case drop_cause::timeout:
    return "timeout";
  case drop_cause::malformed:
    return "malformed";
  case drop_cause::lost:
    return "lost";
  case drop_cause::gone:
    return "gone";
  }
  return "drop_cause(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace cachebus
