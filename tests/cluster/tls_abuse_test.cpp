// TLS cachebus-node processes under unauthenticated abuse (issue 12, items 5
// and 6): slow TLS handshakes on the cluster port must not partition the
// cluster, and the credentials are read once: replacing the key file after
// start changes nothing until SIGHUP, a bad file on SIGHUP keeps the old
// credentials, a good one is presented to new connections. The PKI lives in
// a temporary directory (support/test_ca.hpp); every process is reaped by
// its pid; loopback only. CACHEBUS_TEST_NODE_BINARY overrides the node
// binary (to run the same cases against an older build).
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "caf/openssl/manager.hpp"
#include "caf/openssl/remote_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/apps/common/child_process.hpp"

#include "net_probe.hpp"
#include "node_calls.hpp"
#include "support/eventually.hpp"
#include "support/test_ca.hpp"

using namespace cachebus;
using namespace std::chrono_literals;
using node_process = cachebus::app::node_child;

namespace {

struct tls_client_config : config {
  explicit tls_client_config(const test::test_ca& pki) {
    openssl_certificate = pki.file("client.crt");
    openssl_key = pki.file("client.key");
    openssl_cafile = pki.file("ca.crt");
    load<caf::openssl::manager>();
  }
};

/// The value of metric `name` (first sample whose line starts with it) in a
/// scrape of `port`, or -1.
long metric(uint16_t port, const std::string& name) {
  auto text = test::scrape_metrics(port);
  std::regex re{"(^|\n)" + name + " ([0-9]+)"};
  std::smatch m;
  if (!std::regex_search(text, m, re))
    return -1;
  return std::stol(m[2]);
}

struct tls_pair {
  test::test_ca pki;
  tls_client_config cfg{pki};
  caf::actor_system sys{cfg};

