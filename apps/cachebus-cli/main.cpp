// cachebus-cli: drives a cachebus-node from outside through its published
// frontend (CAF remote actor).
//   cachebus-cli --port=P [--host=H] COMMAND ...
//   get KEY | set KEY VALUE [TTL_MS] | invalidate KEY... |
//   invalidate-pattern GLOB | invalidate-tag TAG |
//   invalidate-resource RESOURCE ID [VERSION] | stats
// Prints the answer and exits 0, or prints the error and exits 1 (2 for a
// usage error).
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/config.hpp"
#include "cachebus/actors/error.hpp"
#include "cachebus/actors/node_frontend.hpp"

using namespace cachebus;

namespace {

int usage(const std::string& why) {
  std::cerr << "cachebus-cli: " << why
            << "\nusage: cachebus-cli --port=P [--host=H] get KEY | set KEY "
               "VALUE [TTL_MS] | invalidate KEY... | invalidate-pattern GLOB "
               "| invalidate-tag TAG | invalidate-resource RES ID [VERSION] | "
               "stats\n";
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = -1;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--host=", 0) == 0)
      host = a.substr(7);
    else if (a.rfind("--port=", 0) == 0)
      try {
        port = std::stoi(a.substr(7));
      } catch (...) {
        return usage("bad --port");
      }
    else
      words.push_back(a);
  }
  if (port <= 0 || port > 65535)
    return usage("--port=1..65535 is required");
  if (words.empty())
    return usage("no command");
  auto& cmd = words[0];
  config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto fe = sys.middleman().remote_actor<node_frontend_actor>(host, port);
  if (!fe) {
    std::cerr << "cachebus-cli: cannot reach " << host << ":" << port << ": "
              << sys.render(fe.error()) << "\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  int rc = 0;
  auto fail = [&](caf::error& err) {
    std::cerr << "cachebus-cli: " << describe(err) << "\n";
    rc = 1;
  };
  auto print_count = [&](uint64_t n) { std::cout << n << "\n"; };
  auto timeout = std::chrono::seconds(10);
  if (cmd == "get" && words.size() == 2) {
    self->request(*fe, timeout, caf::get_atom_v, words[1])
      .receive([](const std::string& v) { std::cout << v << "\n"; }, fail);
  } else if (cmd == "set" && (words.size() == 3 || words.size() == 4)) {
    put_request req;
    req.key = words[1];
    req.value = words[2];
    if (words.size() == 4)
      try {
        req.ttl = std::chrono::milliseconds(std::stoll(words[3]));
      } catch (...) {
        return usage("TTL_MS must be a number");
      }
    self->request(*fe, timeout, caf::put_atom_v, req)
      .receive([](uint64_t v) { std::cout << "version " << v << "\n"; },
               fail);
  } else if (cmd == "invalidate" && words.size() >= 2) {
    keys_invalidated ev;
    ev.keys.assign(words.begin() + 1, words.end());
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "invalidate-pattern" && words.size() == 2) {
    pattern_invalidated ev;
    ev.glob = words[1];
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "invalidate-tag" && words.size() == 2) {
    tag_invalidated ev;
    ev.tag = words[1];
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "invalidate-resource"
             && (words.size() == 3 || words.size() == 4)) {
    invalidated ev;
    ev.resource = words[1];
    ev.id = words[2];
    if (words.size() == 4)
      try {
        ev.version = std::stoull(words[3]);
      } catch (...) {
        return usage("VERSION must be a number");
      }
    self->request(*fe, timeout, ev).receive(print_count, fail);
  } else if (cmd == "stats" && words.size() == 1) {
    self->request(*fe, timeout, stats_atom_v)
      .receive(
        [](const shard_stats& s) {
          std::cout << "hits " << s.hits << "\nmisses " << s.misses
                    << "\nsets " << s.sets << "\nevictions " << s.evictions
                    << "\nexpirations " << s.expirations
                    << "\ninvalidations " << s.invalidations << "\nentries "
                    << s.entries << "\nbytes " << s.bytes << "\n";
        },
        fail);
  } else {
    return usage("unknown command or wrong arguments: " + cmd);
  }
  return rc;
}
