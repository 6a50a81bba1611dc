#include "cachebus/stores/sqlite_store.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/stat.h>

#include <sqlite3.h>

namespace cachebus::stores {

namespace {

// Versions come from one counter in cachebus_meta, bumped inside each
// transaction, so they are store-wide and roll back with a failed batch.
constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS cachebus_records (
  resource TEXT NOT NULL,
  id       TEXT NOT NULL,
  version  INTEGER NOT NULL,
  PRIMARY KEY (resource, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cachebus_fields (
  resource TEXT NOT NULL,
  id       TEXT NOT NULL,
  field    TEXT NOT NULL,
  value    BLOB NOT NULL,
  PRIMARY KEY (resource, id, field),
  FOREIGN KEY (resource, id) REFERENCES cachebus_records (resource, id)
    ON DELETE CASCADE ON UPDATE CASCADE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cachebus_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO cachebus_meta (key, value) VALUES ('last_version', 0);
)sql";

constexpr const char* load_sql
  = "SELECT r.version, f.field, f.value FROM cachebus_records AS r "
    "LEFT JOIN cachebus_fields AS f ON f.resource = r.resource AND f.id = "
    "r.id "
    "WHERE r.resource = ?1 AND r.id = ?2";

// The counter is read once per batch and written back once at its end: the
// batch runs inside an IMMEDIATE transaction, so no other writer can move it
// in between, and a rollback restores it like any other row. Bumping it with
// an UPDATE ... RETURNING per write cost about as much as the writes
// themselves.
constexpr const char* read_version_sql
  = "SELECT value FROM cachebus_meta WHERE key = 'last_version'";

constexpr const char* write_version_sql
  = "UPDATE cachebus_meta SET value = ?1 WHERE key = 'last_version'";

// Rows per execution of the multi-row upserts, largest first; a batch is cut
// greedily into these. Each execution has a fixed cost (step, opening the
// table cursors, a statement journal, halting, reset) that one row per
// statement pays in full: for a 10,000-row batch 64 rows per execution cut a
// row's cost by about a third; larger chunks gained nothing measurable. The
// middle size keeps batches of tens of rows off the one-row statement.
constexpr std::array<size_t, 3> chunk_sizes{64, 8, 1};
constexpr size_t max_chunk = chunk_sizes[0];

// A chunk of field rows also ends once its values reach this size: one
// execution's statement journal (in memory, see temp_store below) holds the
// pages it rewrites, so large values go in small chunks and keep it near
// this size instead of 64 times max_value_size.
constexpr size_t max_chunk_bytes = size_t{64} << 10;

// The index into chunk_sizes of the largest chunk of at most `rows` rows
// (rows >= 1).
size_t chunk_for(size_t rows) {
  size_t i = 0;
  while (chunk_sizes[i] > rows)
    ++i;
  return i;
}

// "INSERT INTO <into> VALUES (?,...),... <tail>" with `rows` rows of `cols`
// parameters each.
std::string multi_row_sql(std::string_view into, size_t cols, size_t rows,
                          std::string_view tail) {
  std::string row = "(?";
  for (size_t i = 1; i < cols; ++i)
    row += ", ?";
  row += ')';
  std::string sql = "INSERT INTO ";
  sql += into;
  sql += " VALUES ";
  for (size_t i = 0; i < rows; ++i) {
    if (i > 0)
      sql += ", ";
    sql += row;
  }
  sql += ' ';
  sql += tail;
  return sql;
}

// Within one statement each row's upsert sees the rows before it, so a
// record written twice in a chunk ends with the later version and values.
std::string upsert_record_sql(size_t rows) {
  return multi_row_sql("cachebus_records (resource, id, version)", 3, rows,
                       "ON CONFLICT (resource, id) DO UPDATE SET version = "
                       "excluded.version");
}

std::string upsert_field_sql(size_t rows) {
  return multi_row_sql("cachebus_fields (resource, id, field, value)", 4, rows,
                       "ON CONFLICT (resource, id, field) DO UPDATE SET "
                       "value = excluded.value");
}

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

struct stmt_finalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};

using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

// Maps an SQLite result code to a status. A lock held too long by another
// connection is an outage of sorts (retry later), everything else is the
// store failing the operation.
status error(sqlite3* db, int rc, std::string_view what) {
  std::string msg{what};
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xFF) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return {store_errc::unavailable, std::move(msg)};
  default:
    return {store_errc::io_error, std::move(msg)};
  }
}

// Resets a statement when a scope ends, so it releases its read snapshot and
// can be bound again.
class stmt_use {
 public:
  explicit stmt_use(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~stmt_use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  stmt_use(const stmt_use&) = delete;
  stmt_use& operator=(const stmt_use&) = delete;

  sqlite3_stmt* get() const noexcept { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

int bind_text(sqlite3_stmt* stmt, int index, std::string_view str) {
  return sqlite3_bind_text64(stmt, index, str.data(), str.size(), SQLITE_STATIC,
                             SQLITE_UTF8);
}

int bind_blob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  if (bytes.empty())
    return sqlite3_bind_zeroblob(stmt, index, 0); // never NULL
  return sqlite3_bind_blob64(stmt, index, bytes.data(), bytes.size(),
                             SQLITE_STATIC);
}

std::string column_string(sqlite3_stmt* stmt, int column) {
  auto data = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  auto size = sqlite3_column_bytes(stmt, column);
  return data != nullptr ? std::string(data, static_cast<size_t>(size))
                         : std::string{};
}

const char* pragma_value(sqlite_options::sync_mode mode) {
  switch (mode) {
  case sqlite_options::sync_mode::off:
    return "PRAGMA synchronous = OFF";
  case sqlite_options::sync_mode::full:
    return "PRAGMA synchronous = FULL";
  default:
    return "PRAGMA synchronous = NORMAL";
  }
}

// One field row of a batch, pointing into the batch.
struct field_row {
  const record_write* write;
  const std::string* field;
  const std::string* value;
};

} // namespace

struct sqlite_store::impl {
  std::string path;
  // The file opened at start (st_dev, st_ino); checked is false for a
  // database without a file of its own (":memory:", "").
  bool checked = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::mutex mtx;
  db_ptr db;
  stmt_ptr load;
  stmt_ptr read_version;
  stmt_ptr write_version;
  // [i] upserts chunk_sizes[i] rows.
  std::array<stmt_ptr, chunk_sizes.size()> upsert_records;
  std::array<stmt_ptr, chunk_sizes.size()> upsert_fields;

