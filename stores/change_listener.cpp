#include "cachebus/stores/change_listener.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <libpq-fe.h>
#include <poll.h>

#include "cachebus/stores/postgres_store.hpp"

namespace cachebus::stores {

namespace {

using namespace std::chrono_literals;

// Serializes trims against listeners starting from now (see start_fresh):
// "cbfeed" in ASCII.
constexpr const char* lock_sql
  = "SELECT pg_advisory_xact_lock(x'636266656564'::bigint)";

constexpr const char* begin_read_sql
  = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

constexpr const char* snapshot_sql
  = "SELECT pg_current_snapshot()::text, "
    "(SELECT through FROM cachebus_changes_trimmed)::text";

// The rows not visible in the position's snapshot, in the order written.
constexpr const char* page_sql
  = "SELECT seq, op, resource, id, version, "
    "(extract(epoch FROM at) * 1000000)::bigint FROM cachebus_changes "
    "WHERE (xid >= $1::xid8 OR xid = ANY($2::xid8[])) AND seq > $3::bigint "
    "ORDER BY seq LIMIT $4::int";

constexpr const char* load_position_sql
  = "SELECT snap FROM cachebus_change_cursors WHERE consumer = $1";

constexpr const char* save_position_sql
  = "INSERT INTO cachebus_change_cursors (consumer, snap, low_xid, updated) "
    "VALUES ($1, $2, $3::xid8, now()) ON CONFLICT (consumer) DO UPDATE "
    "SET snap = excluded.snap, low_xid = excluded.low_xid, updated = now()";

// Deletes what every live position has read, what is older than the
// retention ($1 milliseconds), and positions not saved within it; records
// the newest transaction whose rows went. Returns the rows deleted.
constexpr const char* trim_sql = R"sql(
WITH live AS (
  SELECT least(pg_snapshot_xmin(pg_current_snapshot()),
               coalesce(min(low_xid), pg_snapshot_xmin(pg_current_snapshot())))
         AS keep_from
    FROM cachebus_change_cursors
   WHERE updated >= now() - $1::bigint * interval '1 millisecond'),
gone AS (
  DELETE FROM cachebus_change_cursors
   WHERE updated < now() - $1::bigint * interval '1 millisecond'),
trimmed AS (
  DELETE FROM cachebus_changes
   WHERE xid < (SELECT keep_from FROM live)
      OR at < now() - $1::bigint * interval '1 millisecond'
  RETURNING xid)
UPDATE cachebus_changes_trimmed
   SET through = greatest(through, (SELECT max(xid) FROM trimmed))
RETURNING (SELECT count(*) FROM trimmed)
)sql";

constexpr auto idle_read = 1s;

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

std::string text_of(PGresult* res, int row, int column) {
  return std::string(PQgetvalue(res, row, column),
                     static_cast<size_t>(PQgetlength(res, row, column)));
}

status malformed(std::string what) {
  return {store_errc::io_error, "change feed: unexpected " + std::move(what)};
}

} // namespace

// -- pg_snapshot_pos ----------------------------------------------------------

std::optional<pg_snapshot_pos> pg_snapshot_pos::parse(std::string_view text) {
  auto c1 = text.find(':');
  if (c1 == std::string_view::npos)
    return std::nullopt;
  auto c2 = text.find(':', c1 + 1);
  if (c2 == std::string_view::npos)
    return std::nullopt;
  pg_snapshot_pos out;
  if (!parse_number(text.substr(0, c1), out.xmin)
      || !parse_number(text.substr(c1 + 1, c2 - c1 - 1), out.xmax)
      || out.xmin > out.xmax)
    return std::nullopt;
  auto rest = text.substr(c2 + 1);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    uint64_t x = 0;
    if (!parse_number(rest.substr(0, comma), x) || x < out.xmin
        || x >= out.xmax)
      return std::nullopt;
    out.in_progress.push_back(x);
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
    if (rest.empty())
      return std::nullopt;
  }
  return out;
}

std::string pg_snapshot_pos::to_string() const {
  auto out = std::to_string(xmin) + ":" + std::to_string(xmax) + ":";
  for (size_t i = 0; i < in_progress.size(); ++i) {
    if (i > 0)
      out += ',';
    out += std::to_string(in_progress[i]);
  }
  return out;
}

// -- change_listener ----------------------------------------------------------

change_listener::change_listener(std::string conninfo, change_feed_options opts)
    : conninfo_(std::move(conninfo)), opts_(std::move(opts)) {}

change_listener::~change_listener() = default;

