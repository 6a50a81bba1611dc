// The node's cache-aside path: fetch with a loader on the caller's thread
// (single flight through the lock manager's acquire protocol, XFetch,
// stale-while-revalidate, stale-if-error) and fetch with the node loader
// (the lock manager's actor path, single flight cluster-wide). See node.hpp
// and lock_manager.hpp for the contracts.
#include "cachebus/actors/node/node_fetch.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/node_state.hpp"

#include "caf/send.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "cachebus/actors/cache/checked_put.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/thread_requester.hpp"

namespace cachebus {

namespace {

// XFetch: refresh early with a probability that grows as expiry nears and
// with how long the value took to load.
bool xfetch_due(const shard_table::lookup_result& lk, double beta,
                int64_t now) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> u{std::numeric_limits<double>::min(),
                                           1.0};
  auto gap = -static_cast<double>(lk.load_ns) * beta * std::log(u(rng));
  return static_cast<double>(now) + gap >= static_cast<double>(lk.expires_ns);
}

caf::expected<loaded> call_loader(const loader_fn& loader,
                                  const std::string& key) {
  try {
    return loader(key);
  } catch (const std::exception& ex) {
    return make_error(errc::load_failed,
                      "loader of \"" + key + "\" threw: " + ex.what());
  } catch (...) {
    return make_error(errc::load_failed,
                      "loader of \"" + key + "\" threw a non-exception");
  }
}

// The keys this thread is loading (inside a loader_fn), per node. A fetch of
// one of them from inside its own loader would wait for itself until the
// lease expires; it fails at once instead. Empty on every thread that is not
// inside a loader, so the check costs a miss nothing.
struct loading_key {
  const node_state* node;
  const std::string* key;
};

thread_local std::vector<loading_key> loading_here;

// Marks `key` as loaded by this thread while it lives.
class loading_scope {
 public:
  loading_scope(const node_state& st, const std::string& key) {
    loading_here.push_back({&st, &key});
  }
  ~loading_scope() { loading_here.pop_back(); }
  loading_scope(const loading_scope&) = delete;
  loading_scope& operator=(const loading_scope&) = delete;
};

caf::error check_not_loading(const node_state& st, const std::string& key) {
  for (auto& x : loading_here)
    if (x.node == &st && *x.key == key)
      return make_error(errc::invalid_argument,
                        "fetch of \"" + key
                          + "\" from inside its own loader (same thread): it "
                            "would wait for itself until "
                            "cachebus.lease-timeout; a loader must not fetch "
                            "the key it loads");
  return {};
}

} // namespace

caf::error waited_too_long(caf::error err, const std::string& key) {
  if (err == caf::sec::request_timeout)
    return make_error(errc::timeout, "waited longer than "
                                     "cachebus.request-timeout for \""
                                       + key + "\"");
  return err;
}

caf::expected<std::string> load_as_owner(node_state& st, const std::string& key,
                                         acquire_reply grant,
                                         const loader_fn& loader,
                                         const fetch_options& fo,
                                         const shard_table::lookup_result& old,
                                         const std::string& old_value) {
  auto& table = st.cache->table_for(key);
  for (;;) {
    auto t0 = st.clock->now_ns();
    auto x = [&] {
      loading_scope loading{st, key};
      return call_loader(loader, key);
    }();
    auto t1 = st.clock->now_ns();
    caf::expected<bool> installed{false};
    if (x) {
      installed
        = checked_fill(table, st.opts, t1, key, grant.fill, *x, fo, t1 - t0);
      if (!installed)
        x = std::move(installed.error());
    }
    if (!x) {
      table.cancel_fill(key, grant.fill);
      if (old.state != shard_table::lookup_result::missing
          && t1 < old.expires_ns + fo.stale_if_error.count()) {
        // Stale-if-error: the old value serves this caller for its window,
        // and the waiters too while the table still holds it (an
        // invalidation may have removed it since this caller looked).
        caf::anon_send(st.lock_manager, fail_atom_v, key, grant.token,
                       x.error(), old.version);
        return old_value;
      }
      caf::anon_send(st.lock_manager, fail_atom_v, key, grant.token, x.error());
      return std::move(x.error());
    }
    if (*installed) {
      caf::anon_send(st.lock_manager, release_atom_v, key, grant.token,
                     x->value);
      return std::move(x->value);
    }
    // A write or an invalidation reached the key while we loaded: the lock
    // manager says whether we load again or return a value (the one a write
    // left, or ours: this caller asked before the write, so ours is not
    // stale for it).
    thread_requester self{st.sys};
    auto next
      = self.request<acquire_reply>(st.lock_manager, st.opts.request_timeout,
                                    superseded_atom_v, key, grant.token, *x);
    if (!next || next->outcome != acquire_reply::load)
      return next ? std::move(next->val) : std::move(x->value);
    grant = std::move(*next);
  }
}

