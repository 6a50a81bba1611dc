#include "cachebus/stores/journal.hpp"
#include "cachebus/stores/journal_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

// Why a torn frame can only be an unacknowledged append: frames are appended
// in seq order with pwrite at the end of the file. With `always`, an append is
// acknowledged only after an fdatasync that started after its pwrite
// returned; that fdatasync also covers every earlier byte of the file. So if
// frame k is torn (short or failing its checksum) after a crash, no fsync
// covered it, hence no frame at or after k was acknowledged, and cutting the
// file at k loses nothing acknowledged. (With `batch` and `never` the same
// holds for a process crash: pwrite into the page cache completed before the
// append returned. Only a power loss can cost acknowledged writes, which is
// what those policies trade for speed.)
//
// An append that fails (a full disk) is cut off before the next one starts,
// so a torn frame is never followed by a valid one in a healthy file. A bad
// frame WITH valid frames after it is therefore damage (bit rot, a stray
// write, a bad copy), not a crash: replay skips it, resynchronising on the
// next offset where a whole frame's CRC matches, and keeps what follows. A
// false resync needs a CRC-32C collision on a well-formed frame, which only
// bytes crafted to look like a frame (say, inside a value) can give; then
// the one frame they make up is replayed, while a damaged region is always
// reported.

namespace cachebus::stores {

namespace {

namespace fmt = journal_format;
using fmt::header;
using fmt::header_size;
using journal_file::fsync_dir_of;
using journal_file::io_error;
using journal_file::keep_copy;
using journal_file::lock_journal;
using journal_file::pwrite_all;
using journal_file::read_all;
using journal_file::replace_file;

} // namespace

result<fsync_policy> parse_fsync_policy(std::string_view text) {
  if (text == "always")
    return fsync_policy::always;
  if (text == "batch")
    return fsync_policy::batch;
  if (text == "never")
    return fsync_policy::never;
  return status{store_errc::invalid_argument,
                "fsync policy must be always, batch or never, not '"
                  + std::string{text} + "'"};
}

std::string_view to_string(fsync_policy policy) {
  switch (policy) {
  case fsync_policy::always:
    return "always";
  case fsync_policy::batch:
    return "batch";
  case fsync_policy::never:
    return "never";
  }
  return "unknown";
}

namespace {

// The first offset >= `from` where a valid frame starts, or npos.
size_t next_frame(std::string_view data, size_t from) {
  fmt::decoded d;
  for (size_t q = from;
       q + fmt::frame_overhead + fmt::min_payload <= data.size(); ++q)
    if (fmt::decode(data, q, d))
      return q;
  return std::string_view::npos;
}

std::string range_text(uint64_t first, uint64_t last) {
  return first == last ? std::to_string(first)
                       : std::to_string(first) + ".." + std::to_string(last);
}

} // namespace

std::string journal_replay::describe(const std::string& path) const {
  if (damage.empty())
    return {};
  std::string out = "journal " + path + " is damaged: skipped "
                    + std::to_string(skipped_bytes) + " bytes at";
  std::string seqs;
  for (auto& d : damage) {
    out += " [" + std::to_string(d.offset) + ", "
           + std::to_string(d.offset + d.length) + ")";
    if (d.first_seq > d.last_seq)
      continue;
    seqs += seqs.empty() ? "" : ", ";
    seqs += d.last_seq == std::numeric_limits<uint64_t>::max()
              ? std::to_string(d.first_seq) + " and up"
              : range_text(d.first_seq, d.last_seq);
  }
  out += "; ";
  if (seqs.empty())
    out += "no write is missing (only checkpoints or the header)";
  else
    out += std::to_string(missing_seqs)
           + (missing_seqs == 1 ? " write" : " writes") + " may be lost (seq "
           + seqs + ")";
  out += "; kept every valid frame (" + std::to_string(frames) + ")";
  if (!damaged_copy.empty())
    out += "; the damaged file is kept as " + damaged_copy;
  return out;
}

// -- opening and replay
// --------------------------------------------------------

result<std::unique_ptr<journal>> journal::open(const std::string& path,
                                               journal_options options,
                                               journal_replay& replay) {
  replay = journal_replay{};
  // The lock first: nothing below may touch a file another opener uses.
  auto lock = lock_journal(path);
  if (!lock.ok())
    return lock.error();
  int lock_fd = *lock;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    auto st = io_error("open journal " + path, errno);
    ::close(lock_fd);
    return st;
  }
  auto fail = [&fd, lock_fd](status st) {
    ::close(fd);
    ::close(lock_fd);
    return st;
  };
  std::string data;
  if (auto st = read_all(fd, path, data); !st.ok())
    return fail(st);
  // A file shorter than the header that matches its prefix is a creation
  // that crashed before its first fsync: start over.
  bool fresh
    = data.size() < header_size && header.substr(0, data.size()) == data;
  int err = 0;
  if (fresh) {
    if (::ftruncate(fd, 0) != 0
        || !pwrite_all(fd, header.data(), header_size, 0, err)
        || ::fsync(fd) != 0)
      return fail(io_error("initialize journal " + path, err ? err : errno));
    if (auto s = fsync_dir_of(path); !s.ok())
      return fail(s);
    data.assign(header);
  }
  // Read every valid frame. A bad header or a bad frame with valid frames
  // after it is damage: skip to the next valid frame. A bad frame with
  // nothing valid after it is the torn tail.
  std::vector<journal_entry> writes;
  std::string kept{header}; // the valid frames, for a rewrite
  uint64_t low_water = 0;
  uint64_t max_seq = 0;
  size_t pos = header_size;
  size_t tail = data.size();
  // Per damaged region: the writes read before it, the low-water mark
  // before it, and whether it can hold frames (not just the header).
  struct region {
    size_t writes_before;
    uint64_t low_water;
    bool frames;
  };
  std::vector<region> regions;
  if (std::string_view{data}.substr(0, header_size) != header) {
    auto q = next_frame(data, 0);
    if (q == std::string_view::npos)
      return fail({store_errc::io_error,
                   "'" + path + "' is not a cachebus journal (bad header)"});
    replay.damage.push_back({0, q, 0, 0});
    regions.push_back({0, 0, q > header_size});
    pos = q;
  }
  fmt::decoded d;
  while (pos < data.size()) {
    if (!fmt::decode(data, pos, d)) {
      auto q = next_frame(data, pos + 1);
      if (q == std::string_view::npos) {
        tail = pos;
        break;
      }
      replay.damage.push_back({pos, q - pos, 0, 0});
      regions.push_back({writes.size(), low_water, true});
      pos = q;
      continue;
    }
    if (d.type == fmt::kind::write) {
      max_seq = std::max(max_seq, d.seq);
      writes.push_back({d.seq, std::move(d.write)});
    } else {
      low_water = std::max(low_water, d.seq);
    }
    kept.append(data, pos, d.size);
    ++replay.frames;
    pos += d.size;
  }
  // The seqs a region may have held: above the write before it and the
  // checkpoint before it, below the write after it (open-ended if none).
  for (size_t i = 0; i < regions.size(); ++i) {
    auto& r = regions[i];
    auto& dmg = replay.damage[i];
    auto prev = r.writes_before > 0 ? writes[r.writes_before - 1].seq : 0;
    dmg.first_seq = std::max(prev + 1, r.low_water);
    dmg.last_seq = r.writes_before < writes.size()
                     ? writes[r.writes_before].seq - 1
                     : std::numeric_limits<uint64_t>::max();
    if (!r.frames)
      dmg.first_seq = 1, dmg.last_seq = 0;
    replay.skipped_bytes += dmg.length;
    if (dmg.first_seq <= dmg.last_seq)
      replay.missing_seqs
        += dmg.last_seq == std::numeric_limits<uint64_t>::max()
             ? 1
             : dmg.last_seq - dmg.first_seq + 1;
  }
  if (tail < data.size())
    replay.discarded_bytes = data.size() - tail;
  for (auto& e : writes)
    if (e.seq >= low_water)
      replay.unflushed.push_back(std::move(e));
  uint64_t size = tail;
  if (!replay.damage.empty()) {
    // Keep the file as found, then replace it by its valid frames, so that
    // the next open finds a healthy journal and nothing valid is lost.
    auto copy = keep_copy(path, data);
    if (!copy.ok())
      return fail(copy.error());
    replay.damaged_copy = *copy;
    auto nfd = replace_file(path, kept);
    if (!nfd.ok())
      return fail(nfd.error());
    ::close(fd);
    fd = *nfd;
    if (auto st = fsync_dir_of(path); !st.ok())
      return fail(st);
    size = kept.size();
    std::fprintf(stderr, "cachebus: WARNING: %s\n",
                 replay.describe(path).c_str());
  } else if (tail < data.size()) {
    // A torn tail: an append cut off by a crash, never acknowledged.
    if (::ftruncate(fd, static_cast<off_t>(tail)) != 0 || ::fsync(fd) != 0)
      return fail(io_error("truncate torn journal tail " + path, errno));
  }
  uint64_t next = std::max<uint64_t>({max_seq + 1, low_water, 1});
  std::unique_ptr<journal> j{
    new journal(path, fd, lock_fd, options, size, next)};
  j->report_ = replay;
  j->report_.unflushed.clear();
  return j;
}

