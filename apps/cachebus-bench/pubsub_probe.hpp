// The pub/sub latency probe shared by the Redis baseline and the cachebus
// cluster it is compared with: one publisher connection and two SUBSCRIBE
// connections (hiredis, each subscriber on its own thread, TCP_NODELAY as
// hiredis sets it), one message in flight. A message's latency runs from
// just before its PUBLISH is written until the later of the two subscribers
// has read it. The same code measures both sides: against redis-server all
// three connections go to one port; against cachebus the publisher talks to
// node A's Redis port and the subscribers to B's and C's, on a
// `cache:<resource>` channel, so each message is an invalidation event that
// crosses the cluster.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace cachebus::bench {

struct pubsub_ports {
  uint16_t publisher = 0;
  std::array<uint16_t, 2> subscribers{};
};

/// Latencies (µs) of `n` PUBLISH `channel` <i> after `warmup` unmeasured
/// ones; empty on failure (`why` says why). The messages are the decimal
/// numbers 0, 1, ...; before the first one, it publishes "-2" until both
/// subscribers see it (up to `link_timeout_s`): a cluster's sessions come up
/// after its nodes say READY.
std::vector<double> pubsub_latencies(const pubsub_ports& ports,
                                     const std::string& channel, int warmup,
                                     int n, std::string& why,
                                     int link_timeout_s = 10);

/// Messages per second that `ports.publisher` delivers to both subscribers
/// when `n` PUBLISHes are pipelined (pipelines of up to `window` in flight):
/// from the first PUBLISH written until both subscribers read the last
/// message; 0 on failure (`why`). REQUIRES: the channel is linked (call
/// pubsub_latencies first).
double pubsub_throughput(const pubsub_ports& ports, const std::string& channel,
                         int n, int window, std::string& why);

/// Latencies (µs) of `n` messages published at `rate` per second (paced,
/// not waiting for receipt), each until both subscribers read it; empty on
/// failure (`why`).
std::vector<double> pubsub_paced_latencies(const pubsub_ports& ports,
                                           const std::string& channel,
                                           double rate, int n,
                                           std::string& why);

} // namespace cachebus::bench
