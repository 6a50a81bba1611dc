#include "cachebus/actors/node/runtime.hpp"

#include <chrono>
#include <optional>

#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/flight/store_loader.hpp"
#include "cachebus/actors/node/cluster_options.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_transport.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/tls_setup.hpp"
#include "cachebus/actors/resp/resp_options.hpp"
#include "cachebus/actors/writepaths/store_setup.hpp"
#include "cachebus/actors/writepaths/write_back_options.hpp"
#include "cachebus/stores/postgres_store.hpp"

namespace cachebus {

namespace {

// What start() refuses before it opens or spawns anything, except the
// store itself (opened by open_store) and TLS (enable_tls loads the module
// too).
// cachebus.change-feed-consumer and -retention (an empty consumer: the
// node's name, filled in by spawn_change_feed).
caf::expected<stores::change_feed_options>
change_feed_options_from(const caf::actor_system_config& cfg) {
  stores::change_feed_options opts;
  if (auto err
      = read_option(cfg, "cachebus.change-feed-consumer", opts.consumer))
    return err;
  if (opts.consumer.size() > 200)
    return make_error(errc::invalid_config,
                      "cachebus.change-feed-consumer must have at most 200 "
                      "bytes");
  caf::timespan retention = std::chrono::minutes(15);
  if (auto err = read_option(cfg, "cachebus.change-feed-retention", retention))
    return err;
  if (retention < std::chrono::seconds(1))
    return make_error(errc::invalid_config,
                      "cachebus.change-feed-retention must be at least 1s");
  opts.retention
    = std::chrono::duration_cast<std::chrono::milliseconds>(retention);
  return opts;
}

caf::error check_before_start(const caf::actor_system_config& cfg) {
  if (auto opts = node_options::from(cfg); !opts)
    return std::move(opts.error());
  if (auto t = transport_options_from(cfg); !t)
    return std::move(t.error());
  if (auto r = resp_options_from(cfg); !r)
    return std::move(r.error());
  if (auto f = change_feed_options_from(cfg); !f)
    return std::move(f.error());
  // A journal without a store would turn write-back off without a word.
  auto wb = write_back_options::from(cfg);
  if (!wb)
    return std::move(wb.error());
  std::string store_text;
  if (auto err = read_option(cfg, "cachebus.store", store_text))
    return err;
  if (!wb->journal.empty() && store_text.empty())
    return make_error(errc::invalid_config,
                      "cachebus.write-back.journal is set (\"" + wb->journal
                        + "\") but cachebus.store is not: write-back writes "
                          "into a system of record; set cachebus.store or "
                          "remove the journal");
  bool cluster = false;
  if (auto err = read_cluster_flag(cfg, cluster))
    return err;
  if (cluster)
    if (auto b = cluster_options_from(cfg); !b)
      return std::move(b.error());
  return {};
}

} // namespace

caf::error runtime::check(std::vector<std::string> args, runtime_setup setup) {
  cachebus::config cfg;
  if (setup.declare_options)
    cfg.declare_options(setup.declare_options);
  if (auto err = cfg.parse_checked(std::move(args)))
    return err;
  if (auto err = check_before_start(cfg))
    return err;
  if (tls_enabled(cfg))
    if (auto err = check_tls(cfg))
      return err;
  std::string rules_path;
  if (auto err = read_option(cfg, "cachebus.rules", rules_path))
    return err;
  std::optional<rules> rs;
  if (!rules_path.empty()) {
    auto loaded = rules::load(rules_path);
    if (!loaded)
      return std::move(loaded.error());
    if (auto err = loaded->validate())
      return err;
    rs = std::move(*loaded);
  }
  std::string store_text;
  if (auto err = read_option(cfg, "cachebus.store", store_text))
    return err;
  if (store_text.empty())
    return {};
  if (auto spec = parse_store_spec(store_text); !spec)
    return std::move(spec.error());
  if (!rs)
    return make_error(errc::invalid_config,
                      "cachebus.store needs cachebus.rules: the rules file "
                      "declares the stored resources (`fields = ...`) and "
                      "their keys");
  return check_schema(*rs);
}

caf::expected<std::unique_ptr<runtime>> runtime::start(int argc, char** argv,
                                                       runtime_setup setup) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
    args.emplace_back(argv[i]);
  return start(std::move(args), std::move(setup));
}

