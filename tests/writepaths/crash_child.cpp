// Helper of the crash test: queues writes through a record_cache with
// fsync=always and short flush intervals, printing "ack <id> <k>" after each
// acknowledged write, until the test kills it with SIGKILL.
//   writepaths_crash_child sqlite:<path>|postgres:<conninfo> <journal>
//                          <first-k> <count> <records>
// Write k sets users/<k % records>.name = <k>, so a record's values grow.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "caf/all.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/stores/postgres_store.hpp"
#include "cachebus/stores/sqlite_store.hpp"

using namespace cachebus;

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "crash_child: %s\n", why.c_str());
  return 1;
}

std::shared_ptr<stores::record_store> open_store(const std::string& spec,
                                                 std::string& err) {
  if (spec.rfind("sqlite:", 0) == 0) {
    auto s = stores::sqlite_store::open(spec.substr(7));
    if (s.ok())
      return std::move(s).value();
    err = s.error().to_string();
  } else if (spec.rfind("postgres:", 0) == 0) {
    auto s = stores::postgres_store::open(spec.substr(9));
    if (s.ok())
      return std::move(s).value();
    err = s.error().to_string();
  } else {
    err = "unknown store spec " + spec;
  }
  return nullptr;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 6)
    return fail("usage: crash_child STORE JOURNAL FIRST COUNT RECORDS");
  std::string err;
  auto store = open_store(argv[1], err);
  if (!store)
    return fail(err);
  if (auto st = store->declare("users", {"name"}); !st.ok())
    return fail(st.to_string());
  auto first = std::strtoull(argv[3], nullptr, 10);
  auto count = std::strtoull(argv[4], nullptr, 10);
  auto records = std::strtoull(argv[5], nullptr, 10);
  config cfg;
  caf::actor_system sys{cfg};
  rules r;
  if (auto e = r.add({"users", {"user:{id}"}, {}, {}}))
    return fail(describe(e));
  node_options nopts;
  nopts.shards = 2;
  node_setup setup;
  setup.rules = r;
  auto n = node::start(sys, nopts, setup);
  if (!n)
    return fail(describe(n.error()));
  write_back_options o;
  o.journal = argv[2];
  o.fsync = stores::fsync_policy::always;
  o.flush_interval = std::chrono::milliseconds(5);
  o.max_batch = 16;
  auto rc = record_cache::start(**n, store, o);
  if (!rc)
    return fail(describe(rc.error()));
  for (auto k = first; k < first + count; ++k) {
    auto id = std::to_string(k % records);
    if (auto e
        = (*rc)->queue_update("users", id, {{"name", std::to_string(k)}}))
      return fail(describe(e));
    std::printf("ack %s %llu\n", id.c_str(),
                static_cast<unsigned long long>(k));
    std::fflush(stdout);
  }
  (*rc)->stop();
  std::printf("done\n");
  std::fflush(stdout);
  (*n)->stop();
  return 0;
}
