// The RESP request parser on its own: frames split anywhere, pipelines,
// binary-safe arguments, inline commands, and every refusal with Redis's text.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cachebus/actors/resp/resp_parser.hpp"

using namespace cachebus;
using args_t = std::vector<std::string>;
using status = resp_parser::status;

namespace {

// A parser past AUTH (the unauthenticated bounds are tested on their own).
resp_parser open_parser(resp_parser::limits lim = {}) {
  resp_parser p{lim};
  p.set_authenticated(true);
  return p;
}

std::string multibulk(const args_t& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args)
    out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Every command `bytes` holds, fed in one chunk.
std::vector<args_t> parse_all(resp_parser& p, std::string_view bytes) {
  p.feed(bytes);
  std::vector<args_t> out;
  args_t cmd;
  while (p.next(cmd) == status::command)
    out.push_back(cmd);
  return out;
}

std::string error_of(std::string_view bytes, resp_parser::limits lim = {}) {
  auto p = open_parser(lim);
  p.feed(bytes);
  args_t cmd;
  while (p.next(cmd) == status::command) {
    // the commands before the error
  }
  return p.error();
}

} // namespace

TEST_CASE("a multibulk command is parsed into its arguments") {
  auto p = open_parser();
  auto cmds = parse_all(p, multibulk({"SET", "k", "v"}));
  REQUIRE(cmds == std::vector<args_t>{{"SET", "k", "v"}});
  CHECK_FALSE(p.failed());
  CHECK(p.buffered() == 0);
}

TEST_CASE("a frame split at every byte yields the same commands") {
  std::string wire = multibulk({"SET", "key", std::string(300, 'x')})
                     + multibulk({"GET", "key"}) + "PING\r\n"
                     + multibulk({"MGET", "a", "", "c"});
  auto p = open_parser();
  std::vector<args_t> cmds;
  args_t cmd;
  for (char c : wire) {
    p.feed(std::string_view{&c, 1});
    for (;;) {
      auto st = p.next(cmd);
      REQUIRE(st != status::error);
      if (st == status::need_more)
        break;
      cmds.push_back(cmd);
    }
  }
  REQUIRE(cmds.size() == 4);
  CHECK(cmds[0] == args_t{"SET", "key", std::string(300, 'x')});
  CHECK(cmds[1] == args_t{"GET", "key"});
  CHECK(cmds[2] == args_t{"PING"});
  CHECK(cmds[3] == args_t{"MGET", "a", "", "c"});
}

TEST_CASE("ten thousand pipelined commands in one chunk are all parsed") {
  std::string wire;
  for (int i = 0; i < 10'000; ++i)
    wire += multibulk({"SET", "k" + std::to_string(i), std::to_string(i)});
  auto p = open_parser();
  auto cmds = parse_all(p, wire);
  REQUIRE(cmds.size() == 10'000);
  CHECK(cmds.front() == args_t{"SET", "k0", "0"});
  CHECK(cmds.back() == args_t{"SET", "k9999", "9999"});
  CHECK(p.buffered() == 0);
}

TEST_CASE("arguments are binary safe: NUL, CR and LF inside stay as sent") {
  std::string key{"a\0b\r\nc", 6};
  std::string value{"\r\n\0\0*1\r\n$", 10};
  auto p = open_parser();
  auto cmds = parse_all(p, multibulk({"SET", key, value}));
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0][1] == key);
  CHECK(cmds[0][2] == value);
}

TEST_CASE("a huge declared bulk length is refused before anything is "
          "allocated for it") {
  resp_parser::limits lim;
  lim.max_bulk_length = 1 << 20;
  auto p = open_parser(lim);
  p.feed("*2\r\n$3\r\nGET\r\n$1048577\r\n");
  args_t cmd;
  CHECK(p.next(cmd) == status::error);
  CHECK(p.error() == "Protocol error: invalid bulk length");
  // A length at the limit is accepted, and memory grows with what arrives,
  // not with what was declared.
  auto q = open_parser(lim);
  q.feed("*2\r\n$3\r\nGET\r\n$1048576\r\nabc");
  CHECK(q.next(cmd) == status::need_more);
  CHECK(q.buffered() <= (1u << 20) + 64);
  // Lengths that do not fit in 64 bits are garbage, not huge.
  CHECK(error_of("*1\r\n$99999999999999999999999\r\n")
        == "Protocol error: invalid bulk length");
}

TEST_CASE("a multibulk count above the limit is refused, and no argument "
          "vector is reserved for a large one") {
  resp_parser::limits lim;
  lim.max_multibulk_length = 100;
  CHECK(error_of("*101\r\n", lim)
        == "Protocol error: invalid multibulk length");
  auto p = open_parser();
  p.feed("*1000000\r\n$1\r\na\r\n");
  args_t cmd;
  CHECK(p.next(cmd) == status::need_more);
  CHECK_FALSE(p.failed());
}