caf::expected<std::unique_ptr<runtime>>
runtime::start(std::vector<std::string> args, runtime_setup setup) {
  // CAF's --help lists only its "global" group; the cachebus.* options live
  // in their own groups, which --long-help shows.
  for (auto& a : args)
    if (a == "--help" || a == "-h" || a == "-?")
      a = "--long-help";
  auto cfg = std::make_unique<cachebus::config>();
  if (setup.declare_options)
    cfg->declare_options(setup.declare_options);
  if (auto err = cfg->parse_checked(std::move(args)))
    return err;
  return finish(std::move(cfg));
}

caf::expected<std::unique_ptr<runtime>>
runtime::finish(std::unique_ptr<cachebus::config> cfg) {
  std::unique_ptr<runtime> rt{new runtime};
  if (cfg->cli_helptext_printed) {
    rt->cfg_ = std::move(cfg);
    return rt;
  }
  // Validate before spawning anything, so a bad option starts nothing.
  if (auto err = check_before_start(*cfg))
    return err;
  // CAF's OpenSSL module only when cachebus.tls asks for it (it costs a
  // thread), and only with usable credentials (CAF's own checks throw).
  if (auto err = enable_tls(*cfg))
    return err;
  // The system of record (cachebus.store), checked and opened before the
  // actor system starts.
  auto store = open_store(*cfg);
  if (!store)
    return std::move(store.error());
  rt->cfg_ = std::move(cfg);
  rt->sys_ = std::make_unique<caf::actor_system>(*rt->cfg_);
  node_setup setup;
  store_spec spec;
  if (*store) {
    spec = (*store)->spec;
    rt->store_ = (*store)->store;
    setup.rules = (*store)->rules;
    rt->pending_ = std::make_shared<pending_writes>();
    rt->loader_ = spawn_store_loader(*rt->sys_, rt->store_,
                                     std::move((*store)->rules), rt->pending_);
    setup.loader = rt->loader_;
    setup.pending = rt->pending_;
  }
  auto n = cachebus::node::start(*rt->sys_, std::move(setup));
  if (!n)
    return std::move(n.error()); // ~runtime ends the loader
  rt->node_ = std::move(*n);
  if (rt->store_) {
    auto rc = record_cache::start(*rt->node_, rt->store_, rt->pending_);
    if (!rc)
      return std::move(rc.error());
    rt->records_ = std::move(*rc);
    if (auto err = rt->start_change_feed(spec))
      return err;
  }
  return rt;
}

caf::error runtime::start_change_feed(const store_spec& spec) {
  bool wanted = true;
  if (auto err = read_option(*cfg_, "cachebus.change-feed", wanted))
    return err;
  if (spec.kind != store_spec::kind_t::postgresql || !wanted)
    return {};
  auto* pg = dynamic_cast<stores::postgres_store*>(store_.get());
  if (!pg)
    return make_error(errc::invalid_config,
                      "cachebus.store names PostgreSQL, but the store opened "
                      "is not a postgres_store");
  if (auto st = pg->install_change_feed(); !st.ok())
    return make_error(errc::store_unavailable,
                      "change feed: cannot install its trigger: "
                        + st.to_string());
  auto opts = change_feed_options_from(*cfg_);
  if (!opts)
    return std::move(opts.error());
  auto feed = spawn_change_feed(*node_, spec.target, std::move(*opts));
  if (!feed)
    return std::move(feed.error());
  feed_ = std::move(*feed);
  return {};
}

runtime::~runtime() {
  // Members die in reverse order anyway; spelled out because the order is the
  // contract: change feed (it calls into the node: gone before it), record
  // cache (its final flush), node, store loader, system, config.
  if (feed_) {
    caf::scoped_actor self{*sys_};
    self->monitor(feed_);
    caf::anon_send_exit(feed_, caf::exit_reason::user_shutdown);
    // It exits after its current poll (at most 100 ms).
    self->receive([](const caf::down_msg&) {},
                  caf::after(std::chrono::seconds(10)) >> [] {});
    feed_ = nullptr;
  }
  records_.reset();
  node_.reset();
  if (loader_)
    caf::anon_send_exit(loader_, caf::exit_reason::user_shutdown);
  loader_ = nullptr;
  sys_.reset();
  cfg_.reset();
}

} // namespace cachebus