journal::journal(std::string path, int fd, int lock_fd, journal_options options,
                 uint64_t size, uint64_t next_seq)
    : path_(std::move(path)), options_(options), fd_(fd), lock_fd_(lock_fd),
      size_(size), next_seq_(next_seq) {
  if (options_.fsync == fsync_policy::batch)
    syncer_ = std::thread{[this] { syncer_loop(); }};
}

journal::~journal() {
  {
    std::unique_lock<std::mutex> lock{mtx_};
    stopping_ = true;
  }
  syncer_cv_.notify_all();
  if (syncer_.joinable())
    syncer_.join();
  std::unique_lock<std::mutex> lock{mtx_};
  synced_cv_.wait(lock, [this] { return !syncing_; });
  if (failed_.ok() && synced_ < appended_)
    (void)::fdatasync(fd_);
  ::close(fd_);
  ::close(lock_fd_); // releases the flock
}

// -- appending
// -----------------------------------------------------------------

status journal::write_locked(const std::string& f) {
  if (!failed_.ok())
    return failed_;
  int err = 0;
  if (!pwrite_all(fd_, f.data(), f.size(), size_, err)) {
    // Whatever part of the frame reached the file is cut off, so that a
    // later (successful) frame never follows a torn one. A full disk is
    // then no damage: every earlier frame is intact and the next append
    // tries again. Anything else, or a failed cut, poisons the journal
    // (replay cuts a torn frame at the next start).
    bool cut = ::ftruncate(fd_, static_cast<off_t>(size_)) == 0;
    bool full = err == ENOSPC || err == EDQUOT || err == EFBIG;
    if (cut && full)
      return {store_errc::io_error,
              "append to journal " + path_ + ": " + std::strerror(err)
                + ": the write was not journaled and nothing changed; free "
                  "space and retry (the journal stays usable)"};
    failed_ = io_error("append to journal " + path_, err);
    failed_ = {store_errc::io_error,
               failed_.message()
                 + "; the journal refuses further writes: restart the node, "
                   "which replays the journal"};
    return failed_;
  }
  size_ += f.size();
  appended_ += f.size();
  return {};
}

