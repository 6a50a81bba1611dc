#include "node_process.hpp"

#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cachebus::test {

node_process::node_process(const std::string& binary,
                           std::vector<std::string> args) {
  int fds[2];
  if (pipe(fds) != 0)
    return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(),
                  environ)
      != 0)
    pid_ = -1;
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  out_fd_ = fds[0];
  if (pid_ <= 0)
    return;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buf[512];
    auto n = read(out_fd_, buf, sizeof buf);
    if (n <= 0)
      break; // the child exited
    output_.append(buf, static_cast<size_t>(n));
    auto pos = output_.find("READY ");
    if (pos != std::string::npos && output_.find('\n', pos) != std::string::npos) {
      unsigned cluster = 0, client = 0;
      auto c = output_.find("cluster=", pos);
      auto l = output_.find("client=", pos);
      if (c != std::string::npos && l != std::string::npos) {
        cluster = std::stoul(output_.substr(c + 8));
        client = std::stoul(output_.substr(l + 7));
      }
      auto m = output_.find("metrics=", pos);
      if (m != std::string::npos) {
        auto v = std::stol(output_.substr(m + 8));
        metrics_port_ = v > 0 ? static_cast<uint16_t>(v) : 0;
      }
      cluster_port_ = static_cast<uint16_t>(cluster);
      client_port_ = static_cast<uint16_t>(client);
      break;
    }
  }
}

node_process::~node_process() {
  kill();
  if (out_fd_ >= 0)
    close(out_fd_);
}

void node_process::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

void node_process::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int node_process::terminate() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    usleep(10000);
  }
  kill();
  return -1;
}

} // namespace cachebus::test
