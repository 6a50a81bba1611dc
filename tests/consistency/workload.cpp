#include "workload.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "caf/all.hpp"

#include "cachebus/actors/flight/store_loader.hpp"
#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/pending_writes.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/actors/writepaths/record_codec.hpp"
#include "cachebus/stores/memory_store.hpp"
#include "cachebus/stores/sqlite_store.hpp"

#include "cachebus/apps/common/net_cut.hpp"
#include "cachebus/apps/common/temp_dir.hpp"
#include "checker.hpp"
#include "support/eventually.hpp"

namespace cachebus::consistency {

namespace {

using namespace std::chrono_literals;

// -- the key space ------------------------------------------------------------
//
//   p:G:I   plain keys: writers of one key are serialized (the truth and
//           the cache change in one order); sets are sourced (even I) or
//           unsourced (odd I); tagged t:(I % tags); pattern group G.
//   d:I     derived from p:*:I: set from its parent's version, tracked as
//           its dependent; only invalidations of the parent make it stale.
//   r:I     racy keys: sourced sets with no serialization at all (versions
//           never go backwards decides); no invalidations.
//   item:I  records of `items`, written through (update) or behind the
//           cache's back (the store, then a resource event).
//   note:I  records of `notes`, written back (queue_update).

constexpr int plain_count = 12;
constexpr int groups = 3;
constexpr int tag_count = 3;
constexpr int racy_count = 4;
constexpr int item_count = 4;
constexpr int note_count = 4;

std::string plain_key(int i) {
  return "p:" + std::to_string(i % groups) + ":" + std::to_string(i);
}

std::string plain_id(int i) { // the id of p:G:I under the `plain` rule
  return std::to_string(i % groups) + ":" + std::to_string(i);
}

std::string derived_key(int i) {
  return "d:" + std::to_string(i);
}

std::string racy_key(int i) {
  return "r:" + std::to_string(i);
}

std::string tag_of(int i) {
  return "t:" + std::to_string(i % tag_count);
}

// Records of one history: histories share the store, never a record.
std::string item_id(uint64_t seed, int i) {
  return "h" + std::to_string(seed) + "i" + std::to_string(i);
}

std::string note_id(uint64_t seed, int i) {
  return "h" + std::to_string(seed) + "n" + std::to_string(i);
}

rules world_rules() {
  rules r;
  auto add = [&](rule x) {
    if (auto err = r.add(std::move(x)))
      throw std::runtime_error("bad test rule: " + describe(err));
  };
  add({"plain", {"p:{id}"}, {}, {}});
  add({"items", {"item:{id}"}, {"item:{id}"}, {}});
  add({"notes", {"note:{id}"}, {}, {}});
  return r;
}

// Values of plain, derived and racy keys: "KEY|VERSION|ORIGIN", where ORIGIN
// is "f" for a loaded value and "sSERIAL" for the set with that serial.
std::string make_value(const std::string& key, uint64_t version,
                       const std::string& origin) {
  return key + "|" + std::to_string(version) + "|" + origin;
}

struct parsed_value {
  uint64_t version = 0;
  uint64_t set_serial = 0;
  bool ok = false;
};

parsed_value parse_value(const std::string& v) {
  parsed_value out;
  auto a = v.find('|');
  auto b = a == std::string::npos ? a : v.find('|', a + 1);
  if (b == std::string::npos)
    return out;
  out.version = std::stoull(v.substr(a + 1, b - a - 1));
  if (v.size() > b + 2 && v[b + 1] == 's')
    out.set_serial = std::stoull(v.substr(b + 2));
  out.ok = true;
  return out;
}

// -- the truth of plain keys --------------------------------------------------

// The system of record of plain keys: a version per key from one counter.
class plain_truth {
 public:
  uint64_t bump(const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto v = ++counter_;
    versions_[key] = v;
    return v;
  }

  uint64_t read(const std::string& key) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = versions_.find(key);
    return i == versions_.end() ? 0 : i->second;
  }

 private:
  mutable std::mutex mtx_;
  uint64_t counter_ = 0;
  std::map<std::string, uint64_t> versions_;
};

// Counts loads in flight per (node, key): two at once break single flight.
class load_tracker {
 public:
  explicit load_tracker(history& h) : h_(h) {
    // nop
  }

  struct scope {
    load_tracker* self;
    int node;
    std::string key;
    ~scope() {
      std::lock_guard<std::mutex> guard{self->mtx_};
      --self->in_flight_[{node, key}];
    }
  };

  scope enter(int node, const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (in_flight_[{node, key}]++ > 0)
      h_.overlapping_load(key, node);
    return scope{this, node, key};
  }

