#include "cachebus/apps/common/child_process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cachebus::app {

child_process::child_process(const std::string& binary,
                             const std::vector<std::string>& args,
                             bool capture) {
  auto path = find_executable(binary);
  if (path.empty()) {
    error_ = binary + " not found or not executable";
    return;
  }
  int fds[2] = {-1, -1};
  if (capture && pipe2(fds, O_CLOEXEC) != 0) {
    error_ = std::string{"pipe: "} + std::strerror(errno);
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (capture)
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  else
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY,
                                     0);
  std::vector<char*> argv{const_cast<char*>(path.c_str())};
  for (auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto rc
    = posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (capture) {
    close(fds[1]);
    out_fd_ = fds[0];
  }
  if (rc != 0) {
    pid_ = -1;
    error_ = "cannot start " + path + ": " + std::strerror(rc);
  }
}

child_process::~child_process() {
  stop();
  if (out_fd_ >= 0)
    close(out_fd_);
}

std::string child_process::wait_for(const std::string& prefix, int timeout_ms) {
  auto deadline
    = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t scanned = 0;
  while (out_fd_ >= 0 && std::chrono::steady_clock::now() < deadline) {
    for (auto nl = output_.find('\n', scanned); nl != std::string::npos;
         nl = output_.find('\n', scanned)) {
      auto line = output_.substr(scanned, nl - scanned);
      scanned = nl + 1;
      if (line.rfind(prefix, 0) == 0)
        return line;
    }
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    char buf[512];
    auto n = read(out_fd_, buf, sizeof buf);
    if (n <= 0)
      break; // the child exited
    output_.append(buf, static_cast<size_t>(n));
  }
  return {};
}

void child_process::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

int child_process::stop() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    usleep(5000);
  }
  kill();
  return -1;
}

void child_process::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

node_child::node_child(const std::string& binary,
                       const std::vector<std::string>& args)
    : proc(binary, args, true) {
  if (!proc.running())
    return;
  auto line = proc.wait_for("READY ", 20'000);
  auto field = [&](const char* key) -> uint16_t {
    auto at = line.find(key);
    if (at == std::string::npos)
      return 0;
    return static_cast<uint16_t>(
      std::strtoul(line.c_str() + at + std::strlen(key), nullptr, 10));
  };
  cluster_port = field(" cluster=");
  client_port = field(" client=");
  metrics_port = field(" metrics=");
  resp_port = field(" resp=");
}

std::string node_binary() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return {};
  std::string self{buf, static_cast<size_t>(n)};
  return self.substr(0, self.rfind('/')) + "/../cachebus-node/cachebus-node";
}

std::string find_executable(const std::string& binary) {
  if (binary.find('/') != std::string::npos)
    return access(binary.c_str(), X_OK) == 0 ? binary : std::string{};
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(start, end - start);
    auto full = (dir.empty() ? std::string{"."} : dir) + "/" + binary;
    if (access(full.c_str(), X_OK) == 0)
      return full;
    start = end + 1;
  }
  return {};
}

uint16_t free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
      && getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

} // namespace cachebus::app
