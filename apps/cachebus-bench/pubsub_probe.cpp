#include "pubsub_probe.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <hiredis.h>

#include "cluster_fixture.hpp"

namespace cachebus::bench {

namespace {

using std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int64_t link_probe = -2;
constexpr int64_t unreadable = -1;

std::string publish_command(const std::string& channel, int64_t message) {
  auto m = std::to_string(message);
  return "*3\r\n$7\r\nPUBLISH\r\n$" + std::to_string(channel.size()) + "\r\n"
         + channel + "\r\n$" + std::to_string(m.size()) + "\r\n" + m + "\r\n";
}

// The publisher: a blocking loopback socket that writes PUBLISH commands and
// counts their integer replies.
class publisher {
 public:
  explicit publisher(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~publisher() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;

  bool ok() const { return fd_ >= 0; }

  bool send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      auto n
        = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  /// Reads until `n` more replies arrived (blocking; false on error or a
  /// non-integer reply). `wait` false: reads only what is there.
  bool replies(size_t n, bool wait = true) {
    char buf[16384];
    for (;;) {
      size_t pos = 0;
      for (size_t eol;
           n > 0 && (eol = in_.find("\r\n", pos)) != std::string::npos;
           pos = eol + 2) {
        if (in_[pos] != ':')
          return false;
        --n;
        ++read_;
      }
      in_.erase(0, pos);
      if (n == 0)
        return true;
      auto got = ::recv(fd_, buf, sizeof buf, wait ? 0 : MSG_DONTWAIT);
      if (got <= 0)
        return !wait && got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
      in_.append(buf, static_cast<size_t>(got));
    }
  }

  /// Replies read so far.
  size_t read() const { return read_; }

 private:
  int fd_ = -1;
  std::string in_;
  size_t read_ = 0;
};

// Two SUBSCRIBE connections, each read by a thread of its own that stamps
// every message with the time it was read.
class subscribers {
 public:
  subscribers(const pubsub_ports& ports, const std::string& channel,
              size_t capacity)
      : received_(2, std::vector<steady_clock::time_point>(capacity)) {
    for (int s = 0; s < 2; ++s)
      threads_.emplace_back([this, s, port = ports.subscribers[s], channel] {
        read_loop(s, port, channel);
      });
  }

  ~subscribers() {
    {
      std::lock_guard<std::mutex> g{mtx_};
      stopping_ = true;
      // Unblocks a thread in redisGetReply; it ends on the error.
      for (auto fd : fds_)
        if (fd >= 0)
          ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_)
      t.join();
  }

  subscribers(const subscribers&) = delete;
  subscribers& operator=(const subscribers&) = delete;

  /// True once both subscribed (within 5 s).
  bool subscribed() {
    std::unique_lock<std::mutex> g{mtx_};
    cv_.wait_for(g, 5s, [&] { return subscribed_ + failed_ == 2; });
    return subscribed_ == 2;
  }

  /// True once both read a message `pred` accepts (given their counts and
  /// last messages), within `timeout`.
  template <class Pred>
  bool wait(steady_clock::duration timeout, Pred pred) {
    std::unique_lock<std::mutex> g{mtx_};
    return cv_.wait_for(g, timeout, [&] {
      return pred(0, count_[0], last_[0]) && pred(1, count_[1], last_[1]);
    });
  }

  /// When message `i` was read by the later of the two subscribers.
  /// REQUIRES: both read it (wait).
  steady_clock::time_point both_at(size_t i) const {
    return std::max(received_[0][i], received_[1][i]);
  }

 private:
  void read_loop(int s, uint16_t port, const std::string& channel) {
    timeval tv{2, 0};
    auto* c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply* r = nullptr;
    bool connected = false;
    {
      std::lock_guard<std::mutex> g{mtx_};
      if (c && !c->err && !stopping_) {
        fds_[s] = c->fd;
        connected = true;
      }
    }
    if (connected)
      r = static_cast<redisReply*>(
        redisCommand(c, "SUBSCRIBE %b", channel.data(), channel.size()));
    {
      std::lock_guard<std::mutex> g{mtx_};
      ++(r ? subscribed_ : failed_);
    }
    cv_.notify_all();
    if (r) {
      freeReplyObject(r);
      void* raw = nullptr;
      while (redisGetReply(c, &raw) == REDIS_OK && raw) {
        auto t = steady_clock::now();
        auto m = static_cast<redisReply*>(raw);
        int64_t idx = unreadable;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3
            && m->element[2]->type == REDIS_REPLY_STRING)
          idx = std::strtoll(m->element[2]->str, nullptr, 10);
        freeReplyObject(m);
        if (idx >= 0 && static_cast<size_t>(idx) < received_[s].size())
          received_[s][idx] = t;
        {
          std::lock_guard<std::mutex> g{mtx_};
          last_[s] = idx;
          if (idx >= 0)
            ++count_[s];
        }
        cv_.notify_all();
      }
    }
    std::lock_guard<std::mutex> g{mtx_};
    fds_[s] = -1;
    if (c)
      redisFree(c);
  }

