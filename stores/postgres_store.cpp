#include "cachebus/stores/postgres_store.hpp"

#include <mutex>

#include <libpq-fe.h>

#include "cachebus/stores/pg_connection.hpp"

namespace cachebus::stores {

namespace {

// Schema changes take an advisory lock ("cachebus" in ASCII), because
// CREATE ... IF NOT EXISTS races between concurrent processes.
//
// The tables, and the trigger that bumps a record's version when someone
// else changes its fields. Our own writes set cachebus.applying for their
// transaction and bump the version themselves, once per write.
constexpr const char* schema_sql = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(x'6361636865627573'::bigint);
CREATE SEQUENCE IF NOT EXISTS cachebus_version_seq;
CREATE TABLE IF NOT EXISTS cachebus_records (
  resource text   NOT NULL,
  id       text   NOT NULL,
  version  bigint NOT NULL DEFAULT nextval('cachebus_version_seq'),
  PRIMARY KEY (resource, id)
);
CREATE TABLE IF NOT EXISTS cachebus_fields (
  resource text  NOT NULL,
  id       text  NOT NULL,
  field    text  NOT NULL,
  value    bytea NOT NULL,
  PRIMARY KEY (resource, id, field),
  FOREIGN KEY (resource, id) REFERENCES cachebus_records (resource, id)
    ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE OR REPLACE FUNCTION cachebus_field_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF coalesce(current_setting('cachebus.applying', true), '') = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    UPDATE cachebus_records SET version = nextval('cachebus_version_seq')
     WHERE resource = NEW.resource AND id = NEW.id;
    RETURN NULL;
  END IF;
  UPDATE cachebus_records SET version = nextval('cachebus_version_seq')
   WHERE resource = OLD.resource AND id = OLD.id;
  IF TG_OP = 'UPDATE' THEN
    IF (NEW.resource, NEW.id) IS DISTINCT FROM (OLD.resource, OLD.id) THEN
      UPDATE cachebus_records SET version = nextval('cachebus_version_seq')
       WHERE resource = NEW.resource AND id = NEW.id;
    END IF;
  END IF;
  RETURN NULL;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                  WHERE tgname = 'cachebus_field_changed'
                    AND tgrelid = 'cachebus_fields'::regclass) THEN
    CREATE TRIGGER cachebus_field_changed
      AFTER INSERT OR UPDATE OR DELETE ON cachebus_fields
      FOR EACH ROW EXECUTE FUNCTION cachebus_field_changed();
  END IF;
END $$;
COMMIT;
)sql";

// The change feed is an outbox: the trigger appends every change to
// cachebus_changes in the writer's own transaction (so a change exists if and
// only if its write committed), stamped with the writer's transaction id, and
// sends an empty NOTIFY as a wake-up. change_listener reads the rows by
// snapshot (change_listener.hpp), keeps its position in
// cachebus_change_cursors, and trims what every reader has read or what is
// older than the retention, recording in cachebus_changes_trimmed the
// newest transaction whose rows it deleted.
//
// A deleted record is announced with a fresh version from the sequence: it
// is newer than anything the record had, and a re-created record gets a
// newer one still.
constexpr const char* change_feed_sql = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(x'6361636865627573'::bigint);
CREATE TABLE IF NOT EXISTS cachebus_changes (
  seq      bigserial   PRIMARY KEY,
  xid      xid8        NOT NULL DEFAULT pg_current_xact_id(),
  op       text        NOT NULL,
  resource text        NOT NULL,
  id       text        NOT NULL,
  version  bigint      NOT NULL,
  at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS cachebus_changes_xid ON cachebus_changes (xid);
CREATE INDEX IF NOT EXISTS cachebus_changes_at ON cachebus_changes (at);
CREATE TABLE IF NOT EXISTS cachebus_change_cursors (
  consumer text        PRIMARY KEY,
  snap     text        NOT NULL,
  low_xid  xid8        NOT NULL,
  updated  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS cachebus_changes_trimmed (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  through xid8    NOT NULL
);
INSERT INTO cachebus_changes_trimmed (through) VALUES ('0')
  ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION cachebus_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  key_gone boolean;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    IF TG_OP = 'DELETE' THEN
      key_gone := true;
    ELSE
      key_gone := (NEW.resource, NEW.id) IS DISTINCT FROM (OLD.resource, OLD.id);
    END IF;
    IF key_gone THEN
      INSERT INTO cachebus_changes (op, resource, id, version)
        VALUES ('delete', OLD.resource, OLD.id,
                nextval('cachebus_version_seq'));
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO cachebus_changes (op, resource, id, version)
      VALUES ('write', NEW.resource, NEW.id, NEW.version);
  END IF;
  PERFORM pg_notify('cachebus', '');
  RETURN NULL;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                  WHERE tgname = 'cachebus_notify'
                    AND tgrelid = 'cachebus_records'::regclass) THEN
    CREATE TRIGGER cachebus_notify
      AFTER INSERT OR UPDATE OR DELETE ON cachebus_records
      FOR EACH ROW EXECUTE FUNCTION cachebus_notify();
  END IF;
END $$;
COMMIT;
)sql";

constexpr const char* begin_sql = "BEGIN; SET LOCAL cachebus.applying = 'on'";

constexpr const char* load_sql
  = "SELECT r.version, f.field, f.value FROM cachebus_records AS r "
    "LEFT JOIN cachebus_fields AS f ON f.resource = r.resource AND f.id = "
    "r.id "
    "WHERE r.resource = $1 AND r.id = $2";

// A new record takes its version from the column default; an existing one
// draws it after its row lock is taken, so concurrent writers of one record
// get increasing versions in commit order.
constexpr const char* upsert_record_sql
  = "INSERT INTO cachebus_records (resource, id) VALUES ($1, $2) "
    "ON CONFLICT (resource, id) "
    "DO UPDATE SET version = nextval('cachebus_version_seq') "
    "RETURNING version";

constexpr const char* upsert_field_sql
  = "INSERT INTO cachebus_fields (resource, id, field, value) "
    "VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (resource, id, field) DO UPDATE SET value = excluded.value";

uint64_t decode_int8(const char* bytes) {
  uint64_t out = 0;
  for (int i = 0; i < 8; ++i)
    out = (out << 8) | static_cast<unsigned char>(bytes[i]);
  return out;
}

std::string column_string(PGresult* res, int row, int column) {
  return std::string(PQgetvalue(res, row, column),
                     static_cast<size_t>(PQgetlength(res, row, column)));
}

} // namespace

