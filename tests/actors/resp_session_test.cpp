// The Redis-protocol session against a real embedded node (manual clock): the
// replies, byte for byte, that a client reads for each command; protocol
// errors; authentication; and the places where cachebus differs from Redis
// (default TTL, PERSIST, keys the node refuses).
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

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

struct session_fixture {
  config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<cachebus::time_source> clk
    = std::make_shared<cachebus::time_source>();
  std::unique_ptr<node> n;
  std::shared_ptr<resp_clients> clients = std::make_shared<resp_clients>();
  std::unique_ptr<resp_session> s;

  explicit session_fixture(std::string password = "") {
    clk->make_manual();
    node_options opts;
    opts.shards = 2;
    opts.max_entries = 100'000;
    opts.max_key_size = 64;
    opts.max_value_size = 1024;
    opts.default_ttl = 100s;
    node_setup setup;
    setup.clock = clk;
    auto started = node::start(sys, opts, setup);
    REQUIRE(started);
    n = std::move(*started);
    s = connect(std::move(password));
  }

  std::unique_ptr<resp_session> connect(std::string password = "") {
    resp_session_options so;
    so.password = std::move(password);
    so.port = 6379;
    return std::make_unique<resp_session>(*n, clients, so, "127.0.0.1:5000",
                                          "127.0.0.1:6379");
  }

  // The reply to one command, sent as a multibulk frame.
  std::string cmd(const std::vector<std::string>& args) {
    return raw(multibulk(args));
  }

  std::string cmd(resp_session& x, const std::vector<std::string>& args) {
    x.feed(multibulk(args));
    auto out = std::move(x.output());
    x.output().clear();
    return out;
  }

  // The replies to whatever `bytes` hold.
  std::string raw(std::string_view bytes) {
    s->feed(bytes);
    auto out = std::move(s->output());
    s->output().clear();
    return out;
  }
};

} // namespace

// -- connection ---------------------------------------------------------------

TEST_CASE_METHOD(session_fixture, "PING, ECHO and SELECT 0 answer as Redis",
                 "[resp]") {
  CHECK(cmd({"PING"}) == "+PONG\r\n");
  CHECK(cmd({"ping", "hi"}) == "$2\r\nhi\r\n");
  CHECK(cmd({"ECHO", std::string{"a\0b", 3}}) == bulk(std::string{"a\0b", 3}));
  CHECK(cmd({"SELECT", "0"}) == "+OK\r\n");
  CHECK(cmd({"SELECT", "1"}) == "-ERR DB index is out of range\r\n");
  CHECK(cmd({"SELECT", "x"})
        == "-ERR value is not an integer or out of range\r\n");
}

