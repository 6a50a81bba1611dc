// TLS between bridges: nodes in one process, each with its own actor system
// (and its own openssl.* credentials), over real TLS on 127.0.0.1. The PKI is
// made per test case in a temporary directory (support/test_ca.hpp).
#include "cachebus/bus/bridge.hpp"
#include "cachebus/bus/tls_credentials.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/remote_actor.hpp"

#include "cluster_node.hpp"
#include "support/eventually.hpp"
#include "support/test_ca.hpp"

using namespace cachebus;
using namespace cachebus::test;

namespace {

/// Who a node is on the wire: its certificate (and key) and the CA it
/// trusts; an empty `cert` gives no credentials at all.
struct identity {
  std::string cert;
  std::string ca = "ca";
  bool openssl_module = true;
};

struct tls_config : node_config {
  tls_config(const test_ca& pki, const identity& id) {
    if (id.openssl_module)
      load<caf::openssl::manager>();
    if (!id.cert.empty()) {
      openssl_certificate = pki.file(id.cert + ".crt");
      openssl_key = pki.file(id.cert + ".key");
      openssl_cafile = pki.file(id.ca + ".crt");
    }
  }
};

/// A bus and a TLS bridge in an actor system of their own, with an inbox
/// for events and peer events (cluster_node.hpp).
struct tls_node : cluster_node {
  tls_node(const test_ca& pki, std::string name, identity id)
      : cluster_node(std::move(name), std::make_unique<tls_config>(pki, id)) {
    // nop
  }

  bool await_joined(const std::string& peer) {
    return await_peer(peer, peer_event_kind::joined).has_value();
  }

  /// True if a peer event about `peer` of `kind` is in the log so far.
  bool saw(const std::string& peer, peer_event_kind kind) const {
    return count_peer_events(peer, kind) > 0;
  }
};

bridge_options tls_options(std::string node,
                           std::vector<std::string> seeds = {}) {
  auto opts = fast_options(std::move(node), std::move(seeds));
  opts.tls = true;
  // TLS handshakes under the sanitizers on a loaded 2-core machine can take
  // longer than fast_options' 1 s of silence allows.
  opts.peer_timeout = std::chrono::seconds(3);
  return opts;
}

/// True once `n` is in session with exactly `peer` (within the cluster
/// patience: a session may drop once and come back under load).
bool connected_to(cluster_node& n, const std::string& peer) {
  return test::eventually(
    [&] { return n.connected_peers() == std::vector<std::string>{peer}; },
    cluster_patience, std::chrono::milliseconds(20));
}

std::unique_ptr<tls_node> start_tls_node(const test_ca& pki, std::string name,
                                         identity id,
                                         std::vector<std::string> seeds = {}) {
  auto n = std::make_unique<tls_node>(pki, name, id);
  auto started = n->start(tls_options(name, std::move(seeds)));
  INFO((started ? std::string{} : n->sys.render(started.error())));
  REQUIRE(started);
  return n;
}

/// The readable sentence of a refusal.
std::string text_of(const caf::error& err) {
  REQUIRE(err);
  REQUIRE(err.context().match_elements<std::string>());
  return err.context().get_as<std::string>(0);
}

} // namespace

// -- sessions over TLS --------------------------------------------------------

TEST_CASE("two TLS nodes whose certificates one CA signed join, and an event "
          "crosses between them",
          "[tls]") {
  test_ca pki;
  auto a = start_tls_node(pki, "a", {"a"});
  auto b = start_tls_node(pki, "b", {"b"}, {a->address()});
  REQUIRE(a->await_joined("b"));
  REQUIRE(b->await_joined("a"));
  a->inbox()->send(a->bus, caf::publish_atom_v, resource_topic("users"),
                   caf::make_message(invalidated{"users", "1", 0, "a", 1}));
  CHECK(b->await([](const caf::message& msg) {
    return msg.match_elements<invalidated>()
           && msg.get_as<invalidated>(0).origin == "a"
           && msg.get_as<invalidated>(0).id == "1";
  }));
  CHECK(connected_to(*a, "b"));
  CHECK(connected_to(*b, "a"));
}

