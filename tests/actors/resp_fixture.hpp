// A Redis-protocol session over a real embedded node (manual clock), for
// tests of commands whose replies may be deferred (resp_deferred.hpp): the
// fixture is the session's transport, so it collects the completions that
// actors post and hands them to the session on the test thread, as the
// server's broker does on its own.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "caf/send.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

namespace cachebus::test {

inline std::string multibulk(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args)
    out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

inline std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

struct resp_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<cachebus::time_source> clk
    = std::make_shared<cachebus::time_source>();
  std::unique_ptr<node> n;
  std::shared_ptr<resp_clients> clients = std::make_shared<resp_clients>();
  record_calls_actor records;
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<resp_completion> done;
  std::unique_ptr<resp_session> s;

  /// Starts the node with `setup` (its clock is the fixture's manual one).
  void start(node_setup setup = {}, node_options opts = small_options()) {
    clk->make_manual();
    setup.clock = clk;
    auto started = node::start(sys, opts, setup);
    REQUIRE(started);
    n = std::move(*started);
    s = connect();
  }

  static node_options small_options() {
    node_options opts;
    opts.shards = 2;
    opts.max_entries = 100'000;
    opts.max_key_size = 64;
    opts.max_value_size = 1024;
    opts.default_ttl = std::chrono::seconds{100};
    return opts;
  }

  /// Actors the test spawned (loaders, record frontends): ended with it.
  std::vector<caf::actor> owned;

  ~resp_fixture() {
    s.reset();
    if (n)
      n->stop();
    for (auto& a : owned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  std::unique_ptr<resp_session> connect() {
    resp_session_options so;
    so.port = 6379;
    so.records = records;
    so.post = [this](resp_completion c) {
      std::lock_guard<std::mutex> guard{mtx};
      done.push_back(std::move(c));
      cv.notify_all();
    };
    return std::make_unique<resp_session>(*n, clients, so, "127.0.0.1:5000",
                                          "127.0.0.1:6379");
  }

  /// Hands `x` the next posted completion; false if none came in 10 s.
  bool complete_next(resp_session& x) {
    std::unique_lock<std::mutex> guard{mtx};
    if (!cv.wait_for(guard, std::chrono::seconds(10),
                     [this] { return !done.empty(); }))
      return false;
    auto c = std::move(done.front());
    done.pop_front();
    guard.unlock();
    x.complete(std::move(c));
    return true;
  }

  /// The replies to `bytes`, after every deferred one came in.
  std::string raw(resp_session& x, std::string_view bytes) {
    x.feed(bytes);
    while (x.waiting())
      if (!complete_next(x)) {
        FAIL("a deferred reply did not come in 10 s");
        break;
      }
    auto out = std::move(x.output());
    x.output().clear();
    return out;
  }

  std::string raw(std::string_view bytes) { return raw(*s, bytes); }

  std::string cmd(const std::vector<std::string>& args) {
    return raw(multibulk(args));
  }

  /// The replies written so far, without waiting for deferred ones.
  std::string take_output() {
    auto out = std::move(s->output());
    s->output().clear();
    return out;
  }
};

} // namespace cachebus::test
