// cachebus's own Redis commands (CB.*), SCAN and EXPIRE's conditions, on a
// session over a real embedded node: the replies a client reads, byte for
// byte, and what the node holds afterwards. Commands that wait (CB.FETCH on
// a miss, the record commands) are deferred: the fixture hands their replies
// to the session as the server's broker would (resp_fixture.hpp).
#include <catch2/catch.hpp>

#include <atomic>
#include <set>

#include "caf/typed_event_based_actor.hpp"

#include "cachebus/actors/node/error.hpp"

#include "resp_fixture.hpp"

using namespace cachebus;
using namespace std::chrono_literals;
using test::bulk;
using test::multibulk;

namespace {

using counter = std::shared_ptr<std::atomic<int>>;

// A node loader: "absent:*" is a record the source lacks, "broken:*" a
// failing source, anything else loads as "value of <key>".
loader_actor::behavior_type test_loader(loader_actor::pointer, counter runs) {
  return {
    [=](load_atom, const std::string& key) -> caf::result<loaded> {
      ++*runs;
      if (key.rfind("absent:", 0) == 0)
        return make_error(errc::not_found, "no record for " + key);
      if (key.rfind("broken:", 0) == 0)
        return make_error(errc::load_failed, "the source is down");
      return loaded{"value of " + key};
    },
  };
}

// A stand-in for the record frontend: users/404 does not exist, resource
// "nope" has no rule, queue_update needs a journal it does not have for
// resource "orders".
// The int is unused: CAF 0.17 spawns a function without arguments by
// dereferencing a null tuple (UBSan reports it).
record_calls_actor::behavior_type fake_records(record_calls_actor::pointer,
                                               int) {
  return {
    [](caf::update_atom, std::string& resource, std::string&,
       stores::field_map& fields) -> caf::result<uint64_t> {
      if (resource == "nope")
        return make_error(errc::unknown_resource, "no rule for \"nope\"");
      return uint64_t{40 + fields.size()};
    },
    [](queue_update_atom, std::string& resource, std::string&,
       stores::field_map&) -> caf::result<caf::ok_atom> {
      if (resource == "orders")
        return make_error(errc::invalid_config, "write-back needs "
                                                "cachebus.write-back.journal");
      return caf::ok_atom_v;
    },
    [](record_atom, const std::string&,
       const std::string& id) -> caf::result<stores::field_map, uint64_t> {
      if (id == "404")
        return make_error(errc::not_found, "users/404");
      return {stores::field_map{{"email", "ada@x"}, {"name", "Ada"}},
              uint64_t{7}};
    },
  };
}

struct loader_fixture : test::resp_fixture {
  counter runs = std::make_shared<std::atomic<int>>(0);

