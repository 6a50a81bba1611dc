// Terminal output of the demo: section headers, a progress bar for long steps
// and the closing summary table. Escape codes and the redrawn bar appear only
// when stdout is a terminal; piped output stays plain, one line per event.
// Single-threaded use.
#pragma once

#include <string>
#include <vector>

namespace cachebus::demo {

class console {
 public:
  console();

  void section(const std::string& title);

  /// One line of the current section.
  void line(const std::string& text);

  /// Progress of a long step: redrawn in place on a terminal, printed at
  /// 0/25/50/75/100 % otherwise.
  void progress(const std::string& what, size_t done, size_t total);

  /// Records a row of the final table: section, what, number, unit.
  void record(std::string section, std::string what, double value,
              std::string unit);

  /// Prints the summary table of every recorded row.
  void summary() const;

  bool tty() const noexcept { return tty_; }

 private:
  struct row {
    std::string section, what;
    double value;
    std::string unit;
  };
  bool tty_;
  std::string current_;
  int last_quarter_ = -1;
  std::vector<row> rows_;
};

} // namespace cachebus::demo
