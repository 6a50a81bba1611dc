#include "cachebus/bus/actor_thread.hpp"

#include "caf/scheduler/test_coordinator.hpp"

namespace cachebus {

actor_thread placement_for(caf::actor_system& sys, bool want_io) {
  if (!want_io || !sys.has_middleman())
    return actor_thread::scheduler;
  if (dynamic_cast<caf::scheduler::test_coordinator*>(&sys.scheduler()))
    return actor_thread::scheduler;
  return actor_thread::io;
}

} // namespace cachebus
