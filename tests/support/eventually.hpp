// The one bounded wait of the test suite: polls `pred` until it holds or
// `bound` passes. Only for effects that send no message to wait for
// (timer-driven sweeps and flushes, state of other processes); anything that
// can be awaited as a message is awaited instead.
#pragma once

#include <chrono>
#include <thread>

namespace cachebus::test {

template <class Pred>
bool eventually(Pred pred,
                std::chrono::milliseconds bound = std::chrono::seconds(20),
                std::chrono::milliseconds poll = std::chrono::milliseconds(2)) {
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline)
      return pred();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

} // namespace cachebus::test