result<journal_ticket> journal::append(const record_write& w) {
  std::unique_lock<std::mutex> lock{mtx_};
  auto seq = next_seq_;
  auto f = fmt::encode_write(seq, w);
  if (auto st = write_locked(f); !st.ok())
    return st;
  ++next_seq_;
  journal_ticket t{seq, appended_};
  if (options_.fsync == fsync_policy::batch
      && ++unsynced_records_ >= options_.batch_records) {
    lock.unlock();
    syncer_cv_.notify_one();
  }
  return t;
}

status journal::sync_locked(std::unique_lock<std::mutex>& lock,
                            uint64_t target) {
  syncing_ = true;
  unsynced_records_ = 0;
  int fd = fd_;
  lock.unlock();
  int rc = ::fdatasync(fd);
  int err = errno;
  lock.lock();
  syncing_ = false;
  ++syncs_;
  if (rc != 0 && failed_.ok())
    failed_ = {store_errc::io_error,
               "fdatasync journal " + path_ + ": " + std::strerror(err)
                 + "; writes since the last sync may not be durable, so the "
                   "journal refuses further writes: restart the node, which "
                   "replays the journal"};
  else if (rc == 0)
    synced_ = std::max(synced_, target);
  synced_cv_.notify_all();
  return failed_;
}

