// The commands a resp_session runs: name, arity, whether they run before
// AUTH, their keys' positions and flags (what COMMAND reports), and the
// handler. One table (resp_command_table.cpp) is the whole list; COMMAND,
// COMMAND COUNT and dispatch read it. Immutable after first use; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cachebus {

class resp_session;

struct resp_command {
  using handler = void (resp_session::*)(std::vector<std::string>&);
  /// Lower case, as Redis reports it.
  const char* name;
  /// Redis's convention: N exactly N arguments (the name counts), -N at
  /// least N.
  int arity;
  /// Runs before AUTH (HELLO, AUTH, QUIT).
  bool no_auth;
  /// COMMAND's flags, e.g. {"readonly", "fast"}.
  std::vector<const char*> flags;
  /// Positions of the first and last key and the step between keys (0 0 0:
  /// none; last -1: through the last argument).
  int first_key;
  int last_key;
  int key_step;
  handler run;
};

/// Every command, in the order COMMAND lists them.
const std::vector<resp_command>& resp_commands();

/// The command named `name` (any case), or nullptr.
const resp_command* find_resp_command(std::string_view name);

/// HELLO's server and version fields and INFO's redis_version: the Redis
/// release whose commands and replies cachebus follows (not a Redis build).
inline constexpr const char* resp_server_name = "cachebus";
inline constexpr const char* resp_redis_version = "7.0.0";

/// `s` in ASCII lower case (command names and options are case-blind).
std::string resp_lower(std::string_view s);

/// True if `a` equals `b` but for ASCII case.
bool resp_iequals(std::string_view a, std::string_view b);

/// Redis's rule for CLIENT SETNAME: printable ASCII without spaces.
bool valid_client_name(std::string_view name);

} // namespace cachebus
