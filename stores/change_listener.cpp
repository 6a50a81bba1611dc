#include "cachebus/stores/change_listener.hpp"

#include <cerrno>
#include <cstring>

#include <libpq-fe.h>
#include <poll.h>

#include "cachebus/stores/postgres_store.hpp"

namespace cachebus::stores {

namespace {

status lost(PGconn* conn) {
  std::string msg = "lost the change feed connection: ";
  msg += conn != nullptr ? PQerrorMessage(conn) : "not connected";
  while (!msg.empty() && msg.back() == '\n')
    msg.pop_back();
  return {store_errc::unavailable, std::move(msg)};
}

} // namespace

change_listener::change_listener(std::string conninfo,
                                 std::chrono::seconds connect_timeout)
    : conninfo_(std::move(conninfo)), connect_timeout_(connect_timeout) {}

change_listener::~change_listener() = default;

result<std::unique_ptr<change_listener>>
change_listener::open(std::string conninfo,
                      std::chrono::seconds connect_timeout) {
  std::unique_ptr<change_listener> ptr{
    new change_listener(std::move(conninfo), connect_timeout)};
  if (auto st = ptr->connect(); !st.ok())
    return st;
  return ptr;
}

status change_listener::connect() {
  if (auto st = conn_.connect(conninfo_, connect_timeout_); !st.ok())
    return st;
  std::string sql = "LISTEN ";
  sql += postgres_store::channel;
  if (auto st = conn_.run(sql.c_str()); !st.ok()) {
    conn_.close();
    return st;
  }
  return {};
}

void change_listener::drain(std::vector<change>& out) {
  auto* conn = conn_.native();
  while (auto* note = PQnotifies(conn)) {
    if (postgres_store::channel == note->relname) {
      if (auto ch = parse_change(note->extra); ch.ok())
        out.push_back(std::move(*ch));
      else
        ++malformed_;
    }
    PQfreemem(note);
  }
}

result<std::vector<change>>
change_listener::poll(std::chrono::milliseconds timeout) {
  if (!conn_.connected())
    if (auto st = connect(); !st.ok())
      return st;
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + timeout;
  auto* conn = conn_.native();
  std::vector<change> out;
  for (;;) {
    if (PQconsumeInput(conn) == 0) {
      auto st = lost(conn);
      conn_.close();
      return st;
    }
    drain(out);
    if (!out.empty())
      return out;
    auto left
      = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return out;
    pollfd pfd{PQsocket(conn), POLLIN, 0};
    auto rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR)
      return status{store_errc::io_error,
                    std::string{"poll on the change feed socket: "}
                      + std::strerror(errno)};
    // Readable, hung up, or interrupted: PQconsumeInput tells which.
  }
}

} // namespace cachebus::stores
