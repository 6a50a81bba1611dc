// Server-assisted client-side caching (CLIENT TRACKING) and pub/sub on the
// Redis port: the tracking table on its own, then sessions over a real
// embedded node whose pushes the test routes to them (as the server's
// broker does), byte for byte, and finally the server over real sockets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_server.hpp"
#include "cachebus/actors/resp/resp_services.hpp"
#include "cachebus/actors/resp/resp_session.hpp"
#include "cachebus/actors/resp/resp_tracking.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

std::string multibulk(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args)
    out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

std::string bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// What Redis sends a RESP3 client when `key` changes.
std::string push_of(const std::string& key) {
  return ">2\r\n$10\r\ninvalidate\r\n*1\r\n" + bulk(key);
}

const std::string flush_push = ">2\r\n$10\r\ninvalidate\r\n_\r\n";

// -- the table alone ----------------------------------------------------------

struct recorder {
  std::vector<std::pair<uint64_t, resp_push>> got;
  resp_push_fn fn() {
    return [this](std::vector<uint64_t> to, resp_push p) {
      for (auto id : to)
        got.emplace_back(id, p);
    };
  }
  // "id:key" of every invalidation, "id:*" of every flush.
  std::vector<std::string> take() {
    std::vector<std::string> out;
    for (auto& [id, p] : got)
      out.push_back(
        std::to_string(id) + ":"
        + (p.what == resp_push::kind::flush ? std::string{"*"} : p.keys.at(0)));
    got.clear();
    return out;
  }
};

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("the tracking table pushes once to each reader of a key, then "
          "forgets it until it is read again",
          "[resp][tracking]") {
  recorder r;
  resp_tracking t{100, nullptr};
  t.set_push(r.fn());
  REQUIRE(t.enable(1, {}).empty());
  REQUIRE(t.enable(2, {}).empty());
  t.track(1, "k");
  t.track(2, "k");
  t.track(1, "k"); // twice: still one push
  t.changed("other", 0);
  CHECK(r.take().empty());
  t.changed("k", 0);
  CHECK(r.take() == strings{"1:k", "2:k"});
  t.changed("k", 0);
  CHECK(r.take().empty());
  CHECK(t.keys() == 0);
  t.track(2, "k");
  t.changed("k", 0);
  CHECK(r.take() == strings{"2:k"});
}

TEST_CASE("the tracking table spares a NOLOOP client its own writes only",
          "[resp][tracking]") {
  recorder r;
  resp_tracking t{100, nullptr};
  t.set_push(r.fn());
  resp_tracking::mode noloop;
  noloop.noloop = true;
  REQUIRE(t.enable(1, noloop).empty());
  REQUIRE(t.enable(2, {}).empty());
  t.track(1, "k");
  t.track(2, "k");
  t.changed("k", 1); // client 1 wrote it
  CHECK(r.take() == strings{"2:k"});
  t.track(1, "k");
  t.changed("k", 2); // someone else did
  CHECK(r.take() == strings{"1:k"});
  // Without NOLOOP one's own write is pushed too.
  t.track(2, "k");
  t.changed("k", 2);
  CHECK(r.take() == strings{"2:k"});
}

TEST_CASE("BCAST clients hear every key under their prefixes without "
          "reading them",
          "[resp][tracking]") {
  recorder r;
  resp_tracking t{100, nullptr};
  t.set_push(r.fn());
  resp_tracking::mode b;
  b.bcast = true;
  b.prefixes = {"user:", "post:"};
  REQUIRE(t.enable(7, b).empty());
  resp_tracking::mode all;
  all.bcast = true;
  REQUIRE(t.enable(8, all).empty());
  auto sorted = [&] {
    auto got = r.take();
    std::sort(got.begin(), got.end());
    return got;
  };
  t.changed("user:1", 0);
  t.changed("post:2", 0);
  t.changed("other", 0);
  CHECK(sorted()
        == strings{"7:post:2", "7:user:1", "8:other", "8:post:2", "8:user:1"});
  t.changed("user:1", 0); // not forgotten: prefixes stay
  CHECK(sorted() == strings{"7:user:1", "8:user:1"});
}