  std::vector<std::vector<steady_clock::time_point>> received_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int subscribed_ = 0;
  int failed_ = 0;
  std::array<int, 2> fds_{-1, -1};
  std::array<size_t, 2> count_{};
  std::array<int64_t, 2> last_{unreadable, unreadable};
  std::vector<std::thread> threads_;
};

// Connects the publisher and the subscribers and publishes link probes until
// both subscribers see one.
bool link(publisher& pub, subscribers& subs, const std::string& channel,
          int timeout_s, std::string& why) {
  if (!pub.ok() || !subs.subscribed()) {
    why = "cannot connect or SUBSCRIBE";
    return false;
  }
  auto deadline = steady_clock::now() + std::chrono::seconds(timeout_s);
  while (steady_clock::now() < deadline) {
    if (!pub.send(publish_command(channel, link_probe)) || !pub.replies(1)) {
      why = "PUBLISH failed";
      return false;
    }
    if (subs.wait(100ms,
                  [](int, size_t, int64_t last) { return last == link_probe; }))
      return true;
  }
  why = "no message published on the publisher's port reached both "
        "subscribers within "
        + std::to_string(timeout_s) + " s";
  return false;
}

} // namespace

std::vector<double> pubsub_latencies(const pubsub_ports& ports,
                                     const std::string& channel, int warmup,
                                     int n, std::string& why,
                                     int link_timeout_s) {
  auto total = warmup + n;
  publisher pub{ports.publisher};
  subscribers subs{ports, channel, static_cast<size_t>(total)};
  if (!link(pub, subs, channel, link_timeout_s, why))
    return {};
  std::vector<double> lat;
  for (int i = 0; i < total; ++i) {
    auto t0 = steady_clock::now();
    if (!pub.send(publish_command(channel, i))) {
      why = "PUBLISH failed";
      return {};
    }
    if (!subs.wait(2s, [i](int, size_t, int64_t last) { return last >= i; })) {
      why = "a subscriber did not receive message " + std::to_string(i)
            + " within 2 s";
      return {};
    }
    if (!pub.replies(1)) {
      why = "no reply to PUBLISH";
      return {};
    }
    if (i >= warmup)
      lat.push_back(us_since(t0, subs.both_at(static_cast<size_t>(i))));
  }
  return lat;
}

double pubsub_throughput(const pubsub_ports& ports, const std::string& channel,
                         int n, int window, std::string& why) {
  publisher pub{ports.publisher};
  subscribers subs{ports, channel, static_cast<size_t>(n)};
  if (!link(pub, subs, channel, 10, why))
    return 0;
  auto t0 = steady_clock::now();
  std::string batch;
  for (int i = 0; i < n;) {
    batch.clear();
    auto end = std::min(n, i + window);
    for (; i < end; ++i)
      batch += publish_command(channel, i);
    if (!pub.send(batch)) {
      why = "PUBLISH failed";
      return 0;
    }
    // Keep at most `window` unanswered.
    if (!pub.replies(static_cast<size_t>(i) - pub.read())) {
      why = "no reply to PUBLISH";
      return 0;
    }
  }
  auto expected = static_cast<size_t>(n);
  if (!subs.wait(
        30s, [&](int, size_t count, int64_t) { return count >= expected; })) {
    why = "the subscribers did not receive all " + std::to_string(n)
          + " messages within 30 s (lost or too slow)";
    return 0;
  }
  auto t1 = std::max(subs.both_at(static_cast<size_t>(n - 1)), t0);
  return n / std::chrono::duration<double>(t1 - t0).count();
}

std::vector<double> pubsub_paced_latencies(const pubsub_ports& ports,
                                           const std::string& channel,
                                           double rate, int n,
                                           std::string& why) {
  publisher pub{ports.publisher};
  subscribers subs{ports, channel, static_cast<size_t>(n)};
  if (!link(pub, subs, channel, 10, why))
    return {};
  std::vector<steady_clock::time_point> sent(static_cast<size_t>(n));
  auto interval = std::chrono::duration<double>(1.0 / rate);
  // Sleeps end within ~1 µs of their deadline instead of the default 50 µs
  // slack, so the publisher can sleep between messages instead of spinning
  // (a spinning publisher takes a core from the servers it measures).
  auto old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  auto start = steady_clock::now();
  bool failed = false;
  for (int i = 0; i < n && !failed; ++i) {
    auto due
      = start
        + std::chrono::duration_cast<steady_clock::duration>(interval * i);
    if (due > steady_clock::now())
      std::this_thread::sleep_until(due);
    sent[static_cast<size_t>(i)] = steady_clock::now();
    if (!pub.send(publish_command(channel, i))) {
      why = "PUBLISH failed";
      failed = true;
    } else if (i % 64 == 63 && !pub.replies(1'000'000, false)) {
      why = "no reply to PUBLISH";
      failed = true;
    }
  }
  if (old_slack > 0)
    prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_slack), 0, 0, 0);
  if (failed)
    return {};
  auto expected = static_cast<size_t>(n);
  if (!subs.wait(
        30s, [&](int, size_t count, int64_t) { return count >= expected; })) {
    why = "the subscribers did not receive all " + std::to_string(n)
          + " paced messages within 30 s";
    return {};
  }
  std::vector<double> lat;
  lat.reserve(sent.size());
  for (size_t i = 0; i < sent.size(); ++i)
    lat.push_back(us_since(sent[i], subs.both_at(i)));
  return lat;
}

} // namespace cachebus::bench
