#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/actors/writepaths/pending_writes.hpp"
#include "cachebus/actors/writepaths/write_back_flusher.hpp"
#include "cachebus/actors/writepaths/write_back_queue.hpp"

#include <chrono>
#include <functional>

#include "caf/all.hpp"

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace {

std::string ms_text(caf::timespan t) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(t).count())
         + " ms";
}

} // namespace

caf::error to_error(const stores::status& st) {
  using stores::store_errc;
  auto code = errc::store_error;
  switch (st.code()) {
  case store_errc::not_found:
    code = errc::not_found;
    break;
  case store_errc::invalid_argument:
    code = errc::invalid_argument;
    break;
  case store_errc::unknown_resource:
    code = errc::unknown_resource;
    break;
  case store_errc::invalid_field:
    code = errc::invalid_field;
    break;
  case store_errc::value_too_large:
    code = errc::value_too_large;
    break;
  case store_errc::unavailable:
    code = errc::store_unavailable;
    break;
  case store_errc::ok:
  case store_errc::conflict:
  case store_errc::io_error:
    break;
  }
  return make_error(code, st.message());
}

// -- construction
// ---------------------------------------------------------------

record_cache::record_cache(node& n, std::shared_ptr<stores::record_store> store,
                           write_back_options opts)
    : node_(n), store_(std::move(store)), opts_(std::move(opts)),
      schema_(store_->limits()),
      counters_(std::make_shared<write_back_counters>()) {
  // nop
}

caf::expected<std::unique_ptr<record_cache>>
record_cache::start(node& n, std::shared_ptr<stores::record_store> store,
                    std::shared_ptr<pending_writes> pending) {
  auto opts = write_back_options::from(n.system().config());
  if (!opts)
    return std::move(opts.error());
  return start(n, std::move(store), std::move(*opts), std::move(pending));
}

caf::expected<std::unique_ptr<record_cache>>
record_cache::start(node& n, std::shared_ptr<stores::record_store> store,
                    write_back_options opts,
                    std::shared_ptr<pending_writes> pending) {
  if (store == nullptr)
    return make_error(errc::invalid_argument, "record_cache needs a store");
  if (auto err = opts.validate())
    return err;
  std::unique_ptr<record_cache> rc{
    new record_cache(n, std::move(store), std::move(opts))};
  if (rc->opts_.journal.empty())
    return rc;
  stores::journal_options jopts;
  jopts.fsync = rc->opts_.fsync;
  jopts.batch_interval = std::chrono::duration_cast<std::chrono::milliseconds>(
    rc->opts_.fsync_interval);
  if (jopts.batch_interval.count() == 0)
    jopts.batch_interval = std::chrono::milliseconds{1};
  jopts.batch_records = rc->opts_.fsync_records;
  stores::journal_replay replay;
  auto j = stores::journal::open(rc->opts_.journal, jopts, replay);
  if (!j.ok())
    return make_error(errc::journal_error, j.error().to_string());
  rc->queue_ = std::make_shared<write_back_queue>(std::move(j).value(),
                                                  rc->opts_.max_queue);
  bool replayed = !replay.unflushed.empty();
  rc->queue_->restore(std::move(replay.unflushed));
  if (pending) {
    pending->attach(rc->queue_);
    rc->pending_ = std::move(pending);
  }
  write_back_flusher_setup setup;
  setup.queue = rc->queue_;
  setup.store = rc->store_;
  setup.counters = rc->counters_;
  auto* self = rc.get();
  setup.on_flushed = [self](const stores::record_write& w, uint64_t v) {
    self->flushed(w, v);
  };
  setup.opts = rc->opts_;
  setup.flush_at_start = replayed;
  rc->flusher_ = spawn_write_back_flusher(n.system(), std::move(setup));
  return rc;
}

record_cache::~record_cache() {
  stop();
}

