#include "checker.hpp"

#include <algorithm>
#include <map>

namespace cachebus::consistency {

namespace {

std::string describe(const op& x) {
  std::string out = x.what + " of \"" + x.key + "\" on node "
                    + std::to_string(x.node) + " thread "
                    + std::to_string(x.thread) + " [" + std::to_string(x.start)
                    + ", " + std::to_string(x.end) + "]";
  if (x.version)
    out += " version " + std::to_string(*x.version);
  else
    out += " (miss)";
  return out;
}

} // namespace

std::vector<std::string> check(const history& h, const check_options& opts) {
  std::vector<std::string> out;
  auto report = [&](std::string line) {
    if (out.size() < opts.max_reports)
      out.push_back(std::move(line));
  };
  std::map<uint64_t, history::set_record> sets;
  for (auto& x : h.sets())
    sets.emplace(x.serial, x);
  // (a): per key, the floors (writes and invalidations).
  std::map<std::string, std::vector<const op*>> floors;
  std::map<std::string, std::vector<const op*>> reads;
  auto all = h.merge();
  for (auto& x : all) {
    if (x.kind == op::read) {
      if (x.version)
        reads[x.key].push_back(&x);
    } else {
      floors[x.key].push_back(&x);
    }
  }
  for (auto& [key, rs] : reads) {
    auto& fs = floors[key];
    for (auto* r : rs) {
      // A linear scan keeps the cross-node lag simple; histories are small.
      const op* worst = nullptr;
      for (auto* f : fs) {
        auto lag = f->node == r->node ? 0 : opts.remote_lag_ns;
        if (f->end + lag<r->start&& * f->version> * r->version
            && (!worst || *f->version > *worst->version))
          worst = f;
      }
      if (worst)
        report("stale read: " + describe(*r) + " began after "
               + describe(*worst) + " completed");
      if (r->set_serial == 0)
        continue;
      auto s = sets.find(r->set_serial);
      if (s != sets.end() && s->second.node == r->node && s->second.ttl_ns > 0
          && r->start > s->second.end + s->second.ttl_ns)
        report("expired value served: " + describe(*r)
               + " returned a value "
                 "whose set ended at "
               + std::to_string(s->second.end) + " with a TTL of "
               + std::to_string(s->second.ttl_ns) + " ns");
    }
  }
  // (b)
  for (auto& s : h.finals())
    if (s.cached && *s.cached != s.truth)
      report("after quiescence node " + std::to_string(s.node) + " caches \""
             + s.key + "\" at version " + std::to_string(*s.cached)
             + ", the truth is version " + std::to_string(s.truth));
  // (c)
  for (auto& line : h.overlaps())
    report("single flight broken: " + line);
  for (auto& line : h.unexpected_errors())
    report("unexpected error: " + line);
  return out;
}

} // namespace cachebus::consistency
