// The bench's scenario registry and its one output format: one JSON object per
// line with scenario, metric, value, unit and, where a baseline ran in the same
// process, baseline and ratio (= value / baseline). Results are also kept so
// that --report can write them as a markdown table.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cachebus::bench {

struct result {
  std::string scenario;
  std::string metric;
  double value = 0;
  std::string unit;
  std::optional<double> baseline;
  std::string note;
};

/// Prints `r` as one JSON line and records it.
void emit(result r);

/// Everything emitted so far.
const std::vector<result>& results();

struct scenario {
  std::string name;
  std::string description;
  std::function<void()> run;
};

/// The registry: scenarios register themselves at static-init time.
std::vector<scenario>& registry();

struct registrar {
  registrar(std::string name, std::string description,
            std::function<void()> run) {
    registry().push_back(
      {std::move(name), std::move(description), std::move(run)});
  }
};

/// Median of `xs` (by value).
double median(std::vector<double> xs);

/// Scale factor from --scale (default 1.0) for bigger or quicker runs.
double scale();
void set_scale(double s);

} // namespace cachebus::bench