void record_cache::stop() {
  if (stopped_.exchange(true))
    return;
  if (!flusher_)
    return;
  caf::scoped_actor self{node_.system()};
  // The final flush: bounded; what it can't write stays in the journal.
  self->request(flusher_, opts_.shutdown_timeout, wb_drain_atom_v)
    .receive([](uint64_t) {},
             [this](caf::error& err) {
               counters_->set_error("shutdown flush incomplete: "
                                    + describe(err));
             });
  self->monitor(flusher_);
  self->send_exit(flusher_, caf::exit_reason::user_shutdown);
  // The flusher calls back into this object; it must be gone before we are.
  // A flush blocked in store I/O finishes first (bounded by the store's own
  // timeouts).
  bool down = false;
  self->receive_while([&] { return !down; })(
    [&](caf::down_msg&) { down = true; });
  flusher_ = nullptr;
  if (pending_)
    pending_->detach();
  queue_.reset();
}

// -- helpers
// ----------------------------------------------------------------------

std::mutex& record_cache::stripe(std::string_view resource,
                                 std::string_view id) {
  auto h = std::hash<std::string_view>{}(resource)*31
           + std::hash<std::string_view>{}(id);
  return stripes_[h % stripe_count];
}

caf::expected<std::string>
record_cache::canonical_key(std::string_view resource,
                            std::string_view id) const {
  // One rule for every path (rules::check_id; the store loader applies it
  // too): an id whose keys the cache could not hold, or that would write
  // another record's key, is refused before anything is read or written.
  if (auto err
      = node_.rules().check_id(resource, id, node_.options().max_key_size))
    return err;
  auto x = node_.rules().expand(resource, id);
  if (!x)
    return std::move(x.error());
  if (x->keys.empty())
    return make_error(errc::invalid_rule,
                      "the rule of resource \"" + std::string{resource}
                        + "\" has no key template for the record itself");
  return std::move(x->keys.front());
}

caf::expected<std::string> record_cache::check(const stores::record_write& w) {
  if (w.fields.empty())
    return make_error(errc::invalid_argument,
                      "a write to " + w.resource + " names no field");
  // A field the node could never cache (cachebus.max-value-size).
  auto max_value = node_.options().max_value_size;
  for (auto& [field, value] : w.fields)
    if (value.size() > max_value)
      return make_error(
        errc::value_too_large,
        "field \"" + field + "\" of " + w.resource + "/" + w.id + " is "
          + std::to_string(value.size()) + " bytes, the maximum is "
          + std::to_string(max_value) + " bytes (cachebus.max-value-size)");
  {
    std::shared_lock<std::shared_mutex> guard{schema_mtx_};
    auto st = schema_.check(w);
    if (st.ok())
      return canonical_key(w.resource, w.id);
    if (st.code() != stores::store_errc::unknown_resource
        && st.code() != stores::store_errc::invalid_field)
      return to_error(st);
  }
  // Maybe declared since we last looked.
  std::unique_lock<std::shared_mutex> guard{schema_mtx_};
  for (auto& r : store_->resources())
    (void)schema_.declare(r, store_->fields(r));
  if (auto st = schema_.check(w); !st.ok())
    return to_error(st);
  return canonical_key(w.resource, w.id);
}

std::optional<cached_record> record_cache::cached(const std::string& key) {
  auto v = node_.get(key);
  if (!v)
    return std::nullopt;
  auto rec = decode_record(*v);
  if (!rec)
    return std::nullopt;
  return std::move(*rec);
}

void record_cache::install(const std::string& key, uint64_t lease,
                           const stores::field_map& fields, uint64_t version) {
  // Version 0 would make the shard pick one from its own counter, which
  // means nothing next to store versions: such an entry is not cached.
  if (version == 0 || encoded_size(fields) > node_.options().max_value_size) {
    node_.cancel_install(key, lease);
    (void)node_.erase(key);
    return;
  }
  set_options so;
  so.version = version;
  // The rule's tags, as a fetch of the key would carry them.
  node_.rules().add_key_tags(key, so.tags);
  // Refused only if a write, an invalidation or a newer version reached the
  // key since the lease began; the refusal drops the key, since what refused
  // it may have spared a copy older than this write (a flush's versioned
  // event spares a copy loaded after the flush, before this write). A load
  // that began meanwhile cannot refuse it (a write lease is not replaced by
  // loads; node::begin_install). An error (the node stopping) drops the key
  // too: a miss is never stale.
  auto installed
    = node_.install(key, lease, encode_record(fields, version), so);
  if (!installed)
    (void)node_.erase(key);
}

