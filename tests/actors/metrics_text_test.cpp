// The facade's statistics and the Prometheus exposition an embedder serves:
// node::lock_stats and node::listener_stats without a scoped_actor, and
// metrics_text checked line by line against the text format 0.0.4 (HELP and
// TYPE before each family's samples, counters vs gauges, escaped label
// values, cumulative histogram buckets ending in +Inf with _sum and _count)
// on real nodes.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/metrics_text.hpp"
#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/writepaths/record_cache.hpp"
#include "cachebus/stores/memory_store.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

// -- a strict reader of the exposition format --------------------------------

struct sample {
  std::string name;
  std::map<std::string, std::string> labels; // values unescaped
  std::string value;
};

struct family {
  std::string help;
  std::string type;
  std::vector<sample> samples;
};

struct exposition {
  std::map<std::string, family> families;
  std::vector<std::string> order;

  const family& at(const std::string& name) const {
    auto i = families.find(name);
    INFO("family " << name);
    REQUIRE(i != families.end());
    return i->second;
  }

  bool has(const std::string& name) const { return families.count(name) > 0; }

  /// The value of the one sample of `name` whose labels include `labels`.
  double value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    for (auto& [fname, f] : families)
      for (auto& s : f.samples) {
        if (s.name != name)
          continue;
        bool match = true;
        for (auto& [k, v] : labels)
          if (!s.labels.count(k) || s.labels.at(k) != v)
            match = false;
        if (match)
          return std::stod(s.value);
      }
    FAIL("no sample " << name);
    return 0;
  }
};

bool metric_name(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':')
      return false;
  return true;
}

// Parses `{k="v",...}` at text[i] (the brace), unescaping \\, \" and \n.
std::map<std::string, std::string> parse_labels(const std::string& line,
                                                size_t& i) {
  std::map<std::string, std::string> out;
  REQUIRE(line[i] == '{');
  ++i;
  while (line[i] != '}') {
    auto eq = line.find('=', i);
    REQUIRE(eq != std::string::npos);
    auto key = line.substr(i, eq - i);
    CHECK(metric_name(key));
    i = eq + 1;
    REQUIRE(line[i] == '"');
    ++i;
    std::string value;
    for (;; ++i) {
      REQUIRE(i < line.size());
      char c = line[i];
      if (c == '"')
        break;
      if (c == '\\') {
        ++i;
        REQUIRE(i < line.size());
        char e = line[i];
        INFO("escape \\" << e << " in " << line);
        REQUIRE((e == '\\' || e == '"' || e == 'n'));
        value += e == 'n' ? '\n' : e;
      } else {
        value += c;
      }
    }
    ++i; // the closing quote
    CHECK(out.emplace(key, value).second);
    if (line[i] == ',')
      ++i;
    else
      REQUIRE(line[i] == '}');
  }
  ++i;
  return out;
}

bool number(const std::string& s) {
  if (s == "+Inf" || s == "-Inf" || s == "NaN")
    return true;
  std::istringstream in{s};
  in.imbue(std::locale::classic());
  double d;
  in >> d;
  return !in.fail() && in.eof();
}

// Reads `text`, REQUIRE-ing the format: every line is a HELP, a TYPE or a
// sample of the family the last TYPE announced.
exposition parse(const std::string& text) {
  exposition ex;
  REQUIRE_FALSE(text.empty());
  REQUIRE(text.back() == '\n');
  std::istringstream in{text};
  std::string line;
  std::string current;
  std::string pending_help;
  while (std::getline(in, line)) {
    INFO("line: " << line);
    REQUIRE_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      REQUIRE(sp != std::string::npos);
      auto name = rest.substr(0, sp);
      CHECK(metric_name(name));
      REQUIRE_FALSE(ex.has(name)); // one block per family
      pending_help = name;
      ex.families[name].help = rest.substr(sp + 1);
      CHECK_FALSE(ex.families[name].help.empty());
      ex.order.push_back(name);
      current.clear();
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      REQUIRE(sp != std::string::npos);
      auto name = rest.substr(0, sp);
      REQUIRE(name == pending_help); // TYPE right after its HELP
      auto type = rest.substr(sp + 1);
      CHECK((type == "counter" || type == "gauge" || type == "histogram"));
      ex.families[name].type = type;
      current = name;
      pending_help.clear();
      continue;
    }
    REQUIRE(line[0] != '#');
    REQUIRE_FALSE(current.empty()); // a sample before any TYPE
    sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    s.name = line.substr(0, i);
    if (line[i] == '{')
      s.labels = parse_labels(line, i);
    REQUIRE(line[i] == ' ');
    s.value = line.substr(i + 1);
    CHECK(number(s.value));
    auto& f = ex.families[current];
    if (f.type == "histogram") {
      bool ok = s.name == current + "_bucket" || s.name == current + "_sum"
                || s.name == current + "_count";
      CHECK(ok);
    } else {
      CHECK(s.name == current);
    }
    f.samples.push_back(std::move(s));
  }
  CHECK(pending_help.empty());
  return ex;
}