 private:
  history& h_;
  std::mutex mtx_;
  std::map<std::pair<int, std::string>, int> in_flight_;
};

// A record store that delays loads (and checks single flight) around a real
// one: the node's store loader reads through it.
class probed_store final : public stores::record_store {
 public:
  probed_store(std::shared_ptr<stores::record_store> inner,
               load_tracker& tracker, int node, uint64_t seed, int max_delay_us)
      : record_store(inner->limits()), inner_(std::move(inner)),
        tracker_(tracker), node_(node), rng_(seed),
        max_delay_us_(max_delay_us) {
    for (auto& r : inner_->resources())
      (void)declare(r, inner_->fields(r));
  }

 protected:
  stores::result<stores::record> do_load(std::string_view resource,
                                         std::string_view id) override {
    auto key = std::string{resource} + "/" + std::string{id};
    auto in = tracker_.enter(node_, key);
    auto r = inner_->load(resource, id);
    std::this_thread::sleep_for(delay()); // the store's own slowness
    return r;
  }

  stores::result<std::vector<uint64_t>>
  do_apply(const std::vector<stores::record_write>& batch) override {
    return inner_->apply(batch);
  }

 private:
  std::chrono::microseconds delay() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::chrono::microseconds{
      std::uniform_int_distribution<int>{0, max_delay_us_}(rng_)};
  }

  std::shared_ptr<stores::record_store> inner_;
  load_tracker& tracker_;
  int node_;
  std::mutex mtx_;
  std::mt19937_64 rng_;
  int max_delay_us_;
};

// -- one node of the world ----------------------------------------------------

struct world;

struct member {
  int index = 0;
  config cfg;
  std::unique_ptr<caf::actor_system> own_sys; // cluster members only
  caf::actor_system* sys = nullptr;
  std::shared_ptr<pending_writes> pending = std::make_shared<pending_writes>();
  loader_actor store_loader;
  loader_actor plain_loader; // the actor path's loader of plain keys
  loader_actor node_loader;  // plain keys and records: fetch(key)
  std::unique_ptr<node> n;
  std::unique_ptr<record_cache> rc;

  ~member() {
    rc.reset();
    n.reset();
    for (auto* a : {&store_loader, &plain_loader, &node_loader})
      if (*a)
        caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
    store_loader = nullptr;
    plain_loader = nullptr;
    node_loader = nullptr;
    own_sys.reset();
  }
};

struct world {
  workload_options opts;
  history h;
  load_tracker tracker{h};
  plain_truth truth;
  app::temp_dir dir;
  std::shared_ptr<stores::record_store> store;
  caf::actor_system* shared_sys = nullptr; // single-node histories
  std::vector<std::unique_ptr<member>> members;
  // Serialize the writers of each plain key, and of each note (token order).
  std::array<std::mutex, plain_count> plain_locks;
  std::array<std::mutex, note_count> note_locks;
  std::array<uint64_t, note_count> note_tokens{};
  std::atomic<uint64_t> serials{0};
  std::string quiescence; // how the cluster members ended (diagnostics)

  explicit world(const workload_options& o)
      : opts(o), h(static_cast<size_t>(o.threads)) {
    // nop
  }
};

// Loads plain keys for the lock manager's actor path (and, in a cluster, as
// the node loader), on its own thread: it blocks on the injected delay.
// (Actors are spawned from functions that take more than `self`: spawning
// one whose only parameter is `self` is undefined behaviour in CAF 0.17.)
loader_actor::behavior_type
plain_loader_impl(loader_actor::pointer self, world* wp, int node,
                  std::shared_ptr<std::mt19937_64> rng) {
  self->set_error_handler([](caf::error&) {});
  return {
    [wp, node, rng](load_atom, const std::string& key) -> caf::result<loaded> {
      auto in = wp->tracker.enter(node, key);
      auto v = wp->truth.read(key);
      std::this_thread::sleep_for(
        std::chrono::microseconds{std::uniform_int_distribution<int>{
          0, wp->opts.max_load_delay_us}(*rng)});
      return loaded{make_value(key, v, "f"), v};
    },
  };
}

loader_actor spawn_plain_loader(caf::actor_system& sys, world& w, int node,
                                uint64_t seed) {
  return sys.spawn<caf::detached>(plain_loader_impl, &w, node,
                                  std::make_shared<std::mt19937_64>(seed));
}

// The node loader: plain keys from the truth, records from the store.
loader_actor::behavior_type node_loader_impl(loader_actor::pointer self,
                                             loader_actor plain,
                                             loader_actor records) {
  self->set_error_handler([](caf::error&) {});
  return {
    [=](load_atom, const std::string& key) -> caf::result<loaded> {
      if (key.rfind("p:", 0) == 0)
        return self->delegate(plain, load_atom_v, key);
      return self->delegate(records, load_atom_v, key);
    },
  };
}