  // unavailable if the path no longer names the file opened at start:
  // writes would go into an unlinked (or replaced) file and vanish with it.
  status check_file() const {
    if (!checked)
      return {};
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
      return {store_errc::unavailable,
              "the SQLite file " + path + " was removed while the store had it "
                + "open (" + std::strerror(errno) + "): writes are refused, "
                + "they would be lost with the unlinked file; restore the "
                + "file or restart to create a new one"};
    if (st.st_dev != dev || st.st_ino != ino)
      return {store_errc::unavailable,
              "the SQLite file " + path + " was replaced by another file "
                + "while the store had it open: writes are refused, they "
                + "would go to the old, unlinked file; restart to open the "
                + "new one"};
    return {};
  }

  status exec(const char* sql, std::string_view what) {
    if (auto rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr);
        rc != SQLITE_OK)
      return error(db.get(), rc, what);
    return {};
  }

  status prepare(stmt_ptr& out, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (auto rc = sqlite3_prepare_v3(db.get(), sql, -1,
                                     SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        rc != SQLITE_OK)
      return error(db.get(), rc, "prepare");
    out.reset(stmt);
    return {};
  }

  // Upserts the record rows of batch[first, first + rows) with one execution
  // (rows in chunk_sizes); write k gets version first_version + k.
  status write_records(const std::vector<record_write>& batch, size_t first,
                       size_t rows, uint64_t first_version) {
    stmt_use use{upsert_records[chunk_for(rows)].get()};
    auto* stmt = use.get();
    for (size_t k = 0; k < rows; ++k) {
      const auto& w = batch[first + k];
      auto col = static_cast<int>(3 * k);
      bind_text(stmt, col + 1, w.resource);
      bind_text(stmt, col + 2, w.id);
      sqlite3_bind_int64(stmt, col + 3,
                         static_cast<sqlite3_int64>(first_version + k));
    }
    if (auto rc = sqlite3_step(stmt); rc != SQLITE_DONE)
      return error(db.get(), rc, "write record");
    return {};
  }

  // Upserts `rows` field rows with one execution (rows in chunk_sizes).
  status write_fields(const field_row* row, size_t rows) {
    stmt_use use{upsert_fields[chunk_for(rows)].get()};
    auto* stmt = use.get();
    for (size_t k = 0; k < rows; ++k, ++row) {
      auto col = static_cast<int>(4 * k);
      bind_text(stmt, col + 1, row->write->resource);
      bind_text(stmt, col + 2, row->write->id);
      bind_text(stmt, col + 3, *row->field);
      if (auto rc = bind_blob(stmt, col + 4, *row->value); rc != SQLITE_OK)
        return error(db.get(), rc, "bind value");
    }
    if (auto rc = sqlite3_step(stmt); rc != SQLITE_DONE)
      return error(db.get(), rc, "write field");
    return {};
  }

  // Runs the body of a batch; the caller owns the transaction. Write i gets
  // version last + 1 + i. All record rows go first, then all field rows (a
  // field row needs its record row: foreign key), each pass in batch order;
  // the end state is the one of applying the writes one by one, since later
  // writes to a record still come later within each pass.
  status apply_writes(const std::vector<record_write>& batch,
                      std::vector<uint64_t>& versions) {
    auto* dbp = db.get();
    uint64_t last = 0;
    {
      stmt_use use{read_version.get()};
      if (auto rc = sqlite3_step(use.get()); rc != SQLITE_ROW)
        return error(dbp, rc, "next version");
      last = static_cast<uint64_t>(sqlite3_column_int64(use.get(), 0));
    }
    auto n = batch.size();
    for (size_t i = 0; i < n; ++i)
      versions.push_back(last + 1 + i);
    for (size_t i = 0; i < n;) {
      auto rows = chunk_sizes[chunk_for(n - i)];
      if (auto st = write_records(batch, i, rows, last + 1 + i); !st.ok())
        return st;
      i += rows;
    }
    // Field rows gather until the largest chunk is full or their values
    // reach max_chunk_bytes; then they go in as few chunks as fit.
    std::array<field_row, max_chunk> pending;
    size_t count = 0;
    size_t bytes = 0;
    auto flush = [&]() -> status {
      for (size_t k = 0; k < count;) {
        auto rows = chunk_sizes[chunk_for(count - k)];
        if (auto st = write_fields(&pending[k], rows); !st.ok())
          return st;
        k += rows;
      }
      count = 0;
      bytes = 0;
      return {};
    };
    for (const auto& w : batch)
      for (const auto& [field, value] : w.fields) {
        pending[count++] = {&w, &field, &value};
        bytes += value.size();
        if (count == max_chunk || bytes >= max_chunk_bytes)
          if (auto st = flush(); !st.ok())
            return st;
      }
    if (auto st = flush(); !st.ok())
      return st;
    {
      stmt_use use{write_version.get()};
      sqlite3_bind_int64(use.get(), 1, static_cast<sqlite3_int64>(last + n));
      if (auto rc = sqlite3_step(use.get()); rc != SQLITE_DONE)
        return error(dbp, rc, "next version");
    }
    return {};
  }
};

result<std::unique_ptr<sqlite_store>>
sqlite_store::open(const std::string& path, sqlite_options options) {
  auto ptr = std::make_unique<impl>();
  ptr->path = path;
  sqlite3* raw = nullptr;
  auto flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  auto rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  ptr->db.reset(raw); // even on error: the handle must be closed
  if (rc != SQLITE_OK)
    return error(raw, rc, "open " + path);
  sqlite3_extended_result_codes(raw, 1);
  auto timeout_ms = options.busy_timeout.count();
  sqlite3_busy_timeout(raw, timeout_ms > 0 ? static_cast<int>(timeout_ms) : 0);
  // journal_mode=WAL is persistent in the file; the other pragmas are per
  // connection. The first statement is also where a non-database file fails.
  // temp_store=MEMORY keeps the statement journals of the multi-row upserts
  // (kept only to undo one statement, never needed for recovery) in memory;
  // by default one spills to a temporary file beyond 64 KiB, which cost a
  // tenth of a large batch. The store makes no other temporary data.
  for (auto sql :
       {"PRAGMA journal_mode = WAL", pragma_value(options.synchronous),
        "PRAGMA foreign_keys = ON", "PRAGMA temp_store = MEMORY"})
    if (auto st = ptr->exec(sql, "open " + path); !st.ok())
      return st;
  if (auto st = ptr->exec("BEGIN IMMEDIATE", "create tables"); !st.ok())
    return st;
  if (auto st = ptr->exec(schema_sql, "create tables"); !st.ok()) {
    sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  if (auto st = ptr->exec("COMMIT", "create tables"); !st.ok()) {
    sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  // The file exists now (SQLite creates it on first use): remember it.
  if (struct stat st; !path.empty() && path != ":memory:"
                      && path.rfind("file:", 0) != 0
                      && ::stat(path.c_str(), &st) == 0) {
    ptr->checked = true;
    ptr->dev = st.st_dev;
    ptr->ino = st.st_ino;
  }
  for (auto [stmt, sql] : {std::pair{&ptr->load, load_sql},
                           std::pair{&ptr->read_version, read_version_sql},
                           std::pair{&ptr->write_version, write_version_sql}})
    if (auto st = ptr->prepare(*stmt, sql); !st.ok())
      return st;
  for (size_t i = 0; i < chunk_sizes.size(); ++i) {
    auto records = upsert_record_sql(chunk_sizes[i]);
    auto fields = upsert_field_sql(chunk_sizes[i]);
    if (auto st = ptr->prepare(ptr->upsert_records[i], records.c_str());
        !st.ok())
      return st;
    if (auto st = ptr->prepare(ptr->upsert_fields[i], fields.c_str()); !st.ok())
      return st;
  }
  return std::unique_ptr<sqlite_store>{
    new sqlite_store(std::move(ptr), options.limits)};
}

sqlite_store::sqlite_store(std::unique_ptr<impl> ptr, store_limits limits)
    : record_store(limits), impl_(std::move(ptr)) {}

sqlite_store::~sqlite_store() = default;

const std::string& sqlite_store::path() const noexcept {
  return impl_->path;
}

result<record> sqlite_store::do_load(std::string_view resource,
                                     std::string_view id) {
  std::lock_guard guard{impl_->mtx};
  auto* db = impl_->db.get();
  stmt_use use{impl_->load.get()};
  bind_text(use.get(), 1, resource);
  bind_text(use.get(), 2, id);
  record rec;
  // One statement, one snapshot: the version and the fields agree.
  for (;;) {
    auto rc = sqlite3_step(use.get());
    if (rc == SQLITE_DONE)
      break;
    if (rc != SQLITE_ROW)
      return error(db, rc, "load");
    rec.version = static_cast<uint64_t>(sqlite3_column_int64(use.get(), 0));
    if (sqlite3_column_type(use.get(), 1) != SQLITE_NULL)
      rec.fields.emplace(column_string(use.get(), 1),
                         column_string(use.get(), 2));
  }
  if (rec.version == 0)
    return status{store_errc::not_found,
                  "no record " + std::string{resource} + "/" + std::string{id}};
  rec.resource = resource;
  rec.id = id;
  return rec;
}

result<std::vector<uint64_t>>
sqlite_store::do_apply(const std::vector<record_write>& batch) {
  std::lock_guard guard{impl_->mtx};
  if (auto st = impl_->check_file(); !st.ok())
    return st;
  // IMMEDIATE takes the write lock up front: a deferred transaction that
  // upgrades later could fail with SQLITE_BUSY without waiting.
  if (auto st = impl_->exec("BEGIN IMMEDIATE", "begin"); !st.ok())
    return st;
  std::vector<uint64_t> versions;
  versions.reserve(batch.size());
  auto st = impl_->apply_writes(batch, versions);
  if (st.ok())
    st = impl_->exec("COMMIT", "commit");
  if (!st.ok()) {
    // Safe to call even if SQLite already rolled back on its own.
    sqlite3_exec(impl_->db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  return versions;
}

} // namespace cachebus::stores