// Every counter is named *_total and every gauge is not; every histogram
// series has cumulative buckets in ascending `le` ending with +Inf, equal to
// its _count, and a _sum.
void check_families(const exposition& ex) {
  for (auto& [name, f] : ex.families) {
    INFO("family " << name);
    bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
    if (f.type == "counter")
      CHECK(total);
    if (f.type == "gauge")
      CHECK_FALSE(total);
    if (f.type != "histogram")
      continue;
    std::map<std::map<std::string, std::string>, std::vector<const sample*>>
      series;
    for (auto& s : f.samples) {
      auto labels = s.labels;
      labels.erase("le");
      series[labels].push_back(&s);
    }
    for (auto& [labels, xs] : series) {
      double last_le = -1;
      double last_count = 0;
      bool inf = false;
      double count = -1;
      bool sum = false;
      for (auto* s : xs) {
        if (s->name == name + "_bucket") {
          REQUIRE_FALSE(inf); // +Inf is the last bucket
          REQUIRE(s->labels.count("le"));
          auto le = s->labels.at("le");
          auto v = std::stod(s->value);
          CHECK(v >= last_count);
          last_count = v;
          if (le == "+Inf") {
            inf = true;
          } else {
            CHECK(number(le));
            CHECK(std::stod(le) > last_le);
            last_le = std::stod(le);
          }
        } else if (s->name == name + "_count") {
          count = std::stod(s->value);
        } else {
          sum = true;
        }
      }
      CHECK(inf);
      CHECK(sum);
      CHECK(count == last_count);
    }
  }
}

node_options small_options(std::string name) {
  node_options opts;
  opts.shards = 2;
  opts.max_bytes = size_t{64} << 20;
  opts.name = std::move(name);
  return opts;
}

loader_fn constant(std::string v) {
  return [v](const std::string&) -> caf::expected<loaded> { return loaded{v}; };
}

} // namespace

TEST_CASE("node::lock_stats counts loads and waits without a scoped_actor",
          "[stats]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto n = node::start(sys, small_options("stats"));
  REQUIRE(n);
  auto before = (*n)->lock_stats();
  REQUIRE(before);
  CHECK(before->grants == 0);
  REQUIRE((*n)->fetch("a", constant("1")));
  REQUIRE((*n)->fetch("b", constant("2")));
  REQUIRE((*n)->fetch("a", constant("x"))); // a hit: no load
  auto after = (*n)->lock_stats();
  REQUIRE(after);
  CHECK(after->grants == 2);
  CHECK(after->held == 0);
  (*n)->stop();
  auto stopped = (*n)->lock_stats();
  REQUIRE_FALSE(stopped);
  CHECK(is(stopped.error(), errc::stopped));
  REQUIRE_FALSE((*n)->listener_stats());
}

