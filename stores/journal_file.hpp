// The file operations of the write-back journal (journal.hpp), on their own
// so that journal.cpp holds only the journal's logic: POSIX I/O that retries
// short writes and EINTR, durable replacement (write a temporary file, fsync,
// rename, fsync the directory), the exclusive lock file, and the copy kept of
// a damaged journal. Every failure is a status with the path and strerror.
// Private to the stores layer; thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cachebus/stores/result.hpp"
#include "cachebus/stores/status.hpp"

namespace cachebus::stores::journal_file {

/// An io_error status: "`what`: strerror(err)".
status io_error(const std::string& what, int err);

/// Writes all of `data` at `offset`; retries short writes and EINTR. On
/// failure sets `err` (an errno) and returns false.
bool pwrite_all(int fd, const char* data, size_t n, uint64_t offset, int& err);

/// fsyncs the directory that holds `path` (so a rename or create in it is
/// durable).
status fsync_dir_of(const std::string& path);

/// Takes the exclusive flock on `<path>.lock` and writes this process's pid
/// into it; returns the lock file's descriptor (keep it open to keep the
/// lock). Refused with the holder's pid if another open file holds it.
result<int> lock_journal(const std::string& path);

/// Reads the whole file behind `fd` into `data`.
status read_all(int fd, const std::string& path, std::string& data);

/// Writes `data` to a fresh `<path>.tmp`, fsyncs it and renames it over
/// `path`; returns the new file's descriptor.
result<int> replace_file(const std::string& path, const std::string& data);

/// Copies `data` to `<path>.damaged-<unix time>[-n]`, fsynced, and returns
/// the copy's path.
result<std::string> keep_copy(const std::string& path, const std::string& data);

} // namespace cachebus::stores::journal_file