TEST_CASE("the tracking table refuses what Redis refuses and changes nothing",
          "[resp][tracking]") {
  resp_tracking t{100, [](uint64_t id) { return id == 5; }};
  resp_tracking::mode m;
  m.optin = m.optout = true;
  CHECK(t.enable(1, m).find("both OPTIN mode and OPTOUT") != std::string::npos);
  m = {};
  m.bcast = true;
  m.optin = true;
  CHECK(t.enable(1, m).find("not compatible with BCAST") != std::string::npos);
  m = {};
  m.prefixes = {"a"};
  CHECK(t.enable(1, m).find("PREFIX option requires BCAST")
        != std::string::npos);
  m = {};
  m.redirect = 9;
  CHECK(t.enable(1, m).find("redirect to does not exist") != std::string::npos);
  m = {};
  m.bcast = true;
  m.prefixes = {"ab", "a"};
  CHECK(t.enable(1, m).find("overlaps") != std::string::npos);
  CHECK(t.clients() == 0);
  m.prefixes = {"ab"};
  REQUIRE(t.enable(1, m).empty());
  m.prefixes = {"abc"};
  CHECK(t.enable(1, m).find("overlaps with an existing prefix")
        != std::string::npos);
  CHECK(t.enable(1, {}).find("switch BCAST mode") != std::string::npos);
  CHECK(t.mode_of(1)->prefixes == strings{"ab"});
  m = {};
  m.redirect = 5;
  REQUIRE(t.enable(2, m).empty());
  resp_tracking::mode in;
  in.optin = true;
  in.redirect = 5;
  CHECK(t.enable(2, in).find("switch OPTIN/OPTOUT") != std::string::npos);
}

TEST_CASE("a full tracking table invalidates the key it forgets before it "
          "forgets it",
          "[resp][tracking]") {
  recorder r;
  resp_tracking t{3, nullptr};
  t.set_push(r.fn());
  REQUIRE(t.enable(1, {}).empty());
  t.track(1, "a");
  t.track(1, "b");
  t.track(1, "c");
  CHECK(r.take().empty());
  t.track(1, "d"); // "a" is the oldest
  CHECK(r.take() == strings{"1:a"});
  CHECK(t.keys() == 3);
  CHECK(t.stats().forgotten == 1);
  t.changed("a", 0); // forgotten: no second push
  t.changed("d", 0);
  CHECK(r.take() == strings{"1:d"});
}

TEST_CASE("a flush tells every tracking client once and forgets every key; "
          "a disabled client is forgotten",
          "[resp][tracking]") {
  recorder r;
  resp_tracking t{100, [](uint64_t) { return true; }};
  t.set_push(r.fn());
  REQUIRE(t.enable(1, {}).empty());
  resp_tracking::mode to1;
  to1.redirect = 1;
  REQUIRE(t.enable(2, to1).empty()); // redirects to 1: 1 hears it once
  resp_tracking::mode b;
  b.bcast = true;
  REQUIRE(t.enable(3, b).empty());
  t.track(1, "k");
  t.track(2, "j");
  t.flush_all();
  auto got = r.take();
  std::sort(got.begin(), got.end());
  CHECK(got == strings{"1:*", "3:*"});
  CHECK(t.keys() == 0);
  t.track(2, "j");
  t.disable(2);
  CHECK(t.keys() == 0);
  t.changed("j", 0);
  CHECK(r.take() == strings{"3:j"});
}

// -- sessions over a node -----------------------------------------------------

namespace {

struct fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<time_source> clk = std::make_shared<time_source>();
  std::unique_ptr<node> n;
  std::shared_ptr<resp_clients> clients = std::make_shared<resp_clients>();
  std::shared_ptr<resp_services> services;
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::pair<std::vector<uint64_t>, resp_push>> mailbox;
  std::map<uint64_t, resp_session*> sessions;

