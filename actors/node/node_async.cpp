// The node's asynchronous calls (node.hpp, "asynchronous calls"): each one
// is a short-lived event-based actor (no thread of its own) that makes one
// request of the lock manager or the listener and fulfils a promise with the
// answer. When fetch_async's caller is granted a load, its actor stays alive
// (the lock manager watches it as the key's holder) until the loader, run on
// the node's task pool by load_as_owner, is done.
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/node_fetch.hpp"
#include "cachebus/actors/node/node_state.hpp"

#include <atomic>

#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace {

// A promise that is always kept: by finish(), or with errc::stopped when the
// last holder (an actor killed with the node, a task dropped) lets go.
template <class T>
struct async_job {
  std::promise<caf::expected<T>> promise;
  std::atomic<bool> done{false};

  void finish(caf::expected<T> x) {
    if (!done.exchange(true))
      promise.set_value(std::move(x));
  }

  ~async_job() {
    if (!done)
      promise.set_value(make_error(errc::stopped, "the node stopped before "
                                                  "the call completed"));
  }
};

// async_job for a callback: called once, by finish() or with errc::stopped
// when the last holder lets go.
template <class T>
struct callback_job {
  explicit callback_job(std::function<void(caf::expected<T>)> f)
      : fn(std::move(f)) {
    // nop
  }

  std::function<void(caf::expected<T>)> fn;
  std::atomic<bool> done{false};

  void finish(caf::expected<T> x) {
    if (!done.exchange(true))
      fn(std::move(x));
  }

  ~callback_job() {
    if (!done)
      fn(make_error(errc::stopped, "the node stopped before the call "
                                   "completed"));
  }
};

template <class T>
std::shared_ptr<async_job<T>> make_job(std::future<caf::expected<T>>& fut) {
  auto job = std::make_shared<async_job<T>>();
  fut = job->promise.get_future();
  return job;
}

caf::error stopped_error() {
  return make_error(errc::stopped, "node is stopped");
}

// The node's loader threads, made on first use; null once it stopped.
std::shared_ptr<task_pool> loader_pool(node_state& st) {
  std::lock_guard<std::mutex> guard{st.async_mtx};
  if (st.stopped.load(std::memory_order_acquire))
    return nullptr;
  if (!st.async_loaders)
    st.async_loaders = std::make_shared<task_pool>(
      st.opts.async_loaders, st.opts.max_queued_async_loads);
  return st.async_loaders;
}

} // namespace

std::future<caf::expected<std::string>>
node::fetch_async(std::string_view key, loader_fn loader,
                  const fetch_options& opts) {
  std::future<caf::expected<std::string>> fut;
  auto job = make_job(fut);
  auto fo = resolve_fetch(key, opts);
  if (!fo) {
    job->finish(std::move(fo.error()));
    return fut;
  }
  if (!loader) {
    job->finish(make_error(errc::invalid_argument, "fetch needs a loader"));
    return fut;
  }
  std::string k{key};
  std::string cached;
  auto lk = s_->cache->table_for(k).lookup(k, cached);
  if (lk.state == shard_table::lookup_result::fresh) {
    job->finish(std::move(cached));
    return fut;
  }
  acquire_request req;
  req.key = k;
  auto st = s_;
  // `st` is an argument, not a capture: CAF 0.17 spawns a function actor
  // without arguments by dereferencing a null tuple (UBSan reports it).
  s_->sys.spawn(
    [job, req, loader = std::move(loader), fo = *fo, lk,
     cached = std::move(cached)](caf::event_based_actor* self,
                                 std::shared_ptr<node_state> st) {
      self
        ->request(st->lock_manager, st->opts.request_timeout, acquire_atom_v,
                  req)
        .then(
          [=](acquire_reply& r) {
            if (r.outcome != acquire_reply::load) {
              job->finish(std::move(r.val));
              return;
            }
            // We hold the key: this actor is its holder until the load ends.
            auto grant = std::move(r);
            auto fail = [&](caf::error err) {
              caf::anon_send(st->lock_manager, fail_atom_v, req.key,
                             grant.token, err);
              job->finish(std::move(err));
            };
            auto pool = loader_pool(*st);
            if (!pool) {
              fail(stopped_error());
              return;
            }
            auto me = caf::actor_cast<caf::actor>(self);
            auto task = [=](bool run) {
              if (run)
                job->finish(
                  load_as_owner(*st, req.key, grant, loader, fo, lk, cached));
              else {
                caf::anon_send(st->lock_manager, fail_atom_v, req.key,
                               grant.token, stopped_error());
                job->finish(stopped_error());
              }
              caf::anon_send(me, caf::ok_atom_v);
            };
            if (!pool->submit(task)) {
              fail(st->stopped ? stopped_error()
                               : make_error(errc::backpressure,
                                            "cachebus.max-queued-async-loads "
                                            "loads already wait for a loader "
                                            "thread"));
              return;
            }
            self->become([self](caf::ok_atom) { self->quit(); });
          },
          [=](caf::error& err) {
            job->finish(waited_too_long(std::move(err), req.key));
          });
    },
    st);
  return fut;
}