TEST_CASE_METHOD(session_fixture,
                 "unknown commands and wrong arities get Redis's texts",
                 "[resp]") {
  CHECK(cmd({"FOO", "a", "b"})
        == "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
           "\r\n");
  CHECK(cmd({"foo"})
        == "-ERR unknown command 'foo', with args beginning with: \r\n");
  CHECK(cmd({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(cmd({"get", "a", "b"})
        == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(cmd({"MSET", "a", "1", "b"})
        == "-ERR wrong number of arguments for 'mset' command\r\n");
  CHECK(cmd({"CLIENT", "SETNAME"})
        == "-ERR wrong number of arguments for 'client|setname' command\r\n");
  CHECK(cmd({"CLIENT", "NOPE"})
        == "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n");
}

TEST_CASE_METHOD(session_fixture,
                 "HELLO switches to RESP3 and answers with the server map",
                 "[resp]") {
  auto id = std::to_string(s->id());
  CHECK(cmd({"HELLO", "3"})
        == "%7\r\n$6\r\nserver\r\n$8\r\ncachebus\r\n$7\r\nversion\r\n$5\r\n"
           "7.0.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:"
             + id
             + "\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\n"
               "master\r\n$7\r\nmodules\r\n*0\r\n");
  CHECK(s->protocol() == 3);
  CHECK(cmd({"GET", "missing"}) == "_\r\n");
  CHECK(cmd({"HELLO", "4"}) == "-NOPROTO unsupported protocol version\r\n");
  CHECK(cmd({"HELLO", "x"})
        == "-ERR Protocol version is not an integer or out of range\r\n");
  CHECK(cmd({"HELLO", "2", "BOGUS"})
        == "-ERR Syntax error in HELLO option 'BOGUS'\r\n");
  CHECK(cmd({"HELLO", "2"}).rfind("*14\r\n", 0) == 0);
  CHECK(cmd({"GET", "missing"}) == "$-1\r\n");
  CHECK(cmd({"HELLO", "3", "SETNAME", "app"}).rfind("%7\r\n", 0) == 0);
  CHECK(cmd({"CLIENT", "GETNAME"}) == "$3\r\napp\r\n");
}

TEST_CASE_METHOD(session_fixture, "QUIT answers OK and closes the session",
                 "[resp]") {
  CHECK(raw(multibulk({"QUIT"}) + multibulk({"PING"})) == "+OK\r\n");
  CHECK(s->closing());
  CHECK(raw(multibulk({"PING"})).empty());
}

TEST_CASE_METHOD(session_fixture,
                 "a protocol error is answered and closes the session, after "
                 "the commands before it ran",
                 "[resp]") {
  CHECK(raw(multibulk({"SET", "k", "v"}) + "*1\r\n$-5\r\n")
        == "+OK\r\n-ERR Protocol error: invalid bulk length\r\n");
  CHECK(s->closing());
  CHECK(s->protocol_failed());
  CHECK(n->get("k"));
}

TEST_CASE_METHOD(session_fixture,
                 "inline commands and pipelines are answered in order",
                 "[resp]") {
  CHECK(raw("SET a 1\r\nGET a\r\n\r\nPING\r\n")
        == "+OK\r\n$1\r\n1\r\n+PONG\r\n");
  std::string wire, expected;
  for (int i = 0; i < 10'000; ++i) {
    wire += multibulk({"SET", "k" + std::to_string(i), std::to_string(i)});
    expected += "+OK\r\n";
  }
  for (int i = 0; i < 10'000; i += 999) {
    wire += multibulk({"GET", "k" + std::to_string(i)});
    expected += bulk(std::to_string(i));
  }
  CHECK(raw(wire) == expected);
}

TEST_CASE_METHOD(session_fixture, "CLIENT ID, SETNAME, GETNAME, INFO and LIST",
                 "[resp]") {
  CHECK(cmd({"CLIENT", "ID"}) == ":" + std::to_string(s->id()) + "\r\n");
  CHECK(cmd({"CLIENT", "GETNAME"}) == "$-1\r\n");
  CHECK(cmd({"CLIENT", "SETNAME", "a b"})
        == "-ERR Client names cannot contain spaces, newlines or special "
           "characters.\r\n");
  CHECK(cmd({"CLIENT", "SETNAME", "worker-1"}) == "+OK\r\n");
  CHECK(cmd({"CLIENT", "GETNAME"}) == "$8\r\nworker-1\r\n");
  auto other = connect();
  CHECK(cmd(*other, {"CLIENT", "SETINFO", "LIB-NAME", "x"}) == "+OK\r\n");
  auto info = cmd({"CLIENT", "INFO"});
  CHECK(info.find("id=" + std::to_string(s->id()) + " addr=127.0.0.1:5000")
        != std::string::npos);
  CHECK(info.find("name=worker-1") != std::string::npos);
  auto list = cmd({"CLIENT", "LIST"});
  CHECK(list.find("id=" + std::to_string(s->id()) + " ") != std::string::npos);
  CHECK(list.find("id=" + std::to_string(other->id()) + " ")
        != std::string::npos);
  other.reset();
  list = cmd({"CLIENT", "LIST"});
  CHECK(list.find("id=" + std::to_string(s->id() + 1) + " ")
        == std::string::npos);
}

// -- authentication -----------------------------------------------------------

TEST_CASE("with a password, only AUTH, HELLO and QUIT run before AUTH",
          "[resp][auth]") {
  session_fixture f{"s3cret"};
  CHECK(f.cmd({"GET", "k"}) == "-NOAUTH Authentication required.\r\n");
  CHECK(f.cmd({"PING"}) == "-NOAUTH Authentication required.\r\n");
  CHECK(f.cmd({"HELLO", "3"}).rfind("-NOAUTH HELLO must be called", 0) == 0);
  CHECK(f.cmd({"AUTH", "wrong"})
        == "-WRONGPASS invalid username-password pair or user is "
           "disabled.\r\n");
  CHECK(f.cmd({"AUTH", "bob", "s3cret"})
        == "-WRONGPASS invalid username-password pair or user is "
           "disabled.\r\n");
  CHECK_FALSE(f.s->authenticated());
  CHECK(f.cmd({"AUTH", "s3cret"}) == "+OK\r\n");
  CHECK(f.cmd({"SET", "k", "v"}) == "+OK\r\n");
  auto g = f.connect("s3cret");
  CHECK(
    f.cmd(*g, {"HELLO", "3", "AUTH", "default", "s3cret"}).rfind("%7\r\n", 0)
    == 0);
  CHECK(f.cmd(*g, {"GET", "k"}) == "$1\r\nv\r\n");
}

TEST_CASE("before AUTH a client cannot send large requests", "[resp][auth]") {
  session_fixture f{"pw"};
  std::vector<std::string> many(12, "x");
  many[0] = "MGET";
  CHECK(f.cmd(many)
        == "-ERR Protocol error: unauthenticated multibulk length\r\n");
  CHECK(f.s->closing());
}

TEST_CASE_METHOD(session_fixture, "without a password AUTH says so",
                 "[resp][auth]") {
  CHECK(
    cmd({"AUTH", "x"})
      .rfind("-ERR AUTH <password> called without any password configured", 0)
    == 0);
  CHECK(cmd({"AUTH", "default", "anything"}) == "+OK\r\n");
}

// -- keys ---------------------------------------------------------------------

TEST_CASE_METHOD(session_fixture,
                 "GET, SET, MGET, MSET, DEL, UNLINK, EXISTS and DBSIZE",
                 "[resp][keys]") {
  CHECK(cmd({"GET", "k"}) == "$-1\r\n");
  CHECK(cmd({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(cmd({"GET", "k"}) == "$1\r\nv\r\n");
  CHECK(cmd({"MSET", "a", "1", "b", "2"}) == "+OK\r\n");
  CHECK(cmd({"MGET", "a", "nope", "b"})
        == "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n");
  CHECK(cmd({"EXISTS", "a", "a", "nope"}) == ":2\r\n");
  CHECK(cmd({"DBSIZE"}) == ":3\r\n");
  CHECK(cmd({"DEL", "a", "a", "nope"}) == ":1\r\n");
  CHECK(cmd({"UNLINK", "b", "k"}) == ":2\r\n");
  CHECK(cmd({"DBSIZE"}) == ":0\r\n");
  CHECK(n->stats().total.invalidations == 3);
}

TEST_CASE_METHOD(session_fixture, "keys and values are binary safe",
                 "[resp][keys]") {
  std::string key{"k\0\r\n1", 5}, value{"\0\r\n$3\r\n", 7};
  CHECK(cmd({"SET", key, value}) == "+OK\r\n");
  CHECK(cmd({"GET", key}) == bulk(value));
  CHECK(*n->get(key) == value);
}

TEST_CASE_METHOD(session_fixture,
                 "keys and values the node refuses get -ERR and change "
                 "nothing",
                 "[resp][keys]") {
  CHECK(cmd({"SET", "", "v"})
        == "-ERR cachebus: invalid_key: key is empty\r\n");
  auto big_key = std::string(65, 'k');
  CHECK(cmd({"SET", big_key, "v"})
          .rfind("-ERR cachebus: invalid_key: key is "
                 "65 bytes",
                 0)
        == 0);
  auto too_large = cmd({"SET", "k", std::string(1025, 'v')});
  CAPTURE(too_large);
  CHECK(too_large.rfind("-ERR cachebus: value_too_large", 0) == 0);
  CHECK(cmd({"MSET", "a", "1", "", "2"}).rfind("-ERR cachebus: invalid_key", 0)
        == 0);
  CHECK(cmd({"MSET", "a", "1", "b", std::string(1025, 'v')})
          .rfind("-ERR cachebus: value_too_large", 0)
        == 0);
  CHECK(cmd({"GET", ""}).rfind("-ERR cachebus: invalid_key", 0) == 0);
  CHECK(cmd({"DEL", "a", ""}).rfind("-ERR cachebus: invalid_key", 0) == 0);
  CHECK(n->stats().total.entries == 0);
  CHECK(n->stats().total.sets == 0);
}

TEST_CASE_METHOD(session_fixture,
                 "SET NX, XX and GET write only when their condition holds",
                 "[resp][keys][set]") {
  CHECK(cmd({"SET", "k", "1", "XX"}) == "$-1\r\n");
  CHECK(cmd({"SET", "k", "1", "NX"}) == "+OK\r\n");
  CHECK(cmd({"SET", "k", "2", "nx"}) == "$-1\r\n");
  CHECK(cmd({"GET", "k"}) == "$1\r\n1\r\n");
  CHECK(cmd({"SET", "k", "3", "XX", "GET"}) == "$1\r\n1\r\n");
  CHECK(cmd({"SET", "k", "4", "NX", "GET"}) == "$1\r\n3\r\n");
  CHECK(cmd({"GET", "k"}) == "$1\r\n3\r\n");
  CHECK(cmd({"SET", "new", "x", "GET"}) == "$-1\r\n");
  CHECK(cmd({"GET", "new"}) == "$1\r\nx\r\n");
  CHECK(cmd({"SET", "k", "v", "NX", "XX"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"SET", "k", "v", "EX", "10", "PX", "5"})
        == "-ERR syntax error\r\n");
  CHECK(cmd({"SET", "k", "v", "KEEPTTL", "EX", "5"})
        == "-ERR syntax error\r\n");
  CHECK(cmd({"SET", "k", "v", "EX"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"SET", "k", "v", "BOGUS"}) == "-ERR syntax error\r\n");
  CHECK(cmd({"GET", "k"}) == "$1\r\n3\r\n");
}

TEST_CASE_METHOD(session_fixture,
                 "concurrent SET NX of one key from many sessions: exactly "
                 "one wins",
                 "[resp][keys][set]") {
  constexpr int threads = 4;
  constexpr int rounds = 500;
  std::vector<std::vector<std::string>> replies(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      auto mine = connect();
      for (int r = 0; r < rounds; ++r)
        replies[t].push_back(cmd(*mine, {"SET", "lock:" + std::to_string(r),
                                         std::to_string(t), "NX"}));
    });
  for (auto& th : ts)
    th.join();
  for (int r = 0; r < rounds; ++r) {
    int ok = 0;
    for (int t = 0; t < threads; ++t)
      ok += replies[t][r] == "+OK\r\n";
    REQUIRE(ok == 1);
  }
}

TEST_CASE_METHOD(
  session_fixture,
  "SET without a TTL gets the default TTL; EX, PX, EXAT and PXAT "
  "set it",
  "[resp][keys][ttl]") {
  CHECK(cmd({"SET", "d", "v"}) == "+OK\r\n");
  CHECK(cmd({"TTL", "d"}) == ":100\r\n");
  CHECK(cmd({"PTTL", "d"}) == ":100000\r\n");
  CHECK(cmd({"SET", "e", "v", "EX", "10"}) == "+OK\r\n");
  CHECK(cmd({"TTL", "e"}) == ":10\r\n");
  CHECK(cmd({"SET", "p", "v", "PX", "1500"}) == "+OK\r\n");
  CHECK(cmd({"PTTL", "p"}) == ":1500\r\n");
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  CHECK(cmd({"SET", "a", "v", "EXAT", std::to_string(now_s + 50)})
        == "+OK\r\n");
  auto ttl = cmd({"TTL", "a"});
  CHECK((ttl == ":50\r\n" || ttl == ":49\r\n"));
  CHECK(cmd({"SET", "x", "v", "PXAT", std::to_string((now_s - 10) * 1000)})
        == "+OK\r\n");
  CHECK(cmd({"EXISTS", "x"}) == ":0\r\n");
  CHECK(cmd({"SET", "e", "w", "EXAT", std::to_string(now_s - 10), "GET"})
        == "$1\r\nv\r\n");
  CHECK(cmd({"EXISTS", "e"}) == ":0\r\n");
  CHECK(cmd({"SET", "k", "v", "EX", "0"})
        == "-ERR invalid expire time in 'set' command\r\n");
  CHECK(cmd({"SET", "k", "v", "EX", "-3"})
        == "-ERR invalid expire time in 'set' command\r\n");
  CHECK(cmd({"SET", "k", "v", "EX", "ten"})
        == "-ERR value is not an integer or out of range\r\n");
  CHECK(cmd({"SET", "k", "v", "EX", "9223372036854775807"})
        == "-ERR invalid expire time in 'set' command\r\n");
  // Beyond cachebus.max-ttl (365 days by default).
  CHECK(cmd({"SET", "k", "v", "EX", std::to_string(400 * 86400)})
          .rfind("-ERR cachebus: invalid_ttl", 0)
        == 0);
  CHECK(cmd({"EXISTS", "k"}) == ":0\r\n");
  clk->advance(1500ms);
  CHECK(cmd({"GET", "p"}) == "$-1\r\n");
}

TEST_CASE_METHOD(session_fixture, "SET KEEPTTL keeps the expiry of the key",
                 "[resp][keys][ttl]") {
  CHECK(cmd({"SET", "k", "1", "EX", "30"}) == "+OK\r\n");
  clk->advance(10s);
  CHECK(cmd({"SET", "k", "2", "KEEPTTL"}) == "+OK\r\n");
  CHECK(cmd({"TTL", "k"}) == ":20\r\n");
  CHECK(cmd({"SET", "k", "3"}) == "+OK\r\n");
  CHECK(cmd({"TTL", "k"}) == ":100\r\n");
  CHECK(cmd({"SET", "fresh", "x", "KEEPTTL"}) == "+OK\r\n");
  CHECK(cmd({"TTL", "fresh"}) == ":100\r\n");
}

TEST_CASE_METHOD(session_fixture,
                 "EXPIRE, PEXPIRE, TTL and PTTL follow Redis; a non-positive "
                 "EXPIRE deletes",
                 "[resp][keys][ttl]") {
  CHECK(cmd({"TTL", "none"}) == ":-2\r\n");
  CHECK(cmd({"PTTL", "none"}) == ":-2\r\n");
  CHECK(cmd({"EXPIRE", "none", "10"}) == ":0\r\n");
  CHECK(cmd({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(cmd({"EXPIRE", "k", "5"}) == ":1\r\n");
  CHECK(cmd({"TTL", "k"}) == ":5\r\n");
  CHECK(cmd({"PEXPIRE", "k", "2500"}) == ":1\r\n");
  CHECK(cmd({"PTTL", "k"}) == ":2500\r\n");
  CHECK(cmd({"TTL", "k"}) == ":3\r\n"); // rounded, as Redis does
  CHECK(cmd({"EXPIRE", "k", "x"})
        == "-ERR value is not an integer or out of range\r\n");
  CHECK(cmd({"EXPIRE", "k", "10", "NOW"}) == "-ERR Unsupported option NOW\r\n");
  CHECK(cmd({"EXPIRE", "k", std::to_string(400 * 86400)})
          .rfind("-ERR invalid expire time in 'expire' command: cachebus: "
                 "invalid_ttl",
                 0)
        == 0);
  CHECK(cmd({"PTTL", "k"}) == ":2500\r\n");
  clk->advance(2500ms);
  CHECK(cmd({"GET", "k"}) == "$-1\r\n");
  CHECK(cmd({"TTL", "k"}) == ":-2\r\n");
  CHECK(cmd({"SET", "k", "v"}) == "+OK\r\n");
  CHECK(cmd({"EXPIRE", "k", "0"}) == ":1\r\n");
  CHECK(cmd({"EXISTS", "k"}) == ":0\r\n");
  CHECK(cmd({"EXPIRE", "k", "-1"}) == ":0\r\n");
}

TEST_CASE_METHOD(session_fixture,
                 "PERSIST makes an entry never expire (asked for by name) and "
                 "TTL then answers -1",
                 "[resp][keys][ttl]") {
  CHECK(cmd({"PERSIST", "none"}) == ":0\r\n");
  CHECK(cmd({"SET", "k", "v", "EX", "5"}) == "+OK\r\n");
  CHECK(cmd({"PERSIST", "k"}) == ":1\r\n");
  CHECK(cmd({"TTL", "k"}) == ":-1\r\n");
  CHECK(cmd({"PTTL", "k"}) == ":-1\r\n");
  CHECK(cmd({"PERSIST", "k"}) == ":0\r\n");
  clk->advance(365 * 24h);
  CHECK(cmd({"GET", "k"}) == "$1\r\nv\r\n");
  // A later SET without a TTL gets the default TTL again.
  CHECK(cmd({"SET", "k", "w"}) == "+OK\r\n");
  CHECK(cmd({"TTL", "k"}) == ":100\r\n");
  // And EXPIRE gives a persisted entry a timeout again.
  CHECK(cmd({"PERSIST", "k"}) == ":1\r\n");
  CHECK(cmd({"EXPIRE", "k", "7"}) == ":1\r\n");
  CHECK(cmd({"TTL", "k"}) == ":7\r\n");
}

// -- introspection ------------------------------------------------------------

TEST_CASE_METHOD(session_fixture,
                 "INFO has the sections clients read, with the keyspace",
                 "[resp][info]") {
  cmd({"SET", "a", "1"});
  cmd({"GET", "a"});
  auto info = cmd({"INFO"});
  for (auto* field : {"# Server\r\n", "redis_version:7.0.0\r\n",
                      "# Clients\r\n", "connected_clients:1\r\n",
                      "# Memory\r\n", "used_memory:", "loading:0\r\n",
                      "# Stats\r\n", "keyspace_hits:1\r\n", "role:master\r\n",
                      "# Keyspace\r\n", "db0:keys=1,expires=1,avg_ttl=0\r\n"})
    CHECK(info.find(field) != std::string::npos);
  auto only = cmd({"INFO", "keyspace"});
  CHECK(only.find("# Server") == std::string::npos);
  CHECK(only.find("db0:keys=1") != std::string::npos);
  cmd({"HELLO", "3"});
  CHECK(cmd({"INFO", "server"}).rfind("=", 0) == 0); // verbatim in RESP3
}

TEST_CASE_METHOD(session_fixture,
                 "COMMAND lists every command the session runs",
                 "[resp][info]") {
  auto count = cmd({"COMMAND", "COUNT"});
  CHECK(count.rfind(":", 0) == 0);
  auto n_cmds = std::stoi(count.substr(1));
  CHECK(n_cmds >= 20);
  CHECK(cmd({"COMMAND"}).rfind("*" + std::to_string(n_cmds) + "\r\n", 0) == 0);
  CHECK(cmd({"COMMAND", "DOCS"}) == "*0\r\n");
  auto info = cmd({"COMMAND", "INFO", "get", "nope"});
  CHECK(info.rfind("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n", 0) == 0);
  CHECK(info.find("*-1\r\n") != std::string::npos);
}

TEST_CASE_METHOD(session_fixture,
                 "CONFIG GET answers what clients read at connect and nothing "
                 "for unknown parameters",
                 "[resp][info]") {
  CHECK(cmd({"CONFIG", "GET", "save"}) == "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  CHECK(cmd({"CONFIG", "GET", "appendonly", "DATABASES"})
        == "*4\r\n$10\r\nappendonly\r\n$2\r\nno\r\n$9\r\ndatabases\r\n$1\r\n"
           "1\r\n");
  CHECK(cmd({"CONFIG", "GET", "nosuch"}) == "*0\r\n");
  CHECK(cmd({"CONFIG", "GET", "*"}).find("requirepass") == std::string::npos);
  cmd({"HELLO", "3"});
  CHECK(cmd({"CONFIG", "GET", "nosuch"}) == "%0\r\n");
  CHECK(cmd({"CONFIG", "SET", "save", ""}).rfind("-ERR CONFIG SET is not", 0)
        == 0);
}
