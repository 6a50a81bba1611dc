// Misuse gets a message, never a hang: an actor system destroyed under a
// running node aborts naming the cause (in a child process, bounded), and a
// loader that fetches its own key fails at once instead of waiting out its
// lease.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "caf/actor_system.hpp"

#include "cachebus/actors/node/config.hpp"
#include "cachebus/actors/node/error.hpp"
#include "cachebus/actors/node/node.hpp"

using namespace cachebus;
using namespace std::chrono_literals;

namespace {

struct child_result {
  bool hung = false; // killed after the deadline
  int status = 0;    // waitpid's
  std::string err;   // its stderr
};

// Runs the misuse child with `scenario` (and `arg`, if any); kills it if it
// is still running after `deadline`.
child_result run_child(const char* scenario, std::chrono::seconds deadline,
                       const char* arg = nullptr) {
  child_result r;
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    char* args[]
      = {const_cast<char*>(ACTORS_MISUSE_CHILD), const_cast<char*>(scenario),
         const_cast<char*>(arg), nullptr};
    ::execv(ACTORS_MISUSE_CHILD, args);
    ::_exit(127);
  }
  ::close(fds[1]);
  auto end = std::chrono::steady_clock::now() + deadline;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  end - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0) {
      r.hung = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0)
      continue;
    auto n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0)
      break; // EOF: the child is gone (or closed stderr)
    r.err.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  // After EOF the child exits at once; bound the wait anyway.
  while (!r.hung) {
    if (::waitpid(pid, &r.status, WNOHANG) == pid)
      return r;
    if (std::chrono::steady_clock::now() > end) {
      r.hung = true;
      ::kill(pid, SIGKILL);
    } else {
      ::usleep(10'000);
    }
  }
  ::waitpid(pid, &r.status, 0);
  return r;
}

node_options small_options() {
  node_options opts;
  opts.shards = 2;
  opts.max_bytes = size_t{64} << 20;
  opts.lease_timeout = 5s; // the default: what a re-entrant fetch waited out
  return opts;
}

} // namespace

TEST_CASE("destroying the actor system before a running node aborts with a "
          "message that names the cause instead of hanging",
          "[misuse]") {
  auto r = run_child("system-before-node", 30s);
  INFO("stderr: " << r.err);
  REQUIRE_FALSE(r.hung);
  REQUIRE(WIFSIGNALED(r.status));
  CHECK(WTERMSIG(r.status) == SIGABRT);
  CHECK_THAT(r.err, Catch::Contains("caf::actor_system is shutting down "
                                    "while cachebus::node \"misused\" still "
                                    "runs in it"));
  CHECK_THAT(r.err, Catch::Contains("declare the actor_system member before "
                                    "the node"));
}

TEST_CASE("destroying the actor system before a record cache with write-back "
          "aborts with a message that names the cause instead of hanging",
          "[misuse][writepaths]") {
  char dir[] = "/tmp/cachebus-misuse-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  auto r = run_child("system-before-record-cache", 30s, dir);
  std::filesystem::remove_all(dir);
  INFO("stderr: " << r.err);
  REQUIRE_FALSE(r.hung);
  REQUIRE(WIFSIGNALED(r.status));
  CHECK(WTERMSIG(r.status) == SIGABRT);
  CHECK_THAT(r.err, Catch::Contains("caf::actor_system is shutting down "
                                    "while a cachebus::record_cache"));
}

TEST_CASE("a node destroyed before its actor system shuts down quietly",
          "[misuse]") {
  auto r = run_child("node-before-system", 30s);
  INFO("stderr: " << r.err);
  REQUIRE_FALSE(r.hung);
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  CHECK(r.err.find("cachebus:") == std::string::npos);
}

TEST_CASE("a node stopped before its actor system may be destroyed after it",
          "[misuse]") {
  auto r = run_child("stopped-node-outlives-system", 30s);
  INFO("stderr: " << r.err);
  REQUIRE_FALSE(r.hung);
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
}

TEST_CASE("a loader that fetches its own key fails at once instead of "
          "waiting out its lease",
          "[misuse][fetch]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto started = node::start(sys, small_options());
  REQUIRE(started);
  auto& n = **started;
  caf::expected<std::string> inner{std::string{}};
  int runs = 0;
  loader_fn loader = [&](const std::string& key) -> caf::expected<loaded> {
    ++runs;
    inner = n.fetch(key, loader); // the mistake
    if (!inner)
      return inner.error();
    return loaded{*inner};
  };
  auto t0 = std::chrono::steady_clock::now();
  auto outer = n.fetch("user:1", loader);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < 1s); // the lease is 5 s
  CHECK(runs == 1);
  REQUIRE_FALSE(inner);
  CHECK(is(inner.error(), errc::invalid_argument));
  CHECK_THAT(describe(inner.error()),
             Catch::Contains("fetch of \"user:1\" from inside its own loader"));
  // The outer fetch got its loader's error, and the key is free again.
  REQUIRE_FALSE(outer);
  CHECK_THAT(describe(outer.error()), Catch::Contains("its own loader"));
  auto again
    = n.fetch("user:1", [](const std::string&) -> caf::expected<loaded> {
        return loaded{"fine"};
      });
  REQUIRE(again);
  CHECK(*again == "fine");
}

TEST_CASE("a loader may fetch other keys, and the same key after it returned",
          "[misuse][fetch]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto started = node::start(sys, small_options());
  REQUIRE(started);
  auto& n = **started;
  loader_fn leaf = [](const std::string& key) -> caf::expected<loaded> {
    return loaded{"v:" + key};
  };
  loader_fn composite = [&](const std::string&) -> caf::expected<loaded> {
    auto a = n.fetch("part:a", leaf);
    auto b = n.fetch("part:b", leaf);
    if (!a || !b)
      return make_error(errc::load_failed, "a part failed");
    return loaded{*a + "+" + *b};
  };
  auto t0 = std::chrono::steady_clock::now();
  auto v = n.fetch("whole", composite);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  REQUIRE(v);
  CHECK(*v == "v:part:a+v:part:b");
  // Neither key is marked as loading any more on this thread.
  REQUIRE(n.erase(std::vector<std::string>{"whole", "part:a"}));
  auto again = n.fetch("part:a", leaf);
  REQUIRE(again);
  CHECK(*again == "v:part:a");
}