  loader_fixture() {
    auto loader = sys.spawn(test_loader, runs);
    owned.push_back(caf::actor_cast<caf::actor>(loader));
    node_setup setup;
    setup.loader = loader;
    start(std::move(setup));
  }
};

struct records_fixture : test::resp_fixture {
  records_fixture() {
    records = sys.spawn(fake_records, 0);
    owned.push_back(caf::actor_cast<caf::actor>(records));
    start();
  }
};

struct plain_fixture : test::resp_fixture {
  plain_fixture() { start(); }
};

// The keys of a complete SCAN with `opts` after the cursor, in COUNT-sized
// steps, as redis-cli --scan runs it; each key as often as it came.
std::multiset<std::string> scan_all(test::resp_fixture& f,
                                    std::vector<std::string> opts,
                                    size_t* calls = nullptr) {
  std::multiset<std::string> keys;
  std::string cursor = "0";
  size_t n = 0;
  do {
    std::vector<std::string> args{"SCAN", cursor};
    args.insert(args.end(), opts.begin(), opts.end());
    auto reply = f.cmd(args);
    // *2\r\n$<len>\r\n<cursor>\r\n*<k>\r\n($<len>\r\n<key>\r\n)*
    REQUIRE(reply.rfind("*2\r\n$", 0) == 0);
    size_t pos = 5;
    auto eol = reply.find("\r\n", pos);
    pos = eol + 2;
    eol = reply.find("\r\n", pos);
    cursor = reply.substr(pos, eol - pos);
    pos = eol + 3; // past "\r\n*"
    eol = reply.find("\r\n", pos);
    auto count = std::stoul(reply.substr(pos, eol - pos));
    pos = eol + 2;
    for (size_t i = 0; i < count; ++i) {
      eol = reply.find("\r\n", pos);
      auto len = std::stoul(reply.substr(pos + 1, eol - pos - 1));
      keys.insert(reply.substr(eol + 2, len));
      pos = eol + 2 + len + 2;
    }
    REQUIRE(++n < 100'000);
  } while (cursor != "0");
  if (calls)
    *calls = n;
  return keys;
}

} // namespace

// -- CB.FETCH -----------------------------------------------------------------

TEST_CASE_METHOD(loader_fixture,
                 "CB.FETCH loads a miss through the node loader once and "
                 "answers a hit at once",
                 "[resp][cachebus]") {
  s->feed(multibulk({"CB.FETCH", "user:1"}));
  CHECK(s->waiting()); // the load runs elsewhere; nothing blocked
  CHECK(take_output().empty());
  REQUIRE(complete_next(*s));
  CHECK(take_output() == bulk("value of user:1"));
  CHECK(cmd({"CB.FETCH", "user:1"}) == bulk("value of user:1"));
  CHECK_FALSE(s->waiting());
  CHECK(*runs == 1);
  CHECK(cmd({"GET", "user:1"}) == bulk("value of user:1"));
}

TEST_CASE_METHOD(loader_fixture,
                 "while CB.FETCH waits, the commands pipelined behind it wait "
                 "too and the replies keep their order",
                 "[resp][cachebus]") {
  s->feed(multibulk({"CB.FETCH", "k"}) + multibulk({"SET", "k", "mine"})
          + multibulk({"GET", "k"}) + "PING\r\n");
  CHECK(s->waiting());
  CHECK(take_output().empty());
  REQUIRE(complete_next(*s));
  // The fetch saw the key before the SET (it ran first), the GET after it.
  CHECK(take_output()
        == bulk("value of k") + "+OK\r\n" + bulk("mine") + "+PONG\r\n");
  CHECK_FALSE(s->waiting());
}

TEST_CASE_METHOD(loader_fixture,
                 "CB.FETCH answers nil for what the source lacks and the "
                 "loader's error when it fails",
                 "[resp][cachebus]") {
  CHECK(cmd({"CB.FETCH", "absent:1"}) == "$-1\r\n");
  auto failed = cmd({"CB.FETCH", "broken:1"});
  CHECK(failed.rfind("-ERR cachebus: load_failed", 0) == 0);
  CHECK(failed.find("the source is down") != std::string::npos);
  CHECK(cmd({"CB.FETCH", ""}).rfind("-ERR cachebus: invalid_key", 0) == 0);
  CHECK(cmd({"CB.FETCH", "k", "EX", "0"})
        == "-ERR invalid expire time in 'cb.fetch' command\r\n");
  CHECK(cmd({"CB.FETCH", "k", "BOGUS"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"CB.FETCH"})
        == "-ERR wrong number of arguments for 'cb.fetch' command\r\n");
}

TEST_CASE_METHOD(loader_fixture,
                 "CB.FETCH with EX and TAG caches the loaded value with that "
                 "TTL and those tags",
                 "[resp][cachebus]") {
  CHECK(cmd({"CB.FETCH", "k", "EX", "30", "TAG", "t1", "t2"})
        == bulk("value of k"));
  CHECK(cmd({"TTL", "k"}) == ":30\r\n");
  CHECK(cmd({"CB.INVALIDATE.TAG", "t2"}) == ":1\r\n");
  CHECK(cmd({"EXISTS", "k"}) == ":0\r\n");
}

TEST_CASE_METHOD(plain_fixture, "CB.FETCH on a node without a loader says so",
                 "[resp][cachebus]") {
  auto r = cmd({"CB.FETCH", "k"});
  CHECK(r.rfind("-ERR cachebus: invalid_config", 0) == 0);
}

// -- CB.SET and the invalidations ---------------------------------------------

TEST_CASE_METHOD(plain_fixture,
                 "CB.SET writes tagged values with a TTL and answers their "
                 "version; CB.INVALIDATE.TAG removes them",
                 "[resp][cachebus]") {
  auto v1 = cmd({"CB.SET", "a", "1", "EX", "20", "TAG", "red", "blue"});
  CHECK(v1.rfind(":", 0) == 0);
  CHECK(cmd({"CB.SET", "b", "2", "PX", "1500", "TAG", "red"}).rfind(":", 0)
        == 0);
  CHECK(cmd({"CB.SET", "c", "3", "PERSIST"}).rfind(":", 0) == 0);
  CHECK(cmd({"TTL", "a"}) == ":20\r\n");
  CHECK(cmd({"PTTL", "b"}) == ":1500\r\n");
  CHECK(cmd({"TTL", "c"}) == ":-1\r\n");
  CHECK(cmd({"CB.INVALIDATE.TAG", "red"}) == ":2\r\n");
  CHECK(cmd({"MGET", "a", "b", "c"}) == "*3\r\n$-1\r\n$-1\r\n$1\r\n3\r\n");
  CHECK(cmd({"CB.INVALIDATE.TAG", "red"}) == ":0\r\n");
}

TEST_CASE_METHOD(plain_fixture,
                 "CB.SET with VERSION refuses an older version than the one "
                 "cached",
                 "[resp][cachebus]") {
  CHECK(cmd({"CB.SET", "k", "new", "VERSION", "10"}) == ":10\r\n");
  CHECK(cmd({"CB.SET", "k", "old", "VERSION", "9"})
          .rfind("-ERR cachebus: stale_version", 0)
        == 0);
  CHECK(cmd({"GET", "k"}) == bulk("new"));
  CHECK(cmd({"CB.SET", "k", "v", "VERSION", "x"})
        == "-ERR VERSION must be a positive integer\r\n");
  CHECK(cmd({"CB.SET", "k", "v", "EX"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"CB.SET", "k", "v", "TAG"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"CB.SET", "k", std::string(2000, 'x')})
          .rfind("-ERR cachebus: value_too_large", 0)
        == 0);
  CHECK(cmd({"GET", "k"}) == bulk("new"));
}

TEST_CASE_METHOD(plain_fixture,
                 "CB.INVALIDATE removes keys and their dependents and counts "
                 "them",
                 "[resp][cachebus]") {
  CHECK(cmd({"MSET", "parent", "p", "child", "c", "other", "o"}) == "+OK\r\n");
  CHECK(cmd({"CB.DEPEND", "parent", "child"}) == ":1\r\n");
  CHECK(cmd({"CB.DEPEND", "parent", "not-cached"}) == ":0\r\n");
  CHECK(cmd({"CB.DEPEND", "parent", "parent"})
          .rfind("-ERR cachebus: invalid_argument", 0)
        == 0);
  CHECK(cmd({"CB.INVALIDATE", "parent", "nothing"}) == ":2\r\n");
  CHECK(cmd({"EXISTS", "parent", "child", "other"}) == ":1\r\n");
}

TEST_CASE_METHOD(plain_fixture,
                 "CB.INVALIDATE.PATTERN removes the keys a prefixed glob "
                 "matches and refuses a glob without a prefix",
                 "[resp][cachebus]") {
  CHECK(cmd({"MSET", "search:q:1", "a", "search:q:2", "b", "search:r:1", "c"})
        == "+OK\r\n");
  CHECK(cmd({"CB.INVALIDATE.PATTERN", "search:q:*"}) == ":2\r\n");
  CHECK(cmd({"DBSIZE"}) == ":1\r\n");
  CHECK(cmd({"CB.INVALIDATE.PATTERN", "*:1"})
          .rfind("-ERR cachebus: invalid_argument", 0)
        == 0);
  CHECK(cmd({"EXISTS", "search:r:1"}) == ":1\r\n");
}

TEST_CASE("CB.RESOURCE invalidates what the central rules say a record "
          "touches",
          "[resp][cachebus]") {
  test::resp_fixture f;
  auto rs = rules::parse("[users]\nkeys = user:{id}, user:{id}:profile\n"
                         "tags = user:{id}\n");
  REQUIRE(rs);
  node_setup setup;
  setup.rules = std::move(*rs);
  f.start(std::move(setup));
  CHECK(f.cmd({"MSET", "user:7", "a", "user:7:profile", "b", "user:8", "c"})
        == "+OK\r\n");
  CHECK(f.cmd({"CB.SET", "feed:7", "f", "TAG", "user:7"}).rfind(":", 0) == 0);
  CHECK(f.cmd({"CB.RESOURCE", "users", "7"}) == ":3\r\n");
  CHECK(f.cmd({"EXISTS", "user:7", "user:7:profile", "feed:7", "user:8"})
        == ":1\r\n");
  CHECK(f.cmd({"CB.RESOURCE", "nosuch", "7"})
          .rfind("-ERR cachebus: unknown_resource", 0)
        == 0);
  CHECK(f.cmd({"CB.RESOURCE", "users", "8", "-1"})
        == "-ERR version must be a non-negative integer\r\n");
}

// -- records ------------------------------------------------------------------

TEST_CASE_METHOD(plain_fixture,
                 "the record commands on a node without a store say so",
                 "[resp][cachebus]") {
  for (auto* name : {"CB.UPDATE", "CB.QUEUE"})
    CHECK(cmd({name, "users", "1", "name", "Ada"})
          == "-ERR cachebus: this node has no system of record: start it "
             "with cachebus.store\r\n");
  CHECK(cmd({"CB.RECORD", "users", "1"})
        == "-ERR cachebus: this node has no system of record: start it with "
           "cachebus.store\r\n");
}

TEST_CASE_METHOD(records_fixture,
                 "CB.UPDATE, CB.QUEUE and CB.RECORD answer what the record "
                 "frontend answers, later, in order",
                 "[resp][cachebus]") {
  CHECK(cmd({"CB.UPDATE", "users", "1", "name", "Ada", "email", "a@x"})
        == ":42\r\n");
  CHECK(cmd({"CB.QUEUE", "users", "1", "name", "Ada"}) == "+OK\r\n");
  CHECK(cmd({"CB.RECORD", "users", "1"})
        == "*2\r\n:7\r\n*4\r\n" + bulk("email") + bulk("ada@x") + bulk("name")
             + bulk("Ada"));
  CHECK(cmd({"HELLO", "3"}).rfind("%7", 0) == 0);
  CHECK(cmd({"CB.RECORD", "users", "1"})
        == "*2\r\n:7\r\n%2\r\n" + bulk("email") + bulk("ada@x") + bulk("name")
             + bulk("Ada"));
  CHECK(cmd({"CB.RECORD", "users", "404"}) == "_\r\n");
  CHECK(cmd({"CB.UPDATE", "nope", "1", "a", "b"})
          .rfind("-ERR cachebus: unknown_resource", 0)
        == 0);
  CHECK(cmd({"CB.QUEUE", "orders", "1", "a", "b"})
          .rfind("-ERR cachebus: invalid_config", 0)
        == 0);
  CHECK(cmd({"CB.UPDATE", "users", "1", "name"})
        == "-ERR wrong number of arguments for 'cb.update' command\r\n");
  // Three deferred commands and two plain ones in one pipeline.
  CHECK(raw(multibulk({"CB.UPDATE", "users", "1", "a", "b"}) + "PING\r\n"
            + multibulk({"CB.QUEUE", "users", "1", "a", "b"})
            + multibulk({"CB.RECORD", "users", "404"}) + "PING\r\n")
        == ":41\r\n+PONG\r\n+OK\r\n_\r\n+PONG\r\n");
}

TEST_CASE_METHOD(records_fixture,
                 "a deferred reply that arrives after its connection is gone "
                 "changes nothing",
                 "[resp][cachebus]") {
  auto other = connect();
  other->feed(multibulk({"CB.RECORD", "users", "1"}));
  CHECK(other->waiting());
  other.reset(); // the client disconnected
  std::unique_lock<std::mutex> guard{mtx};
  CHECK(cv.wait_for(guard, 10s, [this] { return !done.empty(); }));
  auto late = std::move(done.front());
  done.pop_front();
  guard.unlock();
  s->complete(std::move(late)); // another session's ticket: ignored
  CHECK(take_output().empty());
  CHECK(cmd({"PING"}) == "+PONG\r\n");
}

// -- SCAN ---------------------------------------------------------------------

TEST_CASE_METHOD(plain_fixture,
                 "SCAN returns every key exactly once, in COUNT-sized steps "
                 "over every shard",
                 "[resp][scan]") {
  std::set<std::string> all;
  for (int i = 0; i < 500; ++i) {
    auto k = "key:" + std::to_string(i);
    REQUIRE(cmd({"SET", k, "v"}) == "+OK\r\n");
    all.insert(k);
  }
  size_t calls = 0;
  auto got = scan_all(*this, {"COUNT", "7"}, &calls);
  CHECK(got.size() == 500);
  CHECK(std::set<std::string>(got.begin(), got.end()) == all);
  CHECK(calls >= 500 / 7);
  // One call with a large COUNT does it all.
  CHECK(scan_all(*this, {"COUNT", "100000"}, &calls).size() == 500);
  CHECK(calls == 1);
}

TEST_CASE_METHOD(plain_fixture,
                 "SCAN MATCH takes Redis globs and visits only the range of "
                 "their literal prefix",
                 "[resp][scan]") {
  for (auto* k : {"user:1", "user:2", "user:10", "user:x", "usr:1", "a:user:1",
                  "user:[1]"})
    REQUIRE(cmd({"SET", k, "v"}) == "+OK\r\n");
  using keys = std::multiset<std::string>;
  CHECK(scan_all(*this, {"MATCH", "user:*"})
        == keys{"user:1", "user:10", "user:2", "user:x", "user:[1]"});
  CHECK(scan_all(*this, {"MATCH", "user:?"})
        == keys{"user:1", "user:2", "user:x"});
  CHECK(scan_all(*this, {"MATCH", "user:[0-9]*"})
        == keys{"user:1", "user:10", "user:2"});
  CHECK(scan_all(*this, {"MATCH", "user:[^0-9]"}) == keys{"user:x"});
  CHECK(scan_all(*this, {"MATCH", "user:\\[1]"}) == keys{"user:[1]"});
  CHECK(scan_all(*this, {"MATCH", "*:1"})
        == keys{"user:1", "usr:1", "a:user:1"});
  // With a prefix, COUNT bounds the visits inside the prefix's range only:
  // one call of COUNT 5 sees all five user: keys, whatever else is stored.
  size_t calls = 0;
  CHECK(scan_all(*this, {"MATCH", "user:*", "COUNT", "5"}, &calls).size() == 5);
  CHECK(calls <= 2); // the range may end on a shard boundary
}

TEST_CASE_METHOD(plain_fixture,
                 "SCAN returns every key that stays for the whole scan while "
                 "others come and go",
                 "[resp][scan]") {
  for (int i = 0; i < 300; ++i)
    REQUIRE(cmd({"SET", "stay:" + std::to_string(i), "v"}) == "+OK\r\n");
  std::multiset<std::string> got;
  std::string cursor = "0";
  int round = 0;
  do {
    // Between calls: new keys everywhere in the order, and old ones gone.
    REQUIRE(cmd({"SET", "stay:" + std::to_string(round) + "a", "v"})
            == "+OK\r\n");
    REQUIRE(cmd({"SET", "go:" + std::to_string(round), "v"}) == "+OK\r\n");
    REQUIRE(cmd({"DEL", "go:" + std::to_string(round - 1)}).rfind(":", 0) == 0);
    auto reply = cmd({"SCAN", cursor, "MATCH", "stay:*", "COUNT", "10"});
    auto c0 = reply.find("\r\n", 5) + 2;
    cursor = reply.substr(c0, reply.find("\r\n", c0) - c0);
    for (int i = 0; i < 300; ++i) {
      auto k = "stay:" + std::to_string(i);
      if (reply.find(bulk(k)) != std::string::npos)
        got.insert(k);
    }
    REQUIRE(++round < 10'000);
  } while (cursor != "0");
  for (int i = 0; i < 300; ++i)
    CHECK(got.count("stay:" + std::to_string(i)) == 1);
}

TEST_CASE_METHOD(plain_fixture,
                 "SCAN TYPE, expired keys, bad cursors and bad options",
                 "[resp][scan]") {
  REQUIRE(cmd({"SET", "a", "v"}) == "+OK\r\n");
  REQUIRE(cmd({"SET", "b", "v", "PX", "10"}) == "+OK\r\n");
  clk->advance(20ms);
  CHECK(scan_all(*this, {"TYPE", "string"}) == std::multiset<std::string>{"a"});
  CHECK(cmd({"SCAN", "0", "TYPE", "hash"}) == "*2\r\n$1\r\n0\r\n*0\r\n");
  CHECK(cmd({"SCAN", "0", "TYPE", "blob"})
        == "-ERR unknown type name 'blob'\r\n");
  CHECK(cmd({"SCAN", "x"}) == "-ERR invalid cursor\r\n");
  CHECK(cmd({"SCAN", "-1"}) == "-ERR invalid cursor\r\n");
  CHECK(cmd({"SCAN", "12345"}) == "-ERR invalid cursor\r\n");
  CHECK(cmd({"SCAN", "0", "COUNT", "0"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"SCAN", "0", "COUNT"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"SCAN", "0", "LIMIT", "3"}) == "-ERR syntax error\r\n");
  // A cursor belongs to its connection.
  auto reply = cmd({"SCAN", "0", "COUNT", "1"});
  auto c0 = reply.find("\r\n", 5) + 2;
  auto cursor = reply.substr(c0, reply.find("\r\n", c0) - c0);
  REQUIRE(cursor != "0");
  auto other = connect();
  other->feed(multibulk({"SCAN", cursor}));
  CHECK(other->output() == "-ERR invalid cursor\r\n");
}

// -- EXPIRE NX|XX|GT|LT
// ---------------------------------------------------------

TEST_CASE_METHOD(plain_fixture,
                 "EXPIRE NX, XX, GT and LT follow Redis 7; a key without a "
                 "TTL counts as an infinite one",
                 "[resp][keys][ttl]") {
  REQUIRE(cmd({"SET", "k", "v", "EX", "100"}) == "+OK\r\n");
  CHECK(cmd({"EXPIRE", "k", "50", "NX"}) == ":0\r\n");
  CHECK(cmd({"EXPIRE", "k", "50", "XX"}) == ":1\r\n");
  CHECK(cmd({"EXPIRE", "k", "40", "GT"}) == ":0\r\n");
  CHECK(cmd({"EXPIRE", "k", "60", "GT"}) == ":1\r\n");
  CHECK(cmd({"TTL", "k"}) == ":60\r\n");
  CHECK(cmd({"EXPIRE", "k", "70", "LT"}) == ":0\r\n");
  CHECK(cmd({"PEXPIRE", "k", "30000", "LT"}) == ":1\r\n");
  CHECK(cmd({"EXPIRE", "k", "40", "XX", "GT"}) == ":1\r\n");
  CHECK(cmd({"TTL", "k"}) == ":40\r\n");
  // PERSISTed: no TTL.
  CHECK(cmd({"PERSIST", "k"}) == ":1\r\n");
  CHECK(cmd({"EXPIRE", "k", "50", "XX"}) == ":0\r\n");
  CHECK(cmd({"EXPIRE", "k", "50", "GT"}) == ":0\r\n");
  CHECK(cmd({"TTL", "k"}) == ":-1\r\n");
  CHECK(cmd({"EXPIRE", "k", "50", "LT"}) == ":1\r\n");
  CHECK(cmd({"PERSIST", "k"}) == ":1\r\n");
  CHECK(cmd({"EXPIRE", "k", "50", "NX"}) == ":1\r\n");
  CHECK(cmd({"TTL", "k"}) == ":50\r\n");
  // A deadline in the past deletes only if the condition holds.
  CHECK(cmd({"EXPIRE", "k", "0", "GT"}) == ":0\r\n");
  CHECK(cmd({"EXPIRE", "k", "0", "NX"}) == ":0\r\n");
  CHECK(cmd({"EXISTS", "k"}) == ":1\r\n");
  CHECK(cmd({"EXPIRE", "k", "0", "LT"}) == ":1\r\n");
  CHECK(cmd({"EXISTS", "k"}) == ":0\r\n");
  CHECK(cmd({"EXPIRE", "k", "10", "XX"}) == ":0\r\n"); // no key
  // Options that cannot go together, and unknown ones.
  CHECK(cmd({"EXPIRE", "k", "10", "NX", "XX"})
        == "-ERR NX and XX, GT or LT options at the same time are not "
           "compatible\r\n");
  CHECK(cmd({"EXPIRE", "k", "10", "GT", "LT"})
        == "-ERR GT and LT options at the same time are not compatible\r\n");
  CHECK(cmd({"EXPIRE", "k", "10", "SOON"})
        == "-ERR Unsupported option SOON\r\n");
}
