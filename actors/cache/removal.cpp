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
  case removal_cause::created:
    return "created";
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

namespace {

thread_local uint64_t current_writer = 0;

} // namespace

removal_writer::removal_writer(uint64_t id) noexcept
    : previous_(current_writer) {
  current_writer = id;
}

removal_writer::~removal_writer() {
  current_writer = previous_;
}

uint64_t removal_writer::current() noexcept {
  return current_writer;
}

} // namespace cachebus
