// Injectable clocks. Protocol and broker logic take a Clock& so that keep-alive, expiry and retry
// logic can be tested by moving a FakeClock instead of sleeping. Monotonic time is in
// milliseconds since an arbitrary origin; wall time is Unix seconds. Not thread-safe: each loop
// owns its clock (the system clock is stateless and may be shared).
#pragma once

#include <cstdint>

namespace mq {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;     // monotonic
  virtual int64_t unix_time() const = 0;  // wall clock, seconds since the epoch
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  int64_t unix_time() const override;
  static SystemClock& instance();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'000'000, int64_t unix_start = 1'700'000'000)
      : now_(start_ms), unix_(unix_start) {}
  int64_t now_ms() const override { return now_; }
  int64_t unix_time() const override { return unix_ + (now_ - start_) / 1000; }
  void advance_ms(int64_t ms) { now_ += ms; }

 private:
  int64_t now_;
  int64_t unix_;
  int64_t start_ = now_;
};

}  // namespace mq
