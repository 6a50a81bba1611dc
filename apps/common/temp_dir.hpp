// A fresh temporary directory owned by one object, for the demo, the bench
// and the tests. temp_dir{"cachebus-demo"} creates
// $TMPDIR/cachebus-demo-XXXXXX (/tmp when TMPDIR is unset or empty) with
// mkdtemp: a new, empty directory of mode 0700 that no one else uses; a
// second constructor takes the parent directory explicitly. The destructor
// removes the directory with everything in it; a failure to remove is
// ignored (destructors do not throw). A failure to create throws
// std::system_error naming the path and strerror(errno). Not copyable;
// movable: the moved-from object owns nothing, path() is empty and its
// destructor removes nothing. Header-only, so that the tests have it also
// when the apps are not built. Not thread-safe (one owner).
#pragma once

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace cachebus::app {

class temp_dir {
 public:
  /// A new directory `prefix`-XXXXXX in default_parent().
  explicit temp_dir(std::string_view prefix = "cachebus")
      : temp_dir(prefix, default_parent()) {}

  /// A new directory `prefix`-XXXXXX in `parent` (which must exist).
  temp_dir(std::string_view prefix, const std::filesystem::path& parent) {
    auto pattern = (parent / (std::string{prefix} + "-XXXXXX")).string();
    auto tmpl = pattern; // mkdtemp overwrites the Xs, also when it fails
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(),
                              "cannot create a temporary directory " + pattern);
    path_ = std::move(tmpl);
  }

  ~temp_dir() { remove(); }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

  temp_dir& operator=(temp_dir&& other) noexcept {
    if (this != &other) {
      remove();
      path_ = std::exchange(other.path_, {});
    }
    return *this;
  }

  /// $TMPDIR if set and not empty, else /tmp.
  static std::filesystem::path default_parent() {
    if (auto env = std::getenv("TMPDIR"); env != nullptr && *env != '\0')
      return env;
    return "/tmp";
  }

  /// The directory (empty after a move).
  const std::filesystem::path& path() const noexcept { return path_; }

  /// The path of `name` inside the directory.
  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  void remove() noexcept {
    if (path_.empty())
      return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  std::filesystem::path path_;
};

} // namespace cachebus::app
