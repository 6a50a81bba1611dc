#include "console.hpp"

#include <cstdio>
#include <unistd.h>

namespace cachebus::demo {

console::console() : tty_(isatty(STDOUT_FILENO) != 0) {
  // nop
}

void console::section(const std::string& title) {
  current_ = title;
  if (tty_)
    std::printf("\n\033[1m== %s\033[0m\n", title.c_str());
  else
    std::printf("\n== %s\n", title.c_str());
  std::fflush(stdout);
}

void console::line(const std::string& text) {
  std::printf("  %s\n", text.c_str());
  std::fflush(stdout);
}

void console::progress(const std::string& what, size_t done, size_t total) {
  if (total == 0)
    return;
  if (tty_) {
    constexpr int width = 30;
    int filled = static_cast<int>(width * done / total);
    std::printf("\r  %-28s [%s%s] %3zu%%", what.c_str(),
                std::string(filled, '#').c_str(),
                std::string(width - filled, '.').c_str(), 100 * done / total);
    if (done == total)
      std::printf("\n");
    std::fflush(stdout);
    return;
  }
  int quarter = static_cast<int>(4 * done / total);
  if (quarter != last_quarter_) {
    std::printf("  %s: %d%%\n", what.c_str(), quarter * 25);
    last_quarter_ = quarter == 4 ? -1 : quarter;
  }
}

void console::record(std::string section, std::string what, double value,
                     std::string unit) {
  rows_.push_back(
    {std::move(section), std::move(what), value, std::move(unit)});
}

void console::summary() const {
  const char* bar
    = "+----------------------+------------------------------------"
      "-------+--------------+---------+";
  std::printf("\n%s\n| %-20s | %-41s | %12s | %-7s |\n%s\n", bar, "pattern",
              "measurement", "value", "unit", bar);
  std::string last;
  for (auto& r : rows_) {
    auto name = r.section == last ? std::string{} : r.section;
    last = r.section;
    char value[32];
    if (r.value == static_cast<long long>(r.value))
      std::snprintf(value, sizeof value, "%lld",
                    static_cast<long long>(r.value));
    else
      std::snprintf(value, sizeof value, "%.2f", r.value);
    std::printf("| %-20.20s | %-41.41s | %12s | %-7.7s |\n", name.c_str(),
                r.what.c_str(), value, r.unit.c_str());
  }
  std::printf("%s\n", bar);
}

} // namespace cachebus::demo
