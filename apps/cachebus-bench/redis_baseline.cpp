#include "redis_baseline.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <hiredis.h>

#include "cachebus/apps/common/child_process.hpp"
#include "cluster_fixture.hpp"

namespace cachebus::bench {

namespace {

using app::child_process;
using app::free_loopback_port;
using std::chrono::steady_clock;
using namespace std::chrono_literals;

struct redis_ctx {
  redisContext* c = nullptr;
  explicit redis_ctx(uint16_t port) {
    timeval tv{2, 0};
    c = redisConnectWithTimeout("127.0.0.1", port, tv);
  }
  ~redis_ctx() {
    if (c)
      redisFree(c);
  }
  bool ok() const { return c && !c->err; }
  redis_ctx(const redis_ctx&) = delete;
  redis_ctx& operator=(const redis_ctx&) = delete;
};

} // namespace

std::vector<double> redis_latencies(int warmup, int n, std::string& why) {
  auto port = free_loopback_port();
  if (port == 0) {
    why = "no free loopback port for redis-server";
    return {};
  }
  child_process server{"redis-server",
                       {"--port", std::to_string(port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--daemonize",
                        "no"},
                       false};
  if (!server.running()) {
    why = server.error() + " (Debian: apt-get install redis-server)";
    return {};
  }
  std::unique_ptr<redis_ctx> pub;
  for (auto deadline = steady_clock::now() + 5s; steady_clock::now() < deadline;
       std::this_thread::sleep_for(10ms)) {
    pub = std::make_unique<redis_ctx>(port);
    if (!pub->ok())
      continue;
    auto r = static_cast<redisReply*>(redisCommand(pub->c, "PING"));
    bool up = r && r->type == REDIS_REPLY_STATUS;
    if (r)
      freeReplyObject(r);
    if (up)
      break;
    pub.reset();
  }
  if (!pub || !pub->ok()) {
    why
      = "redis-server did not answer PING on 127.0.0.1:" + std::to_string(port);
    return {};
  }
  constexpr int subs = 2;
  auto total = warmup + n;
  std::vector<std::vector<steady_clock::time_point>> recv(
    subs, std::vector<steady_clock::time_point>(total));
  std::mutex mtx;
  std::condition_variable cv;
  int subscribed = 0;
  int failed = 0;
  std::vector<int> got(subs, -1);
  std::vector<std::thread> threads;
  for (int s = 0; s < subs; ++s)
    threads.emplace_back([&, s] {
      redis_ctx sub{port};
      redisReply* r = nullptr;
      if (sub.ok())
        r = static_cast<redisReply*>(
          redisCommand(sub.c, "SUBSCRIBE cachebus-bench"));
      {
        std::lock_guard<std::mutex> g{mtx};
        if (r)
          ++subscribed;
        else
          ++failed;
      }
      cv.notify_all();
      if (!r)
        return;
      freeReplyObject(r);
      void* raw = nullptr;
      while (redisGetReply(sub.c, &raw) == REDIS_OK && raw) {
        auto t = steady_clock::now();
        auto m = static_cast<redisReply*>(raw);
        int idx = -2;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3
            && m->element[2]->type == REDIS_REPLY_STRING)
          idx = std::atoi(m->element[2]->str);
        freeReplyObject(m);
        if (idx < 0)
          break; // "stop"
        if (idx < total)
          recv[s][idx] = t;
        {
          std::lock_guard<std::mutex> g{mtx};
          got[s] = idx;
        }
        cv.notify_all();
      }
    });
  std::vector<double> lat;
  {
    std::unique_lock<std::mutex> g{mtx};
    cv.wait_for(g, 5s, [&] { return subscribed + failed == subs; });
  }
  if (subscribed == subs) {
    for (int i = 0; i < total; ++i) {
      auto t0 = steady_clock::now();
      auto r = static_cast<redisReply*>(
        redisCommand(pub->c, "PUBLISH cachebus-bench %d", i));
      if (!r) {
        why = "PUBLISH failed";
        break;
      }
      freeReplyObject(r);
      std::unique_lock<std::mutex> g{mtx};
      if (!cv.wait_for(g, 2s, [&] { return got[0] >= i && got[1] >= i; })) {
        why = "a subscriber did not receive a message within 2 s";
        break;
      }
      if (i >= warmup)
        lat.push_back(us_since(t0, std::max(recv[0][i], recv[1][i])));
    }
  } else {
    why = "SUBSCRIBE failed";
  }
  for (int s = 0; s < subs; ++s)
    if (auto r = static_cast<redisReply*>(
          redisCommand(pub->c, "PUBLISH cachebus-bench stop")))
      freeReplyObject(r);
  server.stop(); // also ends subscribers still blocked in redisGetReply
  for (auto& t : threads)
    t.join();
  if (!why.empty())
    return {};
  return lat;
}

} // namespace cachebus::bench
