#include "cachebus/actors/node/error.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/message.hpp"

#include "cachebus/bus/error_text.hpp"

namespace cachebus {

const char* to_string(errc code) {
  switch (code) {
  case errc::invalid_key:
    return "invalid_key";
  case errc::value_too_large:
    return "value_too_large";
  case errc::invalid_ttl:
    return "invalid_ttl";
  case errc::invalid_config:
    return "invalid_config";
  case errc::miss:
    return "miss";
  case errc::stopped:
    return "stopped";
  case errc::timeout:
    return "timeout";
  case errc::invalid_argument:
    return "invalid_argument";
  case errc::unknown_resource:
    return "unknown_resource";
  case errc::invalid_rule:
    return "invalid_rule";
  case errc::load_failed:
    return "load_failed";
  case errc::lease_expired:
    return "lease_expired";
  case errc::too_many_waiters:
    return "too_many_waiters";
  case errc::invalid_field:
    return "invalid_field";
  case errc::not_found:
    return "not_found";
  case errc::store_unavailable:
    return "store_unavailable";
  case errc::store_error:
    return "store_error";
  case errc::backpressure:
    return "backpressure";
  case errc::journal_error:
    return "journal_error";
  case errc::stale_version:
    return "stale_version";
  case errc::encode_failed:
    return "encode_failed";
  case errc::decode_failed:
    return "decode_failed";
  }
  return "unknown";
}

caf::error make_error(errc code, std::string detail) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(detail))};
}

caf::error make_error(errc code) {
  return caf::error{static_cast<uint8_t>(code), error_category};
}

bool is(const caf::error& err, errc code) {
  // CAF 0.17's category() dereferences the payload of an empty error.
  if (!err)
    return false;
  return err.category() == error_category
         && err.code() == static_cast<uint8_t>(code);
}

namespace {

std::string render(uint8_t code, const caf::message& ctx) {
  std::string out = "cachebus: ";
  out += to_string(static_cast<errc>(code));
  if (ctx.match_elements<std::string>()) {
    out += ": ";
    out += ctx.get_as<std::string>(0);
  }
  return out;
}

} // namespace

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == error_category)
    return render(err.code(), err.context());
  // Other categories (the bridge's refusals, CAF's own) by the bus layer's
  // rule: their sentence if they carry one.
  return error_text(err);
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
    error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
      return render(code, ctx);
    });
}

} // namespace cachebus
