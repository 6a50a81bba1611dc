// The connections of one Redis-protocol server, as CLIENT LIST, CLIENT ID
// and INFO see them: each session registers itself (getting its id, unique
// and increasing) and unregisters when it ends; the counters INFO reports
// (connections received, commands processed) live here too. Thread-safe:
// sessions of one server may run on different threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace cachebus {

class resp_clients {
 public:
  /// What CLIENT LIST prints of one connection.
  struct client {
    uint64_t id = 0;
    std::string addr;  // peer "host:port"
    std::string laddr; // local "host:port"
    std::string name;
    int64_t connected_ns = 0; // steady clock
    int64_t last_ns = 0;      // last command
    int resp = 2;
    std::string last_cmd;
  };

  resp_clients();

  /// Seconds since this registry (the server) was made.
  int64_t uptime_seconds() const;

  /// Registers a connection; returns its id.
  uint64_t add(std::string addr, std::string laddr, int64_t now_ns);

  /// Unregisters `id` (unknown ids are ignored).
  void remove(uint64_t id);

  /// Runs `f(client&)` on the record of `id` under the lock, if registered.
  template <class F>
  void update(uint64_t id, F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = clients_.find(id); i != clients_.end())
      f(i->second);
  }

  /// A copy of every record, by id.
  std::vector<client> list() const;

  /// The record of `id` (id 0 if not registered).
  client get(uint64_t id) const;

  size_t connected() const;

  uint64_t connections_received() const noexcept {
    return received_.load(std::memory_order_relaxed);
  }

  void count_command() noexcept {
    commands_.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t commands_processed() const noexcept {
    return commands_.load(std::memory_order_relaxed);
  }

  /// Connections refused or closed by a limit (output buffer, request size,
  /// idle timeout, protocol error).
  void count_rejected() noexcept {
    rejected_.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t rejected() const noexcept {
    return rejected_.load(std::memory_order_relaxed);
  }

 private:
  const std::chrono::steady_clock::time_point started_;
  mutable std::mutex mtx_;
  std::map<uint64_t, client> clients_;
  uint64_t next_id_ = 1;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> rejected_{0};
};

} // namespace cachebus
