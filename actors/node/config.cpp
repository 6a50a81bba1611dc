#include "cachebus/actors/node/config.hpp"

#include "cachebus/actors/node/node_transport.hpp"

#include <algorithm>
#include <thread>

#include "caf/io/middleman.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/options.hpp"
#include "cachebus/actors/node/type_ids.hpp"
#include "cachebus/actors/resp/resp_options.hpp"
#include "cachebus/bus/type_ids.hpp"

namespace cachebus {

config::config() {
  // The middleman carries the cluster bridge; loaded always so that any
  // node can join a cluster.
  load<caf::io::middleman>();
  caf::config_option_adder{custom_options_, "cachebus"}
    .add<size_t>("shards", "number of cache shards (default: core count)")
    .add<caf::timespan>("default-ttl", "TTL of writes that name none (5min)")
    .add<caf::timespan>("max-ttl", "longest TTL a write may ask for (365d)")
    .add<size_t>("max-entries", "capacity in entries, whole node (1000000)")
    .add<size_t>("max-bytes", "capacity in bytes, whole node (1 GiB)")
    .add<size_t>("max-key-size", "largest key in bytes (1024)")
    .add<size_t>("max-value-size", "largest value in bytes (8 MiB)")
    .add<caf::timespan>("sweep-interval", "period of the expiry sweep (1s)")
    .add<size_t>("sweep-batch", "entries freed per sweep step (1024)")
    .add<size_t>("max-tags", "most tags per entry (32)")
    .add<bool>("ordered-index", "keep the ordered key index that serves "
                                "pattern invalidation (true)")
    .add<std::string>("name", "node name, the origin of its events "
                              "(node-<pid>)")
    .add<std::string>("rules", "file of central invalidation rules")
    .add<std::string>("store", "system of record: sqlite:PATH or "
                               "postgresql:CONNINFO (or a postgresql:// "
                               "URI); its resources are the rules with a "
                               "`fields` line (default: none)")
    .add<bool>("change-feed", "with a postgresql store, invalidate from "
                              "the database's change feed, rows changed by "
                              "any client included (true)")
    .add<std::string>("change-feed-consumer",
                      "name the change feed's position is kept under in "
                      "the database; a node restarted under it resumes "
                      "where it stopped (the node's name)")
    .add<caf::timespan>("change-feed-retention",
                        "how long the database keeps changes a consumer "
                        "has not read, and a silent consumer's position "
                        "(15min; at least 1s)")
    .add<caf::timespan>("lease-timeout",
                        "longest one loader may hold a key (5s)")
    .add<size_t>("max-waiters", "most callers waiting for one key (10000)")
    .add<bool>("cluster", "link this node's bus to other nodes (false)")
    .add<bool>("tls", "cluster (and cachebus-node's client port) over TLS "
                      "only; needs openssl.certificate, openssl.key and "
                      "openssl.cafile or openssl.capath (false)")
    .add<std::string>("listen-host", "cluster listen address (127.0.0.1)")
    .add<uint16_t>("listen-port", "cluster listen port (0: any free port)")
    .add<std::vector<std::string>>("seeds", "host:port of cluster members to "
                                            "join through")
    .add<caf::timespan>("heartbeat-interval",
                        "cluster heartbeat period (500ms)")
    .add<caf::timespan>("peer-timeout", "a silent peer is lost after this (3s)")
    .add<bool>("replay", "fetch a peer's missed events from its log instead "
                         "of dropping the cache (true)")
    .add<size_t>("replay-log-events", "own events kept for peers' replays "
                                      "(65536; 1 to 16777216)")
    .add<size_t>("replay-log-bytes", "bytes of own events kept for peers' "
                                     "replays (16 MiB; 64 KiB to 1 GiB)")
    .add<caf::timespan>("replay-timeout",
                        "bound on one replay; past it the cache is dropped "
                        "(2s)")
    .add<caf::timespan>("replay-gone-after",
                        "a peer lost this long counts as gone: the cache is "
                        "dropped (10s)")
    .add<std::string>("loader-error",
                      "what waiters get when a load fails: propagate (the "
                      "error) or retry (one of them loads)")
    .add<caf::timespan>("request-timeout",
                        "bound on facade calls waiting for an actor (10s)")
    .add<size_t>("max-queued-removals",
                 "removal notifications awaiting delivery; more are dropped "
                 "(65536)")
    .add<size_t>("async-loaders", "threads that run fetch_async's loaders (4)")
    .add<size_t>("max-queued-async-loads",
                 "fetch_async loads waiting for a thread; more get "
                 "backpressure (1024)");
  declare_transport_options(custom_options_);
  declare_resp_options(custom_options_);
  caf::config_option_adder{custom_options_, "cachebus.write-back"}
    .add<std::string>("journal", "journal path; empty: write-back off")
    .add<std::string>("fsync", "always | batch | never (always)")
    .add<caf::timespan>("fsync-interval", "batch: longest delay before an "
                                          "fsync (10ms)")
    .add<size_t>("fsync-records", "batch: most unsynced appends (512)")
    .add<caf::timespan>("flush-interval", "time between flushes (1s)")
    .add<size_t>("max-batch", "records per transaction (10000)")
    .add<size_t>("max-queue", "queued records before backpressure (100000)")
    .add<std::string>("backpressure", "error | wait (error)")
    .add<caf::timespan>("backpressure-timeout", "wait mode: longest wait (1s)")
    .add<caf::timespan>("retry-min", "first retry backoff (50ms)")
    .add<caf::timespan>("retry-max", "retry backoff cap (5s)")
    .add<size_t>("compact-bytes", "journal size that triggers a rewrite "
                                  "(64 MiB)")
    .add<caf::timespan>("shutdown-timeout", "bound on the final flush (10s)");
  prepare(*this);
}

void config::declare_options(const declare_options_fn& fn) {
  auto before = custom_options_.size();
  fn(custom_options_);
  size_t i = 0;
  for (auto& opt : custom_options_) {
    if (i++ < before)
      continue;
    std::string category{opt.category().data(), opt.category().size()};
    if (std::find(checked_categories_.begin(), checked_categories_.end(),
                  category)
        == checked_categories_.end())
      checked_categories_.push_back(std::move(category));
  }
}

caf::error config::check_sources(const std::vector<std::string>& args) const {
  if (auto err = check_arguments(args, custom_options_))
    return err;
  // The file parse() reads: --config-file=PATH, else config_file_path.
  auto path = config_file_path.empty() ? std::string{"caf-application.ini"}
                                       : config_file_path;
  for (auto& a : args)
    if (a.rfind("--config-file=", 0) == 0)
      path = a.substr(14);
  return check_config_file(path, custom_options_, checked_categories_);
}

caf::error config::parse_checked(std::vector<std::string> args) {
  if (auto err = check_sources(args))
    return err;
  // Boolean arguments with a value, set after CAF parsed the rest.
  std::vector<std::pair<std::string, bool>> bools;
  for (auto i = args.begin(); i != args.end();) {
    auto eq = i->find('=');
    if (i->rfind("--", 0) != 0 || eq == std::string::npos) {
      ++i;
      continue;
    }
    auto name = i->substr(2, eq - 2);
    auto value = i->substr(eq + 1);
    auto* opt = custom_options_.qualified_name_lookup(name);
    if (!opt || !opt->is_flag() || (value != "true" && value != "false")) {
      ++i;
      continue;
    }
    bools.emplace_back(std::move(name), value == "true");
    i = args.erase(i);
  }
  auto all = args;
  if (auto err = parse(std::move(args)))
    return explain_parse_error(all, err);
  for (auto& [name, value] : bools)
    set(name, value);
  return {};
}

caf::error config::explain_parse_error(const std::vector<std::string>& args,
                                       const caf::error& parse_error) const {
  if (auto err = explain_arguments(args, custom_options_))
    return err;
  return make_error(errc::invalid_config,
                    "cannot parse configuration: " + render(parse_error));
}

void prepare(caf::actor_system_config& cfg) {
  add_bus_types(cfg);
  cfg.add_message_types<caf::id_block::cachebus_actors>();
  add_error_category(cfg);
  // An idle CAF worker spends ~50 ms in a "moderate" phase of 50 us sleeps
  // between polls; a message that arrives then waits for the next poll, on
  // both sides of a round trip. Skipping the phase (idle workers block on
  // their condition variable, which enqueue signals) cut a middleman round
  // trip here from ~250 us to ~80 us (bench: cluster_invalidation).
  if (!caf::get_if<size_t>(&cfg, "work-stealing.moderate-poll-attempts"))
    cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  if (!caf::get_if<size_t>(&cfg, "scheduler.max-threads")) {
    auto cores = std::max(1u, std::thread::hardware_concurrency());
    cfg.set("scheduler.max-threads", static_cast<size_t>(cores));
  }
}

} // namespace cachebus