status journal::wait_durable(const journal_ticket& ticket) {
  if (options_.fsync != fsync_policy::always)
    return {};
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    if (synced_ >= ticket.end)
      return {};
    if (!failed_.ok())
      return failed_;
    if (!syncing_) {
      // Leader: one fdatasync for everything appended so far, including the
      // appends of callers that queue up behind us meanwhile.
      if (auto st = sync_locked(lock, appended_); !st.ok())
        return st;
    } else {
      synced_cv_.wait(lock);
    }
  }
}

void journal::syncer_loop() {
  std::unique_lock<std::mutex> lock{mtx_};
  while (!stopping_) {
    syncer_cv_.wait_for(lock, options_.batch_interval, [this] {
      return stopping_ || unsynced_records_ >= options_.batch_records;
    });
    if (stopping_)
      break;
    if (appended_ > synced_ && !syncing_ && failed_.ok())
      (void)sync_locked(lock, appended_);
  }
}

status journal::checkpoint(uint64_t low_water) {
  std::unique_lock<std::mutex> lock{mtx_};
  return write_locked(fmt::encode_checkpoint(low_water));
}

status journal::sync() {
  std::unique_lock<std::mutex> lock{mtx_};
  synced_cv_.wait(lock, [this] { return !syncing_; });
  if (!failed_.ok())
    return failed_;
  if (synced_ >= appended_)
    return {};
  return sync_locked(lock, appended_);
}

// -- shrinking
// -----------------------------------------------------------------

status journal::reset() {
  std::unique_lock<std::mutex> lock{mtx_};
  synced_cv_.wait(lock, [this] { return !syncing_; });
  if (!failed_.ok())
    return failed_;
  if (size_ == header_size)
    return {};
  if (::ftruncate(fd_, header_size) != 0 || ::fsync(fd_) != 0) {
    failed_ = io_error("truncate journal " + path_, errno);
    return failed_;
  }
  size_ = header_size;
  // Everything appended so far is in the store: as durable as it gets.
  synced_ = appended_;
  unsynced_records_ = 0;
  synced_cv_.notify_all();
  return {};
}

status journal::rewrite(const std::vector<journal_entry>& unflushed) {
  std::string data{header};
  for (auto& e : unflushed)
    data += fmt::encode_write(e.seq, e.write);
  std::unique_lock<std::mutex> lock{mtx_};
  synced_cv_.wait(lock, [this] { return !syncing_; });
  if (!failed_.ok())
    return failed_;
  // If this fails the old journal is intact: not fatal.
  auto fd = replace_file(path_, data);
  if (!fd.ok())
    return fd.error();
  // From here on the new file is the journal; if the directory fsync fails
  // we can't tell which file survives a power loss: poison.
  ::close(fd_);
  fd_ = *fd;
  size_ = data.size();
  if (auto st = fsync_dir_of(path_); !st.ok()) {
    failed_ = st;
    return failed_;
  }
  synced_ = appended_;
  unsynced_records_ = 0;
  synced_cv_.notify_all();
  return {};
}

// -- properties
// ----------------------------------------------------------------

uint64_t journal::next_seq() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return next_seq_;
}

uint64_t journal::size_bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return size_;
}

uint64_t journal::syncs() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return syncs_;
}

} // namespace cachebus::stores
