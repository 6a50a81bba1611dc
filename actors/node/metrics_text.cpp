#include "cachebus/actors/node/metrics_text.hpp"

#include <locale>
#include <sstream>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/bus/bridge_stats.hpp"
#include "cachebus/bus/bus_stats.hpp"

namespace cachebus {

namespace {

class writer {
 public:
  // Numbers as Prometheus reads them, whatever the embedder's global locale.
  writer() { os_.imbue(std::locale::classic()); }

  void family(const char* name, const char* type, const char* help) {
    os_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' '
        << type << '\n';
  }
  void sample(const char* name, uint64_t value, std::string labels = {}) {
    os_ << name;
    if (!labels.empty())
      os_ << '{' << labels << '}';
    os_ << ' ' << value << '\n';
  }
  /// A family with one unlabelled sample.
  void single(const char* name, const char* type, const char* help,
              uint64_t value) {
    family(name, type, help);
    sample(name, value);
  }
  /// One Prometheus histogram series: cumulative buckets in seconds.
  /// `labels` may be empty.
  void histogram(const char* name, const lag_histogram& h,
                 const std::string& labels) {
    uint64_t cumulative = 0;
    std::string bucket = std::string{name} + "_bucket";
    auto sep = labels.empty() ? labels : labels + ',';
    for (size_t i = 0; i < lag_histogram::bounds_ns.size(); ++i) {
      cumulative += h.counts[i];
      std::ostringstream le;
      le << "le=\"" << static_cast<double>(lag_histogram::bounds_ns[i]) / 1e9
         << '"';
      sample(bucket.c_str(), cumulative, sep + le.str());
    }
    sample(bucket.c_str(), h.observations, sep + "le=\"+Inf\"");
    os_ << name << "_sum";
    if (!labels.empty())
      os_ << '{' << labels << '}';
    os_ << ' ' << static_cast<double>(h.sum_ns) / 1e9 << '\n';
    sample((std::string{name} + "_count").c_str(), h.observations, labels);
  }
  std::string str() const { return os_.str(); }

