// The write-back journal: an append-only file of framed records that makes a
// queued write durable before the store has it. Thread-safe (one internal
// mutex; fsync runs outside it, shared by concurrent waiters: group commit).
// Owns its file descriptor, an exclusive lock and, with fsync_policy::batch,
// one syncer thread. Errors are values. A failed fsync poisons the journal
// (the page cache may have dropped data we can't name); a failed append on a
// full disk does not: it is cut off again and the next append retries.
//
// Format: stores/journal_format.hpp. One opener at a time: open() takes an
// flock on `<path>.lock` (holding the opener's pid) and refuses a second
// opener, in this process or another. Replay reads every frame; a torn tail
// (nothing valid after the first bad byte: an unacknowledged append cut off
// by a crash, see journal.cpp) is cut off. Damage before the tail is not a
// crash artefact: replay resynchronises on the next valid frame, keeps every
// valid record, keeps a copy of the file (`<path>.damaged-<unix time>`),
// rewrites the journal without the damage, reports the skipped byte ranges
// and seq ranges (journal_replay) and warns on stderr.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cachebus/stores/journal_format.hpp"
#include "cachebus/stores/record.hpp"
#include "cachebus/stores/result.hpp"
#include "cachebus/stores/status.hpp"

namespace cachebus::stores {

enum class fsync_policy : uint8_t {
  /// Every append is fsynced before its caller is told it is durable;
  /// concurrent callers share one fdatasync (group commit).
  always,
  /// A syncer thread fsyncs at most every `batch_interval`, or as soon as
  /// `batch_records` appends are unsynced. Survives a process crash (appends
  /// are written with write(2) before they return); a power loss can lose
  /// the last interval.
  batch,
  /// Never fsyncs; the OS writes back when it likes. Survives a process
  /// crash, not a power loss.
  never,
};

/// Parses "always", "batch" or "never".
result<fsync_policy> parse_fsync_policy(std::string_view text);

std::string_view to_string(fsync_policy policy);

struct journal_options {
  fsync_policy fsync = fsync_policy::always;
  std::chrono::milliseconds batch_interval{10};
  size_t batch_records = 512;
};

/// One journaled write with its sequence number (strictly increasing).
struct journal_entry {
  uint64_t seq = 0;
  record_write write;
};

/// A stretch of the file without a readable frame, followed by valid ones.
struct journal_damage {
  /// First byte skipped and number of bytes skipped.
  uint64_t offset = 0;
  uint64_t length = 0;
  /// The writes that may have been in it: seqs between the last valid write
  /// before it and the first valid one after it, above the last checkpoint
  /// before it. first_seq > last_seq if there can be none.
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
};

/// What open() found in an existing file.
struct journal_replay {
  /// Writes not covered by the last checkpoint, in seq order.
  std::vector<journal_entry> unflushed;
  /// Valid frames read, and bytes cut off at the end (a torn append).
  uint64_t frames = 0;
  uint64_t discarded_bytes = 0;
  /// Damage before the tail, in file order (empty for a healthy file).
  std::vector<journal_damage> damage;
  /// Bytes in `damage`, and how many seqs its ranges span (writes that
  /// may be lost).
  uint64_t skipped_bytes = 0;
  uint64_t missing_seqs = 0;
  /// Where the damaged file was copied to before it was rewritten.
  std::string damaged_copy;

  /// One line naming the file's damage and the copy; "" if none.
  std::string describe(const std::string& path) const;
};

/// Where an append ended, in bytes ever appended by this object: pass it to
/// wait_durable().
struct journal_ticket {
  uint64_t seq = 0;
  uint64_t end = 0;
};

class journal {
 public:
  /// Opens (creating if needed) the journal at `path`, reads it back into
  /// `replay`, truncates a torn tail and recovers from damage before it (see
  /// above). Fails with io_error, changing nothing, if another opener holds
  /// the journal (the message names its pid), if the file can't be opened,
  /// or if it is not a journal (wrong header and no valid frame).
  static result<std::unique_ptr<journal>> open(const std::string& path,
                                               journal_options options,
                                               journal_replay& replay);

  ~journal();

  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Appends `w` with the next seq (write(2), no fsync). Fails with io_error
  /// if the write fails: on a full disk (ENOSPC, EDQUOT, EFBIG) the partial
  /// frame is cut off and the journal stays usable; any other failure
  /// poisons it.
  result<journal_ticket> append(const record_write& w);

  /// Returns once the append of `ticket` is as durable as the policy makes
  /// it: fsynced for `always` (shared with concurrent callers), at once for
  /// `batch` and `never`. Fails with io_error if the fsync failed.
  status wait_durable(const journal_ticket& ticket);

  /// Records that every write with seq < `low_water` is in the store. Not
  /// fsynced by itself: losing it only means replaying writes again.
  status checkpoint(uint64_t low_water);

  /// Empties the file (back to the header) and fsyncs. The caller promises
  /// that every write appended so far is in the store.
  status reset();

  /// Replaces the file by one that holds only `unflushed` (atomically:
  /// written to a temporary file, fsynced, renamed over, directory
  /// fsynced). The caller promises that every other write appended so far
  /// is in the store and that nobody appends meanwhile.
  status rewrite(const std::vector<journal_entry>& unflushed);

  /// Fsyncs whatever was appended (used on close and by tests).
  status sync();

  /// The seq the next append gets.
  uint64_t next_seq() const;

  /// Current file size in bytes.
  uint64_t size_bytes() const;

  /// Number of fdatasync calls made (for stats and tests of group commit).
  uint64_t syncs() const;

  const std::string& path() const noexcept { return path_; }

  /// What open() found (without the unflushed writes): for stats.
  const journal_replay& report() const noexcept { return report_; }

  const journal_options& options() const noexcept { return options_; }

 private:
  journal(std::string path, int fd, int lock_fd, journal_options options,
          uint64_t size, uint64_t next_seq);

  status write_locked(const std::string& frame);

  // Makes everything appended up to `target` durable; REQUIRES: lock held
  // (it is released around the fdatasync).
  status sync_locked(std::unique_lock<std::mutex>& lock, uint64_t target);

  void syncer_loop();

  const std::string path_;
  const journal_options options_;
  mutable std::mutex mtx_;
  std::condition_variable synced_cv_;
  std::condition_variable syncer_cv_;
  int fd_;
  int lock_fd_; // flock on <path>.lock, held while open
  journal_replay report_;
  uint64_t size_; // file size
  uint64_t next_seq_;
  uint64_t appended_ = 0; // logical bytes ever appended (tickets)
  uint64_t synced_ = 0;   // logical bytes known durable
  uint64_t unsynced_records_ = 0;
  uint64_t syncs_ = 0;
  bool syncing_ = false;
  bool stopping_ = false;
  status failed_; // sticky error
  std::thread syncer_;
};

} // namespace cachebus::stores