loader_actor spawn_node_loader(caf::actor_system& sys, loader_actor plain,
                               loader_actor records) {
  return sys.spawn(node_loader_impl, std::move(plain), std::move(records));
}

void start_member(world& w, int index) {
  auto m = std::make_unique<member>();
  m->index = index;
  if (w.shared_sys) {
    m->sys = w.shared_sys;
  } else {
    m->cfg.set("middleman.workers", size_t{0});
    m->own_sys = std::make_unique<caf::actor_system>(m->cfg);
    m->sys = m->own_sys.get();
  }
  auto seed = w.opts.seed * 7919 + static_cast<uint64_t>(index);
  auto probed = std::make_shared<probed_store>(w.store, w.tracker, index, seed,
                                               w.opts.max_load_delay_us);
  m->store_loader
    = spawn_store_loader(*m->sys, probed, world_rules(), m->pending);
  m->plain_loader = spawn_plain_loader(*m->sys, w, index, seed + 1);
  m->node_loader = spawn_node_loader(*m->sys, m->plain_loader, m->store_loader);
  node_options no;
  no.name = "n" + std::to_string(index);
  no.shards = 2;
  no.max_entries = 24; // eviction pressure: far fewer than the keys
  no.sweep_interval = 2ms;
  no.sweep_batch = 8;
  no.lease_timeout = 20s;
  no.request_timeout = 30s;
  node_setup setup;
  setup.rules = world_rules();
  setup.loader = m->node_loader;
  setup.pending = m->pending;
  if (w.opts.nodes > 1) {
    bridge_options b;
    if (!w.members.empty())
      b.seeds
        = {"127.0.0.1:" + std::to_string(w.members.front()->n->cluster_port())};
    b.heartbeat_interval = 100ms;
    b.peer_timeout = 2s;
    b.reconnect_initial = 50ms;
    b.reconnect_max = 400ms;
    setup.cluster = b;
  }
  auto n = node::start(*m->sys, no, std::move(setup));
  if (!n)
    throw std::runtime_error("node::start: " + describe(n.error()));
  m->n = std::move(*n);
  write_back_options wb;
  wb.journal = w.dir.file("journal-" + std::to_string(index));
  wb.flush_interval = 5ms;
  wb.fsync = stores::fsync_policy::never;
  wb.retry_min = 5ms;
  wb.retry_max = 50ms;
  wb.shutdown_timeout = 20s;
  auto rc = record_cache::start(*m->n, w.store, wb, m->pending);
  if (!rc)
    throw std::runtime_error("record_cache::start: " + describe(rc.error()));
  m->rc = std::move(*rc);
  w.members.push_back(std::move(m));
}

std::shared_ptr<stores::record_store> open_store(store_kind kind,
                                                 const std::string& path) {
  std::shared_ptr<stores::record_store> s;
  if (kind == store_kind::sqlite) {
    auto x = stores::sqlite_store::open(path);
    if (!x.ok())
      throw std::runtime_error(x.error().to_string());
    s = std::move(x).value();
  } else {
    s = std::make_shared<stores::memory_store>();
  }
  for (auto& [res, fields] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
         {"items", {"v"}}, {"notes", {"w"}}})
    if (auto st = s->declare(res, fields); !st.ok())
      throw std::runtime_error(st.to_string());
  return s;
}

// -- one worker thread --------------------------------------------------------

class worker {
 public:
  worker(world& w, int thread)
      : w_(w), thread_(thread),
        rng_(w.opts.seed * 1000003 + static_cast<uint64_t>(thread)) {
    // nop
  }

  void run() {
    for (int i = 0; i < w_.opts.ops_per_thread; ++i)
      step();
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>{0, n - 1}(rng_); }

  bool chance(int percent) { return pick(100) < percent; }

  member& any_member() {
    return *w_.members[static_cast<size_t>(
      pick(static_cast<int>(w_.members.size())))];
  }

  void record(op x) { w_.h.add(thread_, std::move(x)); }

  void unexpected(const std::string& what, const caf::error& err) {
    w_.h.unexpected(what + ": " + describe(err));
  }

  // A read of a plain, derived or racy key that returned `v` (or missed).
  void record_read(member& m, const std::string& key, const std::string& what,
                   int64_t start, const std::optional<std::string>& v) {
    op x;
    x.kind = op::read;
    x.key = key;
    x.start = start;
    x.end = now_ns();
    x.node = m.index;
    x.what = what;
    if (v) {
      auto p = parse_value(*v);
      if (!p.ok) {
        w_.h.unexpected(what + " of " + key + " returned \"" + *v + "\"");
        return;
      }
      x.version = p.version;
      x.set_serial = p.set_serial;
    }
    record(std::move(x));
  }

