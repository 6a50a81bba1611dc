// SCAN cursor [MATCH glob] [COUNT n] [TYPE type], served from the shard
// tables' ordered key index: shard after shard, each in key order, resuming
// after the last key visited (resp_scan_cursors.hpp). A MATCH with a literal
// prefix visits only the index range of that prefix; COUNT (default 10) is
// how many index entries one call visits at most, as in Redis it is the
// work, not the number of keys returned.
#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "cachebus/actors/node/node.hpp"
#include "cachebus/actors/node/node_state.hpp"
#include "cachebus/actors/resp/resp_command.hpp"
#include "cachebus/actors/resp/resp_glob.hpp"
#include "cachebus/actors/resp/resp_session.hpp"

namespace cachebus {

namespace {

// Redis's cursors are unsigned 64-bit decimals.
bool parse_cursor(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 20
      || !std::all_of(s.begin(), s.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  errno = 0;
  out = std::strtoull(s.c_str(), nullptr, 10);
  return errno == 0;
}

// Index entries visited per hold of a table's shared lock: a SCAN with a
// large COUNT holds writers up for one slice at a time.
constexpr size_t slice = 1024;

} // namespace

void resp_session::cmd_scan(args_t& a) {
  uint64_t cursor = 0;
  if (!parse_cursor(a[1], cursor)) {
    writer_.error("ERR invalid cursor");
    return;
  }
  std::string pattern;
  bool match_given = false;
  size_t count = 10;
  bool strings = true;
  for (size_t j = 2; j < a.size(); j += 2) {
    if (j + 1 >= a.size()) {
      writer_.error("ERR syntax error");
      return;
    }
    if (resp_iequals(a[j], "match")) {
      pattern = a[j + 1];
      match_given = pattern != "*";
    } else if (resp_iequals(a[j], "count")) {
      long long n = 0;
      if (!parse_resp_integer(a[j + 1], n)) {
        writer_.error("ERR value is not an integer or out of range");
        return;
      }
      if (n < 1) {
        writer_.error("ERR syntax error");
        return;
      }
      count = static_cast<size_t>(n);
    } else if (resp_iequals(a[j], "type")) {
      // Every value is a string: TYPE string is every key, a known Redis
      // type names none.
      static const char* types[]
        = {"string", "list", "set", "zset", "hash", "stream"};
      auto t = resp_lower(a[j + 1]);
      if (std::none_of(std::begin(types), std::end(types),
                       [&](const char* x) { return t == x; })) {
        writer_.error("ERR unknown type name '" + a[j + 1] + "'");
        return;
      }
      strings = t == "string";
    } else {
      writer_.error("ERR syntax error");
      return;
    }
  }
  if (!node_.options().ordered_index) {
    writer_.error("ERR SCAN needs the ordered key index, which this node "
                  "runs without (cachebus.ordered-index=false)");
    return;
  }
  resp_scan_cursors::position pos;
  if (cursor != 0) {
    auto saved = cursors_.find(cursor);
    if (!saved) {
      writer_.error("ERR invalid cursor");
      return;
    }
    pos = std::move(*saved);
  }
  std::vector<std::string> keys;
  auto& cache = *node_.internals().cache;
  auto shards = cache.shard_count();
  if (!strings)
    pos.shard = shards; // no key has another type: the scan is complete
  auto prefix = match_given ? resp_glob_prefix(pattern) : std::string{};
  std::function<bool(std::string_view)> match;
  if (match_given)
    match
      = [&pattern](std::string_view k) { return resp_glob_match(pattern, k); };
  else
    match = [](std::string_view) { return true; };
  size_t budget = count;
  while (pos.shard < shards && budget > 0) {
    size_t step = std::min(budget, slice);
    size_t left = step;
    bool more
      = cache.table(pos.shard)->scan(prefix, pos.after, left, match, keys);
    budget -= step - left;
    if (!more) {
      ++pos.shard;
      pos.after.clear();
    }
  }
  writer_.array(2);
  writer_.bulk(
    pos.shard >= shards ? "0" : std::to_string(cursors_.save(std::move(pos))));
  writer_.array(keys.size());
  for (auto& k : keys)
    writer_.bulk(k);
}

} // namespace cachebus
