// cachebus-node: a long-running cluster node. Joins the cluster through its
// seeds (--cachebus.seeds=["127.0.0.1:7001"]), listens on loopback unless told
// otherwise, publishes a frontend for cachebus-cli on --client-port, serves
// Prometheus metrics on --metrics-port, and shuts down cleanly on SIGINT or
// SIGTERM. Every cachebus.* option applies (--help). Prints one line
//   READY name=N cluster=PORT client=PORT metrics=PORT
// once it serves, so scripts and tests can wait for it.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <chrono>
#include <thread>

#include <httplib.h>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/error.hpp"
#include "cachebus/actors/node_frontend.hpp"
#include "cachebus/actors/runtime.hpp"

#include "metrics.hpp"

using namespace cachebus;

namespace {

struct app_options {
  uint16_t client_port = 0;
  int metrics_port = -1; // -1: off, 0: any free port
  std::string bind = "127.0.0.1";
};

bool parse_port(const std::string& s, int min, int& out) {
  try {
    size_t used = 0;
    auto v = std::stoi(s, &used);
    if (used != s.size() || v < min || v > 65535)
      return false;
    out = v;
    return true;
  } catch (...) {
    return false;
  }
}

} // namespace

int main(int argc, char** argv) {
  // SIGINT/SIGTERM are taken by sigwait below, in this thread only; block
  // them before any other thread starts so none of them gets the signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  app_options app;
  std::vector<std::string> args{"--cachebus.cluster"};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    int port = 0;
    if (a.rfind("--client-port=", 0) == 0) {
      if (!parse_port(a.substr(14), 0, port)) {
        std::cerr << "cachebus-node: --client-port must be 0..65535\n";
        return 2;
      }
      app.client_port = static_cast<uint16_t>(port);
    } else if (a.rfind("--metrics-port=", 0) == 0) {
      if (!parse_port(a.substr(15), 0, port)) {
        std::cerr << "cachebus-node: --metrics-port must be 0..65535\n";
        return 2;
      }
      app.metrics_port = port;
    } else {
      args.push_back(a);
    }
  }
  auto rt = runtime::start(args);
  if (!rt) {
    std::cerr << "cachebus-node: " << describe(rt.error()) << "\n";
    return 1;
  }
  if ((*rt)->help_printed()) {
    std::cout << "\nnode options: --client-port=P (0: any) "
                 "--metrics-port=P (0: any; default off)\n";
    return 0;
  }
  auto& sys = (*rt)->system();
  auto& n = (*rt)->node();
  app.bind = caf::get_or(sys.config(), "cachebus.listen-host", app.bind);
  auto frontend = spawn_node_frontend(sys, &n);
  auto client = sys.middleman().publish(frontend, app.client_port,
                                        app.bind.c_str());
  if (!client) {
    std::cerr << "cachebus-node: cannot publish the client frontend: "
              << sys.render(client.error()) << "\n";
    caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
    return 1;
  }
  httplib::Server http;
  std::thread http_thread;
  int metrics_port = 0;
  if (app.metrics_port >= 0) {
    http.Get("/metrics", [&](const httplib::Request&, httplib::Response& r) {
      r.set_content(app::render_metrics(n), "text/plain; version=0.0.4");
    });
    metrics_port = app.metrics_port == 0
                     ? http.bind_to_any_port(app.bind.c_str())
                     : (http.bind_to_port(app.bind.c_str(), app.metrics_port)
                          ? app.metrics_port
                          : -1);
    if (metrics_port < 0) {
      std::cerr << "cachebus-node: cannot bind the metrics port\n";
      caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
      return 1;
    }
    http_thread = std::thread{[&] { http.listen_after_bind(); }};
    // httplib's stop() does nothing before the accept loop runs: a signal
    // arriving earlier would leave the thread in accept() forever. So READY
    // (and any stop) waits until the server runs.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!http.is_running() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!http.is_running()) {
      std::cerr << "cachebus-node: the metrics server did not start\n";
      http.stop();
      http_thread.detach();
      caf::anon_send_exit(frontend, caf::exit_reason::user_shutdown);
      return 1;
    }
  }
  std::printf("READY name=%s cluster=%u client=%u metrics=%d\n",
              n.options().name.c_str(), n.cluster_port(), *client,
              metrics_port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "cachebus-node %s: signal %d, shutting down\n",
               n.options().name.c_str(), sig);
  if (http_thread.joinable()) {
    http.stop();
    http_thread.join();
  }
  sys.middleman().unpublish(frontend, *client);
  {
    caf::scoped_actor self{sys};
    self->send_exit(frontend, caf::exit_reason::user_shutdown);
    self->wait_for(frontend);
  }
  rt->reset(); // node, then system
  return 0;
}