  explicit fixture(std::function<void(node_options&)> tweak = nullptr,
                   size_t max_keys = 1000) {
    clk->make_manual();
    node_options opts;
    opts.shards = 2;
    opts.name = "here";
    opts.sweep_interval = 5ms;
    opts.default_ttl = 100s;
    if (tweak)
      tweak(opts);
    node_setup setup;
    setup.clock = clk;
    rules rs;
    REQUIRE_FALSE(rs.add({"users", {"user:{id}"}, {"user:{id}"}, {}}));
    setup.rules = std::move(rs);
    auto started = node::start(sys, opts, std::move(setup));
    REQUIRE(started);
    n = std::move(*started);
    services = std::make_shared<resp_services>(*n, clients, max_keys);
    services->start();
    services->attach([this](std::vector<uint64_t> to, resp_push p) {
      std::lock_guard<std::mutex> g{mtx};
      mailbox.emplace_back(std::move(to), std::move(p));
      cv.notify_all();
    });
  }

  ~fixture() { services->stop(); }

  std::unique_ptr<resp_session> connect(int proto = 3) {
    resp_session_options so;
    so.services = services;
    auto s = std::make_unique<resp_session>(*n, clients, so, "127.0.0.1:1",
                                            "127.0.0.1:6379");
    sessions[s->id()] = s.get();
    if (proto == 3)
      cmd(*s, {"HELLO", "3"});
    return s;
  }

  void disconnect(std::unique_ptr<resp_session>& s) {
    sessions.erase(s->id());
    s.reset();
  }

  std::string cmd(resp_session& s, const std::vector<std::string>& args) {
    s.feed(multibulk(args));
    auto out = std::move(s.output());
    s.output().clear();
    return out;
  }

  // Hands every push made so far to its session, as the broker would.
  void pump() {
    std::vector<std::pair<std::vector<uint64_t>, resp_push>> got;
    {
      std::lock_guard<std::mutex> g{mtx};
      got.swap(mailbox);
    }
    for (auto& [to, p] : got)
      for (auto id : to)
        if (auto i = sessions.find(id); i != sessions.end())
          i->second->deliver(p);
  }

  // What `s` got out of band once the node delivered every notification.
  std::string pushes(resp_session& s) {
    REQUIRE(n->drain_removals(10s));
    pump();
    auto out = std::move(s.output());
    s.output().clear();
    return out;
  }

  // Waits (bounded) until `s` got `expected` out of band; returns what it
  // got.
  std::string wait_pushes(resp_session& s, const std::string& expected) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (out.find(expected) == std::string::npos
           && std::chrono::steady_clock::now() < deadline) {
      {
        std::unique_lock<std::mutex> g{mtx};
        cv.wait_for(g, 50ms, [&] { return !mailbox.empty(); });
      }
      out += pushes(s);
    }
    return out;
  }
};

} // namespace

TEST_CASE("a RESP3 client that read a key gets one invalidate push when "
          "another client writes it, and none until it reads it again",
          "[resp][tracking]") {
  fixture f;
  auto a = f.connect();
  auto b = f.connect();
  CHECK(f.cmd(*a, {"CLIENT", "TRACKING", "ON"}) == "+OK\r\n");
  CHECK(f.cmd(*a, {"GET", "k"}) == "_\r\n"); // a miss is tracked too
  CHECK(f.cmd(*b, {"SET", "k", "v1"}) == "+OK\r\n");
  CHECK(f.pushes(*a) == push_of("k"));
  CHECK(f.cmd(*b, {"SET", "k", "v2"}) == "+OK\r\n");
  CHECK(f.pushes(*a).empty());
  CHECK(f.cmd(*a, {"MGET", "x", "k"}) == "*2\r\n_\r\n$2\r\nv2\r\n");
  CHECK(f.cmd(*b, {"DEL", "k"}) == ":1\r\n");
  CHECK(f.pushes(*a) == push_of("k"));
  CHECK(f.pushes(*b).empty()); // b does not track
}

