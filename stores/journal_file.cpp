#include "cachebus/stores/journal_file.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cachebus::stores::journal_file {

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

// Takes the exclusive flock on `<path>.lock` and writes our pid into it. An
// flock belongs to an open file description, so a second open() of the same
// journal in this process is refused like one in another process. The lock
// file is never renamed or removed (the journal itself is replaced by
// rewrite(), which would drop a lock held on it).
result<int> lock_journal(const std::string& path) {
  auto lock_path = path + ".lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error("open journal lock " + lock_path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return io_error("lock journal " + lock_path, err);
    }
    char buf[32] = {};
    auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    std::string pid{buf, n > 0 ? static_cast<size_t>(n) : 0};
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos)
      pid = "unknown";
    return status{store_errc::io_error,
                  "journal " + path + " is in use by process " + pid
                    + " (it holds " + lock_path
                    + "); two writers on one journal erase each other's "
                      "writes: give each node its own "
                      "cachebus.write-back.journal"};
  }
  auto text = std::to_string(::getpid()) + "\n";
  int err = 0;
  if (::ftruncate(fd, 0) != 0
      || !pwrite_all(fd, text.data(), text.size(), 0, err)) {
    err = err ? err : errno;
    ::close(fd);
    return io_error("write journal lock " + lock_path, err);
  }
  return fd;
}

// Reads the whole file behind `fd`.
status read_all(int fd, const std::string& path, std::string& data) {
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return io_error("stat journal " + path, errno);
  data.assign(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    auto r = ::pread(fd, data.data() + got, data.size() - got,
                     static_cast<off_t>(got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return io_error("read journal " + path, errno);
    if (r == 0)
      break;
    got += static_cast<size_t>(r);
  }
  data.resize(got);
  return {};
}

// Writes `data` to a fresh `<path>.tmp`, fsyncs it and renames it over
// `path`; returns the new file's descriptor.
result<int> replace_file(const std::string& path, const std::string& data) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error("create " + tmp, errno);
  int err = 0;
  if (!pwrite_all(fd, data.data(), data.size(), 0, err) || ::fsync(fd) != 0) {
    err = err ? err : errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error("write " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error("rename " + tmp, err);
  }
  return fd;
}

// Copies `data` (the damaged journal as found) to `<path>.damaged-<unix
// time>[-n]`, fsynced, and returns the copy's path.
result<std::string> keep_copy(const std::string& path,
                              const std::string& data) {
  auto base = path + ".damaged-" + std::to_string(::time(nullptr));
  auto name = base;
  int fd = -1;
  for (int n = 1; n < 1000; ++n) {
    fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST)
      break;
    name = base + "-" + std::to_string(n);
  }
  if (fd < 0)
    return io_error("create copy of damaged journal " + name, errno);
  int err = 0;
  if (!pwrite_all(fd, data.data(), data.size(), 0, err) || ::fsync(fd) != 0) {
    err = err ? err : errno;
    ::close(fd);
    return io_error("write copy of damaged journal " + name, err);
  }
  ::close(fd);
  if (auto st = fsync_dir_of(path); !st.ok())
    return st;
  return name;
}

} // namespace cachebus::stores::journal_file
