#include "cachebus/bus/error_text.hpp"

#include "caf/actor_system.hpp"
#include "caf/message.hpp"

namespace cachebus {

std::string error_text(const caf::error& err, const caf::actor_system* sys) {
  if (!err)
    return "no error";
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return sys != nullptr ? sys->render(err) : caf::to_string(err);
}

} // namespace cachebus