TEST_CASE("a node whose certificate another CA signed never joins a TLS "
          "node, on either side",
          "[tls]") {
  test_ca pki;
  auto a = start_tls_node(pki, "a", {"a"});
  // It trusts our CA, so the refusal is a's: the foreign certificate.
  auto f = start_tls_node(pki, "f", {"foreign", "ca"}, {a->address()});
  // What f's bridge runs into, made visible: CAF's TLS connect to a fails.
  auto direct = caf::openssl::remote_actor(f->sys, "127.0.0.1", a->bridge.port);
  REQUIRE(!direct);
  INFO(f->sys.render(direct.error()));
  CHECK(direct.error() == caf::sec::disconnect_during_handshake);
  // A node with the right certificate joins in the same time.
  auto b = start_tls_node(pki, "b", {"b"}, {a->address()});
  REQUIRE(a->await_joined("b"));
  REQUIRE(b->await_joined("a"));
  CHECK(connected_to(*a, "b"));
  CHECK(connected_to(*b, "a"));
  CHECK(f->connected_peers().empty());
  CHECK(!a->saw("f", peer_event_kind::joined));
  CHECK(!f->saw("a", peer_event_kind::joined));
  // f's own stats say why its seed never answered.
  auto seeds = f->stats().seeds;
  REQUIRE(seeds.size() == 1);
  CHECK(seeds[0].address == a->address());
  CHECK_FALSE(seeds[0].resolved);
  CHECK_FALSE(seeds[0].last_error.empty());
}

TEST_CASE("a TLS node refuses a peer that trusts only another CA", "[tls]") {
  test_ca pki;
  auto a = start_tls_node(pki, "a", {"a"});
  // Its own certificate is good, but it does not trust a's: it refuses a.
  auto d = start_tls_node(pki, "d", {"c", "other-ca"}, {a->address()});
  auto direct = caf::openssl::remote_actor(d->sys, "127.0.0.1", a->bridge.port);
  REQUIRE(!direct);
  auto b = start_tls_node(pki, "b", {"b"}, {a->address()});
  REQUIRE(a->await_joined("b"));
  CHECK(connected_to(*a, "b"));
  CHECK(d->connected_peers().empty());
}

TEST_CASE("a plain node cannot join a TLS node, nor a TLS node a plain one",
          "[tls]") {
  test_ca pki;
  auto a = start_tls_node(pki, "a", {"a"});
  auto p = start_node(fast_options("p", {a->address()}));
  auto direct = p->sys.middleman().remote_actor("127.0.0.1", a->bridge.port);
  REQUIRE(!direct);
  CHECK(direct.error() == caf::sec::disconnect_during_handshake);
  // The other way round: a TLS node dials a plain one.
  auto plain_seed = start_node(fast_options("q"));
  auto t = start_tls_node(pki, "t", {"b"}, {plain_seed->address()});
  auto reverse
    = caf::openssl::remote_actor(t->sys, "127.0.0.1", plain_seed->bridge.port);
  REQUIRE(!reverse);
  // A TLS node that joins meanwhile shows the dials had their chance.
  auto c = start_tls_node(pki, "c", {"c"}, {a->address()});
  REQUIRE(a->await_joined("c"));
  CHECK(connected_to(*a, "c"));
  CHECK(t->connected_peers().empty());
  auto peers_of = [](cluster_node& n) {
    std::vector<std::string> result;
    for (auto& row : n.stats().peers)
      if (row.state == peer_state::connected)
        result.push_back(row.name);
    return result;
  };
  CHECK(peers_of(*p).empty());
  CHECK(peers_of(*plain_seed).empty());
}

// -- refusals at start --------------------------------------------------------