TEST_CASE("every way a key can leave the node reaches a tracking client",
          "[resp][tracking]") {
  fixture f{[](node_options& o) {
    o.shards = 1;
    o.max_entries = 50;
  }};
  auto a = f.connect();
  REQUIRE(f.cmd(*a, {"CLIENT", "TRACKING", "ON"}) == "+OK\r\n");
  auto read = [&](const std::string& k) { f.cmd(*a, {"GET", k}); };
  // Each write's own notification is delivered before the next step, so
  // that a push is the effect of that step alone.
  auto put = [&](const std::string& k, std::vector<std::string> tags = {}) {
    set_options so;
    so.tags = std::move(tags);
    REQUIRE(f.n->set(k, "v", so));
    REQUIRE(f.n->drain_removals(10s));
  };
  SECTION("a write from C++ replaces it") {
    put("k");
    read("k");
    put("k");
    CHECK(f.pushes(*a) == push_of("k"));
  }
  SECTION("its TTL passes (the sweep reclaims it)") {
    set_options so;
    so.ttl = 1s;
    REQUIRE(f.n->set("k", "v", so));
    REQUIRE(f.n->drain_removals(10s));
    read("k");
    f.clk->advance(2s);
    CHECK(f.wait_pushes(*a, push_of("k")) == push_of("k"));
  }
  SECTION("it is evicted") {
    put("k");
    // EXISTS is a read (tracked) that leaves SIEVE's visited bit alone, so
    // k is the next victim.
    f.cmd(*a, {"EXISTS", "k"});
    for (int i = 0; i < 300; ++i)
      put("fill" + std::to_string(i));
    INFO("evictions " << f.n->stats().total.evictions << ", entries "
                      << f.n->stats().total.entries);
    CHECK(f.pushes(*a) == push_of("k"));
  }
  SECTION("a tag is invalidated") {
    put("k", {"t"});
    read("k");
    REQUIRE(f.n->invalidate_tag("t"));
    CHECK(f.pushes(*a) == push_of("k"));
    // Written again after the tag made it unreadable: a creation.
    read("k");
    put("k");
    CHECK(f.pushes(*a) == push_of("k"));
  }
  SECTION("a pattern is invalidated") {
    put("p:1");
    read("p:1");
    REQUIRE(f.n->invalidate_pattern("p:*"));
    CHECK(f.pushes(*a) == push_of("p:1"));
  }
  SECTION("a resource event goes through the rules") {
    put("user:8");
    read("user:8");
    REQUIRE(f.n->publish_invalidation("users", "8"));
    CHECK(f.pushes(*a) == push_of("user:8"));
  }
  SECTION("a key it depends on is invalidated") {
    put("parent");
    put("child");
    REQUIRE_FALSE(f.n->track_dependency("parent", "child"));
    read("child");
    REQUIRE(f.n->erase("parent"));
    CHECK(f.pushes(*a) == push_of("child"));
  }
  SECTION("the node drops everything") {
    put("k");
    read("k");
    f.n->clear();
    CHECK(f.pushes(*a) == push_of("k"));
  }
  SECTION("a key read as missing is created by a fill") {
    read("k");
    auto v = f.n->fetch("k", [](const std::string&) -> caf::expected<loaded> {
      return loaded{"loaded"};
    });
    REQUIRE(v);
    CHECK(f.pushes(*a) == push_of("k"));
  }
}

TEST_CASE("NOLOOP spares a client its own writes, not other clients'",
          "[resp][tracking]") {
  fixture f;
  auto a = f.connect();
  auto b = f.connect();
  REQUIRE(f.cmd(*a, {"CLIENT", "TRACKING", "ON", "NOLOOP"}) == "+OK\r\n");
  REQUIRE(f.cmd(*b, {"CLIENT", "TRACKING", "ON"}) == "+OK\r\n");
  f.cmd(*a, {"GET", "k"});
  f.cmd(*b, {"GET", "k"});
  CHECK(f.cmd(*a, {"SET", "k", "mine"}) == "+OK\r\n");
  CHECK(f.pushes(*a).empty());
  CHECK(f.pushes(*b) == push_of("k"));
  f.cmd(*a, {"GET", "k"});
  CHECK(f.cmd(*b, {"DEL", "k"}) == ":1\r\n");
  CHECK(f.pushes(*a) == push_of("k"));
}

