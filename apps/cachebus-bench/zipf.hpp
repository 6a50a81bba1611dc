// A Zipf(s) sampler over ranks [0, n): precomputed CDF plus binary search.
// Deterministic for a given seed, so every cache under test replays the same
// trace. Not thread-safe; one per thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace cachebus::bench {

class zipf {
 public:
  zipf(size_t n, double s, uint64_t seed) : cdf_(n), rng_(seed) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
      cdf_[i] = sum;
    }
    for (auto& x : cdf_)
      x /= sum;
  }

  size_t operator()() {
    auto u = dist_(rng_);
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    return std::min(static_cast<size_t>(it - cdf_.begin()), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> dist_{0.0, 1.0};
};

} // namespace cachebus::bench
