#include "cachebus/actors/writepaths/write_back_flusher.hpp"

#include <algorithm>
#include <vector>

#include "caf/all.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/shutdown_guard.hpp"

namespace cachebus {

void write_back_counters::set_error(std::string e) {
  std::lock_guard<std::mutex> guard{mtx_};
  last_error_ = std::move(e);
}

void write_back_counters::fill(write_back_stats& out) const {
  out.flushed_rows = flushed_rows.load();
  out.batches = batches.load();
  out.retries = retries.load();
  out.rejected = rejected.load();
  std::lock_guard<std::mutex> guard{mtx_};
  out.last_error = last_error_;
}

namespace {

struct drain_request {
  uint64_t target;
  caf::typed_response_promise<uint64_t> rp;
};

struct flusher_state {
  static inline const char* name = "cachebus.write-back-flusher";
  write_back_flusher_setup setup;
  // The batch in flight: taken from the queue, not yet committed. Non-empty
  // only while a retry is scheduled.
  std::vector<stores::record_write> batch;
  caf::timespan backoff{0};
  std::vector<drain_request> drains;
  // The flusher is hidden (the actor system does not wait for it): a system
  // destroyed while it runs aborts with a message instead of hanging. Armed
  // by the spawner, disarmed when the flusher terminates.
  std::shared_ptr<shutdown_guard> guard;

  ~flusher_state() {
    if (guard)
      guard->disarm();
  }
};

using self_ptr = write_back_flusher_actor::stateful_pointer<flusher_state>;

bool retryable(stores::store_errc code) {
  return code == stores::store_errc::unavailable
         || code == stores::store_errc::conflict;
}

void done(self_ptr self, const stores::record_write& w, uint64_t version) {
  auto& s = self->state.setup;
  if (s.on_flushed)
    s.on_flushed(w, version);
  else
    s.queue->retire(w.resource, w.id);
}

void answer_drains(self_ptr self) {
  auto& st = self->state;
  if (st.drains.empty())
    return;
  auto lw = st.setup.queue->low_water();
  auto rows = st.setup.counters->flushed_rows.load();
  auto i
    = std::remove_if(st.drains.begin(), st.drains.end(), [&](drain_request& d) {
        if (d.target > lw)
          return false;
        d.rp.deliver(rows);
        return true;
      });
  st.drains.erase(i, st.drains.end());
}

void schedule_retry(self_ptr self) {
  auto& st = self->state;
  st.setup.counters->retries.fetch_add(1);
  self->delayed_send(self, st.backoff, wb_retry_atom_v);
  st.backoff = std::min(st.backoff * 2, st.setup.opts.retry_max);
}

// The batch is in the store (or refused for good): checkpoint, answer
// drains, and keep going if there is more to do.
void batch_finished(self_ptr self) {
  auto& st = self->state;
  st.backoff = st.setup.opts.retry_min;
  if (auto err = st.setup.queue->checkpoint(st.setup.opts.compact_bytes))
    st.setup.counters->set_error(describe(err));
  answer_drains(self);
  auto pending = st.setup.queue->pending();
  if (pending >= st.setup.opts.max_batch || (pending > 0 && !st.drains.empty()))
    self->send(self, wb_flush_atom_v);
}

// Commits what the store accepts one record at a time, after a batch failed
// with an error that retrying won't fix: one bad record must not hold back
// the others forever.
void isolate(self_ptr self) {
  auto& st = self->state;
  auto& s = st.setup;
  size_t i = 0;
  for (; i < st.batch.size(); ++i) {
    auto& w = st.batch[i];
    auto res = s.store->apply({w});
    if (res.ok()) {
      done(self, w, res.value().front());
      s.counters->flushed_rows.fetch_add(1);
      s.counters->batches.fetch_add(1);
      continue;
    }
    auto err = res.error();
    if (retryable(err.code()))
      break;
    s.counters->rejected.fetch_add(1);
    s.counters->set_error("refused " + w.resource + "/" + w.id + ": "
                          + err.to_string());
    done(self, w, 0);
  }
  st.batch.erase(st.batch.begin(), st.batch.begin() + i);
  if (st.batch.empty())
    batch_finished(self);
  else
    schedule_retry(self);
}

// Tries the batch in flight once.
void attempt(self_ptr self) {
  auto& st = self->state;
  auto& s = st.setup;
  auto res = s.store->apply(st.batch);
  if (res.ok()) {
    auto& versions = res.value();
    for (size_t i = 0; i < st.batch.size(); ++i)
      done(self, st.batch[i], versions[i]);
    s.counters->flushed_rows.fetch_add(st.batch.size());
    s.counters->batches.fetch_add(1);
    st.batch.clear();
    batch_finished(self);
    return;
  }
  auto err = res.error();
  s.counters->set_error(err.to_string());
  if (retryable(err.code()))
    schedule_retry(self);
  else
    isolate(self);
}

void flush(self_ptr self) {
  auto& st = self->state;
  if (!st.batch.empty())
    return; // a retry is scheduled; it keeps the order per record
  st.batch = st.setup.queue->take(st.setup.opts.max_batch);
  if (st.batch.empty()) {
    answer_drains(self);
    return;
  }
  attempt(self);
}

write_back_flusher_actor::behavior_type
flusher(self_ptr self, write_back_flusher_setup setup,
        std::shared_ptr<shutdown_guard> guard) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.backoff = st.setup.opts.retry_min;
  st.guard = std::move(guard);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    for (auto& d : self->state.drains)
      d.rp.deliver(make_error(errc::stopped, "the write-back flusher stopped"));
    self->state.drains.clear();
    self->quit(msg.reason);
  });
  // Replayed writes go out at once; then on the timer. (Decided by the
  // spawner: this function runs later, on the actor's own thread, when
  // callers may have queued writes already.)
  if (st.setup.flush_at_start)
    self->send(self, wb_flush_atom_v);
  self->delayed_send(self, st.setup.opts.flush_interval, wb_tick_atom_v);
  return {
    [self](wb_flush_atom) { flush(self); },
    [self](wb_tick_atom) {
      self->delayed_send(self, self->state.setup.opts.flush_interval,
                         wb_tick_atom_v);
      flush(self);
    },
    [self](wb_retry_atom) {
      if (!self->state.batch.empty())
        attempt(self);
      else
        flush(self);
    },
    [self](wb_drain_atom) -> caf::result<uint64_t> {
      auto& st = self->state;
      auto target = st.setup.queue->next_seq();
      if (st.setup.queue->low_water() >= target)
        return st.setup.counters->flushed_rows.load();
      auto rp = self->make_response_promise<uint64_t>();
      st.drains.push_back({target, rp});
      self->send(self, wb_flush_atom_v);
      return rp;
    },
    [self](stats_atom) {
      write_back_stats out;
      self->state.setup.queue->stats(out);
      self->state.setup.counters->fill(out);
      return out;
    },
  };
}

} // namespace

write_back_flusher_actor
spawn_write_back_flusher(caf::actor_system& sys,
                         write_back_flusher_setup setup) {
  auto guard = std::make_shared<shutdown_guard>(
    sys,
    "cachebus: the caf::actor_system is shutting down while a "
    "cachebus::record_cache (its write-back flusher) still runs in it. Stop "
    "or destroy the record_cache, then its node, before their actor system: "
    "a class holding them must declare the actor_system member first "
    "(members are destroyed in reverse order). Aborting instead of hanging.");
  return sys.spawn<caf::detached + caf::hidden>(flusher, std::move(setup),
                                                std::move(guard));
}

} // namespace cachebus
