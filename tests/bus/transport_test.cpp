// cachebus's transport in one process (so that the sanitizers see it): an
// echo actor published through it on 127.0.0.1, hostile and silent raw
// connections against it, CAF clients of another actor system that must
// still get through, and TLS credentials that reload only when valid.
#include "cachebus/bus/transport.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "caf/all.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/openssl/remote_actor.hpp"

#include "cachebus/bus/tls_context.hpp"

#include "cluster_node.hpp"
#include "support/eventually.hpp"
#include "support/test_ca.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{0, 100 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/// True if the peer closes `fd` within `bound`.
bool closed_by_peer(int fd, std::chrono::milliseconds bound) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
      return true;
  }
  return false;
}

// Takes an argument: CAF 0.17's spawn of a function without arguments
// dereferences a null shared_ptr (UBSan reports it in init_fun_factory).
caf::behavior echo(caf::event_based_actor*, std::string prefix) {
  return {[prefix](const std::string& x) { return prefix + x; }};
}

/// An actor system with a transport and an echo actor published on it.
struct server {
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<transport> tr;
  caf::actor echo_actor;
  uint16_t port = 0;

  explicit server(transport_options opts,
                  std::unique_ptr<caf::actor_system_config> config
                  = std::make_unique<test::node_config>())
      : cfg(std::move(config)) {
    sys = std::make_unique<caf::actor_system>(*cfg);
    auto started = transport::start(*sys, std::move(opts));
    REQUIRE(started);
    tr = std::move(*started);
    echo_actor = sys->spawn(echo, std::string{});
    auto bound = tr->publish(echo_actor, 0, "127.0.0.1");
    REQUIRE(bound);
    port = *bound;
  }

  ~server() {
    sys->middleman().unpublish(echo_actor, port);
    caf::anon_send_exit(echo_actor, caf::exit_reason::user_shutdown);
    echo_actor = nullptr;
    tr.reset(); // before the system: it waits for the transport's thread
    sys.reset();
  }
};

/// Asks the echo actor through `sys` (a client system of its own).
bool echoes(caf::actor_system& sys, const caf::actor& remote) {
  caf::scoped_actor self{sys};
  bool ok = false;
  self->request(remote, 5s, std::string{"hi"})
    .receive([&](const std::string& x) { ok = x == "hi"; }, [](caf::error&) {});
  return ok;
}

std::string basp_header(uint8_t op, uint32_t len) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(op);
  h[4] = static_cast<char>(len >> 24);
  h[5] = static_cast<char>(len >> 16);
  h[6] = static_cast<char>(len >> 8);
  h[7] = static_cast<char>(len);
  h[8] = 1;
  return h;
}

} // namespace

TEST_CASE("a BASP header announcing 4 GiB closes the connection before CAF "
          "reserves a byte, and other clients still get through",
          "[bus][transport]") {
  server s{transport_options{}};
  int fd = connect_loopback(s.port);
  REQUIRE(fd >= 0);
  auto h = basp_header(0x00, 0xFFFFFFF0u);
  ::send(fd, h.data(), h.size(), MSG_NOSIGNAL);
  CHECK(closed_by_peer(fd, 5s));
  ::close(fd);
  auto st = s.tr->stats();
  CHECK(st.refused_frames == 1);
  CHECK(st.last_refusal.find("before the client handshake")
        != std::string::npos);
  test::node_config ccfg;
  caf::actor_system client{ccfg};
  auto remote = client.middleman().remote_actor("127.0.0.1", s.port);
  REQUIRE(remote);
  CHECK(echoes(client, *remote));
  CHECK(s.tr->stats().pending == 0);
}

TEST_CASE("connections without a handshake are bounded in number and time",
          "[bus][transport]") {
  transport_options opts;
  opts.max_pending = 4;
  opts.handshake_timeout = 300ms;
  server s{opts};
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i) {
    fds.push_back(connect_loopback(s.port));
    REQUIRE(fds.back() >= 0);
  }
  for (auto fd : fds) {
    CHECK(closed_by_peer(fd, 3s));
    ::close(fd);
  }
  CHECK(test::eventually([&] { return s.tr->stats().pending == 0; }, 3s));
  auto st = s.tr->stats();
  CHECK(st.accepted == 10);
  CHECK(st.evicted == 6);
  CHECK(st.expired == 4);
  // A client that completes its handshake is never evicted or expired.
  test::node_config ccfg;
  caf::actor_system client{ccfg};
  auto remote = client.middleman().remote_actor("127.0.0.1", s.port);
  REQUIRE(remote);
  // Outlive the handshake timeout (300 ms): that is the point, not a wait.
  std::this_thread::sleep_for(500ms);
  CHECK(echoes(client, *remote));
}

