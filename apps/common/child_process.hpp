// Child processes for the demo, the bench and the multi-process tests:
// cachebus-node processes (started with posix_spawn, READY line parsed for
// their ports) and any other helper binary (redis-server). Every child is
// reaped by its pid: stop() sends SIGTERM and waits (bounded, then SIGKILL);
// the destructor does the same, so a failure leaves no process behind. Not
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace cachebus::app {

class child_process {
 public:
  /// Starts `binary` (searched on PATH when it has no '/') with `args`.
  /// With `capture`, its stdout is readable through wait_for(); otherwise it
  /// goes to /dev/null. On failure running() is false and error() says why.
  child_process(const std::string& binary, const std::vector<std::string>& args,
                bool capture);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  bool running() const noexcept { return pid_ > 0; }
  const std::string& error() const noexcept { return error_; }
  /// Stdout read so far (capture only).
  const std::string& output() const noexcept { return output_; }

  /// Reads stdout until a full line starting with `prefix` arrived (bounded);
  /// returns that line, or "" on timeout or exit.
  std::string wait_for(const std::string& prefix, int timeout_ms);

  pid_t pid() const noexcept { return pid_; }

  /// Sends `sig` (SIGSTOP, SIGCONT, ...) if the child runs.
  void signal(int sig);

  /// SIGTERM, bounded wait, then SIGKILL; always reaps. Returns the wait
  /// status of a clean exit, or -1 if it had to be killed or was not running.
  int stop();

  /// SIGKILL and reap now.
  void kill();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string output_;
  std::string error_;
};

/// A cachebus-node child with the ports from its READY line (metrics_port and
/// resp_port 0: off).
struct node_child {
  node_child(const std::string& binary, const std::vector<std::string>& args);
  child_process proc;
  uint16_t cluster_port = 0;
  uint16_t client_port = 0;
  uint16_t metrics_port = 0;
  uint16_t resp_port = 0;
  bool ready() const noexcept { return client_port != 0; }
};

/// ../cachebus-node/cachebus-node relative to this executable.
std::string node_binary();

/// `binary` if it is executable, else the first executable `binary` on PATH;
/// "" if none.
std::string find_executable(const std::string& binary);

/// A loopback TCP port free right now (0 on failure).
uint16_t free_loopback_port();

} // namespace cachebus::app
