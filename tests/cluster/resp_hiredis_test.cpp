// cachebus-node's Redis port driven by hiredis, the C client most Redis
// libraries wrap (Debian's libhiredis 0.14: RESP2 only, no TLS; linked into
// this test alone). Pipelines, binary-safe keys and values, error replies,
// SCAN and cachebus's own commands, each as hiredis parses them.
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>

#include <memory>
#include <set>
#include <string>

#include "cachebus/apps/common/child_process.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"

using namespace cachebus;

namespace {

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct context_deleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

context_ptr connect(uint16_t port) {
  timeval tv{10, 0};
  context_ptr c{redisConnectWithTimeout("127.0.0.1", port, tv)};
  REQUIRE(c);
  INFO(c->errstr);
  REQUIRE(c->err == 0);
  REQUIRE(redisSetTimeout(c.get(), tv) == REDIS_OK);
  return c;
}

reply_ptr command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(),
                             lens.data());
  INFO(c->errstr);
  REQUIRE(r != nullptr);
  return reply_ptr{static_cast<redisReply*>(r)};
}

std::string str(const reply_ptr& r) {
  return {r->str, r->len};
}

app::node_child resp_node(std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), "--cachebus.resp-port=0");
  return app::node_child{test::node_binary(), test::node_args("h", 0, extra)};
}

} // namespace

TEST_CASE("hiredis pipelines a thousand commands and reads every reply in "
          "order",
          "[cluster][processes][resp][hiredis]") {
  auto node = resp_node();
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto c = connect(node.resp_port);
  for (int i = 0; i < 1000; ++i) {
    auto k = "key:" + std::to_string(i);
    auto v = std::to_string(i * 7);
    REQUIRE(redisAppendCommand(c.get(), "SET %b %b", k.data(), k.size(),
                               v.data(), v.size())
            == REDIS_OK);
    REQUIRE(redisAppendCommand(c.get(), "GET %b", k.data(), k.size())
            == REDIS_OK);
  }
  for (int i = 0; i < 1000; ++i) {
    void* raw = nullptr;
    REQUIRE(redisGetReply(c.get(), &raw) == REDIS_OK);
    reply_ptr set{static_cast<redisReply*>(raw)};
    REQUIRE(set->type == REDIS_REPLY_STATUS);
    CHECK(str(set) == "OK");
    REQUIRE(redisGetReply(c.get(), &raw) == REDIS_OK);
    reply_ptr get{static_cast<redisReply*>(raw)};
    REQUIRE(get->type == REDIS_REPLY_STRING);
    CHECK(str(get) == std::to_string(i * 7));
  }
  auto n = command(c.get(), {"DBSIZE"});
  REQUIRE(n->type == REDIS_REPLY_INTEGER);
  CHECK(n->integer == 1000);
}

TEST_CASE("hiredis round-trips binary keys and values, NUL, CR and LF "
          "included",
          "[cluster][processes][resp][hiredis]") {
  auto node = resp_node();
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto c = connect(node.resp_port);
  std::string key{"bin\0key\r\n", 9};
  std::string value;
  for (int i = 0; i < 256; ++i)
    value += static_cast<char>(i);
  value += std::string(100'000, '\0');
  CHECK(str(command(c.get(), {"SET", key, value})) == "OK");
  auto got = command(c.get(), {"GET", key});
  REQUIRE(got->type == REDIS_REPLY_STRING);
  CHECK(str(got) == value);
  auto mget = command(c.get(), {"MGET", key, "missing"});
  REQUIRE(mget->type == REDIS_REPLY_ARRAY);
  REQUIRE(mget->elements == 2);
  CHECK(std::string(mget->element[0]->str, mget->element[0]->len) == value);
  CHECK(mget->element[1]->type == REDIS_REPLY_NIL);
}

TEST_CASE("hiredis gets Redis-style error replies and the connection goes on",
          "[cluster][processes][resp][hiredis]") {
  auto node = resp_node();
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto c = connect(node.resp_port);
  auto r = command(c.get(), {"NOSUCH", "x"});
  REQUIRE(r->type == REDIS_REPLY_ERROR);
  CHECK(str(r).rfind("ERR unknown command 'NOSUCH'", 0) == 0);
  r = command(c.get(), {"GET"});
  REQUIRE(r->type == REDIS_REPLY_ERROR);
  CHECK(str(r) == "ERR wrong number of arguments for 'get' command");
  r = command(c.get(), {"CB.INVALIDATE.PATTERN", "*x"});
  REQUIRE(r->type == REDIS_REPLY_ERROR);
  CHECK(str(r).rfind("ERR cachebus: invalid_argument", 0) == 0);
  r = command(c.get(), {"EXPIRE", "k", "10", "NX", "XX"});
  REQUIRE(r->type == REDIS_REPLY_ERROR);
  r = command(c.get(), {"SET", "", "v"});
  REQUIRE(r->type == REDIS_REPLY_ERROR);
  CHECK(str(r).rfind("ERR cachebus: invalid_key", 0) == 0);
  r = command(c.get(), {"PING"});
  REQUIRE(r->type == REDIS_REPLY_STATUS);
  CHECK(str(r) == "PONG");
}

TEST_CASE("hiredis scans every key and runs cachebus's own commands",
          "[cluster][processes][resp][hiredis]") {
  auto node = resp_node({"--cachebus.shards=2"});
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto c = connect(node.resp_port);
  for (int i = 0; i < 100; ++i)
    command(c.get(), {"CB.SET", "item:" + std::to_string(i), "v", "TAG",
                      i % 2 ? "odd" : "even"});
  std::set<std::string> seen;
  std::string cursor = "0";
  do {
    auto r
      = command(c.get(), {"SCAN", cursor, "MATCH", "item:*", "COUNT", "9"});
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    REQUIRE(r->elements == 2);
    cursor.assign(r->element[0]->str, r->element[0]->len);
    for (size_t i = 0; i < r->element[1]->elements; ++i)
      seen.emplace(r->element[1]->element[i]->str,
                   r->element[1]->element[i]->len);
  } while (cursor != "0");
  CHECK(seen.size() == 100);
  auto n = command(c.get(), {"CB.INVALIDATE.TAG", "odd"});
  REQUIRE(n->type == REDIS_REPLY_INTEGER);
  CHECK(n->integer == 50);
  n = command(c.get(), {"CB.INVALIDATE", "item:0", "item:2"});
  CHECK(n->integer == 2);
  // The even item:1* keys (item:10, 12, ... 18) are still there.
  n = command(c.get(), {"CB.INVALIDATE.PATTERN", "item:1*"});
  CHECK(n->integer >= 5);
  auto left
    = command(c.get(), {"SCAN", "0", "MATCH", "item:*", "COUNT", "1000"});
  REQUIRE(left->type == REDIS_REPLY_ARRAY);
  CHECK(left->element[1]->elements == 50 - 2 - 5);
}