  // A get of `key`: a miss is fine, any other error is not.
  void get_and_record(member& m, const std::string& key) {
    auto start = now_ns();
    auto v = m.n->get(key);
    if (!v && !is(v.error(), errc::miss))
      return unexpected("get " + key, v.error());
    record_read(m, key, "get", start,
                v ? std::optional<std::string>{*v} : std::nullopt);
  }

  // The result of a fetch that began at `start`: a value, or the failure of
  // a load that failed on purpose (which every waiter of that load shares,
  // cachebus.loader-error=propagate); any other error is not fine.
  void record_fetched(member& m, const std::string& key,
                      const std::string& what, int64_t start,
                      const caf::expected<std::string>& v) {
    if (!v) {
      if (!is(v.error(), errc::load_failed))
        unexpected(what + " " + key, v.error());
      return;
    }
    record_read(m, key, what, start, *v);
  }

  void record_floor(op::kind_t kind, member& m, const std::string& key,
                    uint64_t version, const std::string& what, int64_t start) {
    op x;
    x.kind = kind;
    x.key = key;
    x.start = start;
    x.end = now_ns();
    x.node = m.index;
    x.version = version;
    x.what = what;
    record(std::move(x));
  }

  caf::timespan random_ttl() {
    switch (pick(4)) {
    case 0:
      return 2ms;
    case 1:
      return 20ms;
    default:
      return default_ttl;
    }
  }

  fetch_options fetch_opts(int i) {
    fetch_options fo;
    fo.ttl = random_ttl();
    fo.tags = {tag_of(i)};
    if (chance(25))
      fo.beta = 1.0;
    return fo;
  }

  loader_fn plain_loader(member& m) {
    auto delay = std::chrono::microseconds{
      std::uniform_int_distribution<int>{0, w_.opts.max_load_delay_us}(rng_)};
    bool fail = chance(5);
    bool sourced = chance(80);
    return [this, &m, delay, fail,
            sourced](const std::string& key) -> caf::expected<loaded> {
      auto in = w_.tracker.enter(m.index, key);
      auto v = w_.truth.read(key); // read first, return late: a slow load
      std::this_thread::sleep_for(delay);
      if (fail)
        return make_error(errc::load_failed, "injected failure");
      return loaded{make_value(key, v, "f"), sourced ? v : 0};
    };
  }

  // -- operations
  // ---------------------------------------------------------------

  void step() {
    switch (pick(20)) {
    case 0:
    case 1:
      return get_plain();
    case 2:
      return fetch_plain();
    case 3:
      return node_fetch_plain();
    case 4:
      return actor_fetch_plain();
    case 5:
    case 6:
      return set_plain();
    case 7:
      return invalidate_keys();
    case 8:
      return invalidate_tag();
    case 9:
      return invalidate_pattern();
    case 10:
      return write_derived();
    case 11:
      return get_derived();
    case 12:
      return racy_set();
    case 13:
      return racy_read();
    case 14:
      return update_item();
    case 15:
      return item_behind_the_back();
    case 16:
      return read_item();
    case 17:
      return queue_note();
    case 18:
    case 19:
      return read_note();
    }
  }

  void get_plain() {
    get_and_record(any_member(), plain_key(pick(plain_count)));
  }

  void fetch_plain() {
    auto& m = any_member();
    auto i = pick(plain_count);
    auto key = plain_key(i);
    auto loader = plain_loader(m);
    auto fo = fetch_opts(i);
    auto start = now_ns();
    record_fetched(m, key, "fetch", start, m.n->fetch(key, loader, fo));
  }

  // Through the node loader: single flight across the cluster.
  void node_fetch_plain() {
    auto& m = any_member();
    auto i = pick(plain_count);
    auto key = plain_key(i);
    fetch_options fo;
    fo.ttl = random_ttl();
    fo.tags = {tag_of(i)};
    auto start = now_ns();
    record_fetched(m, key, "fetch (node loader)", start, m.n->fetch(key, fo));
  }

  void actor_fetch_plain() {
    auto& m = any_member();
    auto i = pick(plain_count);
    auto key = plain_key(i);
    auto fo = fetch_opts(i);
    fo.beta = 0;
    auto start = now_ns();
    caf::scoped_actor self{*m.sys};
    caf::expected<std::string> got{std::string{}};
    self
      ->request(m.n->lock_manager(), 30s, fetch_atom_v, key, m.plain_loader, fo)
      .receive([&](std::string& v) { got = std::move(v); },
               [&](caf::error& e) { got = std::move(e); });
    record_fetched(m, key, "actor fetch", start, got);
  }