  std::unique_ptr<node_process> spawn(const std::string& name,
                                      const std::string& cert,
                                      const std::string& key,
                                      uint16_t seed_port) {
    auto args = test::node_args(
      name, seed_port,
      {"--cachebus.tls", "--openssl.certificate=" + cert,
       "--openssl.key=" + key, "--openssl.cafile=" + pki.file("ca.crt"),
       "--metrics-port=0"});
    auto p = std::make_unique<node_process>(test::node_binary(), args);
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

  /// The CN of the certificate the node presents on `port` to a client of
  /// the CA (openssl s_client), "" if the handshake fails.
  std::string presented_cn(uint16_t port) {
    auto [status, out] = test::run_command(
      "timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port)
      + " -cert " + pki.file("client.crt") + " -key " + pki.file("client.key")
      + " -CAfile " + pki.file("ca.crt")
      + " </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null");
    std::smatch m;
    std::regex re{"CN ?= ?([A-Za-z0-9-]+)"};
    if (status != 0 || !std::regex_search(out, m, re))
      return {};
    return m[1];
  }
};

/// True if `p` runs (not exited, not a zombie).
bool alive(const node_process& p) {
  std::ifstream in{"/proc/" + std::to_string(p.proc.pid()) + "/stat"};
  std::string stat{std::istreambuf_iterator<char>{in}, {}};
  auto pos = stat.rfind(") ");
  return pos != std::string::npos && stat.size() > pos + 2
         && stat[pos + 2] != 'Z';
}

} // namespace

TEST_CASE("slow TLS handshakes on the cluster port do not partition a TLS "
          "cluster",
          "[cluster][processes][tls][hostile]") {
  tls_pair c;
  auto a = c.spawn("a", c.pki.file("a.crt"), c.pki.file("a.key"), 0);
  auto b
    = c.spawn("b", c.pki.file("b.crt"), c.pki.file("b.key"), a->cluster_port);
  auto peer_up = [&](const node_process& p, const std::string& peer) {
    return test::scrape_metrics(p.metrics_port)
             .find("cachebus_cluster_peer_up{peer=\"" + peer + "\"} 1")
           != std::string::npos;
  };
  REQUIRE(test::eventually([&] { return peer_up(*a, "b") && peer_up(*b, "a"); },
                           15s, 50ms));
  auto parts_a = metric(a->metrics_port, "cachebus_partitions_total");
  auto parts_b = metric(b->metrics_port, "cachebus_partitions_total");
  REQUIRE(parts_a >= 0);
  REQUIRE(parts_b >= 0);
  test::latency_probe probe{c.sys, c.frontend(*a)};
  size_t connects = 0;
  {
    // ~100 connections to a's cluster port, each sending one byte of a TLS
    // record header every 2 s, for 10 s.
    test::trickle_clients attack{a->cluster_port, 100, 2s,
                                 std::string{"\x16\x03\x01\x02\x00", 5}};
    std::this_thread::sleep_for(10s);
    connects = attack.connects();
  }
  probe.stop();
  auto after_a = metric(a->metrics_port, "cachebus_partitions_total");
  auto after_b = metric(b->metrics_port, "cachebus_partitions_total");
  WARN("slow TLS handshakes: partitions a "
       << parts_a << " -> " << after_a << ", b " << parts_b << " -> " << after_b
       << "; " << connects << " attack connections; client: " << probe.count()
       << " requests, mean " << probe.mean().count() << " us, worst "
       << probe.worst().count() << " us, " << probe.failures() << " failed");
  CHECK(after_a == parts_a);
  CHECK(after_b == parts_b);
  CHECK(peer_up(*a, "b"));
  CHECK(peer_up(*b, "a"));
  CHECK(probe.failures() == 0);
  CHECK(probe.worst() < 1s);
  // The handshake deadline (5 s) closed the first hundred: they reconnected.
  CHECK(connects > 100);
}

TEST_CASE("a TLS node reads its credentials once, and SIGHUP reloads them "
          "only if they are valid",
          "[cluster][processes][tls]") {
  tls_pair c;
  namespace fs = std::filesystem;
  auto cert = c.pki.file("node.crt");
  auto key = c.pki.file("node.key");
  fs::copy_file(c.pki.file("a.crt"), cert);
  fs::copy_file(c.pki.file("a.key"), key);
  auto a = c.spawn("a", cert, key, 0);
  REQUIRE(c.presented_cn(a->client_port) == "a");
  // Replacing the key file after start: the node keeps serving, with the
  // credentials it read at start, TLS clients and a plain byte alike.
  c.pki.write("node.key", "not a key\n");
  int fd = test::connect_loopback(a->client_port);
  REQUIRE(fd >= 0);
  ::send(fd, "x", 1, MSG_NOSIGNAL);
  ::close(fd);
  CHECK(test::get_on(c.sys, c.frontend(*a), "k") == "<miss>");
  CHECK(c.presented_cn(a->cluster_port) == "a");
  REQUIRE(alive(*a));
  // SIGHUP with the bad key: refused, the old credentials stay in force.
  a->proc.signal(SIGHUP);
  REQUIRE(a->proc.wait_for("RELOAD 1 ", 10'000) == "RELOAD 1 refused");
  REQUIRE(alive(*a));
  CHECK(c.presented_cn(a->client_port) == "a");
  CHECK(test::get_on(c.sys, c.frontend(*a), "k") == "<miss>");
  // A certificate without its key is refused too.
  fs::copy_file(c.pki.file("c.crt"), cert,
                fs::copy_options::overwrite_existing);
  fs::copy_file(c.pki.file("b.key"), key, fs::copy_options::overwrite_existing);
  a->proc.signal(SIGHUP);
  REQUIRE(a->proc.wait_for("RELOAD 2 ", 10'000) == "RELOAD 2 refused");
  CHECK(c.presented_cn(a->client_port) == "a");
  // SIGHUP with a good pair: new connections get the new certificate.
  fs::copy_file(c.pki.file("c.key"), key, fs::copy_options::overwrite_existing);
  a->proc.signal(SIGHUP);
  REQUIRE(a->proc.wait_for("RELOAD 3 ", 10'000) == "RELOAD 3 done");
  CHECK(c.presented_cn(a->client_port) == "c");
  CHECK(c.presented_cn(a->cluster_port) == "c");
  CHECK(test::get_on(c.sys, c.frontend(*a), "k") == "<miss>");
  CHECK(alive(*a));
}
