#include "cachebus/actors/writepaths/write_back_queue.hpp"

#include <algorithm>

#include "cachebus/actors/node/error.hpp"

namespace cachebus {

namespace {

caf::error journal_err(const stores::status& st) {
  return make_error(errc::journal_error, st.to_string());
}

} // namespace

write_back_queue::write_back_queue(std::unique_ptr<stores::journal> j,
                                   size_t max_records)
    : max_records_(max_records), journal_(std::move(j)) {
  // nop
}

std::string write_back_queue::key_of(const std::string& resource,
                                     const std::string& id) {
  // Resource names are [a-z_][a-z0-9_]*, so the first NUL ends them.
  std::string k;
  k.reserve(resource.size() + 1 + id.size());
  k += resource;
  k.push_back('\0');
  k += id;
  return k;
}

void write_back_queue::merge_locked(const stores::record_write& w, uint64_t seq,
                                    std::chrono::steady_clock::time_point now,
                                    bool& coalesced) {
  auto key = key_of(w.resource, w.id);
  auto i = pending_.find(key);
  coalesced = i != pending_.end();
  if (!coalesced) {
    entry e;
    e.write.resource = w.resource;
    e.write.id = w.id;
    e.first_seq = seq;
    e.since = now;
    pending_order_.emplace(seq, key);
    i = pending_.emplace(std::move(key), std::move(e)).first;
  }
  for (auto& [k, v] : w.fields)
    i->second.write.fields.insert_or_assign(k, v);
  i->second.last_seq = seq;
}

void write_back_queue::restore(std::vector<stores::journal_entry> entries) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = std::chrono::steady_clock::now();
  for (auto& e : entries) {
    bool coalesced = false;
    merge_locked(e.write, e.seq, now, coalesced);
    ++replayed_;
  }
}

caf::expected<write_back_queue::pushed>
write_back_queue::push(const stores::record_write& w) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto key = key_of(w.resource, w.id);
  bool queued = pending_.count(key) > 0;
  // A record in flight only is not counted twice: its entry will be retired.
  bool counted = queued || in_flight_.count(key) > 0;
  if (!counted && pending_.size() + in_flight_.size() >= max_records_) {
    return make_error(errc::backpressure,
                      "the write-back queue holds "
                        + std::to_string(max_records_)
                        + " records (cachebus.write-back.max-queue); "
                          "try again later");
  }
  auto t = journal_->append(w);
  if (!t.ok())
    return journal_err(t.error());
  bool coalesced = false;
  merge_locked(w, t->seq, std::chrono::steady_clock::now(), coalesced);
  ++queued_writes_;
  if (coalesced)
    ++coalesced_writes_;
  return pushed{*t, pending_.size(), coalesced};
}

bool write_back_queue::wait_for_room(
  std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock{mtx_};
  return room_cv_.wait_until(lock, deadline, [this] {
    return pending_.size() + in_flight_.size() < max_records_;
  });
}

caf::error write_back_queue::wait_durable(const stores::journal_ticket& t) {
  if (auto st = journal_->wait_durable(t); !st.ok())
    return journal_err(st);
  return {};
}

std::optional<stores::field_map>
write_back_queue::unflushed(const std::string& resource,
                            const std::string& id) const {
  auto key = key_of(resource, id);
  std::lock_guard<std::mutex> guard{mtx_};
  std::optional<stores::field_map> out;
  if (auto i = in_flight_.find(key); i != in_flight_.end())
    out = i->second.write.fields;
  if (auto i = pending_.find(key); i != pending_.end()) {
    if (!out)
      out.emplace();
    for (auto& [k, v] : i->second.write.fields)
      out->insert_or_assign(k, v);
  }
  return out;
}

std::vector<stores::record_write> write_back_queue::take(size_t max) {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<stores::record_write> batch;
  auto it = pending_order_.begin();
  while (it != pending_order_.end() && batch.size() < max) {
    auto node = pending_.extract(it->second);
    batch.push_back(node.mapped().write);
    in_flight_.insert(std::move(node));
    it = pending_order_.erase(it);
  }
  return batch;
}

void write_back_queue::retire(const std::string& resource,
                              const std::string& id) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    in_flight_.erase(key_of(resource, id));
  }
  room_cv_.notify_all();
}

uint64_t write_back_queue::low_water_locked() const {
  uint64_t lw = journal_->next_seq();
  if (!pending_order_.empty())
    lw = std::min(lw, pending_order_.begin()->first);
  for (auto& [k, e] : in_flight_)
    lw = std::min(lw, e.first_seq);
  return lw;
}

caf::error write_back_queue::checkpoint(size_t compact_bytes) {
  std::lock_guard<std::mutex> guard{mtx_};
  // Holding mtx_ keeps pushes out: nothing is appended between deciding and
  // emptying or rewriting the file.
  if (pending_.empty() && in_flight_.empty()) {
    if (auto st = journal_->reset(); !st.ok())
      return journal_err(st);
    return {};
  }
  if (auto st = journal_->checkpoint(low_water_locked()); !st.ok())
    return journal_err(st);
  if (journal_->size_bytes() <= compact_bytes)
    return {};
  std::vector<stores::journal_entry> live;
  live.reserve(pending_.size() + in_flight_.size());
  for (auto* m : {&in_flight_, &pending_})
    for (auto& [k, e] : *m)
      live.push_back({e.last_seq, e.write});
  // Per record, the in-flight write precedes the pending one (smaller seq),
  // and replay merges in file order.
  std::sort(live.begin(), live.end(),
            [](auto& x, auto& y) { return x.seq < y.seq; });
  if (auto st = journal_->rewrite(live); !st.ok())
    return journal_err(st);
  return {};
}

uint64_t write_back_queue::next_seq() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return journal_->next_seq();
}

uint64_t write_back_queue::low_water() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return low_water_locked();
}

size_t write_back_queue::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return pending_.size();
}

size_t write_back_queue::in_flight() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return in_flight_.size();
}

void write_back_queue::count_backpressure() {
  std::lock_guard<std::mutex> guard{mtx_};
  ++backpressured_;
}

void write_back_queue::stats(write_back_stats& out) const {
  std::lock_guard<std::mutex> guard{mtx_};
  out.queue_depth = pending_.size();
  out.in_flight = in_flight_.size();
  std::optional<std::chrono::steady_clock::time_point> oldest;
  if (!pending_order_.empty())
    oldest = pending_.at(pending_order_.begin()->second).since;
  for (auto& [k, e] : in_flight_)
    if (!oldest || e.since < *oldest)
      oldest = e.since;
  out.oldest_age = oldest ? std::chrono::duration_cast<caf::timespan>(
                     std::chrono::steady_clock::now() - *oldest)
                          : caf::timespan{0};
  out.queued_writes = queued_writes_;
  out.coalesced_writes = coalesced_writes_;
  out.backpressured = backpressured_;
  out.replayed = replayed_;
  out.journal_bytes = journal_->size_bytes();
  out.journal_syncs = journal_->syncs();
  auto& found = journal_->report();
  out.journal_torn_bytes = found.discarded_bytes;
  out.journal_skipped_bytes = found.skipped_bytes;
  out.journal_missing_seqs = found.missing_seqs;
  out.journal_damage = found.describe(journal_->path());
}

} // namespace cachebus