  // Serialized writers of one plain key: the truth, then the cache.
  void set_plain() {
    auto& m = any_member();
    auto i = pick(plain_count);
    auto key = plain_key(i);
    std::lock_guard<std::mutex> guard{w_.plain_locks[static_cast<size_t>(i)]};
    auto start = now_ns();
    auto v = w_.truth.bump(key);
    auto serial = ++w_.serials;
    auto ttl = random_ttl();
    set_options so;
    so.ttl = ttl;
    so.tags = {tag_of(i)};
    // Unsourced sets only on one node: they cannot tell other nodes'
    // older copies apart (a versioned event can).
    bool sourced = i % 2 == 0 || w_.members.size() > 1;
    if (sourced)
      so.version = v;
    auto value = make_value(key, v, "s" + std::to_string(serial));
    caf::expected<uint64_t> r{uint64_t{0}};
    std::string what = sourced ? "set" : "unsourced set";
    if (chance(30)) {
      what += " through the shard actor";
      caf::scoped_actor self{*m.sys};
      put_request req{key, value, ttl, so.tags, so.version};
      self->request(m.n->shard_for(key), 30s, caf::put_atom_v, req)
        .receive([&](uint64_t x) { r = x; },
                 [&](caf::error& e) { r = std::move(e); });
    } else {
      r = m.n->set(key, value, so);
    }
    if (!r)
      return unexpected(what + " " + key, r.error());
    if (w_.members.size() > 1) {
      // Other nodes learn of the write by a versioned event: their older
      // copies go, this node's fresh one stays.
      if (auto e = m.n->publish_invalidation("plain", plain_id(i), v); !e)
        return unexpected("publish plain " + key, e.error());
    }
    record_floor(op::write, m, key, v, what, start);
    auto end = now_ns();
    w_.h.set_done(serial, m.index, end, ttl == default_ttl ? 0 : ttl.count());
  }

  // Takes the writer locks of `keys` (indices) in index order.
  std::vector<std::unique_lock<std::mutex>> lock_plain(std::vector<int> is) {
    std::sort(is.begin(), is.end());
    is.erase(std::unique(is.begin(), is.end()), is.end());
    std::vector<std::unique_lock<std::mutex>> out;
    for (auto i : is)
      out.emplace_back(w_.plain_locks[static_cast<size_t>(i)]);
    return out;
  }

  // Bumps the truth of plain keys `is`, runs `invalidate`, and records that
  // each key (and its derived key) must be at least its new version.
  template <class F>
  void invalidate_plain(member& m, const std::vector<int>& is,
                        const std::string& what, F invalidate) {
    auto locks = lock_plain(is);
    auto start = now_ns();
    std::vector<std::pair<int, uint64_t>> bumped;
    for (auto i : is)
      bumped.emplace_back(i, w_.truth.bump(plain_key(i)));
    if (auto err = invalidate())
      return unexpected(what, err);
    for (auto& [i, v] : bumped) {
      record_floor(op::invalidate, m, plain_key(i), v, what, start);
      // The dependency cascade: d:I depends on p:*:I while it is cached.
      record_floor(op::invalidate, m, derived_key(i), v, what, start);
    }
  }

  void invalidate_keys() {
    auto& m = any_member();
    std::vector<int> is;
    for (int k = 0, n = 1 + pick(3); k < n; ++k)
      is.push_back(pick(plain_count));
    std::sort(is.begin(), is.end());
    is.erase(std::unique(is.begin(), is.end()), is.end());
    bool by_resource = w_.members.size() > 1 || chance(30);
    invalidate_plain(
      m, is, by_resource ? "publish_invalidation" : "invalidate",
      [&]() -> caf::error {
        if (by_resource) {
          for (auto i : is)
            if (auto r = m.n->publish_invalidation("plain", plain_id(i), 0); !r)
              return r.error();
          return {};
        }
        std::vector<std::string> keys;
        for (auto i : is)
          keys.push_back(plain_key(i));
        auto r = m.n->invalidate(keys);
        return r ? caf::error{} : r.error();
      });
  }

  void invalidate_tag() {
    auto& m = any_member();
    auto t = pick(tag_count);
    std::vector<int> is;
    for (int i = 0; i < plain_count; ++i)
      if (i % tag_count == t)
        is.push_back(i);
    auto tag = "t:" + std::to_string(t);
    invalidate_plain(m, is, "invalidate_tag " + tag, [&]() -> caf::error {
      auto r = m.n->invalidate_tag(tag);
      return r ? caf::error{} : r.error();
    });
  }

  void invalidate_pattern() {
    auto& m = any_member();
    auto g = pick(groups);
    std::vector<int> is;
    for (int i = 0; i < plain_count; ++i)
      if (i % groups == g)
        is.push_back(i);
    auto glob = "p:" + std::to_string(g) + ":*";
    invalidate_plain(m, is, "invalidate_pattern " + glob, [&]() -> caf::error {
      auto r = m.n->invalidate_pattern(glob);
      return r ? caf::error{} : r.error();
    });
  }

