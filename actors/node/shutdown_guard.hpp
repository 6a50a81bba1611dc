// Turns a hang into a message: a caf::actor_system destroyed while something
// of ours still runs in it (a node declared before its actor_system in a
// class, so destroyed after it) would wait forever, or touch freed memory
// later. The owner's actors are spawned hidden (the system does not wait for
// them), and the guard watches the system's config server, which
// ~actor_system stops right after it awaited the actors it counts: if that
// happens while the guard is armed, it prints `message` to stderr and aborts
// the process. Disarm (or destroy) it before stopping the owner's actors.
// Private to the node's implementation; thread-safe.
#pragma once

#include <string>

#include "caf/actor_system.hpp"
#include "caf/weak_intrusive_ptr.hpp"

namespace cachebus {

class shutdown_guard {
 public:
  /// Arms the guard for `sys`.
  shutdown_guard(caf::actor_system& sys, std::string message);

  /// Disarms the guard.
  ~shutdown_guard();

  shutdown_guard(const shutdown_guard&) = delete;
  shutdown_guard& operator=(const shutdown_guard&) = delete;

  /// From now on the system may shut down. Idempotent.
  void disarm();

 private:
  caf::weak_actor_ptr watched_;
};

} // namespace cachebus
