#include "pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <libpq-fe.h>

namespace fs = std::filesystem;

namespace cachebus::test {

namespace {

constexpr auto ready_bound = std::chrono::seconds{60};

// $CACHEBUS_PG_BINDIR, else Debian's /usr/lib/postgresql/<newest>/bin.
std::string find_bindir() {
  if (auto env = std::getenv("CACHEBUS_PG_BINDIR"); env != nullptr && *env) {
    if (!fs::exists(fs::path{env} / "initdb")
        || !fs::exists(fs::path{env} / "pg_ctl"))
      throw std::runtime_error(std::string{"CACHEBUS_PG_BINDIR="} + env
                               + " holds no initdb and pg_ctl");
    return env;
  }
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = entry.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl"))
      continue;
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version) {
      best_version = version;
      best = bin.string();
    }
  }
  if (best.empty())
    throw std::runtime_error(
      "PostgreSQL server binaries (initdb, pg_ctl) not found in "
      "/usr/lib/postgresql/*/bin: install the `postgresql` package (the "
      "project's setup script does) or set CACHEBUS_PG_BINDIR");
  return best;
}

// Asks the kernel for a free loopback port. Another process may take it
// before the server binds it; start() then fails and we pick another.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw std::runtime_error("socket(): " + std::string{std::strerror(errno)});
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    auto err = std::string{std::strerror(errno)};
    ::close(fd);
    throw std::runtime_error("cannot pick a free port: " + err);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string read_tail(const fs::path& file, size_t max = 3000) {
  std::ifstream in{file};
  if (!in)
    return {};
  std::stringstream ss;
  ss << in.rdbuf();
  auto str = ss.str();
  return str.size() > max ? "..." + str.substr(str.size() - max) : str;
}

bool running_as_root() {
  return ::geteuid() == 0;
}

} // namespace

pg_cluster& pg_cluster::shared() {
  // A failed start is remembered: the next test fails fast, same message.
  static std::optional<std::string> failure;
  static std::unique_ptr<pg_cluster> instance;
  if (instance)
    return *instance;
  if (failure)
    throw std::runtime_error(*failure);
  try {
    instance.reset(new pg_cluster());
  } catch (const std::exception& e) {
    failure
      = std::string{"cannot start a PostgreSQL test cluster: "} + e.what();
    throw std::runtime_error(*failure);
  }
  return *instance;
}

// Not $TMPDIR: the postgres user must reach the directory, and the socket
// path inside it must stay short (108 bytes). If the cluster cannot be
// started, the exception leaves and dir_'s destructor removes the directory.
pg_cluster::pg_cluster()
    : bindir_(find_bindir()), dir_("cachebus-pg", "/tmp"),
      datadir_(dir_.file("data")) {
  if (running_as_root()) {
    // initdb refuses to run as root: the cluster belongs to `postgres`.
    auto* pw = ::getpwnam("postgres");
    if (pw == nullptr)
      throw std::runtime_error("running as root, but there is no `postgres` "
                               "user to run the server as");
    if (::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("chown " + dir_.path().string() + ": "
                               + std::strerror(errno));
  }
  run_tool("initdb", {"-D", datadir_, "-U", "postgres", "--auth=trust",
                      "--no-sync", "--encoding=UTF8", "--locale=C"});
  std::string last_error;
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) {
    port_ = free_port();
    try {
      start();
    } catch (const std::exception& e) {
      last_error = e.what(); // most likely the port was taken meanwhile
    }
  }
  if (!running_)
    throw std::runtime_error(last_error);
}

pg_cluster::~pg_cluster() {
  try {
    if (running_)
      stop();
  } catch (...) {
    // Nothing sensible to do at exit; the directory goes anyway (dir_).
  }
}

void pg_cluster::run_tool(const std::string& tool,
                          const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  if (running_as_root())
    argv = {"runuser", "-u", "postgres", "--"};
  argv.push_back(bindir_ + "/" + tool);
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& arg : argv)
    cargv.push_back(arg.data());
  cargv.push_back(nullptr);
  auto out_path = dir_.file(tool + ".out");
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork: " + std::string{std::strerror(errno)});
  if (pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDIN_FILENO);
      ::close(null_fd);
    }
    ::execvp(cargv[0], cargv.data());
    ::_exit(127);
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
    return;
  std::string cmd;
  for (const auto& arg : argv)
    cmd += (cmd.empty() ? "" : " ") + arg;
  throw std::runtime_error(
    "`" + cmd + "` failed (exit status "
    + std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) + "):\n"
    + read_tail(out_path) + log_tail());
}

std::string pg_cluster::log_tail() const {
  auto tail = read_tail(dir_.file("server.log"));
  return tail.empty() ? std::string{} : "\nserver log:\n" + tail;
}

void pg_cluster::start() {
  auto opts = "-k " + dir_.path().string()
              + " -c listen_addresses=127.0.0.1 -p "
              + std::to_string(port_)
              // fsync off is safe here: the outage tests kill the server, not
              // the machine. Commits stay synchronous, or a killed server
              // would forget the last ones.
              + " -c fsync=off -c full_page_writes=off -c max_connections=50";
  run_tool("pg_ctl",
           {"-D", datadir_, "-l", dir_.file("server.log"), "-w", "-t",
            std::to_string(ready_bound.count()), "-o", opts, "start"});
  running_ = true;
  wait_until_ready();
}

void pg_cluster::stop() {
  run_tool("pg_ctl", {"-D", datadir_, "-m", "immediate", "-w", "stop"});
  running_ = false;
}

void pg_cluster::wait_until_ready() {
  auto info = conninfo("postgres");
  auto deadline = std::chrono::steady_clock::now() + ready_bound;
  while (PQping(info.c_str()) != PQPING_OK) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("PostgreSQL did not accept connections within "
                               + std::to_string(ready_bound.count()) + " s"
                               + log_tail());
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

std::string pg_cluster::conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_)
         + " user=postgres dbname=" + dbname;
}

std::string pg_cluster::create_database() {
  auto name = "cachebus_test_" + std::to_string(::getpid()) + "_"
              + std::to_string(++databases_);
  run_sql(conninfo("postgres"), "CREATE DATABASE " + name);
  return conninfo(name);
}

void run_sql(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn{
    PQconnectdb(conninfo.c_str()), &PQfinish};
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect to " + conninfo + ": "
                             + PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> res{
    PQexec(conn.get(), sql.c_str()), &PQclear};
  auto rc = PQresultStatus(res.get());
  if (rc != PGRES_COMMAND_OK && rc != PGRES_TUPLES_OK)
    throw std::runtime_error("`" + sql
                             + "` failed: " + PQerrorMessage(conn.get()));
}

std::string query_value(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn{
    PQconnectdb(conninfo.c_str()), &PQfinish};
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect to " + conninfo + ": "
                             + PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> res{
    PQexec(conn.get(), sql.c_str()), &PQclear};
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) < 1)
    throw std::runtime_error(
      "`" + sql + "` returned no row: " + PQerrorMessage(conn.get()));
  return PQgetvalue(res.get(), 0, 0);
}

} // namespace cachebus::test