std::future<caf::expected<std::string>>
node::fetch_async(std::string_view key, const fetch_options& opts) {
  std::future<caf::expected<std::string>> fut;
  auto job = make_job(fut);
  auto fo = resolve_fetch(key, opts);
  if (!fo) {
    job->finish(std::move(fo.error()));
    return fut;
  }
  std::string k{key};
  std::string cached;
  if (s_->cache->table_for(k).get(k, cached)) {
    job->finish(std::move(cached));
    return fut;
  }
  auto st = s_;
  s_->sys.spawn(
    [job, k, fo = *fo](caf::event_based_actor* self,
                       std::shared_ptr<node_state> st) {
      self
        ->request(st->lock_manager, st->opts.request_timeout, fetch_atom_v, k,
                  fo)
        .then([=](std::string& v) { job->finish(std::move(v)); },
              [=](caf::error& err) {
                job->finish(waited_too_long(std::move(err), k));
              });
    },
    st);
  return fut;
}

std::optional<caf::expected<std::string>>
node::fetch_then(std::string_view key, const fetch_options& opts,
                 fetch_callback done) {
  auto fo = resolve_fetch(key, opts);
  if (!fo)
    return caf::expected<std::string>{std::move(fo.error())};
  std::string k{key};
  std::string cached;
  if (s_->cache->table_for(k).get(k, cached))
    return caf::expected<std::string>{std::move(cached)};
  auto job = std::make_shared<callback_job<std::string>>(std::move(done));
  s_->sys.spawn(
    [job, k, fo = *fo](caf::event_based_actor* self,
                       std::shared_ptr<node_state> st) {
      self
        ->request(st->lock_manager, st->opts.request_timeout, fetch_atom_v, k,
                  fo)
        .then([=](std::string& v) { job->finish(std::move(v)); },
              [=](caf::error& err) {
                job->finish(waited_too_long(std::move(err), k));
              });
    },
    s_);
  return std::nullopt;
}

std::future<caf::expected<size_t>>
node::invalidate_async(invalidation_event ev) {
  std::future<caf::expected<size_t>> fut;
  auto job = make_job(fut);
  if (auto err = check_running()) {
    job->finish(std::move(err));
    return fut;
  }
  auto st = s_;
  std::visit(
    [&](auto& x) {
      // This node stamps its own origin, sequence and send time (as
      // invalidate_event does): the listener treats it as a local request.
      x.origin.clear();
      x.sequence = 0;
      x.sent_ns = 0;
      st->sys.spawn(
        [job, x](caf::event_based_actor* self, std::shared_ptr<node_state> st) {
          self->request(st->listener, st->opts.request_timeout, x)
            .then([=](uint64_t n) { job->finish(static_cast<size_t>(n)); },
                  [=](caf::error& err) {
                    if (err == caf::sec::request_timeout)
                      err = make_error(errc::timeout,
                                       "the invalidation took longer than "
                                       "cachebus.request-timeout");
                    job->finish(std::move(err));
                  });
        },
        st);
    },
    ev);
  return fut;
}

} // namespace cachebus
