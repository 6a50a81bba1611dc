#include "cachebus/stores/pg_connection.hpp"

#include <cstring>
#include <vector>

#include <libpq-fe.h>

namespace cachebus::stores {

namespace {

constexpr Oid text_oid = 25;
constexpr Oid bytea_oid = 17;

// libpq messages span lines ("...failed: Connection refused\n\tIs the
// server running..."); a status message is one line.
std::string trimmed(const char* msg) {
  std::string out;
  for (auto p = msg != nullptr ? msg : ""; *p != '\0'; ++p) {
    bool space = *p == '\n' || *p == '\t' || *p == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ')
        out += ' ';
    } else {
      out += *p;
    }
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

store_errc classify(const char* sqlstate) {
  if (sqlstate == nullptr || std::strlen(sqlstate) != 5)
    return store_errc::io_error;
  std::string_view code{sqlstate, 5};
  auto cls = code.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57")
    // connection exception, insufficient resources, operator intervention
    // (admin shutdown, crash shutdown, cannot connect now, query canceled)
    return store_errc::unavailable;
  if (code == "40001" || code == "40P01")
    return store_errc::conflict;
  if (cls == "22")
    return store_errc::invalid_argument;
  return store_errc::io_error;
}

} // namespace

void pg_result_deleter::operator()(pg_result* res) const noexcept {
  PQclear(res);
}

pg_connection::~pg_connection() {
  close();
}

void pg_connection::close() noexcept {
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

bool pg_connection::connected() const noexcept {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

status pg_connection::connect(const std::string& conninfo,
                              std::chrono::seconds timeout) {
  close();
  // Our defaults come before the expanded `conninfo`, so whatever the user
  // wrote there wins.
  auto timeout_str = std::to_string(timeout.count() > 0 ? timeout.count() : 1);
  const char* keys[]
    = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[]
    = {timeout_str.c_str(), "cachebus", conninfo.c_str(), nullptr};
  // A bare database name is valid too; only check what claims to be a
  // key=value string or a URI, to tell a typo from an outage.
  bool is_uri = conninfo.rfind("postgresql://", 0) == 0
                || conninfo.rfind("postgres://", 0) == 0;
  if (is_uri || conninfo.find('=') != std::string::npos) {
    char* parse_error = nullptr;
    auto opts = PQconninfoParse(conninfo.c_str(), &parse_error);
    if (opts == nullptr) {
      auto msg
        = "malformed connection string: "
          + trimmed(parse_error != nullptr ? parse_error : "out of memory");
      PQfreemem(parse_error);
      return {store_errc::invalid_argument, std::move(msg)};
    }
    PQconninfoFree(opts);
  }
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr)
    return {store_errc::unavailable, "libpq: out of memory"};
  if (PQstatus(conn_) != CONNECTION_OK) {
    auto msg
      = "cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(conn_));
    close();
    return {store_errc::unavailable, std::move(msg)};
  }
  // libpq prints notices and warnings ("relation already exists, skipping",
  // "terminating connection") to stderr by default; a library must not.
  PQsetNoticeProcessor(
    conn_, [](void*, const char*) {}, nullptr);
  return {};
}

status pg_connection::check(pg_result* res) const {
  auto rc = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (rc == PGRES_COMMAND_OK || rc == PGRES_TUPLES_OK)
    return {};
  if (PQstatus(conn_) != CONNECTION_OK)
    return {store_errc::unavailable, "lost the connection to PostgreSQL: "
                                       + trimmed(PQerrorMessage(conn_))};
  auto sqlstate
    = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  auto msg = res != nullptr ? trimmed(PQresultErrorMessage(res))
                            : trimmed(PQerrorMessage(conn_));
  return {classify(sqlstate), "PostgreSQL: " + msg};
}

result<pg_result_ptr>
pg_connection::exec(const char* sql, std::initializer_list<pg_param> params,
                    bool binary_results) {
  if (conn_ == nullptr)
    return status{store_errc::unavailable, "not connected to PostgreSQL"};
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  types.reserve(params.size());
  values.reserve(params.size());
  lengths.reserve(params.size());
  formats.reserve(params.size());
  std::vector<std::string> text_copies; // text params must be NUL-terminated
  text_copies.reserve(params.size());
  for (const auto& p : params) {
    types.push_back(p.binary ? bytea_oid : text_oid);
    if (p.binary) {
      values.push_back(p.data.data());
    } else {
      text_copies.emplace_back(p.data);
      values.push_back(text_copies.back().c_str());
    }
    lengths.push_back(static_cast<int>(p.data.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  pg_result_ptr res{PQexecParams(conn_, sql, static_cast<int>(params.size()),
                                 types.data(), values.data(), lengths.data(),
                                 formats.data(), binary_results ? 1 : 0)};
  if (auto st = check(res.get()); !st.ok())
    return st;
  return res;
}

status pg_connection::run(const char* sql,
                          std::initializer_list<pg_param> params) {
  auto res = exec(sql, params);
  return res.ok() ? status{} : res.error();
}

status pg_connection::run_script(const char* sql) {
  if (conn_ == nullptr)
    return {store_errc::unavailable, "not connected to PostgreSQL"};
  // PQexec returns the last statement's result, or the first failing one's.
  pg_result_ptr res{PQexec(conn_, sql)};
  return check(res.get());
}

} // namespace cachebus::stores
