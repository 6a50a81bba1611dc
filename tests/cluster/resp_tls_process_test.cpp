// The Redis port over TLS (--cachebus.tls with the node's certificates),
// driven by redis-cli --tls: a client with a certificate of the node's CA is
// served (single commands, a 1000-command pipe, a 1.3 MB value); a client
// without one, or speaking plain TCP, is cut off while the node goes on
// serving; a non-loopback Redis port needs TLS and a password. The PKI is
// made in a temporary directory (support/test_ca.hpp); the node is a child
// process reaped by its pid.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <unistd.h>

#include "cachebus/apps/common/child_process.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"
#include "support/test_ca.hpp"

using namespace cachebus;

namespace {

std::vector<std::string> tls_args(const test::test_ca& pki) {
  return {"--cachebus.resp-port=0", "--cachebus.tls",
          "--openssl.certificate=" + pki.file("a.crt"),
          "--openssl.key=" + pki.file("a.key"),
          "--openssl.cafile=" + pki.file("ca.crt")};
}

// redis-cli over TLS as `cert` ("" for none); its output.
std::string tls_cli(const test::test_ca& pki, uint16_t port,
                    const std::string& cert, const std::string& args) {
  std::string cmd = "timeout 30 redis-cli -p " + std::to_string(port)
                    + " --tls --cacert '" + pki.file("ca.crt") + "'";
  if (!cert.empty())
    cmd += " --cert '" + pki.file(cert + ".crt") + "' --key '"
           + pki.file(cert + ".key") + "'";
  return test::run_command(cmd + " " + args + " 2>&1").second;
}

bool redis_cli_has_tls() {
  return test::run_command("redis-cli --help 2>&1").second.find("--tls")
         != std::string::npos;
}

} // namespace

TEST_CASE("redis-cli with a certificate of the node's CA talks to the Redis "
          "port over TLS; clients without one are cut off",
          "[cluster][processes][resp][tls]") {
  if (app::find_executable("redis-cli").empty() || !redis_cli_has_tls())
    FAIL("redis-cli with TLS not found (Debian redis-tools)");
  test::test_ca pki;
  app::node_child node{test::node_binary(),
                       test::node_args("t", 0, tls_args(pki))};
  INFO(node.proc.output());
  REQUIRE(node.ready());
  auto p = node.resp_port;
  CHECK(tls_cli(pki, p, "client", "SET k over-tls") == "OK\n");
  CHECK(tls_cli(pki, p, "client", "GET k") == "over-tls\n");
  CHECK(tls_cli(pki, p, "client", "CB.INVALIDATE.TAG x") == "0\n");
  // A pipe of 1000 commands and a value of 1.3 MB: many TLS records.
  std::string file = pki.file("pipe.txt");
  {
    std::ofstream f{file};
    for (int i = 0; i < 1000; ++i)
      f << "SET p" << i << " " << i << "\r\n";
  }
  CHECK(tls_cli(pki, p, "client", "--pipe < '" + file + "'")
          .find("errors: 0, replies: 1000")
        != std::string::npos);
  std::string big(1'300'000, 'x');
  for (size_t i = 0; i < big.size(); i += 97)
    big[i] = static_cast<char>('a' + i % 26);
  std::ofstream{pki.file("big.txt")} << big;
  CHECK(tls_cli(pki, p, "client", "-x SET big < '" + pki.file("big.txt") + "'")
        == "OK\n");
  CHECK(tls_cli(pki, p, "client", "GET big") == big + "\n");
  // No client certificate, a certificate of another CA, plain TCP: the
  // handshake fails (or never starts) and the connection is closed.
  CHECK(tls_cli(pki, p, "", "GET k").find("over-tls") == std::string::npos);
  CHECK(tls_cli(pki, p, "foreign", "GET k").find("over-tls")
        == std::string::npos);
  auto plain = test::run_command("timeout 30 redis-cli -p " + std::to_string(p)
                                 + " GET k 2>&1")
                 .second;
  CHECK(plain.find("over-tls") == std::string::npos);
  CHECK(tls_cli(pki, p, "client", "DBSIZE") == "1002\n");
}

TEST_CASE("a non-loopback Redis port needs TLS and a password",
          "[cluster][processes][resp][tls]") {
  test::test_ca pki;
  auto bin = test::node_binary();
  auto tls = " --cachebus.tls --openssl.certificate=" + pki.file("a.crt")
             + " --openssl.key=" + pki.file("a.key")
             + " --openssl.cafile=" + pki.file("ca.crt");
  // No cluster: a cluster on a wildcard address needs an advertised host,
  // which is not what this test is about.
  auto base = bin
              + " --check-config --cachebus.resp-port=0 "
                "--cachebus.listen-host=0.0.0.0 --cachebus.cluster=false";
  auto [status, out]
    = test::run_command(base + " --cachebus.resp-password=pw 2>&1");
  CHECK(status == 1);
  CHECK(out.find("needs cachebus.tls (with the node's certificates)")
        != std::string::npos);
  std::tie(status, out) = test::run_command(base + tls + " 2>&1");
  CHECK(status == 1);
  CHECK(out.find("needs cachebus.resp-password") != std::string::npos);
  std::tie(status, out)
    = test::run_command(base + tls + " --cachebus.resp-password=pw 2>&1");
  INFO(out);
  CHECK(status == 0);
}