// -- write-through
// ------------------------------------------------------------------

caf::expected<uint64_t> record_cache::update(std::string resource,
                                             std::string id,
                                             stores::field_map fields) {
  if (stopped_)
    return make_error(errc::stopped, "the record cache is stopped");
  stores::record_write w{std::move(resource), std::move(id), std::move(fields)};
  auto key = check(w);
  if (!key)
    return std::move(key.error());
  uint64_t version = 0;
  {
    std::lock_guard<std::mutex> guard{stripe(w.resource, w.id)};
    // The lease first: loads in flight are superseded, and an event that
    // lands while we write wins over what we install.
    auto lease = node_.begin_install(*key);
    auto res = store_->apply({w});
    if (!res.ok()) {
      node_.cancel_install(*key, lease);
      return to_error(res.error()); // nothing cached, nothing published
    }
    version = res.value().front();
    // Read the whole record back rather than merge into the cached copy:
    // a write behind our back (its event still on the way) may sit between
    // the cached version and ours, and a merge would label a copy without
    // it with our newer version.
    std::optional<stores::field_map> queued;
    if (queue_)
      queued = queue_->unflushed(w.resource, w.id);
    if (auto rec = store_->load(w.resource, w.id); rec.ok()) {
      auto fields = std::move(rec->fields);
      if (queued)
        for (auto& [k, v] : *queued)
          fields.insert_or_assign(k, v);
      install(*key, lease, fields, rec->version);
    } else {
      node_.cancel_install(*key, lease); // our own event removes older copies
    }
  }
  // Entries older than the write go everywhere; the canonical one (at
  // `version` or newer) survives.
  (void)node_.publish_invalidation(w.resource, w.id, version);
  return version;
}

// -- read
// ----------------------------------------------------------------------------

caf::expected<stores::record> record_cache::fetch(const std::string& resource,
                                                  const std::string& id) {
  if (stopped_)
    return make_error(errc::stopped, "the record cache is stopped");
  auto key = canonical_key(resource, id);
  if (!key)
    return std::move(key.error());
  std::lock_guard<std::mutex> guard{stripe(resource, id)};
  if (auto c = cached(*key))
    return stores::record{resource, id, std::move(c->fields), c->version};
  // Miss: load through node::fetch, whose fill lease keeps a record read
  // before an invalidation of its key from being installed after it.
  std::optional<stores::record> uncacheable;
  loader_fn loader = [&](const std::string&) -> caf::expected<loaded> {
    // The queue first, then the store (pending_writes.hpp says why).
    std::optional<stores::field_map> queued;
    if (queue_)
      queued = queue_->unflushed(resource, id);
    auto res = store_->load(resource, id);
    if (!res.ok()) {
      if (res.error().code() == stores::store_errc::not_found && queued) {
        // Only queued so far: version 0 means nothing next to store
        // versions, so it is returned but not cached.
        uncacheable = stores::record{resource, id, std::move(*queued), 0};
        return make_error(errc::not_found, "only queued");
      }
      return to_error(res.error());
    }
    auto rec = std::move(res).value();
    if (queued)
      for (auto& [k, v] : *queued)
        rec.fields.insert_or_assign(k, v);
    if (encoded_size(rec.fields) > node_.options().max_value_size) {
      uncacheable = std::move(rec);
      return make_error(errc::value_too_large, "record too large to cache");
    }
    return loaded{encode_record(rec.fields, rec.version), rec.version};
  };
  auto v = node_.fetch(*key, loader);
  if (uncacheable)
    return std::move(*uncacheable);
  if (!v)
    return std::move(v.error());
  // A hit on bytes someone else put under the key is an error, never a
  // record.
  auto c = detail::decode_value<cached_record>(*v, "key \"" + *key + "\"");
  if (!c)
    return std::move(c.error());
  return stores::record{resource, id, std::move(c->fields), c->version};
}

