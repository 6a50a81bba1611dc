#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

namespace cachebus {

const std::vector<resp_command>& resp_commands() {
  using s = resp_session;
  static const std::vector<resp_command> table{
    // connection
    {"hello",
     -1,
     true,
     {"noscript", "loading", "stale", "fast"},
     0,
     0,
     0,
     &s::cmd_hello},
    {"auth",
     -2,
     true,
     {"noscript", "loading", "stale", "fast"},
     0,
     0,
     0,
     &s::cmd_auth},
    {"ping", -1, false, {"fast"}, 0, 0, 0, &s::cmd_ping},
    {"echo", 2, false, {"fast"}, 0, 0, 0, &s::cmd_echo},
    {"quit",
     -1,
     true,
     {"noscript", "loading", "stale", "fast"},
     0,
     0,
     0,
     &s::cmd_quit},
    {"select", 2, false, {"loading", "stale", "fast"}, 0, 0, 0, &s::cmd_select},
    {"client",
     -2,
     false,
     {"noscript", "loading", "stale"},
     0,
     0,
     0,
     &s::cmd_client},
    // keys
    {"get", 2, false, {"readonly", "fast"}, 1, 1, 1, &s::cmd_get},
    {"set", -3, false, {"write", "denyoom"}, 1, 1, 1, &s::cmd_set},
    {"mget", -2, false, {"readonly", "fast"}, 1, -1, 1, &s::cmd_mget},
    {"mset", -3, false, {"write", "denyoom"}, 1, -1, 2, &s::cmd_mset},
    {"del", -2, false, {"write"}, 1, -1, 1, &s::cmd_del},
    {"unlink", -2, false, {"write", "fast"}, 1, -1, 1, &s::cmd_del},
    {"exists", -2, false, {"readonly", "fast"}, 1, -1, 1, &s::cmd_exists},
    {"expire", -3, false, {"write", "fast"}, 1, 1, 1, &s::cmd_expire},
    {"pexpire", -3, false, {"write", "fast"}, 1, 1, 1, &s::cmd_pexpire},
    {"ttl", 2, false, {"readonly", "fast"}, 1, 1, 1, &s::cmd_ttl},
    {"pttl", 2, false, {"readonly", "fast"}, 1, 1, 1, &s::cmd_pttl},
    {"persist", 2, false, {"write", "fast"}, 1, 1, 1, &s::cmd_persist},
    {"dbsize", 1, false, {"readonly", "fast"}, 0, 0, 0, &s::cmd_dbsize},
    {"scan", -2, false, {"readonly"}, 0, 0, 0, &s::cmd_scan},
    // pub/sub (resp_session_pubsub.cpp)
    {"subscribe",
     -2,
     false,
     {"pubsub", "noscript", "loading", "stale"},
     0,
     0,
     0,
     &s::cmd_subscribe},
    {"unsubscribe",
     -1,
     false,
     {"pubsub", "noscript", "loading", "stale"},
     0,
     0,
     0,
     &s::cmd_unsubscribe},
    {"psubscribe",
     -2,
     false,
     {"pubsub", "noscript", "loading", "stale"},
     0,
     0,
     0,
     &s::cmd_psubscribe},
    {"punsubscribe",
     -1,
     false,
     {"pubsub", "noscript", "loading", "stale"},
     0,
     0,
     0,
     &s::cmd_punsubscribe},
    {"publish",
     3,
     false,
     {"pubsub", "loading", "stale", "fast"},
     0,
     0,
     0,
     &s::cmd_publish},
    // introspection
    {"command", -1, false, {"loading", "stale"}, 0, 0, 0, &s::cmd_command},
    {"config",
     -2,
     false,
     {"admin", "noscript", "loading", "stale"},
     0,
     0,
     0,
     &s::cmd_config},
    {"info", -1, false, {"loading", "stale"}, 0, 0, 0, &s::cmd_info},
    // cachebus's own (resp_cachebus_commands.cpp)
    {"cb.fetch", -2, false, {"write"}, 1, 1, 1, &s::cmd_cb_fetch},
    {"cb.set", -3, false, {"write", "denyoom"}, 1, 1, 1, &s::cmd_cb_set},
    {"cb.invalidate", -2, false, {"write"}, 1, -1, 1, &s::cmd_cb_invalidate},
    {"cb.invalidate.tag",
     2,
     false,
     {"write"},
     0,
     0,
     0,
     &s::cmd_cb_invalidate_tag},
    {"cb.invalidate.pattern",
     2,
     false,
     {"write"},
     0,
     0,
     0,
     &s::cmd_cb_invalidate_pattern},
    {"cb.resource", -3, false, {"write"}, 0, 0, 0, &s::cmd_cb_resource},
    {"cb.depend", 3, false, {"write"}, 1, 2, 1, &s::cmd_cb_depend},
    {"cb.update", -5, false, {"write"}, 0, 0, 0, &s::cmd_cb_update},
    {"cb.queue", -5, false, {"write"}, 0, 0, 0, &s::cmd_cb_queue},
    {"cb.record", 3, false, {"readonly"}, 0, 0, 0, &s::cmd_cb_record},
  };
  return table;
}

const resp_command* find_resp_command(std::string_view name) {
  // Keyed by the table's own names; looked up with the name lowered into a
  // stack buffer: no allocation per command.
  static const auto index = [] {
    std::unordered_map<std::string_view, const resp_command*> m;
    for (auto& c : resp_commands())
      m.emplace(c.name, &c);
    return m;
  }();
  char lower[32];
  if (name.size() > sizeof lower)
    return nullptr;
  for (size_t i = 0; i < name.size(); ++i)
    lower[i]
      = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  auto i = index.find(std::string_view{lower, name.size()});
  return i == index.end() ? nullptr : i->second;
}

std::string resp_lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool resp_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

bool valid_client_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > ' ' && c <= '~'; });
}

} // namespace cachebus
