#include "cachebus/stores/journal.hpp"
#include "cachebus/stores/little_endian.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
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

namespace cachebus::stores {

namespace {

constexpr char header[] = "CBJRNL1\n";
constexpr size_t header_size = 8;
constexpr size_t frame_overhead = 8;
// Largest payload we accept when reading: a length beyond it is garbage.
constexpr uint32_t max_payload = uint32_t{1} << 30;

constexpr uint8_t kind_write = 1;
constexpr uint8_t kind_checkpoint = 2;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr auto crc_table = make_crc_table();

using le::put_str;
using le::put_u32;
using le::put_u64;
using le::read_u32;
using le::read_u64;

// A bounds-checked cursor over one payload.
struct reader {
  std::string_view in;
  bool ok = true;

  uint8_t u8() {
    if (in.size() < 1)
      return fail(), 0;
    auto x = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return x;
  }

  uint32_t u32() {
    if (in.size() < 4)
      return fail(), 0;
    auto x = read_u32(in.data());
    in.remove_prefix(4);
    return x;
  }

  uint64_t u64() {
    if (in.size() < 8)
      return fail(), 0;
    auto x = read_u64(in.data());
    in.remove_prefix(8);
    return x;
  }

  std::string str() {
    auto n = u32();
    if (!ok || in.size() < n)
      return fail(), std::string{};
    std::string x{in.substr(0, n)};
    in.remove_prefix(n);
    return x;
  }

  void fail() { ok = false; }
};

// The payload of a frame, seq included.
std::string encode_write(uint64_t seq, const record_write& w) {
  std::string p;
  size_t n = 1 + 8 + 12 + w.resource.size() + w.id.size();
  for (auto& [k, v] : w.fields)
    n += 8 + k.size() + v.size();
  p.reserve(n);
  p.push_back(static_cast<char>(kind_write));
  put_u64(p, seq);
  put_str(p, w.resource);
  put_str(p, w.id);
  put_u32(p, static_cast<uint32_t>(w.fields.size()));
  for (auto& [k, v] : w.fields) {
    put_str(p, k);
    put_str(p, v);
  }
  return p;
}

std::string encode_checkpoint(uint64_t low_water) {
  std::string p;
  p.push_back(static_cast<char>(kind_checkpoint));
  put_u64(p, low_water);
  return p;
}

std::string frame(const std::string& payload) {
  std::string f;
  f.reserve(frame_overhead + payload.size());
  put_u32(f, static_cast<uint32_t>(payload.size()));
  put_u32(f, crc32c(payload));
  f += payload;
  return f;
}

status io_error(const std::string& what, int err) {
  return {store_errc::io_error, what + ": " + std::strerror(err)};
}

// Writes all of `data` at `offset`; retries short writes and EINTR.
bool pwrite_all(int fd, const char* data, size_t n, uint64_t offset, int& err) {
  while (n > 0) {
    auto r = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      err = errno;
      return false;
    }
    data += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

status fsync_dir_of(const std::string& path) {
  auto dir = std::filesystem::path{path}.parent_path();
  if (dir.empty())
    dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return io_error("open directory " + dir.string(), errno);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0)
    return io_error("fsync directory " + dir.string(), err);
  return {};
}

} // namespace

uint32_t crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data)
    c = crc_table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

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

// -- opening and replay --------------------------------------------------------

