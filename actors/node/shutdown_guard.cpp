#include "cachebus/actors/node/shutdown_guard.hpp"

#include <cstdio>
#include <cstdlib>

#include "caf/abstract_actor.hpp"
#include "caf/attachable.hpp"

namespace cachebus {

namespace {

// Any number CAF does not use for its own subtypes (0..3).
constexpr size_t guard_token_type = 0x63627573; // "cbus"

class abort_on_exit : public caf::attachable {
 public:
  abort_on_exit(const shutdown_guard* owner, std::string message)
      : owner_(owner), message_(std::move(message)) {
    // nop
  }

  void actor_exited(const caf::error&, caf::execution_unit*) override {
    std::fprintf(stderr, "%s\n", message_.c_str());
    std::fflush(stderr);
    std::abort();
  }

  bool matches(const token& what) override {
    return what.subtype == guard_token_type && what.ptr == owner_;
  }

 private:
  const shutdown_guard* owner_;
  std::string message_;
};

} // namespace

shutdown_guard::shutdown_guard(caf::actor_system& sys, std::string message) {
  auto& serv = sys.config_serv();
  if (!serv)
    return; // a system without one cannot be watched; nothing to do
  watched_ = serv.get();
  serv->get()->attach(
    std::make_unique<abort_on_exit>(this, std::move(message)));
}

shutdown_guard::~shutdown_guard() {
  disarm();
}

void shutdown_guard::disarm() {
  if (auto serv = watched_.lock())
    serv->get()->detach(caf::attachable::token{guard_token_type, this});
  watched_.reset();
}

} // namespace cachebus