struct postgres_store::impl {
  std::string conninfo;
  std::chrono::seconds connect_timeout;
  std::mutex mtx;
  pg_connection conn;

  // Connects if there is no usable connection. Sets `fresh` if it did: a
  // failure on a fresh connection is real, on an old one it may only mean
  // the server restarted since the last call.
  status ensure_connected(bool& fresh) {
    fresh = !conn.connected();
    if (fresh)
      return conn.connect(conninfo, connect_timeout);
    return {};
  }

  // True if `st` says the connection broke under an old connection, so that
  // one more attempt on a new connection is safe and worthwhile.
  bool stale(const status& st, bool fresh) const {
    return !fresh && st.code() == store_errc::unavailable && !conn.connected();
  }

  status apply_writes(const std::vector<record_write>& batch,
                      std::vector<uint64_t>& versions) {
    for (const auto& w : batch) {
      auto res = conn.exec(upsert_record_sql, {{w.resource}, {w.id}}, true);
      if (!res.ok())
        return res.error();
      auto* pgres = res->get();
      if (PQntuples(pgres) != 1 || PQgetlength(pgres, 0, 0) != 8)
        return {store_errc::io_error, "unexpected reply to a record upsert"};
      versions.push_back(decode_int8(PQgetvalue(pgres, 0, 0)));
      for (const auto& [field, value] : w.fields)
        if (auto st = conn.run(upsert_field_sql,
                               {{w.resource}, {w.id}, {field}, {value, true}});
            !st.ok())
          return st;
    }
    return {};
  }
};

