// cachebus.tls from a node's configuration: the runtime loads CAF's OpenSSL
// module only for it, refuses unusable credentials before anything starts,
// and two TLS nodes join and invalidate each other's copies.
#include <catch2/catch.hpp>

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/runtime.hpp"
#include "cachebus/actors/node/tls_setup.hpp"

#include "support/eventually.hpp"
#include "support/test_ca.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> tls_args(const test::test_ca& pki,
                                  const std::string& cert,
                                  const std::string& key) {
  // Named after the certificate: in one process the default names clash.
  return {"--cachebus.cluster",
          "--cachebus.tls",
          "--cachebus.name=" + cert.substr(0, cert.find('.')),
          "--cachebus.shards=1",
          "--scheduler.max-threads=2",
          "--cachebus.heartbeat-interval=100ms",
          "--cachebus.peer-timeout=1s",
          "--openssl.certificate=" + pki.file(cert),
          "--openssl.key=" + pki.file(key),
          "--openssl.cafile=" + pki.file("ca.crt")};
}

/// The sentence of a refused runtime start.
std::string refusal(std::vector<std::string> args) {
  auto rt = runtime::start(std::move(args));
  REQUIRE(!rt);
  CHECK(is(rt.error(), errc::invalid_config));
  return describe(rt.error());
}

} // namespace

TEST_CASE("a TLS node does not start without usable credentials, and the "
          "error names the option and the file",
          "[tls]") {
  test::test_ca pki;
  auto text = refusal({"--cachebus.cluster", "--cachebus.tls"});
  CHECK_THAT(text, Catch::Contains("cachebus.tls: openssl.certificate is not "
                                   "set"));
  // Only a CA file: CAF itself would throw from the actor system's
  // constructor; the runtime refuses first.
  text = refusal({"--cachebus.cluster", "--cachebus.tls",
                  "--openssl.cafile=" + pki.file("ca.crt")});
  CHECK_THAT(text, Catch::Contains("openssl.certificate is not set"));
  text = refusal(tls_args(pki, "a.crt", "b.key"));
  CHECK_THAT(text, Catch::Contains("openssl.key \"" + pki.file("b.key")
                                   + "\" does not match the certificate in "
                                     "openssl.certificate \""
                                   + pki.file("a.crt") + "\""));
  text = refusal(tls_args(pki, "missing.crt", "a.key"));
  CHECK_THAT(text,
             Catch::Contains("openssl.certificate \"" + pki.file("missing.crt")
                             + "\" cannot be read"));
  auto args = tls_args(pki, "a.crt", "a.key");
  args.back() = "--openssl.cafile=" + pki.write("junk.crt", "junk\n");
  text = refusal(args);
  CHECK_THAT(text, Catch::Contains("openssl.cafile \"" + pki.file("junk.crt")
                                   + "\" holds no usable CA certificate"));
}

TEST_CASE("without TLS a node refuses a listen host other than loopback",
          "[tls]") {
  auto text = refusal({"--cachebus.cluster", "--cachebus.listen-host=0.0.0.0"});
  // (A wildcard also needs an advertised host; any other address:)
  text = refusal({"--cachebus.cluster", "--cachebus.listen-host=10.1.2.3"});
  CHECK_THAT(text, Catch::Contains("TLS is required across hosts"));
}

TEST_CASE("node::start with cachebus.tls needs CAF's OpenSSL module, which "
          "enable_tls loads",
          "[tls]") {
  test::test_ca pki;
  config cfg;
  cfg.set("cachebus.cluster", true);
  cfg.set("cachebus.tls", true);
  cfg.openssl_certificate = pki.file("a.crt");
  cfg.openssl_key = pki.file("a.key");
  cfg.openssl_cafile = pki.file("ca.crt");
  CHECK(tls_enabled(cfg));
  {
    caf::actor_system sys{cfg};
    CHECK(!sys.has_openssl_manager());
    auto n = node::start(sys);
    REQUIRE(!n);
    CHECK_THAT(describe(n.error()), Catch::Contains("cachebus::enable_tls"));
  }
  REQUIRE(!enable_tls(cfg));
  caf::actor_system sys{cfg};
  CHECK(sys.has_openssl_manager());
  auto n = node::start(sys);
  INFO((n ? std::string{} : describe(n.error())));
  REQUIRE(n);
  CHECK((*n)->cluster_port() != 0);
}

TEST_CASE("a runtime without cachebus.tls does not load CAF's OpenSSL module",
          "[tls]") {
  auto rt = runtime::start({"--cachebus.shards=1"});
  REQUIRE(rt);
  CHECK(!(*rt)->system().has_openssl_manager());
}

TEST_CASE("two TLS nodes started from their configuration invalidate each "
          "other's copies",
          "[tls]") {
  test::test_ca pki;
  auto a = runtime::start(tls_args(pki, "a.crt", "a.key"));
  INFO((a ? std::string{} : describe(a.error())));
  REQUIRE(a);
  CHECK((*a)->system().has_openssl_manager());
  auto args = tls_args(pki, "b.crt", "b.key");
  args.push_back("--cachebus.seeds=[\"127.0.0.1:"
                 + std::to_string((*a)->node().cluster_port()) + "\"]");
  auto b = runtime::start(args);
  INFO((b ? std::string{} : describe(b.error())));
  REQUIRE(b);
  auto& na = (*a)->node();
  auto& nb = (*b)->node();
  // Probe until the session a -> b is up, then the real check.
  bool linked = false;
  for (int i = 0; i < 100 && !linked; ++i) {
    auto key = "probe:" + std::to_string(i);
    REQUIRE(nb.set(key, "x"));
    REQUIRE(na.invalidate(std::vector<std::string>{key}));
    linked = test::eventually([&] { return !nb.get(key); }, 200ms, 5ms);
  }
  REQUIRE(linked);
  REQUIRE(nb.set("user:1", "cached"));
  REQUIRE(na.invalidate(std::vector<std::string>{"user:1"}));
  CHECK(test::eventually([&] { return !nb.get("user:1"); }, 10s, 5ms));
}
