#include "cachebus/actors/cache/removal.hpp"

namespace cachebus {

const char* to_string(removal_cause cause) {
  switch (cause) {
  case removal_cause::expired:
    return "expired";
  case removal_cause::evicted:
    return "evicted";
  case removal_cause::replaced:
    return "replaced";
  case removal_cause::key:
    return "key";
  case removal_cause::keys:
    return "keys";
  case removal_cause::tag:
    return "tag";
  case removal_cause::pattern:
    return "pattern";
  case removal_cause::dependency:
    return "dependency";
  case removal_cause::resource:
    return "resource";
  case removal_cause::cleared:
    return "cleared";
  case removal_cause::partition:
    return "partition";
  }
  return "unknown";
}

} // namespace cachebus
