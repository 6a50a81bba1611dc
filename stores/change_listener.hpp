// Reads the change feed of a PostgreSQL record store (see
// postgres_store::install_change_feed) on its own connection, and loses
// nothing across reconnects, server restarts and its own restarts. Not
// thread-safe: one thread owns a listener (the actor layer wraps it).
//
// The feed is an outbox table: the store's trigger appends every change, by
// anyone (this application, another service, psql), to cachebus_changes in
// the writer's transaction, with the writer's transaction id (xid8), and
// sends an empty NOTIFY on the channel "cachebus" as a wake-up.
//
// Reading by snapshot. Sequence numbers are drawn when rows are written, not
// when they commit, so "everything above the last sequence read" would skip a
// row whose transaction commits late. A listener instead remembers the
// snapshot of its last complete read, (xmin, xmax, transactions in progress):
// it has read every row visible in it. The rows it has not read are exactly
// those written by transactions in progress then or started since
// (xid >= xmax or xid in the in-progress list), and each read takes them all
// from one REPEATABLE READ snapshot, which becomes the new position. Nothing
// is skipped and nothing is read twice, except after a reconnect or restart
// (the rows of a read whose position was not yet saved come again: the
// cache's versioned invalidation makes that harmless).
//
// Positions. A listener keeps its position under its consumer name in
// cachebus_change_cursors (after the caller applied what poll returned, at
// most every second, and on checkpoint()); one opened again under the same
// name resumes from it and delivers the changes made while none ran. A name
// never seen starts from now (and writes its position before it reads, so
// that no other listener's trim can take rows from under it).
//
// Retention. Every listener trims, every min(10 s, retention / 2), under an
// advisory lock: rows every live position has read, rows older than the
// retention whoever has not read them, and positions not saved for longer
// than the retention (a node gone for good). So a dead consumer holds rows
// for the retention at most. The newest transaction whose rows were deleted
// is recorded (cachebus_changes_trimmed); a listener whose position is older
// than that may have missed changes: poll() says so (change_batch::lost),
// and the caller must treat everything cached from this database as stale.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cachebus/stores/change.hpp"
#include "cachebus/stores/pg_connection.hpp"
#include "cachebus/stores/result.hpp"

namespace cachebus::stores {

struct change_feed_options {
  /// The name this listener's position is kept under (1 to 200 bytes).
  std::string consumer;
  /// Bound on establishing a connection.
  std::chrono::seconds connect_timeout{5};
  /// How long unread rows and unsaved positions are kept (at least 1 s).
  std::chrono::milliseconds retention{std::chrono::minutes{15}};
  /// Most changes one poll() returns (a larger read spans several polls).
  size_t max_batch = 1000;
};

/// What one poll() returns.
struct change_batch {
  /// New changes, in the order they were written.
  std::vector<change> changes;
  /// Changes this listener had not read were trimmed (it was away for longer
  /// than the retention): some are missing for good.
  bool lost = false;
};

/// A PostgreSQL snapshot (pg_snapshot's text form "xmin:xmax:xip,...").
struct pg_snapshot_pos {
  uint64_t xmin = 0;
  uint64_t xmax = 0;
  std::vector<uint64_t> in_progress;

  /// Parses the text form; nullopt if malformed.
  static std::optional<pg_snapshot_pos> parse(std::string_view text);
  std::string to_string() const;
};

class change_listener {
 public:
  /// Connects to `conninfo`, listens, and loads the position saved under
  /// `opts.consumer` (or starts from now). Fails with unavailable if the
  /// server cannot be reached, invalid_argument if `conninfo` is malformed
  /// or the options are invalid, io_error if the feed's tables are missing.
  static result<std::unique_ptr<change_listener>>
  open(std::string conninfo, change_feed_options opts);

  ~change_listener();

  change_listener(const change_listener&) = delete;
  change_listener& operator=(const change_listener&) = delete;

  /// Returns the changes written since the last poll, waiting up to
  /// `timeout` for a wake-up if there are none (reads at least once a
  /// second without one). Calling poll again acknowledges what the previous
  /// call returned: its position may then be saved. Fails with unavailable
  /// if the connection is lost; the next call reconnects and goes on from
  /// the last complete read (failing at once, without waiting, if the server
  /// is still unreachable: back off between calls).
  result<change_batch> poll(std::chrono::milliseconds timeout);

  /// Saves the position of everything poll() returned so far (the caller
  /// applied it). poll() does this by itself at most every second.
  status checkpoint();

  /// Whether open() found a saved position (changes made while no listener
  /// of this name ran are delivered).
  bool resumed() const noexcept { return resumed_; }

  /// Rows this listener deleted by trimming, in total.
  uint64_t trimmed() const noexcept { return trimmed_; }

 private:
  using clock = std::chrono::steady_clock;

  change_listener(std::string conninfo, change_feed_options opts);

  status connect();
  status load_position();
  status start_fresh();
  status save_position(const pg_snapshot_pos& pos);
  status maybe_trim(clock::time_point now);
  result<change_batch> read_page();
  bool take_notifications();
  status wait_for_wakeup(clock::time_point deadline);
  // Closes the connection and abandons a read in progress.
  void lost_connection();

  std::string conninfo_;
  change_feed_options opts_;
  pg_connection conn_;
  // The snapshot of the last complete read, and of the read in progress.
  std::optional<pg_snapshot_pos> position_;
  std::optional<pg_snapshot_pos> reading_;
  uint64_t after_seq_ = 0; // paging within the read in progress
  // The position the caller has applied.
  std::optional<pg_snapshot_pos> acked_;
  bool wakeup_ = true;
  bool resumed_ = false;
  clock::time_point next_read_{};
  clock::time_point next_save_{};
  clock::time_point next_trim_{};
  uint64_t trimmed_ = 0;
};

} // namespace cachebus::stores
