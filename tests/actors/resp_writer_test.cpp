// The RESP reply encoder: every type in RESP3 and in the RESP2 form Redis
// sends to a RESP2 client.
#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "cachebus/actors/resp/resp_writer.hpp"

using namespace cachebus;

namespace {

template <class F>
std::string in(int proto, F f) {
  std::string out;
  resp_writer w{out, proto};
  f(w);
  return out;
}

} // namespace

TEST_CASE("simple strings, errors, integers and bulks are the same in both "
          "protocols") {
  for (int proto : {2, 3}) {
    CHECK(in(proto, [](auto& w) { w.simple("OK"); }) == "+OK\r\n");
    CHECK(in(proto, [](auto& w) { w.error("ERR syntax error"); })
          == "-ERR syntax error\r\n");
    CHECK(in(proto, [](auto& w) { w.integer(-42); }) == ":-42\r\n");
    CHECK(
      in(proto, [](auto& w) { w.integer(std::numeric_limits<int64_t>::min()); })
      == ":-9223372036854775808\r\n");
    CHECK(in(proto,
             [](auto& w) {
               w.bulk(std::string{"a\0\r\n", 4});
             })
          == std::string{"$4\r\na\0\r\n\r\n", 10});
    CHECK(in(proto, [](auto& w) { w.bulk(""); }) == "$0\r\n\r\n");
  }
}

TEST_CASE("a CR or LF inside an error or a simple string cannot split the "
          "reply") {
  CHECK(in(2, [](auto& w) { w.error("ERR bad\r\n+OK"); })
        == "-ERR bad  +OK\r\n");
  CHECK(in(3, [](auto& w) { w.simple("a\nb"); }) == "+a b\r\n");
}

TEST_CASE("null is $-1 and a null array *-1 in RESP2, both _ in RESP3") {
  CHECK(in(2, [](auto& w) { w.null(); }) == "$-1\r\n");
  CHECK(in(2, [](auto& w) { w.null_array(); }) == "*-1\r\n");
  CHECK(in(3, [](auto& w) { w.null(); }) == "_\r\n");
  CHECK(in(3, [](auto& w) { w.null_array(); }) == "_\r\n");
}

TEST_CASE("maps are flat arrays in RESP2; sets and pushes are arrays") {
  auto pairs = [](resp_writer& w) {
    w.map(2);
    w.bulk("a");
    w.integer(1);
    w.bulk("b");
    w.integer(2);
  };
  CHECK(in(2, pairs) == "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n");
  CHECK(in(3, pairs) == "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n");
  CHECK(in(2, [](auto& w) { w.set(3); }) == "*3\r\n");
  CHECK(in(3, [](auto& w) { w.set(3); }) == "~3\r\n");
  CHECK(in(2, [](auto& w) { w.push(2); }) == "*2\r\n");
  CHECK(in(3, [](auto& w) { w.push(2); }) == ">2\r\n");
  CHECK(in(3, [](auto& w) { w.array(0); }) == "*0\r\n");
}

TEST_CASE("doubles are , lines in RESP3 and bulk strings in RESP2") {
  CHECK(in(3, [](auto& w) { w.real(1.5); }) == ",1.5\r\n");
  CHECK(in(3, [](auto& w) { w.real(0.1); }) == ",0.1\r\n");
  CHECK(in(3, [](auto& w) { w.real(std::numeric_limits<double>::infinity()); })
        == ",inf\r\n");
  CHECK(in(3, [](auto& w) { w.real(-std::numeric_limits<double>::infinity()); })
        == ",-inf\r\n");
  CHECK(in(3, [](auto& w) { w.real(std::numeric_limits<double>::quiet_NaN()); })
        == ",nan\r\n");
  CHECK(in(2, [](auto& w) { w.real(2.25); }) == "$4\r\n2.25\r\n");
}

TEST_CASE("booleans are #t/#f in RESP3 and 1/0 in RESP2") {
  CHECK(in(3, [](auto& w) { w.boolean(true); }) == "#t\r\n");
  CHECK(in(3, [](auto& w) { w.boolean(false); }) == "#f\r\n");
  CHECK(in(2, [](auto& w) { w.boolean(true); }) == ":1\r\n");
  CHECK(in(2, [](auto& w) { w.boolean(false); }) == ":0\r\n");
}

TEST_CASE("a verbatim string carries its format in RESP3 only") {
  CHECK(in(3, [](auto& w) { w.verbatim("txt", "hi\r\n"); })
        == "=8\r\ntxt:hi\r\n\r\n");
  CHECK(in(2, [](auto& w) { w.verbatim("txt", "hi\r\n"); })
        == "$4\r\nhi\r\n\r\n");
}

TEST_CASE("the protocol can change between replies and replies append") {
  std::string out = "+x\r\n";
  resp_writer w{out};
  w.null();
  w.set_protocol(3);
  w.null();
  CHECK(w.protocol() == 3);
  CHECK(out == "+x\r\n$-1\r\n_\r\n");
}
