// What the multi-process tests ask of cachebus-node processes, as plain calls
// from the test thread: the command line of a test node (fast heartbeats, one
// shard, one scheduler thread), requests to a node's frontend with errors
// turned into readable strings, and a scrape of its /metrics with curl.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_frontend.hpp"

namespace cachebus::test {

/// The arguments of test node `name`, joining through 127.0.0.1:seed_port
/// unless it is 0, followed by `extra`.
inline std::vector<std::string> node_args(const std::string& name,
                                          uint16_t seed_port,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> args{
    "--cachebus.name=" + name, "--cachebus.heartbeat-interval=100ms",
    "--cachebus.peer-timeout=1s", "--cachebus.shards=1",
    "--scheduler.max-threads=1"};
  if (seed_port != 0)
    args.push_back("--cachebus.seeds=[\"127.0.0.1:" + std::to_string(seed_port)
                   + "\"]");
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

/// The value of `key` on the node behind `fe`, or "<miss>" / "<error: ...>".
inline std::string get_on(caf::actor_system& sys, const node_frontend_actor& fe,
                          const std::string& key) {
  caf::scoped_actor self{sys};
  std::string out;
  self->request(fe, std::chrono::seconds(5), caf::get_atom_v, key)
    .receive([&](const std::string& v) { out = v; },
             [&](caf::error& err) {
               out = is(err, errc::miss) ? "<miss>"
                                         : "<error: " + describe(err) + ">";
             });
  return out;
}

/// Sets `key` to `value` on the node behind `fe` (the test fails if it
/// cannot).
inline void set_on(caf::actor_system& sys, const node_frontend_actor& fe,
                   const std::string& key, const std::string& value) {
  caf::scoped_actor self{sys};
  put_request req;
  req.key = key;
  req.value = value;
  std::string why = "no answer";
  self->request(fe, std::chrono::seconds(5), caf::put_atom_v, req)
    .receive([&](uint64_t) { why.clear(); },
             [&](caf::error& err) { why = describe(err); });
  INFO("set " << key << ": " << why);
  REQUIRE(why.empty());
}

/// Sends an invalidation (invalidated, keys_invalidated, ...) to the node
/// behind `fe`; returns how many entries it removed there.
template <class Event>
uint64_t invalidate_on(caf::actor_system& sys, const node_frontend_actor& fe,
                       Event ev) {
  caf::scoped_actor self{sys};
  uint64_t removed = 0;
  self->request(fe, std::chrono::seconds(5), std::move(ev))
    .receive([&](uint64_t n) { removed = n; },
             [](caf::error& err) { FAIL(describe(err)); });
  return removed;
}

/// Runs `cmd` with the shell; returns (its exit status, or -1 if it did
/// not exit normally, and its standard output).
inline std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string out;
  int status = -1;
  if (auto* f = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      out.append(buf, n);
    status = pclose(f);
  }
  return {status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

/// GET http://127.0.0.1:port/metrics with curl; empty if that fails.
inline std::string scrape_metrics(uint16_t port) {
  return run_command("curl -sf --max-time 10 http://127.0.0.1:"
                     + std::to_string(port) + "/metrics")
    .second;
}

} // namespace cachebus::test