TEST_CASE("OPTIN tracks only reads after CLIENT CACHING YES, OPTOUT all "
          "but those after CLIENT CACHING NO",
          "[resp][tracking]") {
  fixture f;
  auto in = f.connect();
  auto out = f.connect();
  auto w = f.connect();
  REQUIRE(f.cmd(*in, {"CLIENT", "TRACKING", "ON", "OPTIN"}) == "+OK\r\n");
  REQUIRE(f.cmd(*out, {"CLIENT", "TRACKING", "ON", "OPTOUT"}) == "+OK\r\n");
  CHECK(f.cmd(*in, {"CLIENT", "CACHING", "NO"})
          .find("only valid when "
                "tracking is enabled "
                "in OPTOUT mode")
        != std::string::npos);
  f.cmd(*in, {"GET", "a"});
  CHECK(f.cmd(*in, {"CLIENT", "CACHING", "YES"}) == "+OK\r\n");
  f.cmd(*in, {"GET", "b"});
  f.cmd(*in, {"GET", "c"}); // the flag lasted one command
  CHECK(f.cmd(*out, {"CLIENT", "CACHING", "NO"}) == "+OK\r\n");
  f.cmd(*out, {"GET", "a"});
  f.cmd(*out, {"GET", "b"});
  for (auto* k : {"a", "b", "c"})
    f.cmd(*w, {"SET", k, "v"});
  CHECK(f.pushes(*in) == push_of("b"));
  CHECK(f.pushes(*out) == push_of("b"));
}

TEST_CASE("BCAST with prefixes pushes every matching write without reads",
          "[resp][tracking]") {
  fixture f;
  auto a = f.connect();
  auto w = f.connect();
  REQUIRE(f.cmd(*a, {"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX",
                     "user:", "PREFIX", "post:"})
          == "+OK\r\n");
  for (auto* k : {"user:1", "post:2", "other:3"})
    f.cmd(*w, {"SET", k, "v"});
  CHECK(f.pushes(*a) == push_of("user:1") + push_of("post:2"));
  auto info = f.cmd(*a, {"CLIENT", "TRACKINGINFO"});
  CHECK(info
        == "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n"
           "$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$5\r\nuser:\r\n"
           "$5\r\npost:\r\n");
}

TEST_CASE("a RESP2 client gets its invalidations through REDIRECT on "
          "__redis__:invalidate",
          "[resp][tracking][pubsub]") {
  fixture f;
  auto r = f.connect(2);
  auto a = f.connect(2);
  auto w = f.connect(2);
  CHECK(f.cmd(*r, {"SUBSCRIBE", "__redis__:invalidate"})
        == "*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n");
  auto rid = std::to_string(r->id());
  CHECK(f.cmd(*a, {"CLIENT", "TRACKING", "ON", "REDIRECT", rid}) == "+OK\r\n");
  CHECK(f.cmd(*a, {"CLIENT", "GETREDIR"}) == ":" + rid + "\r\n");
  f.cmd(*a, {"GET", "k"});
  f.cmd(*w, {"SET", "k", "v"});
  CHECK(f.pushes(*r)
        == "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n"
             + bulk("k"));
  CHECK(f.pushes(*a).empty()); // RESP2: nothing on its own connection
  // The redirect target goes: a RESP3 tracker hears that it broke.
  auto a3 = f.connect(3);
  REQUIRE(f.cmd(*a3, {"CLIENT", "TRACKING", "ON", "REDIRECT", rid})
          == "+OK\r\n");
  f.cmd(*a3, {"GET", "k"});
  f.disconnect(r);
  f.cmd(*w, {"SET", "k", "v2"});
  CHECK(f.pushes(*a3)
        == ">2\r\n$21\r\ntracking-redir-broken\r\n:" + rid + "\r\n");
}