TEST_CASE("negative and garbage lengths get Redis's protocol errors") {
  CHECK(error_of("*abc\r\n") == "Protocol error: invalid multibulk length");
  CHECK(error_of("*1x\r\n") == "Protocol error: invalid multibulk length");
  CHECK(error_of("*01\r\n") == "Protocol error: invalid multibulk length");
  CHECK(error_of("*\r\n") == "Protocol error: invalid multibulk length");
  CHECK(error_of("*1\r\n$-1\r\n") == "Protocol error: invalid bulk length");
  CHECK(error_of("*1\r\n$x\r\n") == "Protocol error: invalid bulk length");
  CHECK(error_of("*1\r\n$\r\n") == "Protocol error: invalid bulk length");
  CHECK(error_of("*1\r\n:5\r\n") == "Protocol error: expected '$', got ':'");
  CHECK(error_of("*2\r\n$1\r\na\r\n+OK\r\n")
        == "Protocol error: expected '$', got '+'");
}

TEST_CASE("empty and negative multibulk counts and empty lines are skipped") {
  auto p = open_parser();
  auto cmds = parse_all(p, "*0\r\n*-1\r\n\r\n\n   \r\nPING\r\n");
  CHECK(cmds == std::vector<args_t>{{"PING"}});
  CHECK_FALSE(p.failed());
}

TEST_CASE("inline commands split on whitespace and honour redis-cli's "
          "quoting") {
  auto p = open_parser();
  auto cmds = parse_all(p, "set  k\tv\r\n"
                           "SET \"a b\" 'c d'\n"
                           "SET \"\\x41\\n\\\"q\" 'it\\'s'\r\n"
                           "ECHO \"\"\r\n");
  REQUIRE(cmds.size() == 4);
  CHECK(cmds[0] == args_t{"set", "k", "v"});
  CHECK(cmds[1] == args_t{"SET", "a b", "c d"});
  CHECK(cmds[2] == args_t{"SET", "A\n\"q", "it's"});
  CHECK(cmds[3] == args_t{"ECHO", ""});
}

TEST_CASE("unbalanced quotes in an inline command are a protocol error") {
  CHECK(error_of("SET \"abc\r\n")
        == "Protocol error: unbalanced quotes in request");
  CHECK(error_of("SET 'abc\r\n")
        == "Protocol error: unbalanced quotes in request");
  CHECK(error_of("SET \"a\"b\r\n")
        == "Protocol error: unbalanced quotes in request");
}

TEST_CASE("an inline request longer than the limit is refused even before "
          "its line ends") {
  CHECK(error_of(std::string(70 * 1024, 'a'))
        == "Protocol error: too big inline request");
  CHECK(error_of(std::string(70 * 1024, 'a') + "\r\n")
        == "Protocol error: too big inline request");
  CHECK(error_of("*" + std::string(70 * 1024, '1'))
        == "Protocol error: too big mbulk count string");
  CHECK(error_of("*1\r\n$" + std::string(70 * 1024, '1'))
        == "Protocol error: too big bulk count string");
}

TEST_CASE("a request holding more argument bytes than the limit is refused") {
  resp_parser::limits lim;
  lim.max_request_bytes = 1000;
  auto err = error_of("*3\r\n$3\r\nSET\r\n$600\r\n" + std::string(600, 'k')
                        + "\r\n$600\r\n",
                      lim);
  CHECK(err.rfind("Protocol error: request of more than 1000 bytes", 0) == 0);
}

TEST_CASE("after a protocol error the parser stays failed and holds nothing") {
  auto p = open_parser();
  p.feed("*x\r\n");
  args_t cmd;
  CHECK(p.next(cmd) == status::error);
  p.feed(multibulk({"PING"}));
  CHECK(p.next(cmd) == status::error);
  CHECK(p.buffered() == 0);
  CHECK(p.error() == "Protocol error: invalid multibulk length");
}

TEST_CASE("an unauthenticated client may send only small requests") {
  resp_parser p;
  p.feed("*11\r\n");
  args_t cmd;
  CHECK(p.next(cmd) == status::error);
  CHECK(p.error() == "Protocol error: unauthenticated multibulk length");
  resp_parser q;
  q.feed("*2\r\n$4\r\nAUTH\r\n$16385\r\n");
  CHECK(q.next(cmd) == status::error);
  CHECK(q.error() == "Protocol error: unauthenticated bulk length");
  resp_parser r;
  r.feed(multibulk({"AUTH", std::string(16384, 'p')}));
  CHECK(r.next(cmd) == status::command);
}
