// COMMAND, CONFIG GET and INFO: what clients and redis-cli read at connect,
// from the command table, the node's options and its counters.
#include <algorithm>
#include <cctype>
#include <unistd.h>
#include <utility>

#include "cachebus/actors/invalidation/glob.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

namespace cachebus {

namespace {

std::string human(uint64_t bytes) {
  const char* units[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f%s" : "%.2f%s", v, units[u]);
  return buf;
}

} // namespace

void resp_session::command_info(const resp_command& c) {
  writer_.array(10);
  writer_.bulk(c.name);
  writer_.integer(c.arity);
  writer_.set(c.flags.size());
  for (auto* f : c.flags)
    writer_.simple(f);
  writer_.integer(c.first_key);
  writer_.integer(c.last_key);
  writer_.integer(c.key_step);
  writer_.set(0);   // ACL categories
  writer_.set(0);   // tips
  writer_.array(0); // key specs
  writer_.array(0); // subcommands
}

void resp_session::cmd_command(args_t& a) {
  auto& all = resp_commands();
  if (a.size() == 1) {
    writer_.array(all.size());
    for (auto& c : all)
      command_info(c);
    return;
  }
  auto sub = resp_lower(a[1]);
  if (sub == "count" && a.size() == 2) {
    writer_.integer(static_cast<int64_t>(all.size()));
  } else if (sub == "docs") {
    // No documentation is served; clients fall back to their own.
    writer_.map(0);
  } else if (sub == "info") {
    if (a.size() == 2) {
      writer_.array(all.size());
      for (auto& c : all)
        command_info(c);
      return;
    }
    writer_.array(a.size() - 2);
    for (size_t i = 2; i < a.size(); ++i)
      if (auto* c = find_resp_command(a[i]))
        command_info(*c);
      else
        writer_.null_array();
  } else if (sub == "list" && a.size() == 2) {
    writer_.array(all.size());
    for (auto& c : all)
      writer_.bulk(c.name);
  } else if (sub == "count" || sub == "list") {
    wrong_arity("command|" + sub);
  } else {
    writer_.error("ERR unknown subcommand '" + a[1].substr(0, 128)
                  + "'. Try COMMAND HELP.");
  }
}

void resp_session::cmd_config(args_t& a) {
  auto sub = resp_lower(a[1]);
  if (sub == "set") {
    writer_.error("ERR CONFIG SET is not supported: a cachebus node reads "
                  "its configuration when it starts (cachebus.* options)");
    return;
  }
  if (sub != "get") {
    writer_.error("ERR unknown subcommand '" + a[1].substr(0, 128)
                  + "'. Try CONFIG HELP.");
    return;
  }
  if (a.size() < 3) {
    wrong_arity("config|get");
    return;
  }
  auto& o = node_.options();
  auto secs
    = std::chrono::duration_cast<std::chrono::seconds>(opts_.idle_timeout)
        .count();
  // What clients read at connect; the password is never shown.
  const std::pair<const char*, std::string> params[] = {
    {"appendonly", "no"},
    {"client-query-buffer-limit",
     std::to_string(opts_.limits.max_request_bytes)},
    {"cluster-enabled", "no"},
    {"databases", "1"},
    {"maxmemory", std::to_string(o.max_bytes)},
    {"maxmemory-policy", "allkeys-sieve"},
    {"port", std::to_string(opts_.port)},
    {"proto-max-bulk-len", std::to_string(opts_.limits.max_bulk_length)},
    {"save", ""},
    {"timeout", std::to_string(secs)},
  };
  std::vector<std::pair<const char*, const std::string*>> hits;
  for (auto& [name, value] : params) {
    for (size_t i = 2; i < a.size(); ++i)
      if (glob_match(resp_lower(a[i]), name)) {
        hits.emplace_back(name, &value);
        break;
      }
  }
  writer_.map(hits.size());
  for (auto& [name, value] : hits) {
    writer_.bulk(name);
    writer_.bulk(*value);
  }
}

void resp_session::cmd_info(args_t& a) {
  std::vector<std::string> wanted;
  for (size_t i = 1; i < a.size(); ++i)
    wanted.push_back(resp_lower(a[i]));
  auto want = [&](const char* section) {
    if (wanted.empty())
      return true;
    for (auto& w : wanted)
      if (w == section || w == "all" || w == "everything" || w == "default")
        return true;
    return false;
  };
  auto s = node_.stats().total;
  auto& o = node_.options();
  std::string t;
  auto line = [&](const char* k, const std::string& v) {
    t += k;
    t += ':';
    t += v;
    t += "\r\n";
  };
  auto section = [&](const char* title) {
    if (!t.empty())
      t += "\r\n";
    t += "# ";
    t += title;
    t += "\r\n";
  };
  if (want("server")) {
    section("Server");
    line("redis_version", resp_redis_version);
    line("cachebus_version", "0.1.0");
    line("redis_mode", "standalone");
    line("os", "Linux");
    line("arch_bits", std::to_string(sizeof(void*) * 8));
    line("process_id", std::to_string(::getpid()));
    line("tcp_port", std::to_string(opts_.port));
    auto up = clients_->uptime_seconds();
    line("uptime_in_seconds", std::to_string(up));
    line("uptime_in_days", std::to_string(up / 86400));
  }
  if (want("clients")) {
    section("Clients");
    line("connected_clients", std::to_string(clients_->connected()));
    line("blocked_clients", "0");
  }
  if (want("memory")) {
    section("Memory");
    line("used_memory", std::to_string(s.bytes));
    line("used_memory_human", human(s.bytes));
    line("maxmemory", std::to_string(o.max_bytes));
    line("maxmemory_human", human(o.max_bytes));
    line("maxmemory_policy", "allkeys-sieve");
  }
  if (want("persistence")) {
    section("Persistence");
    line("loading", "0");
    line("async_loading", "0");
    line("rdb_changes_since_last_save", "0");
    line("aof_enabled", "0");
  }
  if (want("stats")) {
    section("Stats");
    line("total_connections_received",
         std::to_string(clients_->connections_received()));
    line("total_commands_processed",
         std::to_string(clients_->commands_processed()));
    line("rejected_connections", std::to_string(clients_->rejected()));
    line("expired_keys", std::to_string(s.expirations));
    line("evicted_keys", std::to_string(s.evictions));
    line("keyspace_hits", std::to_string(s.hits));
    line("keyspace_misses", std::to_string(s.misses));
  }
  if (want("replication")) {
    section("Replication");
    line("role", "master");
    line("connected_slaves", "0");
  }
  if (want("keyspace")) {
    section("Keyspace");
    // Every entry expires unless it was made permanent by name; the table
    // does not count those apart, so expires= is every key.
    if (s.entries > 0)
      line("db0", "keys=" + std::to_string(s.entries)
                    + ",expires=" + std::to_string(s.entries) + ",avg_ttl=0");
  }
  writer_.verbatim("txt", t);
}

} // namespace cachebus