  // d:I takes its parent's version and becomes its dependent.
  void write_derived() {
    if (w_.members.size() > 1)
      return get_plain(); // dependencies are local to a node
    auto& m = any_member();
    auto i = pick(plain_count);
    auto parent = plain_key(i);
    auto key = derived_key(i);
    std::lock_guard<std::mutex> guard{w_.plain_locks[static_cast<size_t>(i)]};
    auto start = now_ns();
    auto v = w_.truth.read(parent);
    auto serial = ++w_.serials;
    set_options so;
    so.version = v;
    // Derived data carries the tags of what it derives from: a tag
    // invalidation does not cascade along dependencies (node.hpp).
    so.tags = {tag_of(i)};
    auto r
      = m.n->set(key, make_value(key, v, "s" + std::to_string(serial)), so);
    if (!r && !is(r.error(), errc::stale_version))
      return unexpected("set " + key, r.error());
    auto err = m.n->track_dependency(parent, key);
    if (err && !is(err, errc::miss))
      return unexpected("track_dependency " + key, err);
    record_floor(op::write, m, key, v, "set derived", start);
    w_.h.set_done(serial, m.index, now_ns(), 0);
  }

  void get_derived() {
    get_and_record(any_member(), derived_key(pick(plain_count)));
  }

  void racy_set() {
    if (w_.members.size() > 1)
      return get_plain(); // sets are local; racy keys have no events
    auto& m = any_member();
    auto key = racy_key(pick(racy_count));
    auto start = now_ns();
    auto v = w_.truth.bump(key);
    auto serial = ++w_.serials;
    set_options so;
    so.version = v;
    auto r
      = m.n->set(key, make_value(key, v, "s" + std::to_string(serial)), so);
    if (!r && !is(r.error(), errc::stale_version))
      return unexpected("racy set " + key, r.error());
    record_floor(op::write, m, key, v, "racy set", start);
    w_.h.set_done(serial, m.index, now_ns(), 0);
  }

  void racy_read() {
    if (w_.members.size() > 1)
      return get_plain();
    auto& m = any_member();
    auto key = racy_key(pick(racy_count));
    if (chance(50))
      return get_and_record(m, key);
    auto loader = plain_loader(m);
    auto start = now_ns();
    record_fetched(m, key, "fetch", start, m.n->fetch(key, loader));
  }

  // -- records ----------------------------------------------------------------

  void update_item() {
    auto& m = any_member();
    auto id = item_id(w_.opts.seed, pick(item_count));
    auto start = now_ns();
    auto v = m.rc->update("items", id, {{"v", std::to_string(pick(1000))}});
    if (!v)
      return unexpected("update items/" + id, v.error());
    record_floor(op::write, m, "item:" + id, *v, "update", start);
  }

  // A change made behind the cache's back, announced by a resource event
  // (as a change feed does): versioned, or not.
  void item_behind_the_back() {
    auto& m = any_member();
    auto id = item_id(w_.opts.seed, pick(item_count));
    auto start = now_ns();
    auto r = w_.store->apply({{"items", id, {{"v", "behind"}}}});
    if (!r.ok())
      return w_.h.unexpected("store apply: " + r.error().to_string());
    auto v = r.value().front();
    auto e = m.n->publish_invalidation("items", id, chance(50) ? v : 0);
    if (!e)
      return unexpected("publish items/" + id, e.error());
    record_floor(op::invalidate, m, "item:" + id, v, "store write + event",
                 start);
  }

  // Reads a record's canonical key three ways; `token` turns the decoded
  // record into the version the history compares.
  template <class Token>
  void read_record(member& m, const std::string& resource,
                   const std::string& id, Token token) {
    auto key = (resource == "items" ? "item:" : "note:") + id;
    auto start = now_ns();
    op x;
    x.kind = op::read;
    x.key = key;
    x.node = m.index;
    switch (pick(3)) {
    case 0: {
      x.what = "record_cache::load";
      auto r = m.rc->load(resource, id);
      if (!r) {
        if (!is(r.error(), errc::not_found))
          unexpected("load " + key, r.error());
        return;
      }
      x.version = token(r->fields, r->version);
      break;
    }
    case 1: {
      x.what = "fetch (node loader)";
      auto v = m.n->fetch(key);
      if (!v) {
        if (!is(v.error(), errc::not_found))
          unexpected("fetch " + key, v.error());
        return;
      }
      auto c = decode_record(*v);
      if (!c)
        return unexpected("decode " + key, c.error());
      x.version = token(c->fields, c->version);
      break;
    }
    default: {
      x.what = "get";
      auto v = m.n->get(key);
      if (v) {
        auto c = decode_record(*v);
        if (!c)
          return unexpected("decode " + key, c.error());
        x.version = token(c->fields, c->version);
      } else if (!is(v.error(), errc::miss)) {
        return unexpected("get " + key, v.error());
      }
    }
    }
    x.start = start;
    x.end = now_ns();
    record(std::move(x));
  }

