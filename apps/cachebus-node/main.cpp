// cachebus-node: a long-running cluster node. Joins the cluster through its
// seeds (--cachebus.seeds=["127.0.0.1:7001"]), listens on loopback unless told
// otherwise, publishes a frontend for cachebus-cli on --client-port, serves
// Prometheus metrics on --metrics-port, the Redis protocol on
// --cachebus.resp-port (actors/resp/resp_server.hpp), and shuts down cleanly on
// SIGINT or SIGTERM; SIGHUP rereads the TLS credentials (a bad file keeps the
// old ones in force). With --cachebus.tls (and openssl.certificate,
// openssl.key, openssl.cafile) the cluster, client and Redis ports speak TLS
// only and refuse peers without a certificate of that CA. With --cachebus.store
// (and a rules file whose stored resources have `fields` lines) it reads
// through its system of record: fetch loads records with the store loader
// (single flight across the cluster), and the frontend also takes write-through
// updates, write-back queue_updates (with --cachebus.write-back.journal) and
// record reads; on SIGINT/SIGTERM it stops serving, flushes write-back, then
// stops the node. Every cachebus.* option applies (--help). Prints one line
//   READY name=N cluster=PORT client=PORT metrics=PORT resp=PORT
// and after the Nth SIGHUP: RELOAD N done | RELOAD N refused
// once it serves, so scripts and tests can wait for it. --check-config checks
// the configuration (runtime::check: options, rules file, TLS files, store
// form and schema) and exits 0, or 1 with the error, starting nothing.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/metrics_text.hpp"
#include "cachebus/actors/node/node_transport.hpp"
#include "cachebus/actors/node/option_reader.hpp"
#include "cachebus/actors/node/record_frontend.hpp"
#include "cachebus/actors/node/runtime.hpp"
#include "cachebus/actors/node/tls_setup.hpp"
#include "cachebus/actors/resp/resp_server.hpp"
#include "cachebus/bus/tls_credentials.hpp"

#include "metrics_server.hpp"

using namespace cachebus;

namespace {

struct app_options {
  uint16_t client_port = 0;
  int metrics_port = -1; // -1: off, 0: any free port
  std::string bind = "127.0.0.1";
};

// The node's own options, next to cachebus's in the runtime's config (so
// --help lists them and a bad value is refused like any other).
void declare_app_options(caf::config_option_set& opts) {
  caf::config_option_adder{opts, "global"}
    .add<uint16_t>("client-port", "port of the cachebus-cli frontend (0: any "
                                  "free port)")
    .add<uint16_t>("metrics-port", "port of /metrics (0: any free port; "
                                   "default: off)");
}

caf::error read_app_options(const caf::actor_system_config& cfg,
                            app_options& app) {
  if (auto err = read_option(cfg, "client-port", app.client_port))
    return err;
  uint16_t metrics_port = 0;
  if (caf::get_if(&caf::content(cfg), "metrics-port") != nullptr) {
    if (auto err = read_option(cfg, "metrics-port", metrics_port))
      return err;
    app.metrics_port = metrics_port;
  }
  return read_option(cfg, "cachebus.listen-host", app.bind);
}

} // namespace