result<std::unique_ptr<postgres_store>>
postgres_store::open(std::string conninfo, postgres_options options) {
  auto ptr = std::make_unique<impl>();
  ptr->conninfo = std::move(conninfo);
  ptr->connect_timeout = options.connect_timeout;
  if (auto st = ptr->conn.connect(ptr->conninfo, ptr->connect_timeout);
      !st.ok())
    return st;
  if (auto st = ptr->conn.run_script(schema_sql); !st.ok()) {
    if (ptr->conn.connected())
      (void)ptr->conn.run_script("ROLLBACK");
    return status{st.code(), "creating the tables: " + st.message()};
  }
  return std::unique_ptr<postgres_store>{
    new postgres_store(std::move(ptr), options.limits)};
}

postgres_store::postgres_store(std::unique_ptr<impl> ptr, store_limits limits)
    : record_store(limits), impl_(std::move(ptr)) {}

postgres_store::~postgres_store() = default;

status postgres_store::install_change_feed() {
  std::lock_guard guard{impl_->mtx};
  bool fresh = false;
  if (auto st = impl_->ensure_connected(fresh); !st.ok())
    return st;
  auto st = impl_->conn.run_script(change_feed_sql);
  if (!st.ok() && impl_->conn.connected())
    (void)impl_->conn.run_script("ROLLBACK");
  return st;
}

result<record> postgres_store::do_load(std::string_view resource,
                                       std::string_view id) {
  std::lock_guard guard{impl_->mtx};
  for (int attempt = 0;; ++attempt) {
    bool fresh = false;
    if (auto st = impl_->ensure_connected(fresh); !st.ok())
      return st;
    auto res = impl_->conn.exec(load_sql, {{resource}, {id}}, true);
    if (!res.ok()) {
      // A load changes nothing, so one more try on a new connection is safe.
      if (attempt == 0 && impl_->stale(res.error(), fresh))
        continue;
      return res.error();
    }
    auto* pgres = res->get();
    auto rows = PQntuples(pgres);
    if (rows == 0)
      return status{store_errc::not_found, "no record " + std::string{resource}
                                             + "/" + std::string{id}};
    record rec;
    rec.resource = resource;
    rec.id = id;
    for (int row = 0; row < rows; ++row) {
      if (PQgetlength(pgres, row, 0) != 8)
        return status{store_errc::io_error, "unexpected version format"};
      rec.version = decode_int8(PQgetvalue(pgres, row, 0));
      if (!PQgetisnull(pgres, row, 1))
        rec.fields.emplace(column_string(pgres, row, 1),
                           column_string(pgres, row, 2));
    }
    return rec;
  }
}

result<std::vector<uint64_t>>
postgres_store::do_apply(const std::vector<record_write>& batch) {
  std::lock_guard guard{impl_->mtx};
  auto& conn = impl_->conn;
  for (int attempt = 0;; ++attempt) {
    bool fresh = false;
    if (auto st = impl_->ensure_connected(fresh); !st.ok())
      return st;
    if (auto st = conn.run_script(begin_sql); !st.ok()) {
      // Nothing was written yet: retrying on a new connection is safe.
      if (attempt == 0 && impl_->stale(st, fresh))
        continue;
      if (conn.connected())
        (void)conn.run_script("ROLLBACK");
      return st;
    }
    std::vector<uint64_t> versions;
    versions.reserve(batch.size());
    if (auto st = impl_->apply_writes(batch, versions); !st.ok()) {
      if (conn.connected())
        (void)conn.run_script("ROLLBACK");
      return st;
    }
    if (auto st = conn.run_script("COMMIT"); !st.ok()) {
      if (conn.connected()) {
        (void)conn.run_script("ROLLBACK");
        return st;
      }
      return status{store_errc::unavailable,
                    "the connection broke during COMMIT; the batch may or "
                    "may not have been applied: "
                      + st.message()};
    }
    return versions;
  }
}

} // namespace cachebus::stores