caf::expected<fetch_options>
node::resolve_fetch(std::string_view key,
                    const fetch_options& call_opts) const {
  auto fo = resolve_untagged(key, call_opts);
  if (fo)
    if (auto err = add_rule_tags(key, *fo))
      return err;
  return fo;
}

caf::error node::add_rule_tags(std::string_view key, fetch_options& fo) const {
  auto n = fo.tags.size();
  rules().add_key_tags(key, fo.tags);
  if (fo.tags.size() == n)
    return {};
  return s_->opts.check_tags(fo.tags);
}

caf::expected<fetch_options>
node::resolve_untagged(std::string_view key,
                       const fetch_options& call_opts) const {
  // Per-rule defaults fill what the call leaves at zero.
  fetch_options fo = call_opts;
  if (auto* r = rules().rule_for_key(key)) {
    if (fo.ttl == caf::timespan{0})
      fo.ttl = r->ttl;
    if (fo.stale_while_revalidate == caf::timespan{0})
      fo.stale_while_revalidate = r->stale_while_revalidate;
    if (fo.stale_if_error == caf::timespan{0})
      fo.stale_if_error = r->stale_if_error;
  }
  if (auto err = check_running())
    return err;
  if (auto err = s_->opts.check_key(key))
    return err;
  if (auto err = s_->opts.check_tags(fo.tags))
    return err;
  if (auto ttl = s_->opts.expiry_for(fo.ttl, 0); !ttl)
    return std::move(ttl.error());
  if (!(fo.beta >= 0 && fo.beta < 1e6))
    return make_error(errc::invalid_argument,
                      "fetch_options.beta must be in [0, 1e6)");
  if (fo.stale_while_revalidate < caf::timespan{0}
      || fo.stale_if_error < caf::timespan{0}
      || fo.stale_while_revalidate > s_->opts.max_ttl
      || fo.stale_if_error > s_->opts.max_ttl)
    return make_error(errc::invalid_ttl,
                      "stale windows must lie in [0, cachebus.max-ttl]");
  return fo;
}

caf::expected<std::string> node::fetch(std::string_view key,
                                       const fetch_options& call_opts) {
  // The lock manager adds the rule's tags on a miss.
  auto fo = resolve_untagged(key, call_opts);
  if (!fo)
    return std::move(fo.error());
  std::string k{key};
  std::string cached;
  if (s_->cache->table_for(k).get(k, cached))
    return cached;
  if (!loading_here.empty())
    if (auto err = check_not_loading(*s_, k))
      return err;
  // The miss is counted above; the lock manager's re-check counts nothing.
  thread_requester self{s_->sys};
  auto result = self.request<std::string>(
    s_->lock_manager, s_->opts.request_timeout, fetch_atom_v, k, *fo);
  if (!result)
    return waited_too_long(std::move(result.error()), k);
  return result;
}

caf::expected<std::string> node::fetch(std::string_view key,
                                       const loader_fn& loader,
                                       const fetch_options& call_opts) {
  auto resolved = resolve_untagged(key, call_opts);
  if (!resolved)
    return std::move(resolved.error());
  auto& fo = *resolved;
  if (!loader)
    return make_error(errc::invalid_argument, "fetch needs a loader");
  std::string k{key};
  std::string cached;
  auto lk = s_->cache->table_for(k).lookup(k, cached);
  auto now = s_->clock->now_ns();
  acquire_request req;
  req.key = k;
  if (lk.state == shard_table::lookup_result::fresh) {
    if (fo.beta == 0 || !xfetch_due(lk, fo.beta, now))
      return cached;
    // Early refresh: this caller reloads; nobody waits for it.
    req.wait = false;
    req.refresh = true;
  } else if (lk.state == shard_table::lookup_result::stale
             && now < lk.expires_ns + fo.stale_while_revalidate.count()) {
    // Stale-while-revalidate: one caller refreshes, the others get the old
    // value at once.
    req.wait = false;
    req.refresh = true;
  }
  if (req.wait && !loading_here.empty())
    if (auto err = check_not_loading(*s_, k))
      return err;
  // A load: the value carries the rule's tags.
  if (auto err = add_rule_tags(k, fo))
    return err;
  // Not a caf::scoped_actor: with a thousand threads missing one key, its
  // spawn, mailbox and per-request timer cost more than the wait itself.
  thread_requester self{s_->sys};
  auto reply = self.request<acquire_reply>(
    s_->lock_manager, s_->opts.request_timeout, acquire_atom_v, req);
  if (!reply)
    return waited_too_long(std::move(reply.error()), k);
  switch (reply->outcome) {
  case acquire_reply::value:
    return std::move(reply->val);
  case acquire_reply::busy:
    return cached; // fresh (early refresh) or within the SWR window
  default:
    // We hold the key. `self` is the monitored owner: if this thread
    // unwinds without releasing, its end releases the key.
    return load_as_owner(*s_, k, std::move(*reply), loader, fo, lk, cached);
  }
}

} // namespace cachebus