result<std::unique_ptr<change_listener>>
change_listener::open(std::string conninfo, change_feed_options opts) {
  if (opts.consumer.empty() || opts.consumer.size() > 200)
    return status{store_errc::invalid_argument,
                  "change feed: the consumer name must have 1 to 200 bytes"};
  if (opts.retention < 1s)
    return status{store_errc::invalid_argument,
                  "change feed: the retention must be at least 1 s"};
  if (opts.max_batch == 0 || opts.max_batch > 1'000'000)
    return status{store_errc::invalid_argument,
                  "change feed: max_batch must be 1 to 1000000"};
  std::unique_ptr<change_listener> ptr{
    new change_listener(std::move(conninfo), std::move(opts))};
  if (auto st = ptr->connect(); !st.ok())
    return st;
  if (auto st = ptr->load_position(); !st.ok())
    return st;
  return ptr;
}

status change_listener::connect() {
  if (auto st = conn_.connect(conninfo_, opts_.connect_timeout); !st.ok())
    return st;
  std::string sql = "LISTEN ";
  sql += postgres_store::channel;
  if (auto st = conn_.run(sql.c_str()); !st.ok()) {
    conn_.close();
    return st;
  }
  // Whatever was written while we were away: read at once.
  wakeup_ = true;
  return {};
}

void change_listener::lost_connection() {
  conn_.close();
  reading_.reset();
  after_seq_ = 0;
}

status change_listener::load_position() {
  auto res = conn_.exec(load_position_sql, {{opts_.consumer}});
  if (!res.ok())
    return res.error();
  auto* pgres = res->get();
  if (PQntuples(pgres) == 0)
    return start_fresh();
  auto pos = pg_snapshot_pos::parse(text_of(pgres, 0, 0));
  if (!pos)
    return malformed("saved position of consumer " + opts_.consumer);
  position_ = acked_ = *pos;
  resumed_ = true;
  return {};
}

status change_listener::start_fresh() {
  // Under the trim lock: a trim either ran before our snapshot (it deleted
  // nothing we will need) or sees our position.
  auto fail = [this](status st) {
    if (conn_.connected())
      (void)conn_.run("ROLLBACK");
    return st;
  };
  if (auto st = conn_.run("BEGIN"); !st.ok())
    return st;
  if (auto st = conn_.run(lock_sql); !st.ok())
    return fail(st);
  auto res = conn_.exec("SELECT pg_current_snapshot()::text");
  if (!res.ok())
    return fail(res.error());
  auto pos = pg_snapshot_pos::parse(text_of(res->get(), 0, 0));
  if (!pos)
    return fail(malformed("snapshot"));
  if (auto st = save_position(*pos); !st.ok())
    return fail(st);
  if (auto st = conn_.run("COMMIT"); !st.ok())
    return fail(st);
  position_ = acked_ = *pos;
  return {};
}

status change_listener::save_position(const pg_snapshot_pos& pos) {
  auto text = pos.to_string();
  auto xmin = std::to_string(pos.xmin);
  if (auto st
      = conn_.run(save_position_sql, {{opts_.consumer}, {text}, {xmin}});
      !st.ok())
    return st;
  next_save_
    = clock::now() + std::min<clock::duration>(1s, opts_.retention / 4);
  return {};
}

status change_listener::checkpoint() {
  if (!conn_.connected())
    if (auto st = connect(); !st.ok())
      return st;
  // A read in progress: what it returned so far is applied, but its
  // position is only complete with its last page.
  acked_ = position_;
  if (!acked_ || reading_)
    return {};
  auto st = save_position(*acked_);
  if (st.code() == store_errc::unavailable)
    lost_connection();
  return st;
}

status change_listener::maybe_trim(clock::time_point now) {
  if (now < next_trim_)
    return {};
  next_trim_ = now + std::min<clock::duration>(10s, opts_.retention / 2);
  auto fail = [this](status st) {
    if (conn_.connected())
      (void)conn_.run("ROLLBACK");
    return st;
  };
  if (auto st = conn_.run("BEGIN"); !st.ok())
    return st;
  if (auto st = conn_.run(lock_sql); !st.ok())
    return fail(st);
  auto ms = std::to_string(opts_.retention.count());
  auto res = conn_.exec(trim_sql, {{ms}});
  if (!res.ok())
    return fail(res.error());
  uint64_t n = 0;
  if (PQntuples(res->get()) == 1)
    parse_number(text_of(res->get(), 0, 0), n);
  if (auto st = conn_.run("COMMIT"); !st.ok())
    return fail(st);
  trimmed_ += n;
  return {};
}

bool change_listener::take_notifications() {
  bool any = false;
  while (auto* note = PQnotifies(conn_.native())) {
    any = any || postgres_store::channel == note->relname;
    PQfreemem(note);
  }
  if (any)
    wakeup_ = true;
  return any;
}