 private:
  std::ostringstream os_;
};

std::string label(const char* k, const std::string& v) {
  std::string out = k;
  out += "=\"";
  for (char c : v) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + '"';
}

template <class T, class Handle, class... Ts>
bool ask(node& n, const Handle& h, T& out, Ts&&... xs) {
  if (!h || n.stopped())
    return false;
  bool ok = false;
  caf::scoped_actor self{n.system()};
  self->request(h, n.options().request_timeout, std::forward<Ts>(xs)...)
    .receive(
      [&](T& x) {
        out = std::move(x);
        ok = true;
      },
      [](caf::error&) {});
  return ok;
}

} // namespace

std::string metrics_text(node& n, const record_cache* records,
                         const change_feed_actor* feed) {
  writer w;
  auto st = n.stats();
  auto shard_counter = [&](const char* name, const char* help,
                           uint64_t shard_stats::*field, const char* type) {
    w.family(name, type, help);
    for (size_t i = 0; i < st.shards.size(); ++i)
      w.sample(name, st.shards[i].*field, label("shard", std::to_string(i)));
  };
  shard_counter("cachebus_hits_total", "Reads answered from the cache.",
                &shard_stats::hits, "counter");
  shard_counter("cachebus_misses_total", "Reads that found no live entry.",
                &shard_stats::misses, "counter");
  shard_counter("cachebus_sets_total", "Entries written.", &shard_stats::sets,
                "counter");
  shard_counter("cachebus_evictions_total", "Entries evicted by capacity.",
                &shard_stats::evictions, "counter");
  shard_counter("cachebus_expirations_total",
                "Expired entries reclaimed by the sweep.",
                &shard_stats::expirations, "counter");
  shard_counter("cachebus_invalidations_total", "Entries invalidated.",
                &shard_stats::invalidations, "counter");
  shard_counter("cachebus_entries", "Entries stored.", &shard_stats::entries,
                "gauge");
  shard_counter("cachebus_bytes", "Bytes charged to stored entries.",
                &shard_stats::bytes, "gauge");
  shard_counter("cachebus_stale_fills_refused_total",
                "Loaded values not installed: a write or invalidation of the "
                "key came after the load began.",
                &shard_stats::stale_fills_refused, "counter");
  shard_counter("cachebus_older_versions_refused_total",
                "Writes and fills refused: the cached source version was "
                "newer (versions never go backwards).",
                &shard_stats::older_versions_refused, "counter");
  if (auto locks = n.lock_stats()) {
    auto& ls = *locks;
    w.single("cachebus_lock_grants_total", "counter",
             "Loads started by this node's lock manager (loader runs).",
             ls.grants);
    w.single("cachebus_lock_forwarded_total", "counter",
             "Loads sent to the key's owner node (cluster single flight).",
             ls.forwarded);
    w.single("cachebus_lock_owner_requests_total", "counter",
             "Loads other nodes asked of this node as the key's owner.",
             ls.owner_requests);
    w.single("cachebus_lock_rerouted_total", "counter",
             "Forwarded loads moved to another owner (owner lost, cycle).",
             ls.rerouted);
    w.single("cachebus_lock_served_total", "counter",
             "Waiters answered with a loaded value.", ls.served);
    w.single("cachebus_lock_waits_total", "counter",
             "Callers that waited for another caller's load.", ls.waits);
    w.single("cachebus_lock_failures_total", "counter", "Failed loads.",
             ls.failures);
    w.single("cachebus_lock_stale_fills_total", "counter",
             "Loads superseded by a write or an invalidation of their key.",
             ls.stale_fills);
    w.single("cachebus_lock_reloads_total", "counter",
             "Attempts begun again after a superseded load.", ls.reloads);
    w.single("cachebus_lock_owner_behind_total", "counter",
             "Owner answers not installed: the owner had not applied an "
             "invalidation this node had; loaded here instead.",
             ls.owner_behind);
    w.single("cachebus_lock_held", "gauge", "Keys being loaded now.", ls.held);
    w.single("cachebus_lock_waiting", "gauge", "Callers waiting now.",
             ls.waiting);
  }
  if (records != nullptr && records->write_back_enabled()) {
    auto wb = records->stats();
    w.single("cachebus_write_back_queue_depth", "gauge",
             "Records queued for the store, not yet taken by a flush.",
             wb.queue_depth);
    w.single("cachebus_write_back_in_flight", "gauge",
             "Records in the flush that runs or waits for a retry.",
             wb.in_flight);
    w.single(
      "cachebus_write_back_lag_ms", "gauge",
      "Age of the oldest write not yet in the store, ms (0: none).",
      static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(wb.oldest_age)
          .count()));
    w.single("cachebus_write_back_flushed_rows_total", "counter",
             "Records written to the store by flushes.", wb.flushed_rows);
    w.single("cachebus_write_back_retries_total", "counter",
             "Flush attempts retried (store unavailable or conflict).",
             wb.retries);
    w.single("cachebus_write_back_rejected_total", "counter",
             "Queued records the store refused for good.", wb.rejected);
    w.single("cachebus_journal_torn_bytes", "gauge",
             "Bytes of a torn last append cut off when the journal opened.",
             wb.journal_torn_bytes);
    w.single("cachebus_journal_skipped_bytes", "gauge",
             "Damaged bytes skipped (before the tail) when the journal "
             "opened; nonzero means acknowledged writes may be lost.",
             wb.journal_skipped_bytes);
    w.single("cachebus_journal_missing_seqs", "gauge",
             "Journal sequence numbers that replay could not find.",
             wb.journal_missing_seqs);
  }
  change_feed_stats cf;
  if (feed != nullptr && ask(n, *feed, cf, stats_atom_v)) {
    w.single("cachebus_change_feed_changes_total", "counter",
             "Changes read from the database's change feed.", cf.changes);
    w.single("cachebus_change_feed_applied_total", "counter",
             "Changes turned into invalidations (their resource has a rule).",
             cf.applied);
    w.single("cachebus_change_feed_failures_total", "counter",
             "Times the feed's connection failed (it reads on from its "
             "position when back).",
             cf.failures);
    w.single("cachebus_change_feed_lost_drops_total", "counter",
             "Times the cache was dropped because unread changes had been "
             "trimmed (away longer than the retention).",
             cf.lost_drops);
    w.single("cachebus_change_feed_trimmed_total", "counter",
             "Outbox rows this node's trims deleted.", cf.trimmed);
    w.single("cachebus_change_feed_connected", "gauge",
             "1 if the feed is connected now.", cf.connected ? 1u : 0u);
    w.family("cachebus_change_feed_lag_seconds", "histogram",
             "Delay from the database trigger (its clock) to the "
             "invalidation here.");
    w.histogram("cachebus_change_feed_lag_seconds", cf.lag, {});
  }
  if (auto listener = n.listener_stats()) {
    auto& li = *listener;
    w.single("cachebus_events_applied_total", "counter",
             "Invalidation events from other nodes applied here.", li.applied);
    w.single("cachebus_events_rejected_total", "counter",
             "Invalidation events refused as malformed or unknown.",
             li.rejected);
    w.single("cachebus_partitions_total", "counter",
             "Times the partition rule dropped the cache.", li.partitions);
    w.family("cachebus_partition_drops_total", "counter",
             "Drops of the whole cache by cause (what a peer missed could "
             "not be replayed, or replay is off).");
    for (size_t i = 1; i < li.drops_by_cause.size(); ++i)
      w.sample("cachebus_partition_drops_total", li.drops_by_cause[i],
               label("cause", to_string(static_cast<drop_cause>(i))));
    w.single("cachebus_partition_dropped_entries_total", "counter",
             "Entries the partition rule dropped.", li.dropped);
    w.single("cachebus_replays_total", "counter",
             "Replays of a peer's missed events begun.", li.replays);
    w.single("cachebus_replays_completed_total", "counter",
             "Replays that applied every missed event (no drop).",
             li.replays_completed);
    w.single("cachebus_replaying", "gauge",
             "Peers being replayed now (reads miss while nonzero).",
             li.replaying_now);
    w.family("cachebus_invalidation_lag_seconds", "histogram",
             "Delay from an event's origin (peer node, by its wall clock) to "
             "its application here.");
    for (auto& h : li.lag)
      w.histogram("cachebus_invalidation_lag_seconds", h,
                  label("origin", h.source));
  }
  bus_stats bs;
  if (ask(n, n.bus(), bs, bus_stats_atom_v)) {
    w.single("cachebus_bus_published_total", "counter",
             "Events published on this node's bus.", bs.published);
    w.single("cachebus_bus_delivered_total", "counter",
             "Deliveries to subscribers of this node's bus.", bs.delivered);
  }
  bridge_stats br;
  if (n.bridge() && ask(n, n.bridge(), br, bridge_stats_atom_v)) {
    w.single("cachebus_cluster_events_out_total", "counter",
             "Own events sent to peers.", br.events_out);
    w.single("cachebus_cluster_events_in_total", "counter",
             "Peer events received.", br.events_in);
    w.single("cachebus_cluster_replayed_events_in_total", "counter",
             "Peer events fetched from their logs.", br.replayed_events_in);
    w.single("cachebus_cluster_replays_failed_total", "counter",
             "Replays given up (each one a drop).", br.replays_failed);
    w.single("cachebus_cluster_replay_requests_served_total", "counter",
             "Peers' requests answered from this node's log.",
             br.replay_requests_served);
    w.single("cachebus_cluster_replay_requests_refused_total", "counter",
             "Peers' requests of this node's log refused (trimmed, another "
             "incarnation, absurd range, not in session).",
             br.replay_requests_refused);
    w.single("cachebus_cluster_replay_replies_refused_total", "counter",
             "Answers from peers' logs refused as malformed.",
             br.replay_replies_refused);
    w.single("cachebus_cluster_log_events", "gauge",
             "Own events held in the replay log.", br.log_events);
    w.single("cachebus_cluster_log_bytes", "gauge",
             "Bytes of own events held in the replay log.", br.log_bytes);
    w.single("cachebus_cluster_log_trimmed_total", "counter",
             "Own events trimmed from the replay log by its bounds.",
             br.log_trimmed);
    w.family("cachebus_cluster_peer_up", "gauge",
             "1 if the peer is connected, else 0.");
    for (auto& p : br.peers)
      w.sample("cachebus_cluster_peer_up",
               p.state == peer_state::connected ? 1 : 0, label("peer", p.name));
  }
  return w.str();
}

} // namespace cachebus
