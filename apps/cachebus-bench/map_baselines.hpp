// The maps a C++ engineer would reach for instead of an embedded cache, as
// baselines of the `hit` scenario: each stores std::string -> std::string and
// answers get(key, out) by copying the value out, as node::get does, and
// put(key, value) by insert-or-assign. They are dependencies of the bench
// only (TBB and libcuckoo from Debian), never of the library.
//   mutex_map    one std::mutex around std::unordered_map
//   striped_map  16 stripes of std::shared_mutex + std::unordered_map
//   tbb_map      tbb::concurrent_hash_map (accessor-based)
//   cuckoo_map   libcuckoo's cuckoohash_map
//   frozen_map   std::unordered_map read without any synchronization: valid
//                only while nobody writes; the limit a read path can reach
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include <libcuckoo/cuckoohash_map.hh>
#include <tbb/concurrent_hash_map.h>

namespace cachebus::bench {

struct mutex_map {
  static constexpr const char* name = "std::mutex + std::unordered_map";
  std::mutex mtx;
  std::unordered_map<std::string, std::string> map;

  bool get(const std::string& key, std::string& out) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = map.find(key);
    if (i == map.end())
      return false;
    out = i->second;
    return true;
  }
  void put(const std::string& key, const std::string& value) {
    std::lock_guard<std::mutex> guard{mtx};
    map.insert_or_assign(key, value);
  }
};

struct striped_map {
  static constexpr const char* name
    = "16-stripe std::shared_mutex + std::unordered_map";
  struct alignas(64) stripe {
    std::shared_mutex mtx;
    std::unordered_map<std::string, std::string> map;
  };
  std::array<stripe, 16> stripes;

  stripe& stripe_for(const std::string& key) {
    return stripes[std::hash<std::string>{}(key) % stripes.size()];
  }
  bool get(const std::string& key, std::string& out) {
    auto& s = stripe_for(key);
    std::shared_lock guard{s.mtx};
    auto i = s.map.find(key);
    if (i == s.map.end())
      return false;
    out = i->second;
    return true;
  }
  void put(const std::string& key, const std::string& value) {
    auto& s = stripe_for(key);
    std::unique_lock guard{s.mtx};
    s.map.insert_or_assign(key, value);
  }
};

struct tbb_map {
  static constexpr const char* name = "tbb::concurrent_hash_map";
  using map_type = tbb::concurrent_hash_map<std::string, std::string>;
  map_type map;

  bool get(const std::string& key, std::string& out) {
    map_type::const_accessor a;
    if (!map.find(a, key))
      return false;
    out = a->second;
    return true;
  }
  void put(const std::string& key, const std::string& value) {
    map_type::accessor a;
    map.insert(a, key);
    a->second = value;
  }
};

struct cuckoo_map {
  static constexpr const char* name = "libcuckoo cuckoohash_map";
  libcuckoo::cuckoohash_map<std::string, std::string> map;

  bool get(const std::string& key, std::string& out) {
    return map.find_fn(key, [&](const std::string& v) { out = v; });
  }
  void put(const std::string& key, const std::string& value) {
    map.insert_or_assign(key, value);
  }
};

struct frozen_map {
  static constexpr const char* name
    = "std::unordered_map, unsynchronized reads (limit proxy)";
  std::unordered_map<std::string, std::string> map;

  bool get(const std::string& key, std::string& out) {
    auto i = map.find(key);
    if (i == map.end())
      return false;
    out = i->second;
    return true;
  }
  void put(const std::string& key, const std::string& value) {
    map.insert_or_assign(key, value); // filling only, before any reader
  }
};

} // namespace cachebus::bench