int main(int argc, char** argv) {
  // SIGINT/SIGTERM (stop) and SIGHUP (reload) are taken by sigwait below,
  // in this thread only; block them before any other thread starts so none
  // of them gets the signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  bool check_only = false;
  std::vector<std::string> args{"--cachebus.cluster"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--check-config")
      check_only = true;
    else
      args.push_back(std::move(a));
  }
  runtime_setup setup;
  setup.declare_options = declare_app_options;
  if (check_only) {
    if (auto err = runtime::check(args, std::move(setup))) {
      std::cerr << "cachebus-node: " << describe(err) << "\n";
      return 1;
    }
    std::cout << "cachebus-node: configuration OK\n";
    return 0;
  }
  auto rt = runtime::start(args, std::move(setup));
  if (!rt) {
    std::cerr << "cachebus-node: " << describe(rt.error()) << "\n";
    return 1;
  }
  if ((*rt)->help_printed()) {
    std::cout
      << "\n--check-config: check the configuration, start "
         "nothing\n"
         "TLS: --cachebus.tls --openssl.certificate=FILE "
         "--openssl.key=FILE --openssl.cafile=FILE (or "
         "--openssl.capath=DIR; --openssl.passphrase=P for an "
         "encrypted key): cluster, client and Redis port over TLS only; "
         "required for a non-loopback --cachebus.listen-host\n";
    return 0;
  }
  auto& sys = (*rt)->system();
  auto& n = (*rt)->node();
  app_options app;
  if (auto err = read_app_options(sys.config(), app)) {
    std::cerr << "cachebus-node: " << describe(err) << '\n';
    return 1;
  }
  auto* records = (*rt)->records(); // nullptr without cachebus.store
  auto frontend = spawn_record_frontend(sys, &n, records);
  // The client port is on the node's transport, as the cluster port: the
  // same BASP frame checks and handshake bounds, and with cachebus.tls the
  // same credentials (cachebus-cli --tls): nothing of a TLS node is
  // reachable without a certificate of its CA.
  auto tr = n.transport();
  if (!tr) {
    auto started = start_node_transport(sys);
    if (!started) {
      std::cerr << "cachebus-node: " << describe(started.error()) << "\n";
      caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
      return 1;
    }
    tr = std::move(*started);
  }
  auto client = tr->publish(frontend, app.client_port, app.bind);
  if (!client) {
    std::cerr << "cachebus-node: cannot publish the client frontend: "
              << sys.render(client.error()) << "\n";
    caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
    return 1;
  }
  // /metrics: a poll()-driven server of our own (metrics_server.hpp): slow
  // or silent clients cost a slot with a deadline, never a thread.
  std::unique_ptr<app::metrics_server> http;
  int metrics_port = 0;
  if (app.metrics_port >= 0) {
    std::string why;
    http = app::metrics_server::bind(
      app.bind, static_cast<uint16_t>(app.metrics_port),
      [&n, records, feed = (*rt)->change_feed()] {
        return metrics_text(n, records, &feed);
      },
      {}, why);
    if (!http) {
      std::cerr << "cachebus-node: cannot bind the metrics port: " << why
                << "\n";
      caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
      return 1;
    }
    metrics_port = http->port();
    http->start();
  }
  // The Redis protocol (cachebus.resp-*; checked with the other options
  // before the node started).
  std::unique_ptr<resp_server> resp;
  if (auto ro = resp_options_from(sys.config()); !ro) {
    std::cerr << "cachebus-node: " << describe(ro.error()) << "\n";
    return 1;
  } else if (ro->enabled) {
    // Without cachebus.store the frontend answers its record calls with
    // "no system of record", so the RESP port says the same.
    // With cachebus.tls it speaks TLS with the transport's credentials, so
    // SIGHUP's reload reaches it too.
    auto started = resp_server::start(
      sys, n, std::move(*ro),
      records != nullptr ? record_calls_actor{frontend} : record_calls_actor{},
      tr->tls());
    if (!started) {
      std::cerr << "cachebus-node: " << describe(started.error()) << "\n";
      if (http)
        http->stop();
      caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
      return 1;
    }
    resp = std::move(*started);
  }
  std::printf("READY name=%s cluster=%u client=%u metrics=%d resp=%u\n",
              n.options().name.c_str(), n.cluster_port(), *client, metrics_port,
              resp ? resp->port() : 0u);
  std::fflush(stdout);
  int sig = 0;
  // SIGHUP: read and check the TLS credentials again (the same openssl.*
  // paths); new connections use them, a bad file changes nothing.
  int reloads = 0;
  while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) {
    auto name = n.options().name.c_str();
    if (!tr->tls()) {
      std::fprintf(stderr, "cachebus-node %s: SIGHUP: no TLS credentials\n",
                   name);
      continue;
    }
    auto err = tr->tls()->reload(tls_credentials_of(sys.config()));
    // On stdout for whoever waits for it (like READY), on stderr to read.
    std::printf("RELOAD %d %s\n", ++reloads, err ? "refused" : "done");
    std::fflush(stdout);
    if (err)
      std::fprintf(stderr,
                   "cachebus-node %s: SIGHUP: TLS credentials NOT reloaded, "
                   "the old ones stay in force: %s\n",
                   name, describe(err).c_str());
    else
      std::fprintf(stderr,
                   "cachebus-node %s: SIGHUP: TLS credentials reloaded "
                   "(generation %llu)\n",
                   name,
                   static_cast<unsigned long long>(tr->tls()->generation()));
  }
  std::fprintf(stderr, "cachebus-node %s: signal %d, shutting down\n",
               n.options().name.c_str(), sig);
  if (http)
    http->stop();
  if (resp)
    resp->stop(); // its sessions use the node
  // Through CAF's middleman: the BASP broker owns the port of every
  // transport.
  sys.middleman().unpublish(frontend, *client);
  {
    caf::scoped_actor self{sys};
    self->send_exit(frontend, caf::exit_reason::user_shutdown);
    self->wait_for(frontend); // and its record workers
  }
  if (records != nullptr)
    records->stop(); // flushes write-back (bounded by shutdown-timeout)
  // The actor system waits for the transport's thread, which ends with the
  // transport's last handle and with nothing of it left in the middleman
  // (transport::stop; node::stop does it again for the cluster's).
  tr->stop();
  tr.reset();
  rt->reset(); // node, then system
  return 0;
}