  void read_item() {
    read_record(any_member(), "items", item_id(w_.opts.seed, pick(item_count)),
                [](const stores::field_map&, uint64_t v) { return v; });
  }

  // Notes are written back; their "version" in the history is the write's
  // token (the `w` field), so that reading its own writes is checked.
  void queue_note() {
    auto& m = *w_.members.front(); // one writer node: one journal
    auto j = pick(note_count);
    auto id = note_id(w_.opts.seed, j);
    std::lock_guard<std::mutex> guard{w_.note_locks[static_cast<size_t>(j)]};
    auto start = now_ns();
    auto token = ++w_.note_tokens[static_cast<size_t>(j)];
    if (auto err
        = m.rc->queue_update("notes", id, {{"w", std::to_string(token)}}))
      return unexpected("queue_update notes/" + id, err);
    record_floor(op::write, m, "note:" + id, token, "queue_update", start);
  }

  void read_note() {
    // Reads its own writes: on the writer node at once; elsewhere after the
    // flush and its event (the cross-node lag covers that).
    read_record(any_member(), "notes", note_id(w_.opts.seed, pick(note_count)),
                [](const stores::field_map& f, uint64_t) -> uint64_t {
                  auto i = f.find("w");
                  return i == f.end() ? 0 : std::stoull(i->second);
                });
  }

  world& w_;
  int thread_;
  std::mt19937_64 rng_;
};

// -- quiescence
// -----------------------------------------------------------------

listener_stats listener_of(member& m) {
  caf::scoped_actor self{*m.sys};
  listener_stats out;
  self->request(m.n->listener(), 10s, stats_atom_v)
    .receive([&](listener_stats& x) { out = x; }, [](caf::error&) {});
  return out;
}

// Replays of peers' events the member's bridge started (0 if it cannot say).
uint64_t replays_of(member& m) {
  caf::scoped_actor self{*m.sys};
  uint64_t out = 0;
  self->request(m.n->bridge(), 10s, bridge_stats_atom_v)
    .receive([&](bridge_stats& x) { out = x.replays_started; },
             [](caf::error&) {});
  return out;
}

// Every member has applied every event the others published (bounded: a
// partition would drop events, and the caches with them). Counted against
// what each member published (its sequence counter), not against what its
// own listener has seen of its events: those may still be in flight on its
// bus, and then the check would pass before the others could apply them.
void await_quiescence(world& w) {
  bool quiet = test::eventually(
    [&] {
      uint64_t published = 0;
      for (auto& m : w.members)
        published += m->n->events_published();
      for (auto& m : w.members) {
        auto x = listener_of(*m);
        if (x.own < m->n->events_published()
            || x.applied + x.rejected + x.own < published)
          return false;
      }
      return true;
    },
    10s, 5ms);
  std::string counts;
  for (auto& m : w.members) {
    auto x = listener_of(*m);
    counts += " n" + std::to_string(m->index) + ": published "
              + std::to_string(m->n->events_published()) + " own "
              + std::to_string(x.own) + " applied " + std::to_string(x.applied)
              + " rejected " + std::to_string(x.rejected) + " partitions "
              + std::to_string(x.partitions) + ";";
  }
  w.quiescence = (quiet ? "quiescent:" : "NOT quiescent after 10 s:") + counts;
}