TEST_CASE("bad CLIENT TRACKING input gets Redis's errors and leaves "
          "tracking off",
          "[resp][tracking]") {
  fixture f;
  auto a = f.connect();
  auto err = [&](std::vector<std::string> args, const std::string& text) {
    auto got = f.cmd(*a, args);
    INFO(got);
    CHECK(got.rfind("-ERR", 0) == 0);
    CHECK(got.find(text) != std::string::npos);
  };
  err({"CLIENT", "TRACKING", "maybe"}, "syntax error");
  err({"CLIENT", "TRACKING", "ON", "BOGUS"}, "syntax error");
  err({"CLIENT", "TRACKING", "ON", "REDIRECT", "x"}, "not an integer");
  err({"CLIENT", "TRACKING", "ON", "REDIRECT", "999"}, "does not exist");
  err({"CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"}, "both OPTIN");
  err({"CLIENT", "TRACKING", "ON", "PREFIX", "a"}, "requires BCAST");
  err({"CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"}, "not compatible");
  err({"CLIENT", "CACHING", "YES"}, "can be called only when");
  err({"CLIENT", "TRACKING"}, "wrong number of arguments");
  std::vector<std::string> many{"CLIENT", "TRACKING", "ON", "BCAST"};
  for (int i = 0; i < 1025; ++i) {
    many.push_back("PREFIX");
    many.push_back("p" + std::to_string(i) + ":");
  }
  err(many, "at most 1024 prefixes");
  CHECK(f.cmd(*a, {"CLIENT", "GETREDIR"}) == ":-1\r\n");
  CHECK(f.cmd(*a, {"CLIENT", "TRACKINGINFO"})
        == "%3\r\n$5\r\nflags\r\n~1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n"
           "$8\r\nprefixes\r\n*0\r\n");
  CHECK(f.services->tracking().clients() == 0);
}

TEST_CASE("lost removal notifications make every tracking client flush",
          "[resp][tracking]") {
  fixture f{[](node_options& o) { o.max_queued_removals = 2; }};
  // A listener that blocks the node's delivery thread until released.
  std::mutex mtx;
  std::condition_variable cv;
  bool blocked = false, release = false;
  REQUIRE(f.n->on_removal([&](const removal&) {
    std::unique_lock<std::mutex> g{mtx};
    blocked = true;
    cv.notify_all();
    cv.wait_for(g, 30s, [&] { return release; });
  }));
  auto a = f.connect();
  auto r2 = f.connect(2); // RESP2, subscribed, redirect target of b
  auto b = f.connect(2);
  REQUIRE(f.cmd(*a, {"CLIENT", "TRACKING", "ON"}) == "+OK\r\n");
  f.cmd(*r2, {"SUBSCRIBE", "x"});
  REQUIRE(f.cmd(*b, {"CLIENT", "TRACKING", "ON", "REDIRECT",
                     std::to_string(r2->id())})
          == "+OK\r\n");
  for (int i = 0; i < 20; ++i) {
    auto k = "k" + std::to_string(i);
    REQUIRE(f.n->set(k, "v"));
    f.cmd(*a, {"GET", k});
    f.cmd(*b, {"GET", k});
  }
  // Queue empty: the next removal reaches the blocking listener.
  REQUIRE(f.n->drain_removals(10s));
  REQUIRE(f.n->erase("k0"));
  {
    std::unique_lock<std::mutex> g{mtx};
    REQUIRE(cv.wait_for(g, 10s, [&] { return blocked; }));
  }
  for (int i = 1; i < 20; ++i)
    REQUIRE(f.n->erase("k" + std::to_string(i)));
  CHECK(f.n->removal_listener_stats().dropped > 0);
  {
    std::lock_guard<std::mutex> g{mtx};
    release = true;
    cv.notify_all();
  }
  auto got = f.pushes(*a);
  INFO(got);
  CHECK(got.find(flush_push) != std::string::npos);
  CHECK(f.pushes(*r2).find("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:"
                           "invalidate\r\n$-1\r\n")
        != std::string::npos);
  CHECK(f.services->tracking().keys() == 0);
  CHECK(f.services->tracking().stats().flushes >= 1);
}

TEST_CASE("a tracking client that disconnects is forgotten, and reading "
          "again after reconnecting gives the current value",
          "[resp][tracking]") {
  fixture f;
  auto a = f.connect();
  auto w = f.connect();
  REQUIRE(f.cmd(*a, {"CLIENT", "TRACKING", "ON"}) == "+OK\r\n");
  f.cmd(*w, {"SET", "k", "old"});
  // The SET's own notification (a created key) is delivered on another
  // thread: if it came after a's read, it would rightly push and forget k.
  REQUIRE(f.n->drain_removals(10s));
  CHECK(f.cmd(*a, {"GET", "k"}) == "$3\r\nold\r\n");
  CHECK(f.services->tracking().keys() == 1);
  f.disconnect(a); // its push for the write below would be lost
  CHECK(f.services->tracking().keys() == 0);
  CHECK(f.services->tracking().clients() == 0);
  f.cmd(*w, {"SET", "k", "new"});
  auto again = f.connect();
  REQUIRE(f.cmd(*again, {"CLIENT", "TRACKING", "ON"}) == "+OK\r\n");
  CHECK(f.cmd(*again, {"GET", "k"}) == "$3\r\nnew\r\n");
}

