// TLS between cachebus-node processes (--cachebus.tls with openssl.*): nodes
// with certificates of one CA form a cluster and are driven through their
// TLS client ports; a node with a certificate of another CA is refused. The
// PKI is made in a temporary directory (support/test_ca.hpp); every process
// is reaped by its pid (app::node_child).
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <thread>

#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/remote_actor.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node_frontend.hpp"

#include "cachebus/apps/common/child_process.hpp"

#include "node_calls.hpp"
#include "support/eventually.hpp"
#include "support/test_ca.hpp"

using namespace cachebus;
using namespace std::chrono_literals;
using node_process = cachebus::app::node_child;

namespace {

/// The test's own actor system: a TLS client with the "client" certificate
/// that trusts both CAs (so it can also talk to the foreign node).
struct tls_client_config : config {
  explicit tls_client_config(const test::test_ca& pki) {
    std::ofstream{pki.file("both-cas.crt")}
      << std::ifstream{pki.file("ca.crt")}.rdbuf()
      << std::ifstream{pki.file("other-ca.crt")}.rdbuf();
    openssl_certificate = pki.file("client.crt");
    openssl_key = pki.file("client.key");
    openssl_cafile = pki.file("both-cas.crt");
    load<caf::openssl::manager>();
  }
};

struct tls_cluster {
  test::test_ca pki;
  tls_client_config cfg{pki};
  caf::actor_system sys{cfg};

  /// A node presenting `cert`, trusting only the CA "ca".
  std::unique_ptr<node_process>
  spawn(const std::string& name, const std::string& cert, uint16_t seed_port) {
    auto args = test::node_args(
      name, seed_port,
      {"--cachebus.tls", "--openssl.certificate=" + pki.file(cert + ".crt"),
       "--openssl.key=" + pki.file(cert + ".key"),
       "--openssl.cafile=" + pki.file("ca.crt")});
    auto p = std::make_unique<node_process>(CACHEBUS_NODE_BINARY, args);
    INFO(p->proc.output());
    REQUIRE(p->ready());
    return p;
  }

  node_frontend_actor frontend(const node_process& p) {
    auto fe = caf::openssl::remote_actor<node_frontend_actor>(sys, "127.0.0.1",
                                                              p.client_port);
    INFO((fe ? std::string{} : sys.render(fe.error())));
    REQUIRE(fe);
    return *fe;
  }

  std::string get(const node_process& p, const std::string& key) {
    return test::get_on(sys, frontend(p), key);
  }

  void set(const node_process& p, const std::string& key) {
    test::set_on(sys, frontend(p), key, "cached");
  }

  void invalidate(const node_process& p, const std::string& key) {
    keys_invalidated ev;
    ev.keys = {key};
    test::invalidate_on(sys, frontend(p), std::move(ev));
  }

  /// Invalidates probe keys on `from` until `to` drops one: the session
  /// from -> to is up.
  bool linked(const node_process& from, const node_process& to) {
    for (int i = 0; i < 100; ++i) {
      auto key = "probe:" + std::to_string(i);
      set(to, key);
      invalidate(from, key);
      if (test::eventually([&] { return get(to, key) == "<miss>"; }, 200ms,
                           10ms))
        return true;
    }
    return false;
  }
};

} // namespace

TEST_CASE("cachebus-node processes with certificates of one CA form a TLS "
          "cluster, and one with a foreign certificate is refused",
          "[cluster][processes][tls]") {
  tls_cluster c;
  auto a = c.spawn("a", "a", 0);
  auto foreign = c.spawn("f", "foreign", a->cluster_port);
  auto b = c.spawn("b", "b", a->cluster_port);
  REQUIRE(c.linked(*a, *b));
  REQUIRE(c.linked(*b, *a));
  // An invalidation on a, driven through a's TLS client port, removes b's
  // copy and never reaches the refused node.
  for (auto* p : {b.get(), foreign.get()})
    c.set(*p, "user:1");
  c.invalidate(*a, "user:1");
  CHECK(test::eventually([&] { return c.get(*b, "user:1") == "<miss>"; }, 15s,
                         20ms));
  CHECK(c.get(*foreign, "user:1") == "cached");
  // Nor does anything of the foreign node reach a or b: by the time an
  // event of b sent afterwards arrived at a, f's would have too.
  c.set(*a, "user:2");
  c.set(*b, "user:2");
  c.invalidate(*foreign, "user:2");
  c.set(*a, "user:3");
  c.invalidate(*b, "user:3");
  CHECK(test::eventually([&] { return c.get(*a, "user:3") == "<miss>"; }, 15s,
                         20ms));
  CHECK(c.get(*a, "user:2") == "cached");
  CHECK(c.get(*b, "user:2") == "cached");
}

TEST_CASE("the client port of a TLS node refuses plain clients and clients "
          "without a certificate of its CA",
          "[cluster][processes][tls]") {
  tls_cluster c;
  auto a = c.spawn("a", "a", 0);
  // Plain CAF middleman: no TLS at all.
  config plain_cfg;
  caf::actor_system plain{plain_cfg};
  auto fe = plain.middleman().remote_actor<node_frontend_actor>("127.0.0.1",
                                                                a->client_port);
  CHECK(!fe);
  // TLS with a certificate of the other CA.
  auto foreign_cfg = std::make_unique<config>();
  foreign_cfg->openssl_certificate = c.pki.file("foreign.crt");
  foreign_cfg->openssl_key = c.pki.file("foreign.key");
  foreign_cfg->openssl_cafile = c.pki.file("ca.crt");
  foreign_cfg->load<caf::openssl::manager>();
  caf::actor_system foreign{*foreign_cfg};
  auto fe2 = caf::openssl::remote_actor<node_frontend_actor>(
    foreign, "127.0.0.1", a->client_port);
  CHECK(!fe2);
  // The test's client (a certificate of the CA) gets in.
  c.set(*a, "user:1");
  CHECK(c.get(*a, "user:1") == "cached");
}