result<std::unique_ptr<journal>> journal::open(const std::string& path,
                                               journal_options options,
                                               journal_replay& replay) {
  replay = journal_replay{};
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error("open journal " + path, errno);
  auto fail = [fd](status st) {
    ::close(fd);
    return st;
  };
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return fail(io_error("stat journal " + path, errno));
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    auto r = ::pread(fd, data.data() + got, data.size() - got,
                     static_cast<off_t>(got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return fail(io_error("read journal " + path, errno));
    if (r == 0)
      break;
    got += static_cast<size_t>(r);
  }
  data.resize(got);
  // A file shorter than the header that matches its prefix is a creation
  // that crashed before its first fsync: start over.
  bool fresh = data.size() < header_size
               && std::string_view{header, header_size}.substr(0, data.size())
                    == data;
  if (!fresh && std::string_view{data}.substr(0, header_size)
                  != std::string_view{header, header_size})
    return fail({store_errc::io_error,
                 "'" + path + "' is not a cachebus journal (bad header)"});
  int err = 0;
  if (fresh) {
    if (::ftruncate(fd, 0) != 0
        || !pwrite_all(fd, header, header_size, 0, err)
        || ::fsync(fd) != 0)
      return fail(io_error("initialize journal " + path, err ? err : errno));
    if (auto s = fsync_dir_of(path); !s.ok())
      return fail(s);
    data.assign(header, header_size);
  }
  // Read frames up to the first bad one.
  std::vector<journal_entry> writes;
  uint64_t low_water = 0;
  uint64_t max_seq = 0;
  size_t pos = header_size;
  while (data.size() - pos >= frame_overhead) {
    auto len = read_u32(data.data() + pos);
    auto crc = read_u32(data.data() + pos + 4);
    if (len > max_payload || data.size() - pos - frame_overhead < len)
      break;
    std::string_view payload{data.data() + pos + frame_overhead, len};
    if (crc32c(payload) != crc)
      break;
    reader rd{payload};
    auto kind = rd.u8();
    auto seq = rd.u64();
    if (!rd.ok)
      break;
    if (kind == kind_write) {
      journal_entry e;
      e.seq = seq;
      e.write.resource = rd.str();
      e.write.id = rd.str();
      auto n = rd.u32();
      for (uint32_t i = 0; rd.ok && i < n; ++i) {
        auto k = rd.str();
        auto v = rd.str();
        e.write.fields.insert_or_assign(std::move(k), std::move(v));
      }
      if (!rd.ok || !rd.in.empty())
        break;
      max_seq = std::max(max_seq, seq);
      writes.push_back(std::move(e));
    } else if (kind == kind_checkpoint && rd.in.empty()) {
      low_water = std::max(low_water, seq);
    } else {
      break;
    }
    ++replay.frames;
    pos += frame_overhead + len;
  }
  if (pos < data.size()) {
    replay.discarded_bytes = data.size() - pos;
    if (::ftruncate(fd, static_cast<off_t>(pos)) != 0 || ::fsync(fd) != 0)
      return fail(io_error("truncate torn journal tail " + path, errno));
  }
  for (auto& e : writes)
    if (e.seq >= low_water)
      replay.unflushed.push_back(std::move(e));
  uint64_t next = std::max<uint64_t>({max_seq + 1, low_water, 1});
  return std::unique_ptr<journal>{
    new journal(path, fd, options, static_cast<uint64_t>(pos), next)};
}

journal::journal(std::string path, int fd, journal_options options,
                 uint64_t size, uint64_t next_seq)
  : path_(std::move(path)),
    options_(options),
    fd_(fd),
    size_(size),
    next_seq_(next_seq) {
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
    (void) ::fdatasync(fd_);
  ::close(fd_);
}

// -- appending -----------------------------------------------------------------

status journal::write_locked(const std::string& f) {
  if (!failed_.ok())
    return failed_;
  int err = 0;
  if (!pwrite_all(fd_, f.data(), f.size(), size_, err)) {
    // Whatever part of the frame reached the file is cut off, so that a
    // later (successful) frame never follows a torn one; if even that fails
    // the journal is poisoned and replay will cut it at the next start.
    (void) ::ftruncate(fd_, static_cast<off_t>(size_));
    failed_ = io_error("append to journal " + path_, err);
    return failed_;
  }
  size_ += f.size();
  appended_ += f.size();
  return {};
}

result<journal_ticket> journal::append(const record_write& w) {
  std::unique_lock<std::mutex> lock{mtx_};
  auto seq = next_seq_;
  auto f = frame(encode_write(seq, w));
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
    failed_ = io_error("fdatasync journal " + path_, err);
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
      (void) sync_locked(lock, appended_);
  }
}

status journal::checkpoint(uint64_t low_water) {
  std::unique_lock<std::mutex> lock{mtx_};
  return write_locked(frame(encode_checkpoint(low_water)));
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

// -- shrinking -----------------------------------------------------------------

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
  std::string data{header, header_size};
  for (auto& e : unflushed)
    data += frame(encode_write(e.seq, e.write));
  auto tmp = path_ + ".tmp";
  std::unique_lock<std::mutex> lock{mtx_};
  synced_cv_.wait(lock, [this] { return !syncing_; });
  if (!failed_.ok())
    return failed_;
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error("create " + tmp, errno);
  int err = 0;
  if (!pwrite_all(fd, data.data(), data.size(), 0, err) || ::fsync(fd) != 0) {
    err = err ? err : errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    // The old journal is intact: not fatal.
    return io_error("write " + tmp, err);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error("rename " + tmp, err);
  }
  // From here on the new file is the journal; if the directory fsync fails
  // we can't tell which file survives a power loss: poison.
  ::close(fd_);
  fd_ = fd;
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

// -- properties ----------------------------------------------------------------

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
