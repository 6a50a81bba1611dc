// One readable sentence for any caf::error, the one rule every layer above
// uses for errors that are not its own: an error made with one string as its
// context (a refusal written for people, like the bridge's) reads as that
// string; any other error as CAF renders it (with the actor system's
// renderers, which know every registered error category, when one is given).
// Pure; thread-safe.
#pragma once

#include <string>

#include "caf/error.hpp"
#include "caf/fwd.hpp"

namespace cachebus {

std::string error_text(const caf::error& err,
                       const caf::actor_system* sys = nullptr);

} // namespace cachebus
