// The Prometheus text exposition (format 0.0.4) of one node, for an embedder
// to serve from its own HTTP server (cachebus-node serves it on
// --metrics-port): shard counters, single flight (cluster single flight
// included), the invalidation listener, the bus, the cluster bridge, given
// the node's record_cache with write-back on, the write-back queue and
// journal, and given its change feed, the feed. Metric names are stable
// (cachebus_*). Thread-safe: call from any plain thread; it asks the node's
// actors with requests bounded by cachebus.request-timeout, and leaves out the
// families of an actor that did not answer (a stopped node has only its shard
// counters).
#pragma once

#include <string>

#include "cachebus/actors/invalidation/change_feed.hpp"

namespace cachebus {

class node;
class record_cache;

/// The media type of the exposition, for the Content-Type header.
constexpr const char* metrics_content_type
  = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the metrics of `n`, of the write-back queue of `records` when it
/// is given and has write-back on, and of the change feed `feed` when it is
/// given and valid (runtime::change_feed()).
/// REQUIRES: not called from an actor's message handler (it blocks);
/// `records` and `feed`, if given, run over `n`.
std::string metrics_text(node& n, const record_cache* records = nullptr,
                         const change_feed_actor* feed = nullptr);

} // namespace cachebus
