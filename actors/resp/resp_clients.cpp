#include "cachebus/actors/resp/resp_clients.hpp"

namespace cachebus {

resp_clients::resp_clients() : started_(std::chrono::steady_clock::now()) {
  // nop
}

int64_t resp_clients::uptime_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::steady_clock::now() - started_)
    .count();
}

uint64_t resp_clients::add(std::string addr, std::string laddr,
                           int64_t now_ns) {
  std::lock_guard<std::mutex> guard{mtx_};
  client c;
  c.id = next_id_++;
  c.addr = std::move(addr);
  c.laddr = std::move(laddr);
  c.connected_ns = now_ns;
  c.last_ns = now_ns;
  auto id = c.id;
  clients_.emplace(id, std::move(c));
  received_.fetch_add(1, std::memory_order_relaxed);
  return id;
}

void resp_clients::remove(uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  clients_.erase(id);
}

std::vector<resp_clients::client> resp_clients::list() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<client> out;
  out.reserve(clients_.size());
  for (auto& [id, c] : clients_)
    out.push_back(c);
  return out;
}

resp_clients::client resp_clients::get(uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = clients_.find(id); i != clients_.end())
    return i->second;
  return {};
}

size_t resp_clients::connected() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return clients_.size();
}

} // namespace cachebus