TEST_CASE("a client's cache never keeps a value older than its last push "
          "while another thread writes the key",
          "[resp][tracking]") {
  fixture f;
  auto a = f.connect();
  REQUIRE(f.cmd(*a, {"CLIENT", "TRACKING", "ON"}) == "+OK\r\n");
  std::atomic<bool> done{false};
  constexpr int writes = 3000;
  std::thread writer{[&] {
    for (int i = 1; i <= writes; ++i)
      REQUIRE(f.n->set("k", std::to_string(i)));
    done = true;
  }};
  // The client's local cache: filled by GET, emptied by a push.
  std::optional<std::string> cached;
  auto absorb_pushes = [&] {
    f.pump();
    auto out = std::move(a->output());
    a->output().clear();
    if (out.find(push_of("k")) != std::string::npos)
      cached.reset();
  };
  while (!done) {
    absorb_pushes();
    if (!cached) {
      auto reply = f.cmd(*a, {"GET", "k"});
      if (reply.rfind("$", 0) == 0)
        cached = reply.substr(reply.find("\r\n") + 2,
                              reply.size() - reply.find("\r\n") - 4);
    }
  }
  writer.join();
  REQUIRE(f.n->drain_removals(10s));
  absorb_pushes();
  INFO("cached " << cached.value_or("<nothing>"));
  CHECK((!cached || *cached == std::to_string(writes)));
}

