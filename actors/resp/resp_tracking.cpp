#include "cachebus/actors/resp/resp_tracking.hpp"

#include <algorithm>

namespace cachebus {

namespace {

bool overlaps(std::string_view a, std::string_view b) {
  auto n = std::min(a.size(), b.size());
  return a.substr(0, n) == b.substr(0, n);
}

resp_push invalidation_of(std::string_view key) {
  resp_push p;
  p.what = resp_push::kind::invalidate;
  p.keys.emplace_back(key);
  return p;
}

} // namespace

resp_tracking::resp_tracking(size_t max_keys,
                             std::function<bool(uint64_t)> alive)
    : max_keys_(std::max<size_t>(max_keys, 1)), alive_(std::move(alive)) {
  // nop
}

void resp_tracking::set_push(resp_push_fn fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  push_ = std::move(fn);
}

std::string resp_tracking::enable(uint64_t client, const mode& m) {
  if (m.optin && m.optout)
    return "ERR You can't specify both OPTIN mode and OPTOUT mode";
  if (m.bcast && (m.optin || m.optout))
    return "ERR OPTIN and OPTOUT are not compatible with BCAST";
  if (!m.bcast && !m.prefixes.empty())
    return "ERR PREFIX option requires BCAST mode to be enabled";
  if (m.redirect != 0 && m.redirect != client && alive_ && !alive_(m.redirect))
    return "ERR The client ID you want redirect to does not exist";
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = clients_.find(client);
  std::vector<std::string> old_prefixes;
  if (i != clients_.end()) {
    auto& old = i->second.m;
    if (old.bcast != m.bcast)
      return "ERR You can't switch BCAST mode on/off before disabling "
             "tracking for this client, and then re-enabling it with a "
             "different mode.";
    if (old.optin != m.optin || old.optout != m.optout)
      return "ERR You can't switch OPTIN/OPTOUT mode before disabling "
             "tracking for this client, and then re-enabling it with a "
             "different mode.";
    old_prefixes = old.prefixes;
  }
  // Redis's rule: no two prefixes of one client overlap.
  auto fresh = m.prefixes;
  if (m.bcast && fresh.empty() && old_prefixes.empty())
    fresh.emplace_back(); // BCAST alone: every key
  for (size_t a = 0; a < fresh.size(); ++a) {
    for (auto& p : old_prefixes)
      if (p != fresh[a] && overlaps(p, fresh[a]))
        return "ERR Prefix '" + fresh[a]
               + "' overlaps with an existing prefix '" + p
               + "'. Prefixes for a single client must not overlap.";
    for (size_t b = a + 1; b < fresh.size(); ++b)
      if (overlaps(fresh[a], fresh[b]))
        return "ERR Prefix '" + fresh[a]
               + "' overlaps with another provided "
                 "prefix '"
               + fresh[b] + "'. Prefixes for a single client must not overlap.";
  }
  if (old_prefixes.size() + fresh.size() > max_prefixes)
    return "ERR cachebus: at most " + std::to_string(max_prefixes)
           + " prefixes per client";
  auto& ce = clients_[client];
  ce.m = m;
  ce.m.prefixes = old_prefixes;
  for (auto& p : fresh)
    if (std::find(ce.m.prefixes.begin(), ce.m.prefixes.end(), p)
        == ce.m.prefixes.end())
      ce.m.prefixes.push_back(p);
  if (m.bcast)
    bcast_[client] = ce.m.prefixes;
  return {};
}

void resp_tracking::disable(uint64_t client) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = clients_.find(client);
  if (i == clients_.end())
    return;
  for (auto* key : i->second.keys) {
    auto k = keys_.find(*key);
    if (k == keys_.end())
      continue;
    std::erase(k->second.readers, client);
    if (k->second.readers.empty()) {
      ages_.erase(k->second.age);
      keys_.erase(k);
    }
  }
  clients_.erase(i);
  bcast_.erase(client);
}

std::optional<resp_tracking::mode>
resp_tracking::mode_of(uint64_t client) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = clients_.find(client);
  if (i == clients_.end())
    return std::nullopt;
  return i->second.m;
}

void resp_tracking::track(uint64_t client, std::string_view key) {
  outbox out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto c = clients_.find(client);
    if (c == clients_.end() || c->second.m.bcast)
      return;
    auto k = keys_.find(std::string{key});
    if (k == keys_.end()) {
      // Room first: the oldest key goes, its readers told (redis#7249).
      while (keys_.size() >= max_keys_ && !ages_.empty()) {
        ++stats_.forgotten;
        forget(keys_.find(*ages_.front()), 0, out);
      }
      k = keys_.emplace(std::string{key}, key_entry{}).first;
      k->second.age = ages_.insert(ages_.end(), &k->first);
    }
    auto& readers = k->second.readers;
    if (std::find(readers.begin(), readers.end(), client) == readers.end()) {
      readers.push_back(client);
      c->second.keys.insert(&k->first);
    }
  }
  send(out);
}

void resp_tracking::changed(std::string_view key, uint64_t writer) {
  outbox out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (clients_.empty())
      return;
    if (!keys_.empty())
      if (auto k = keys_.find(std::string{key}); k != keys_.end())
        forget(k, writer, out);
    for (auto& [id, prefixes] : bcast_) {
      auto& ce = clients_[id];
      if (ce.m.noloop && id == writer)
        continue;
      for (auto& p : prefixes)
        if (key.substr(0, p.size()) == p) {
          if (auto t = target_of(id, ce, out); t != 0)
            out.emplace_back(t, invalidation_of(key));
          break;
        }
    }
  }
  send(out);
}

void resp_tracking::flush_all() {
  outbox out;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (clients_.empty())
      return;
    ++stats_.flushes;
    resp_push p;
    p.what = resp_push::kind::flush;
    std::unordered_set<uint64_t> told;
    for (auto& [id, ce] : clients_) {
      ce.keys.clear();
      if (auto t = target_of(id, ce, out); t != 0 && told.insert(t).second)
        out.emplace_back(t, p);
    }
    keys_.clear();
    ages_.clear();
  }
  send(out);
}

size_t resp_tracking::keys() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return keys_.size();
}

size_t resp_tracking::clients() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return clients_.size();
}

resp_tracking::counters resp_tracking::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return stats_;
}

uint64_t resp_tracking::target_of(uint64_t c, const client_entry& ce,
                                  outbox& out) {
  auto r = ce.m.redirect;
  if (r == 0 || r == c)
    return c;
  if (!alive_ || alive_(r))
    return r;
  resp_push broken;
  broken.what = resp_push::kind::redirect_broken;
  broken.redirect = r;
  out.emplace_back(c, std::move(broken));
  return 0;
}

void resp_tracking::forget(key_map::iterator k, uint64_t spare, outbox& out) {
  const auto* key = &k->first;
  for (auto id : k->second.readers) {
    auto c = clients_.find(id);
    if (c == clients_.end())
      continue;
    c->second.keys.erase(key);
    if (c->second.m.noloop && id == spare)
      continue;
    if (auto t = target_of(id, c->second, out); t != 0)
      out.emplace_back(t, invalidation_of(*key));
  }
  ages_.erase(k->second.age);
  keys_.erase(k);
}

void resp_tracking::send(outbox& out) {
  if (out.empty())
    return;
  resp_push_fn fn;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    fn = push_;
    for (auto& o : out)
      if (o.second.what == resp_push::kind::invalidate)
        ++stats_.pushes;
  }
  if (!fn)
    return;
  for (auto& [to, p] : out)
    fn({to}, std::move(p));
}

} // namespace cachebus