TEST_CASE("node::listener_stats counts the events of other nodes it applied",
          "[stats]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto a = node::start(sys, small_options("a"));
  REQUIRE(a);
  node_setup setup;
  setup.bus = (*a)->bus();
  auto b = node::start(sys, small_options("b"), std::move(setup));
  REQUIRE(b);
  caf::scoped_actor observer{sys};
  caf::anon_send((*b)->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  REQUIRE((*a)->invalidate({"k"}));
  observer->receive([](applied_atom, const std::string&, uint64_t) {},
                    caf::after(10s) >>
                      [] { FAIL("b never applied a's event"); });
  auto st = (*b)->listener_stats();
  REQUIRE(st);
  CHECK(st->applied == 1);
  REQUIRE(st->lag.size() == 1);
  CHECK(st->lag[0].source == "a");
  CHECK(st->lag[0].observations == 1);
}

TEST_CASE("metrics_text renders a node in the Prometheus text format 0.0.4",
          "[stats][metrics]") {
  config cfg;
  caf::actor_system sys{cfg};
  // An origin name with every character a label value must escape.
  std::string odd = "odd\"name\\with\nnewline";
  auto a = node::start(sys, small_options(odd));
  REQUIRE(a);
  node_setup setup;
  setup.bus = (*a)->bus();
  auto b = node::start(sys, small_options("b"), std::move(setup));
  REQUIRE(b);
  caf::scoped_actor observer{sys};
  caf::anon_send((*b)->listener(), observe_atom_v,
                 caf::actor_cast<caf::actor>(observer));
  REQUIRE((*a)->invalidate({"k"}));
  observer->receive([](applied_atom, const std::string&, uint64_t) {},
                    caf::after(10s) >>
                      [] { FAIL("b never applied a's event"); });
  REQUIRE((*b)->fetch("user:1", constant("v")));
  REQUIRE((*b)->get("user:1"));
  auto text = metrics_text(**b);
  INFO(text);
  auto ex = parse(text);
  check_families(ex);
  // Shard counters and gauges, one sample per shard.
  CHECK(ex.at("cachebus_hits_total").type == "counter");
  CHECK(ex.at("cachebus_hits_total").samples.size() == 2);
  CHECK(ex.at("cachebus_entries").type == "gauge");
  CHECK(ex.value("cachebus_entries", {{"shard", "0"}})
          + ex.value("cachebus_entries", {{"shard", "1"}})
        == 1);
  // Single flight, listener and bus.
  CHECK(ex.value("cachebus_lock_grants_total") == 1);
  CHECK(ex.at("cachebus_lock_held").type == "gauge");
  CHECK(ex.value("cachebus_events_applied_total") == 1);
  CHECK(ex.has("cachebus_bus_published_total"));
  // The lag histogram of a's events, its origin escaped in the text and
  // intact once read back.
  CHECK(ex.at("cachebus_invalidation_lag_seconds").type == "histogram");
  CHECK_THAT(text, Catch::Contains(R"(origin="odd\"name\\with\nnewline")"));
  CHECK(ex.value("cachebus_invalidation_lag_seconds_count", {{"origin", odd}})
        == 1);
  CHECK(ex.value("cachebus_invalidation_lag_seconds_bucket",
                 {{"origin", odd}, {"le", "+Inf"}})
        == 1);
  // No cluster bridge, no record cache: neither family.
  CHECK_FALSE(ex.has("cachebus_cluster_peer_up"));
  CHECK_FALSE(ex.has("cachebus_write_back_queue_depth"));
}

TEST_CASE("metrics_text adds the write-back families of a record cache with "
          "write-back on",
          "[stats][metrics][writepaths]") {
  config cfg;
  caf::actor_system sys{cfg};
  rules rs;
  REQUIRE_FALSE(rs.add({"users", {"user:{id}"}, {}, {}}));
  node_setup setup;
  setup.rules = rs;
  auto n = node::start(sys, small_options("wb"), std::move(setup));
  REQUIRE(n);
  auto store = std::make_shared<stores::memory_store>();
  REQUIRE(store->declare("users", {"name"}).ok());
  char dir[] = "/tmp/cachebus-metrics-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  write_back_options wb;
  wb.journal = std::string{dir} + "/journal";
  wb.flush_interval = 1h; // flushes only when asked
  {
    auto rc = record_cache::start(**n, store, wb);
    REQUIRE(rc);
    REQUIRE_FALSE((*rc)->queue_update("users", "1", {{"name", "ann"}}));
    auto ex = parse(metrics_text(**n, rc->get()));
    check_families(ex);
    CHECK(ex.at("cachebus_write_back_queue_depth").type == "gauge");
    CHECK(ex.value("cachebus_write_back_queue_depth") == 1);
    CHECK(ex.at("cachebus_write_back_flushed_rows_total").type == "counter");
    REQUIRE_FALSE((*rc)->flush(10s));
    auto flushed = parse(metrics_text(**n, rc->get()));
    CHECK(flushed.value("cachebus_write_back_queue_depth") == 0);
    CHECK(flushed.value("cachebus_write_back_flushed_rows_total") == 1);
  }
  std::filesystem::remove_all(dir);
}