TEST_CASE("RESP2 subscribers get messages and may run only pub/sub "
          "commands, PING and QUIT; RESP3 subscribers may run anything",
          "[resp][pubsub]") {
  fixture f;
  auto s = f.connect(2);
  auto p = f.connect(2);
  CHECK(f.cmd(*s, {"SUBSCRIBE", "news", "sport"})
        == "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
           "*3\r\n$9\r\nsubscribe\r\n$5\r\nsport\r\n:2\r\n");
  CHECK(f.cmd(*s, {"PSUBSCRIBE", "n*"})
        == "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n");
  CHECK(f.cmd(*s, {"GET", "k"})
        == "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / "
           "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
           "context\r\n");
  CHECK(f.cmd(*s, {"PING"}) == "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  CHECK(f.cmd(*p, {"PUBLISH", "news", "hello"}) == ":2\r\n");
  CHECK(f.cmd(*p, {"PUBLISH", "nobody", "x"}) == ":1\r\n"); // n*
  CHECK(f.pushes(*s)
        == "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
           "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
           "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$6\r\nnobody\r\n$1\r\nx\r\n");
  CHECK(f.cmd(*s, {"UNSUBSCRIBE"})
        == "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:2\r\n"
           "*3\r\n$11\r\nunsubscribe\r\n$5\r\nsport\r\n:1\r\n");
  CHECK(f.cmd(*s, {"PUNSUBSCRIBE", "n*"})
        == "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:0\r\n");
  CHECK(f.cmd(*s, {"GET", "k"}) == "$-1\r\n");
  auto s3 = f.connect(3);
  CHECK(f.cmd(*s3, {"SUBSCRIBE", "news"})
        == ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  CHECK(f.cmd(*s3, {"GET", "k"}) == "_\r\n");
  CHECK(f.cmd(*p, {"PUBLISH", "news", "x"}) == ":1\r\n");
  CHECK(f.pushes(*s3) == ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n");
  CHECK(f.cmd(*p, {"PUBLISH", "news"}).find("wrong number of arguments")
        != std::string::npos);
  // Names are bounded: a client cannot grow the registry without limit.
  CHECK(f.cmd(*s3, {"SUBSCRIBE", std::string(5000, 'x')})
        == "-ERR cachebus: channel names and patterns are at most 4096 "
           "bytes\r\n");
  CHECK(f.cmd(*p, {"PUBLISH", std::string(5000, 'x'), "y"}) == ":0\r\n");
}

TEST_CASE("cache:<resource> channels carry the node's invalidation events, "
          "and PUBLISH on one is an invalidation through the rules",
          "[resp][pubsub]") {
  fixture f;
  auto s = f.connect(3);
  auto p = f.connect(2);
  REQUIRE(f.cmd(*s, {"SUBSCRIBE", "cache:users", "cache:!tags"}).size() > 0);
  REQUIRE(f.n->set("user:8", "ada"));
  CHECK(f.cmd(*p, {"PUBLISH", "cache:users", "8"}) == ":1\r\n");
  CHECK_FALSE(f.n->get("user:8")); // invalidated through the rule
  auto msg = ">3\r\n$7\r\nmessage\r\n$11\r\ncache:users\r\n$1\r\n8\r\n";
  CHECK(f.wait_pushes(*s, msg) == msg);
  // A C++ caller's invalidation reaches the channel too.
  REQUIRE(f.n->invalidate_tag("user:9"));
  auto tag = ">3\r\n$7\r\nmessage\r\n$11\r\ncache:!tags\r\n$6\r\nuser:9\r\n";
  CHECK(f.wait_pushes(*s, tag) == tag);
  CHECK(f.cmd(*p, {"PUBLISH", "cache:nosuch", "1"}).rfind("-ERR cachebus", 0)
        == 0);
  CHECK(f.cmd(*p, {"PUBLISH", "cache:!bogus", "1"}).rfind("-ERR cachebus", 0)
        == 0);
}

// -- the server over sockets --------------------------------------------------

namespace {

bool send_all(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until `out` holds `expected` (true) or a read times out.
bool read_until(int fd, std::string& out, const std::string& expected) {
  char buf[4096];
  while (out.find(expected) == std::string::npos) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

int dial(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0
      || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

} // namespace

TEST_CASE("over sockets, a tracking RESP3 client and a RESP2 redirect target "
          "get their pushes, and a subscriber its messages",
          "[resp][tracking][pubsub]") {
  config cfg;
  caf::actor_system sys{cfg};
  node_options opts;
  opts.shards = 2;
  auto n = node::start(sys, opts);
  REQUIRE(n);
  resp_options ro;
  ro.enabled = true;
  auto server = resp_server::start(sys, **n, ro);
  REQUIRE(server);
  auto port = (*server)->port();
  int a = dial(port), b = dial(port), r = dial(port), w = dial(port);
  REQUIRE((a >= 0 && b >= 0 && r >= 0 && w >= 0));
  std::string got_a, got_b, got_r, got_w;
  REQUIRE(send_all(r, "CLIENT ID\r\nSUBSCRIBE __redis__:invalidate chat\r\n"));
  REQUIRE(read_until(r, got_r, "$4\r\nchat\r\n:2\r\n"));
  auto rid = got_r.substr(1, got_r.find("\r\n") - 1);
  REQUIRE(send_all(a, "HELLO 3\r\nCLIENT TRACKING ON\r\nGET k\r\n"));
  REQUIRE(read_until(a, got_a, "+OK\r\n_\r\n"));
  REQUIRE(send_all(b, "CLIENT TRACKING ON REDIRECT " + rid + "\r\nGET j\r\n"));
  REQUIRE(read_until(b, got_b, "+OK\r\n$-1\r\n"));
  REQUIRE(send_all(w, "SET k 1\r\nSET j 2\r\nPUBLISH chat hi\r\n"));
  REQUIRE(read_until(w, got_w, "+OK\r\n+OK\r\n:1\r\n"));
  CHECK(read_until(a, got_a, push_of("k")));
  CHECK(read_until(r, got_r,
                   "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
                   "*1\r\n$1\r\nj\r\n"));
  CHECK(read_until(r, got_r, "*3\r\n$7\r\nmessage\r\n$4\r\nchat\r\n$2\r\nhi"));
  for (int fd : {a, b, r, w})
    ::close(fd);
  (*server)->stop();
  (*n)->stop();
}