void check_final_state(world& w) {
  for (auto& m : w.members)
    if (auto err = m->rc->flush(30s))
      w.h.unexpected("flush: " + describe(err));
  if (w.members.size() > 1)
    await_quiescence(w);
  auto cached_version = [](member& m, const std::string& key,
                           auto decode) -> std::optional<uint64_t> {
    auto v = m.n->get(key);
    if (!v)
      return std::nullopt;
    return decode(*v);
  };
  for (auto& m : w.members) {
    for (int i = 0; i < plain_count; ++i) {
      auto key = plain_key(i);
      w.h.add_final({key, w.truth.read(key), m->index,
                     cached_version(*m, key, [](const std::string& v) {
                       return parse_value(v).version;
                     })});
    }
    for (int i = 0; i < racy_count; ++i) {
      auto key = racy_key(i);
      w.h.add_final({key, w.truth.read(key), m->index,
                     cached_version(*m, key, [](const std::string& v) {
                       return parse_value(v).version;
                     })});
    }
    for (int i = 0; i < item_count; ++i) {
      auto id = item_id(w.opts.seed, i);
      auto rec = w.store->load("items", id);
      auto truth = rec.ok() ? rec->version : 0;
      w.h.add_final(
        {"item:" + id, truth, m->index,
         cached_version(*m, "item:" + id, [](const std::string& v) -> uint64_t {
           auto c = decode_record(v);
           return c ? c->version : 0;
         })});
    }
    for (int j = 0; j < note_count; ++j) {
      auto id = note_id(w.opts.seed, j);
      auto rec = w.store->load("notes", id);
      uint64_t truth = 0;
      if (rec.ok())
        if (auto f = rec->fields.find("w"); f != rec->fields.end())
          truth = std::stoull(f->second);
      if (truth != w.note_tokens[static_cast<size_t>(j)])
        w.h.unexpected("after the flush the store has token "
                       + std::to_string(truth) + " of notes/" + id
                       + ", the last acknowledged is "
                       + std::to_string(w.note_tokens[static_cast<size_t>(j)]));
      w.h.add_final(
        {"note:" + id, truth, m->index,
         cached_version(*m, "note:" + id, [](const std::string& v) -> uint64_t {
           auto c = decode_record(v);
           if (!c)
             return UINT64_MAX;
           auto f = c->fields.find("w");
           return f == c->fields.end() ? 0 : std::stoull(f->second);
         })});
    }
  }
}

} // namespace

lock_stats locks_of(member& m) {
  caf::scoped_actor self{*m.sys};
  lock_stats out;
  self->request(m.n->lock_manager(), 10s, stats_atom_v)
    .receive([&](lock_stats& x) { out = x; }, [](caf::error&) {});
  return out;
}

// Every lock manager knows every member (cluster single flight is on).
void await_membership(world& w) {
  bool linked = test::eventually(
    [&] {
      for (auto& m : w.members)
        if (locks_of(*m).members != w.members.size())
          return false;
      return true;
    },
    20s, 5ms);
  if (!linked)
    w.h.unexpected("the cluster members did not link within 20 s");
}

// Cuts a random member's cluster connections every 5-30 ms (seeded) until
// `done`; returns how many times.
size_t cut_randomly(world& w, const std::atomic<bool>& done) {
  std::mt19937_64 rng{w.opts.seed * 6151 + 17};
  std::uniform_int_distribution<int> pause_ms{5, 30};
  std::uniform_int_distribution<size_t> pick{0, w.members.size() - 1};
  size_t cuts = 0;
  while (!done.load(std::memory_order_acquire)) {
    // Pacing the fault injection, not waiting for anything to happen.
    std::this_thread::sleep_for(std::chrono::milliseconds{pause_ms(rng)});
    auto port = w.members[pick(rng)]->n->cluster_port();
    if (app::cut_connections({port}))
      ++cuts;
  }
  return cuts;
}

struct workbench::impl {
  store_kind kind;
  app::temp_dir dir;
  std::shared_ptr<stores::record_store> store;
  config cfg;
  caf::actor_system sys{cfg};

  explicit impl(store_kind k)
      : kind(k), store(open_store(k, dir.file("records.db"))) {
    // nop
  }
};

workbench::workbench(store_kind kind) : impl_(std::make_unique<impl>(kind)) {
  // nop
}

workbench::~workbench() = default;

history_result workbench::run(const workload_options& opts) {
  world w{opts};
  w.store = impl_->store;
  if (opts.nodes == 1)
    w.shared_sys = &impl_->sys;
  for (int i = 0; i < opts.nodes; ++i)
    start_member(w, i);
  if (opts.nodes > 1)
    await_membership(w);
  std::atomic<bool> done{false};
  size_t cuts = 0;
  std::thread cutter;
  if (opts.cut_connections && opts.nodes > 1)
    cutter = std::thread([&] { cuts = cut_randomly(w, done); });
  std::vector<std::thread> threads;
  for (int t = 0; t < opts.threads; ++t)
    threads.emplace_back([&w, t] { worker{w, t}.run(); });
  for (auto& t : threads)
    t.join();
  done.store(true, std::memory_order_release);
  if (cutter.joinable())
    cutter.join();
  check_final_state(w);
  history_result out;
  out.cuts = cuts;
  if (opts.nodes > 1)
    for (auto& m : w.members)
      out.replays += replays_of(*m);
  out.operations = w.h.merge().size();
  check_options co;
  co.remote_lag_ns = opts.nodes > 1 ? 2'000'000'000 : 0;
  out.violations = check(w.h, co);
  // How the members ended goes first: the violations themselves are what a
  // reader (or `tail`) must not lose.
  if (!out.violations.empty() && !w.quiescence.empty())
    out.violations.insert(out.violations.begin(), w.quiescence);
  return out;
}

} // namespace cachebus::consistency