TEST_CASE("TLS credentials are checked up front and the error names the "
          "option and the file",
          "[tls]") {
  test_ca pki;
  tls_credentials good{pki.file("a.crt"), pki.file("a.key"), "",
                       pki.file("ca.crt"), ""};
  CHECK(!check_tls_credentials(good));
  auto with_capath = good;
  with_capath.cafile.clear();
  with_capath.capath = pki.dir().string();
  CHECK(!check_tls_credentials(with_capath));
  auto refused = [&](tls_credentials x, const std::string& needle) {
    auto text = text_of(check_tls_credentials(x));
    INFO(text);
    CHECK(text.find(needle) != std::string::npos);
  };
  auto x = good;
  x.certificate.clear();
  refused(x, "openssl.certificate is not set");
  x = good;
  x.key.clear();
  refused(x, "openssl.key is not set");
  x = good;
  x.cafile.clear();
  refused(x, "neither openssl.cafile nor openssl.capath is set");
  x = good;
  x.certificate = pki.file("missing.crt");
  refused(x, "openssl.certificate \"" + pki.file("missing.crt")
               + "\" cannot be read: No such file");
  x = good;
  x.certificate = pki.write("garbage.crt", "not a certificate\n");
  refused(x, "openssl.certificate \"" + pki.file("garbage.crt")
               + "\" is not a PEM certificate chain");
  x = good;
  x.key = pki.write("garbage.key", "not a key\n");
  refused(x, "openssl.key \"" + pki.file("garbage.key")
               + "\" is not a PEM private key");
  x = good;
  x.key = pki.file("b.key");
  refused(x, "openssl.key \"" + pki.file("b.key")
               + "\" does not match the certificate in openssl.certificate "
                 "\""
               + pki.file("a.crt") + "\"");
  x = good;
  x.certificate = pki.file("expired.crt");
  x.key = pki.file("expired.key");
  refused(x, "openssl.certificate \"" + pki.file("expired.crt")
               + "\" has expired");
  x = good;
  x.cafile = pki.file("garbage.crt");
  refused(x, "openssl.cafile \"" + pki.file("garbage.crt")
               + "\" holds no usable CA certificate");
  x = good;
  x.cafile.clear();
  x.capath = pki.file("a.crt");
  refused(x, "openssl.capath \"" + pki.file("a.crt")
               + "\" cannot be read: not a directory");
}

TEST_CASE("a TLS bridge does not start with a bad certificate, without "
          "credentials or without CAF's OpenSSL module",
          "[tls]") {
  test_ca pki;
  auto refused = [&](identity id, const std::string& needle) {
    tls_node n{pki, "a", id};
    auto result = n.start(tls_options("a"));
    REQUIRE(!result);
    auto text = text_of(result.error());
    INFO(text);
    CHECK(text.find(needle) != std::string::npos);
    CHECK(!n.bridge.actor);
  };
  pki.write("garbage.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n"
                           "-----END CERTIFICATE-----\n");
  pki.write("garbage.key", "not a key\n");
  refused({"garbage"}, "openssl.certificate \"" + pki.file("garbage.crt")
                         + "\" is not a PEM certificate chain");
  refused({""}, "openssl.certificate is not set");
  refused({"a", "ca", false}, "load caf::openssl::manager");
  // The node stays usable without TLS: a plain bridge starts.
  tls_node plain{pki, "p", {""}};
  CHECK(plain.start(fast_options("p")));
}

TEST_CASE("without TLS a bridge listens on loopback only", "[tls]") {
  auto opts = fast_options("a");
  for (auto host : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) {
    opts.host = host;
    INFO(host);
    CHECK(!check_bridge_options(opts));
  }
  for (auto host : {"10.0.0.5", "192.168.1.1", "::ffff:10.0.0.5", "fe80::1",
                    "db.example.com", "0.0.0.0"}) {
    opts.host = host;
    opts.advertised_host = "10.0.0.5";
    auto text = text_of(check_bridge_options(opts));
    INFO(host << ": " << text);
    CHECK(text.find("is not a loopback address: TLS is required across hosts")
          != std::string::npos);
    opts.tls = true;
    CHECK(!check_bridge_options(opts));
    opts.tls = false;
  }
  // spawn_bridge refuses it before binding anything.
  cluster_node n{"a"};
  opts = fast_options("a");
  opts.host = "0.0.0.0";
  opts.advertised_host = "10.0.0.5";
  auto result = n.start(opts);
  REQUIRE(!result);
  CHECK(text_of(result.error()).find("TLS is required across hosts")
        != std::string::npos);
}
