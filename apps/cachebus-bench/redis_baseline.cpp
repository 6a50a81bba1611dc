#include "redis_baseline.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <hiredis.h>

#include "cachebus/apps/common/child_process.hpp"
#include "cluster_fixture.hpp"
#include "pubsub_probe.hpp"

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

// A throwaway redis-server on a free loopback port, and one connection to
// it that has answered PING.
struct redis_instance {
  uint16_t port = 0;
  std::unique_ptr<child_process> server;
  std::unique_ptr<redis_ctx> conn;
};

bool start_redis(redis_instance& r, std::string& why) {
  r.port = free_loopback_port();
  if (r.port == 0) {
    why = "no free loopback port for redis-server";
    return false;
  }
  r.server = std::make_unique<child_process>(
    "redis-server",
    std::vector<std::string>{"--port", std::to_string(r.port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no"},
    false);
  if (!r.server->running()) {
    why = r.server->error() + " (Debian: apt-get install redis-server)";
    return false;
  }
  for (auto deadline = steady_clock::now() + 5s; steady_clock::now() < deadline;
       std::this_thread::sleep_for(10ms)) {
    r.conn = std::make_unique<redis_ctx>(r.port);
    if (!r.conn->ok())
      continue;
    auto reply = static_cast<redisReply*>(redisCommand(r.conn->c, "PING"));
    bool up = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply)
      freeReplyObject(reply);
    if (up)
      return true;
  }
  why
    = "redis-server did not answer PING on 127.0.0.1:" + std::to_string(r.port);
  return false;
}

// INFO memory's used_memory, or 0.
double used_memory(redisContext* c) {
  auto reply = static_cast<redisReply*>(redisCommand(c, "INFO memory"));
  double out = 0;
  if (reply && reply->type == REDIS_REPLY_STRING) {
    std::string info{reply->str, reply->len};
    auto at = info.find("used_memory:");
    if (at != std::string::npos)
      out = std::strtod(info.c_str() + at + 12, nullptr);
  }
  if (reply)
    freeReplyObject(reply);
  return out;
}

} // namespace

double redis_bytes_per_key(size_t n,
                           const std::function<std::string(size_t)>& key,
                           const std::string& value, int ttl_s,
                           std::string& why) {
  redis_instance r;
  if (!start_redis(r, why))
    return 0;
  auto* c = r.conn->c;
  auto before = used_memory(c);
  constexpr size_t batch = 1000;
  for (size_t i = 0; i < n; i += batch) {
    auto end = std::min(n, i + batch);
    for (size_t j = i; j < end; ++j) {
      auto k = key(j);
      if (ttl_s > 0)
        redisAppendCommand(c, "SET %b %b EX %d", k.data(), k.size(),
                           value.data(), value.size(), ttl_s);
      else
        redisAppendCommand(c, "SET %b %b", k.data(), k.size(), value.data(),
                           value.size());
    }
    for (size_t j = i; j < end; ++j) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
        why = "SET failed while filling redis-server";
        return 0;
      }
      freeReplyObject(raw);
    }
  }
  auto after = used_memory(c);
  r.server->stop();
  if (after <= before) {
    why = "INFO memory did not report used_memory";
    return 0;
  }
  return (after - before) / static_cast<double>(n);
}

std::unique_ptr<app::child_process> start_redis_server(uint16_t& port,
                                                       std::string& why) {
  redis_instance r;
  if (!start_redis(r, why))
    return nullptr;
  port = r.port;
  return std::move(r.server);
}

std::vector<double> redis_latencies(int warmup, int n, std::string& why) {
  uint16_t port = 0;
  auto server = start_redis_server(port, why);
  if (!server)
    return {};
  auto lat
    = pubsub_latencies({port, {port, port}}, "cachebus-bench", warmup, n, why);
  server->stop();
  return lat;
}

} // namespace cachebus::bench
