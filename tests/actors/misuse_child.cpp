// The child process of misuse_test.cpp: runs the scenario named by argv[1]
// and exits 0 if it comes back (a misuse that is detected aborts with a
// message on stderr instead).
//   system-before-node   a class declares its node before its actor system,
//                        so the system is destroyed first, the node running
//   node-before-system   the right order
//   stopped-node-outlives-system   the node is stopped, not destroyed, before
//                        its system goes (allowed: node.hpp)
//   system-before-record-cache   a record cache with write-back (and its
//                        node) declared before the actor system; argv[2] is
//                        a directory for the journal
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "caf/actor_system.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/stores/memory_store.hpp"

using namespace cachebus;

namespace {

node_options small() {
  node_options opts;
  opts.shards = 2;
  opts.max_bytes = size_t{64} << 20;
  opts.name = "misused";
  return opts;
}

// The mistake of the issue: members are destroyed in reverse order, so `sys`
// goes before `n`.
struct wrong_order {
  config cfg;
  std::unique_ptr<node> n;
  caf::actor_system sys{cfg};
};

struct right_order {
  config cfg;
  caf::actor_system sys{cfg};
  std::unique_ptr<node> n;
};

template <class Service>
int run(bool stop_first) {
  {
    Service s;
    auto started = node::start(s.sys, small());
    if (!started) {
      std::fprintf(stderr, "node::start failed\n");
      return 2;
    }
    s.n = std::move(*started);
    if (!s.n->set("k", "v")) {
      std::fprintf(stderr, "set failed\n");
      return 2;
    }
    if (stop_first)
      s.n->stop();
  }
  return 0;
}

struct records_wrong_order {
  config cfg;
  std::unique_ptr<node> n;
  std::unique_ptr<record_cache> rc;
  caf::actor_system sys{cfg};
};

int run_records(const std::string& dir) {
  records_wrong_order s;
  rules rs;
  if (rs.add({"users", {"user:{id}"}, {}, {}}))
    return 2;
  node_setup setup;
  setup.rules = rs;
  auto started = node::start(s.sys, small(), std::move(setup));
  if (!started)
    return 2;
  s.n = std::move(*started);
  auto store = std::make_shared<stores::memory_store>();
  if (!store->declare("users", {"name"}).ok())
    return 2;
  write_back_options wb;
  wb.journal = dir + "/journal";
  auto rc = record_cache::start(*s.n, store, wb);
  if (!rc) {
    std::fprintf(stderr, "record_cache::start failed\n");
    return 2;
  }
  s.rc = std::move(*rc);
  if (s.rc->queue_update("users", "1", {{"name", "ann"}}))
    return 2;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "system-before-record-cache") == 0)
    return run_records(argv[2]);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCENARIO [DIR]\n", argv[0]);
    return 2;
  }
  if (std::strcmp(argv[1], "system-before-node") == 0)
    return run<wrong_order>(false);
  if (std::strcmp(argv[1], "node-before-system") == 0)
    return run<right_order>(false);
  if (std::strcmp(argv[1], "stopped-node-outlives-system") == 0)
    return run<wrong_order>(true);
  std::fprintf(stderr, "unknown scenario %s\n", argv[1]);
  return 2;
}