// -- write-back
// ------------------------------------------------------------------------

caf::error record_cache::queue_update(std::string resource, std::string id,
                                      stores::field_map fields) {
  if (stopped_)
    return make_error(errc::stopped, "the record cache is stopped");
  if (!queue_)
    return make_error(errc::invalid_config, "write-back needs a journal: set "
                                            "cachebus.write-back.journal");
  stores::record_write w{std::move(resource), std::move(id), std::move(fields)};
  auto key = check(w);
  if (!key)
    return std::move(key.error());
  auto deadline = std::chrono::steady_clock::now()
                  + std::chrono::duration_cast<std::chrono::nanoseconds>(
                    opts_.backpressure_timeout);
  bool counted = false;
  for (;;) {
    std::unique_lock<std::mutex> guard{stripe(w.resource, w.id)};
    auto pushed = queue_->push(w);
    if (!pushed) {
      if (!is(pushed.error(), errc::backpressure))
        return std::move(pushed.error());
      if (!counted) {
        queue_->count_backpressure();
        counted = true;
      }
      if (opts_.backpressure == backpressure_mode::error)
        return std::move(pushed.error());
      // Wait without the record's lock: the flusher needs it to retire.
      guard.unlock();
      if (!queue_->wait_for_room(deadline)
          && std::chrono::steady_clock::now() >= deadline)
        return make_error(errc::backpressure,
                          "the write-back queue stayed full for "
                            + ms_text(opts_.backpressure_timeout)
                            + " (cachebus.write-back.backpressure-timeout)");
      continue;
    }
    // Journaled: now readers of this node see it. The lease supersedes
    // every load in flight (what it read may predate the write), and an
    // event that lands before our install wins over it.
    if (pending_)
      pending_->note(*key, w.resource, w.id);
    auto lease = node_.begin_install(*key);
    if (auto c = cached(*key)) {
      for (auto& [k, v] : w.fields)
        c->fields.insert_or_assign(k, v);
      install(*key, lease, c->fields, c->version);
    } else {
      node_.cancel_install(*key, lease);
    }
    guard.unlock();
    if (!pushed->coalesced && pushed->pending == opts_.max_batch)
      caf::anon_send(flusher_, wb_flush_atom_v);
    return queue_->wait_durable(pushed->ticket);
  }
}

void record_cache::flushed(const stores::record_write& w, uint64_t version) {
  {
    std::lock_guard<std::mutex> guard{stripe(w.resource, w.id)};
    queue_->retire(w.resource, w.id);
  }
  // Every copy older than the flushed write goes, this node's too: the
  // cached entry holds the fields but not necessarily a write made behind
  // our back between its version and ours, so it must not take our version;
  // the next read loads the store, which has everything. Refused for good
  // (version 0): every cached copy showed a write the store will never
  // have, so all of them go.
  (void)node_.publish_invalidation(w.resource, w.id, version);
}

caf::error record_cache::flush(caf::timespan timeout) {
  if (stopped_)
    return make_error(errc::stopped, "the record cache is stopped");
  if (!flusher_)
    return {};
  caf::error result;
  caf::scoped_actor self{node_.system()};
  self->request(flusher_, timeout, wb_drain_atom_v)
    .receive([](uint64_t) {},
             [&](caf::error& err) {
               if (err == caf::sec::request_timeout)
                 result = make_error(errc::timeout,
                                     "the write-back queue was not flushed "
                                     "within "
                                       + ms_text(timeout));
               else
                 result = std::move(err);
             });
  return result;
}

write_back_stats record_cache::stats() const {
  write_back_stats out;
  if (queue_)
    queue_->stats(out);
  counters_->fill(out);
  return out;
}

} // namespace cachebus
