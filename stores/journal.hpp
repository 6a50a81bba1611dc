// The write-back journal: an append-only file of framed records that makes a
// queued write durable before the store has it. Thread-safe (one internal
// mutex; fsync runs outside it, shared by concurrent waiters: group commit).
// Owns its file descriptor and, with fsync_policy::batch, one syncer thread.
// Errors are values; after a failed write or fsync the journal refuses every
// further append (the page cache may have dropped data we can't name).
//
// File format (all integers little-endian):
//   header   8 bytes  "CBJRNL1\n"
//   frame    u32 payload length | u32 CRC-32C of payload | payload
//   payload  u8 kind | u64 seq | body
//     kind 1 (write):      body = str resource | str id | u32 n | n x (str
//                          field, str value);  str = u32 length | bytes
//     kind 2 (checkpoint): no body; seq is the low-water mark: every write
//                          with a smaller seq is in the store
// Replay reads frames up to the first one that is torn or fails its checksum,
// cuts the file there (only an unacknowledged append can be torn, see
// journal.cpp) and returns the writes whose seq is >= the last checkpoint.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

/// What open() found in an existing file.
struct journal_replay {
  /// Writes not covered by the last checkpoint, in seq order.
  std::vector<journal_entry> unflushed;
  /// Valid frames read, and bytes cut off at the end (a torn append).
  uint64_t frames = 0;
  uint64_t discarded_bytes = 0;
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
  /// `replay` and truncates a torn tail. Fails with io_error if the file
  /// can't be opened or is not a journal (wrong header).
  static result<std::unique_ptr<journal>>
  open(const std::string& path, journal_options options, journal_replay& replay);

  ~journal();

  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Appends `w` with the next seq (write(2), no fsync). Fails with io_error
  /// (and poisons the journal) if the write fails.
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

  const journal_options& options() const noexcept { return options_; }

 private:
  journal(std::string path, int fd, journal_options options, uint64_t size,
          uint64_t next_seq);

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
  uint64_t size_;          // file size
  uint64_t next_seq_;
  uint64_t appended_ = 0;  // logical bytes ever appended (tickets)
  uint64_t synced_ = 0;    // logical bytes known durable
  uint64_t unsynced_records_ = 0;
  uint64_t syncs_ = 0;
  bool syncing_ = false;
  bool stopping_ = false;
  status failed_;          // sticky error
  std::thread syncer_;
};

/// CRC-32C (Castagnoli) of `data`, as stored in the frames.
uint32_t crc32c(std::string_view data);

} // namespace cachebus::stores
