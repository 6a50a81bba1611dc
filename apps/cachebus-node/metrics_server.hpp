// The HTTP endpoint of cachebus-node's /metrics: one thread, non-blocking
// sockets and poll(), so a slow or silent client costs a buffer and a slot,
// never a thread. Every connection must deliver its request head within
// `request_timeout` and take its response within `write_timeout`; at most
// `max_connections` are open, and a new one evicts the oldest that is still
// sending its request (a scrape sends its request at once, an attacker
// trickling bytes loses the slot). One request per connection (Connection:
// close). The render function runs on the server's thread, one scrape at a
// time. start/stop from one thread; stop is idempotent and joins.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace cachebus::app {

class metrics_server {
 public:
  struct limits {
    /// Open connections at most (listening socket not counted).
    size_t max_connections = 32;
    /// From accept to the end of the request head.
    std::chrono::milliseconds request_timeout{2000};
    /// From the end of the request head to the last byte of the response.
    std::chrono::milliseconds write_timeout{5000};
    /// Largest request head; larger ones get 431 and are closed.
    size_t max_request_bytes = 8192;
  };

  using render_fn = std::function<std::string()>;

  /// Listens on host:port (0: any free port). On failure returns nullptr
  /// and sets `error`. REQUIRES: `render` is callable from another thread.
  static std::unique_ptr<metrics_server> bind(const std::string& host,
                                              uint16_t port, render_fn render,
                                              limits lim, std::string& error);

  ~metrics_server();

  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  uint16_t port() const noexcept { return port_; }

  /// Starts serving on a thread of its own. REQUIRES: not started yet.
  void start();

  /// Closes every connection and the port and joins the thread.
  void stop();

 private:
  metrics_server() = default;

  void run();

  int listen_fd_ = -1;
  int wake_fd_ = -1; // eventfd: stop() wakes poll()
  uint16_t port_ = 0;
  render_fn render_;
  limits lim_;
  std::thread thread_;
};

} // namespace cachebus::app
