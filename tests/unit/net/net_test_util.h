// Helpers for the net tests: a lambda-backed IoHandler and a bounded "run the loop until"
// helper. Single-threaded, like the loop under test.
#pragma once

#include <functional>

#include "base/clock.h"
#include "net/loop.h"

namespace mq::net::testing {

class FnHandler final : public IoHandler {
 public:
  explicit FnHandler(std::function<void(uint32_t)> fn) : fn_(std::move(fn)) {}
  void on_io(uint32_t events) override { fn_(events); }

 private:
  std::function<void(uint32_t)> fn_;
};

// Runs the loop until pred() holds or `timeout_ms` of real time has passed; returns pred().
inline bool run_until(EventLoop& loop, const std::function<bool()>& pred, int timeout_ms = 5000) {
  const Clock& real = SystemClock::instance();
  int64_t deadline = real.now_ms() + timeout_ms;
  while (!pred()) {
    int64_t left = deadline - real.now_ms();
    if (left <= 0) return pred();
    loop.run_once(int(left < 50 ? left : 50));
  }
  return true;
}

}  // namespace mq::net::testing