result<change_batch> change_listener::read_page() {
  change_batch out;
  auto fail = [this](status st) {
    if (conn_.connected())
      (void)conn_.run("ROLLBACK");
    reading_.reset();
    after_seq_ = 0;
    return st;
  };
  if (!reading_) {
    wakeup_ = false;
    if (auto st = conn_.run(begin_read_sql); !st.ok())
      return st;
    auto res = conn_.exec(snapshot_sql);
    if (!res.ok())
      return fail(res.error());
    auto* pgres = res->get();
    auto snap = pg_snapshot_pos::parse(text_of(pgres, 0, 0));
    uint64_t through = 0;
    if (!snap || !parse_number(text_of(pgres, 0, 1), through))
      return fail(malformed("snapshot or trim mark"));
    reading_ = std::move(*snap);
    after_seq_ = 0;
    // Deleted rows all have xids up to `through`; we have read every row
    // whose xid is below our position's xmin.
    out.lost = through >= position_->xmin;
  }
  std::string xip = "{";
  for (size_t i = 0; i < position_->in_progress.size(); ++i) {
    if (i > 0)
      xip += ',';
    xip += std::to_string(position_->in_progress[i]);
  }
  xip += '}';
  auto xmax = std::to_string(position_->xmax);
  auto after = std::to_string(after_seq_);
  auto limit = std::to_string(opts_.max_batch);
  auto res = conn_.exec(page_sql, {{xmax}, {xip}, {after}, {limit}});
  if (!res.ok())
    return fail(res.error());
  auto* pgres = res->get();
  auto rows = static_cast<size_t>(PQntuples(pgres));
  out.changes.reserve(rows);
  for (size_t r = 0; r < rows; ++r) {
    auto row = static_cast<int>(r);
    change ch;
    auto op = text_of(pgres, row, 1);
    if (op == "write")
      ch.kind = change_kind::write;
    else if (op == "delete")
      ch.kind = change_kind::erase;
    else
      return fail(malformed("operation '" + op + "' in cachebus_changes"));
    ch.resource = text_of(pgres, row, 2);
    ch.id = text_of(pgres, row, 3);
    if (!parse_number(text_of(pgres, row, 0), ch.seq)
        || !parse_number(text_of(pgres, row, 4), ch.version)
        || !parse_number(text_of(pgres, row, 5), ch.at_us))
      return fail(malformed("row in cachebus_changes"));
    after_seq_ = ch.seq;
    out.changes.push_back(std::move(ch));
  }
  if (rows < opts_.max_batch) {
    if (auto st = conn_.run("COMMIT"); !st.ok())
      return fail(st);
    position_ = std::move(reading_);
    reading_.reset();
    after_seq_ = 0;
    next_read_ = clock::now() + idle_read;
  }
  take_notifications();
  return out;
}

status change_listener::wait_for_wakeup(clock::time_point deadline) {
  auto* conn = conn_.native();
  for (;;) {
    if (PQconsumeInput(conn) == 0)
      return {store_errc::unavailable, "lost the change feed connection: "
                                         + std::string{PQerrorMessage(conn)}};
    if (take_notifications())
      return {};
    auto left
      = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return {};
    pollfd pfd{PQsocket(conn), POLLIN, 0};
    auto rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno != EINTR)
      return status{store_errc::io_error,
                    std::string{"poll on the change feed socket: "}
                      + std::strerror(errno)};
    // Readable, hung up, or interrupted: PQconsumeInput tells which.
  }
}

result<change_batch> change_listener::poll(std::chrono::milliseconds timeout) {
  if (!conn_.connected())
    if (auto st = connect(); !st.ok())
      return st;
  auto on_error = [this](status st) -> result<change_batch> {
    if (st.code() == store_errc::unavailable || !conn_.connected())
      lost_connection();
    return st;
  };
  // The caller applied what the last call returned.
  if (!reading_)
    acked_ = position_;
  auto now = clock::now();
  // Saved at most every second (also when unchanged: a position not saved
  // within the retention is taken for a consumer gone for good).
  if (!reading_ && acked_ && now >= next_save_)
    if (auto st = save_position(*acked_); !st.ok())
      return on_error(st);
  if (!reading_)
    if (auto st = maybe_trim(now); !st.ok())
      return on_error(st);
  if (!reading_ && !wakeup_ && now < next_read_) {
    auto deadline = std::min(now + timeout, next_read_);
    if (auto st = wait_for_wakeup(deadline); !st.ok())
      return on_error(st);
    if (!wakeup_ && clock::now() < next_read_)
      return change_batch{};
  }
  auto page = read_page();
  if (!page.ok())
    return on_error(page.error());
  return page;
}

} // namespace cachebus::stores