TEST_CASE("silent connections flooding one port evict their own kind, never "
          "a handshake in flight on another port",
          "[bus][transport]") {
  transport_options opts;
  opts.max_pending = 2;
  opts.handshake_timeout = 60s; // only eviction in play
  server s{opts};
  auto other = s.tr->publish(s.echo_actor, 0, "127.0.0.1");
  REQUIRE(other);
  // The oldest pending connection, on the other port: a client whose
  // handshake the node has not read yet (cachebus-node's client port while
  // strangers flood its cluster port; CAF's remote_actor returns before the
  // node has read the client handshake, and the first request follows it).
  int quiet = connect_loopback(*other);
  REQUIRE(quiet >= 0);
  REQUIRE(test::eventually([&] { return s.tr->stats().accepted == 1; }, 5s));
  std::vector<int> flood;
  for (int i = 0; i < 4; ++i) {
    flood.push_back(connect_loopback(s.port));
    REQUIRE(flood.back() >= 0);
  }
  // Two slots: each flood connection past the first evicts the flood's
  // oldest (3 of them), and the quiet one stays.
  CHECK(test::eventually([&] { return s.tr->stats().accepted == 5; }, 5s));
  auto st = s.tr->stats();
  CHECK(st.evicted == 3);
  CHECK(st.pending == 2);
  for (int i = 0; i < 3; ++i)
    CHECK(closed_by_peer(flood[i], 3s));
  // Had the quiet one been evicted (by the second flood connection), it
  // would have been shut down before the third flood connection, whose end
  // of stream we just read: still open means it never was. It holds the
  // server handshake and then nothing.
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(quiet, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
    ; // the server handshake
  CHECK(n < 0);
  CHECK((errno == EAGAIN || errno == EWOULDBLOCK));
  for (auto fd : flood)
    ::close(fd);
  ::close(quiet);
  s.sys->middleman().unpublish(s.echo_actor, *other);
}

TEST_CASE("TLS through the transport: a stalled handshake expires, clients "
          "of the CA get through, and credentials reload only when valid",
          "[bus][transport][tls]") {
  test::test_ca pki;
  tls_credentials creds{pki.file("a.crt"), pki.file("a.key"), "",
                        pki.file("ca.crt"), ""};
  auto ctx = tls_context::load(creds);
  REQUIRE(ctx);
  transport_options opts;
  opts.tls = *ctx;
  opts.handshake_timeout = 300ms;
  server s{opts};
  // A TLS record header and then nothing.
  int fd = connect_loopback(s.port);
  REQUIRE(fd >= 0);
  ::send(fd, "\x16\x03\x01", 3, MSG_NOSIGNAL);
  CHECK(closed_by_peer(fd, 3s));
  ::close(fd);
  CHECK(s.tr->stats().expired == 1);
  // A bad key: refused, generation unchanged; a good pair: generation 1.
  auto bad = creds;
  bad.key = pki.write("bad.key", "not a key\n");
  CHECK((*ctx)->reload(bad));
  CHECK((*ctx)->generation() == 0);
  auto mismatched = creds;
  mismatched.key = pki.file("b.key");
  CHECK((*ctx)->reload(mismatched));
  CHECK((*ctx)->generation() == 0);
  tls_credentials next{pki.file("c.crt"), pki.file("c.key"), "",
                       pki.file("ca.crt"), ""};
  CHECK(!(*ctx)->reload(next));
  CHECK((*ctx)->generation() == 1);
  CHECK((*ctx)->credentials().certificate == pki.file("c.crt"));
  // A CAF OpenSSL client with a certificate of the CA.
  test::node_config ccfg;
  ccfg.openssl_certificate = pki.file("client.crt");
  ccfg.openssl_key = pki.file("client.key");
  ccfg.openssl_cafile = pki.file("ca.crt");
  ccfg.load<caf::openssl::manager>();
  caf::actor_system client{ccfg};
  auto remote = caf::openssl::remote_actor(client, "127.0.0.1", s.port);
  INFO((remote ? std::string{} : client.render(remote.error())));
  REQUIRE(remote);
  CHECK(echoes(client, *remote));
}

TEST_CASE("a transport stopped while it dials lets its actor system shut "
          "down, and a dial after stop fails at once",
          "[bus][transport]") {
  server s{transport_options{}};
  // Without stop(), a connect handed to the BASP broker as the middleman
  // stops stays in the broker's mailbox, and ~actor_system waits for the
  // transport's thread forever (a ctest timeout here). Many rounds, so
  // that some stop lands in the middle of a connect.
  for (int round = 0; round < 30; ++round) {
    test::node_config ccfg;
    caf::actor_system client{ccfg};
    auto tr = transport::start(client, transport_options{});
    REQUIRE(tr);
    for (int k = 0; k < 4; ++k)
      caf::anon_send((*tr)->actor(), caf::connect_atom_v,
                     std::string{"127.0.0.1"}, s.port);
    (*tr)->stop();
    (*tr)->stop(); // idempotent
    caf::scoped_actor self{client};
    caf::error err;
    self
      ->request((*tr)->actor(), 5s, caf::connect_atom_v,
                std::string{"127.0.0.1"}, s.port)
      .receive(
        [](caf::node_id&, caf::strong_actor_ptr&, std::set<std::string>&) {},
        [&](caf::error& x) { err = std::move(x); });
    REQUIRE(err);
    CHECK(err != caf::sec::request_timeout);
  }
}
