// A cachebus-node child process for multi-process tests: started with
// posix_spawn, its READY line parsed for its ports, and always reaped: the
// destructor kills it (SIGKILL) by pid and waits for it. Not thread-safe.
#pragma once

#include <csignal>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cachebus::test {

class node_process {
public:
  /// Starts `binary` with `args` and waits (bounded) for its READY line.
  node_process(const std::string& binary, std::vector<std::string> args);
  ~node_process();

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  bool ready() const noexcept {
    return cluster_port_ != 0;
  }
  pid_t pid() const noexcept {
    return pid_;
  }
  uint16_t cluster_port() const noexcept {
    return cluster_port_;
  }
  uint16_t client_port() const noexcept {
    return client_port_;
  }
  /// The metrics port, or 0 when metrics are off.
  uint16_t metrics_port() const noexcept {
    return metrics_port_;
  }
  const std::string& output() const noexcept {
    return output_;
  }

  void signal(int sig);

  /// SIGKILL and reap now.
  void kill();

  /// SIGTERM, then waits (bounded) for a clean exit; returns its status.
  int terminate();

private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  uint16_t cluster_port_ = 0;
  uint16_t client_port_ = 0;
  uint16_t metrics_port_ = 0;
  std::string output_;
};

} // namespace cachebus::test
