// What the abuse tests do to and measure of a cachebus-node process, all on
// loopback: raw TCP connections (hostile BASP headers, byte-by-byte
// trickles), the resident set size of a process, and a well-behaved client
// that keeps asking a node's frontend and records its worst latency. Every
// socket and thread is closed and joined by its owner's destructor.
#pragma once

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_frontend.hpp"

namespace cachebus::test {

/// The cachebus-node to test: $CACHEBUS_TEST_NODE_BINARY if set (to run the
/// same cases against another build), else this build's.
inline std::string node_binary() {
  auto* env = std::getenv("CACHEBUS_TEST_NODE_BINARY");
  return env != nullptr && *env != '\0' ? env : CACHEBUS_NODE_BINARY;
}

/// A blocking TCP connection to 127.0.0.1:port, -1 on failure.
inline int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0
      || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  return fd;
}

/// VmRSS of `pid` in KiB (0 if unknown).
inline size_t rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      size_t kib = 0;
      in >> kib;
      return kib;
    }
    std::getline(in, key);
  }
  return 0;
}

/// The hostile message of issue 12: a BASP header with operation 0 (server
/// handshake) announcing a payload of 0xFFFFFFF0 bytes.
inline std::string hostile_basp_header() {
  std::string h(32, '\0');
  h[0] = 0x00; // server_handshake
  h[4] = '\xff';
  h[5] = '\xff';
  h[6] = '\xff';
  h[7] = '\xf0';
  h[8] = 0x01; // operation_data != 0: CAF's header check passes
  return h;
}

/// True if the peer closes `fd` within `bound` (reads and drops anything it
/// sends first).
inline bool closed_by_peer(int fd, std::chrono::milliseconds bound) {
  timeval tv{0, 100 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  auto deadline = std::chrono::steady_clock::now() + bound;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0
        || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
      return true;
  }
  return false;
}

/// `n` connections that each send one byte of `pattern` (cycled) every
/// `period`, reconnecting when the server closes them, until destroyed.
class trickle_clients {
 public:
  trickle_clients(uint16_t port, size_t n, std::chrono::milliseconds period,
                  std::string pattern)
      : port_(port), pattern_(std::move(pattern)) {
    fds_.assign(n, -1);
    thread_ = std::thread{[this, period] {
      size_t pos = 0;
      while (!stop_) {
        for (auto& fd : fds_) {
          if (fd < 0) {
            fd = connect_loopback(port_);
            ++connects_;
          }
          if (fd < 0)
            continue;
          char c = pattern_[pos % pattern_.size()];
          if (::send(fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) {
            ::close(fd);
            fd = -1;
          }
        }
        ++pos;
        for (auto waited = std::chrono::milliseconds{0};
             waited < period && !stop_; waited += std::chrono::milliseconds{20})
          std::this_thread::sleep_for(std::chrono::milliseconds{20});
      }
    }};
  }

  ~trickle_clients() {
    stop_ = true;
    thread_.join();
    for (auto fd : fds_)
      if (fd >= 0)
        ::close(fd);
  }

  /// Connections made so far (more than n: the server closed some).
  size_t connects() const { return connects_; }

 private:
  uint16_t port_;
  std::string pattern_;
  std::vector<int> fds_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> connects_{0};
  std::thread thread_;
};

/// A well-behaved client: asks `fe` for a key every `period` from its own
/// thread and records the worst round trip and the failures.
class latency_probe {
 public:
  latency_probe(caf::actor_system& sys, node_frontend_actor fe,
                std::chrono::milliseconds period
                = std::chrono::milliseconds(20))
      : sys_(sys), fe_(std::move(fe)) {
    thread_ = std::thread{[this, period] {
      caf::scoped_actor self{sys_};
      while (!stop_) {
        auto t0 = std::chrono::steady_clock::now();
        bool ok = false;
        self
          ->request(fe_, std::chrono::seconds(10), caf::get_atom_v,
                    std::string{"probe"})
          .receive([&](const std::string&) { ok = true; },
                   [&](caf::error& err) { ok = is(err, errc::miss); });
        auto dt = std::chrono::steady_clock::now() - t0;
        {
          std::lock_guard<std::mutex> guard{mtx_};
          ++count_;
          if (!ok)
            ++failures_;
          worst_ = std::max(worst_, dt);
          total_ += dt;
        }
        std::this_thread::sleep_for(period);
      }
    }};
  }

  ~latency_probe() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

  std::chrono::microseconds worst() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::chrono::duration_cast<std::chrono::microseconds>(worst_);
  }

  std::chrono::microseconds mean() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return count_ == 0 ? std::chrono::microseconds{0}
                       : std::chrono::duration_cast<std::chrono::microseconds>(
                         total_ / count_);
  }

  size_t count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return count_;
  }

  size_t failures() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return failures_;
  }

 private:
  caf::actor_system& sys_;
  node_frontend_actor fe_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mtx_;
  size_t count_ = 0;
  size_t failures_ = 0;
  std::chrono::steady_clock::duration worst_{0};
  std::chrono::steady_clock::duration total_{0};
  std::thread thread_;
};

} // namespace cachebus::test
