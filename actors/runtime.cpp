#include "cachebus/actors/runtime.hpp"

#include "cachebus/actors/error.hpp"

namespace cachebus {

namespace {

caf::error parse_error(caf::actor_system_config& cfg, const caf::error& err) {
  return make_error(errc::invalid_config,
                    "cannot parse configuration: " + cfg.render(err));
}

} // namespace

caf::expected<std::unique_ptr<runtime>> runtime::start(int argc,
                                                       char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i)
    args.emplace_back(argv[i]);
  return start(std::move(args));
}

caf::expected<std::unique_ptr<runtime>>
runtime::start(std::vector<std::string> args) {
  // CAF's --help lists only its "global" group; the cachebus.* options live
  // in their own groups, which --long-help shows.
  for (auto& a : args)
    if (a == "--help" || a == "-h" || a == "-?")
      a = "--long-help";
  auto cfg = std::make_unique<cachebus::config>();
  if (auto err = cfg->parse(std::move(args)))
    return parse_error(*cfg, err);
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
  auto opts = node_options::from(*cfg);
  if (!opts)
    return std::move(opts.error());
  rt->cfg_ = std::move(cfg);
  rt->sys_ = std::make_unique<caf::actor_system>(*rt->cfg_);
  auto n = cachebus::node::start(*rt->sys_);
  if (!n)
    return std::move(n.error());
  rt->node_ = std::move(*n);
  return rt;
}

runtime::~runtime() {
  // Members die in reverse order anyway; spelled out because the order is the
  // contract: node, then system, then config.
  node_.reset();
  sys_.reset();
  cfg_.reset();
}

} // namespace cachebus
