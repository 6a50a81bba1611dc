// Cuts TCP connections on loopback from inside the kernel, as a broken
// network path would: `ss -K` (SOCK_DESTROY, root only) aborts every
// established connection to or from the given ports, and both ends see it
// fail at once. The processes keep running and redial as they would after a
// real cut; the cut lasts as long as the caller keeps cutting. Used by the
// tests and by cachebus-bench's cluster_rejoin_cut.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

namespace cachebus::app {

/// True if this process may cut connections (it runs as root).
inline bool can_cut_connections() {
  return geteuid() == 0 && std::system("command -v ss >/dev/null 2>&1") == 0;
}

/// Aborts every established TCP connection whose local or remote port is one
/// of `ports`. Returns false if ss failed.
inline bool cut_connections(const std::vector<uint16_t>& ports) {
  std::string filter;
  for (auto p : ports) {
    if (!filter.empty())
      filter += " or ";
    auto s = std::to_string(p);
    filter += "sport = :" + s + " or dport = :" + s;
  }
  auto cmd = "ss -K -t state established '( " + filter + " )' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

/// Aborts the cluster connections of process `pid` only: every established
/// TCP connection of it whose local port is `own_port` (accepted from
/// peers) or whose remote port is one of `peer_ports` (dialed to them).
/// Its other connections (a client's) stay. Returns how many it cut.
inline int cut_process(int pid, uint16_t own_port,
                       const std::vector<uint16_t>& peer_ports) {
  auto* f = popen("ss -tnpH state established 2>/dev/null", "r");
  if (f == nullptr)
    return 0;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    out.append(buf, n);
  pclose(f);
  auto port_of = [](const std::string& addr) {
    auto colon = addr.rfind(':');
    return colon == std::string::npos ? 0 : std::atoi(addr.c_str() + colon + 1);
  };
  int cut = 0;
  auto tag = "pid=" + std::to_string(pid) + ",";
  size_t pos = 0;
  while (pos < out.size()) {
    auto end = out.find('\n', pos);
    if (end == std::string::npos)
      end = out.size();
    auto line = out.substr(pos, end - pos);
    pos = end + 1;
    if (line.find(tag) == std::string::npos)
      continue;
    // Recv-Q Send-Q Local:Port Peer:Port Process
    std::vector<std::string> cols;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && line[i] == ' ')
        ++i;
      auto j = line.find(' ', i);
      if (j == std::string::npos)
        j = line.size();
      if (j > i)
        cols.push_back(line.substr(i, j - i));
      i = j;
    }
    if (cols.size() < 4)
      continue;
    auto local = port_of(cols[2]);
    auto remote = port_of(cols[3]);
    bool ours = local == own_port;
    for (auto p : peer_ports)
      ours = ours || remote == p;
    if (!ours)
      continue;
    auto cmd = "ss -K -t state established src " + cols[2] + " dst " + cols[3]
               + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0)
      ++cut;
  }
  return cut;
}

} // namespace cachebus::app
