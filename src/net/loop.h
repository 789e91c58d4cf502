// EventLoop: one epoll loop with timers, before-sleep hooks, a cross-thread task inbox and
// signalfd signals, in the spirit of Redis' ae. The loop does not own handlers: whoever registers
// an fd owns the handler and the fd, and must remove() the fd before closing it or freeing the
// handler. Removing (and freeing) any handler from inside any callback is safe: events already
// fetched for a removed fd are dropped. Threading: everything except post(), stop() and wake()
// must be called on the thread that runs the loop; post(), stop() and wake() are thread-safe.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "net/unique_fd.h"

namespace mq::net {

// Event bits are epoll's: EPOLLIN, EPOLLOUT, and on delivery also EPOLLERR, EPOLLHUP, EPOLLRDHUP.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_io(uint32_t events) = 0;
};

using TimerId = uint64_t;  // 0 is never a valid id
using HookId = uint64_t;

class EventLoop {
 public:
  using Task = std::function<void()>;
  using SignalCallback = std::function<void(int signo)>;

  // Also sets SIGPIPE to SIG_IGN for the process (sockets write with MSG_NOSIGNAL anyway).
  [[nodiscard]] static Result<std::unique_ptr<EventLoop>> create(Clock& clock);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Clock& clock() const { return clock_; }
  int64_t now_ms() const { return clock_.now_ms(); }

  // --- file descriptors --------------------------------------------------------------------
  // Level-triggered unless the caller adds EPOLLET to `events`. One handler per fd.
  // REQUIRES: fd >= 0, fd not already registered, handler outlives its registration.
  [[nodiscard]] Status add(int fd, uint32_t events, IoHandler* handler);
  // Changes the interest set; no system call when it is unchanged (cheap to call every time).
  [[nodiscard]] Status modify(int fd, uint32_t events);
  // Unregisters; pending events for this fd in the current iteration are discarded.
  // A no-op for an fd that is not registered.
  void remove(int fd);
  bool registered(int fd) const;
  uint32_t events_of(int fd) const;  // current interest set, 0 if not registered

  // --- timers (the injected clock's monotonic ms) ------------------------------------------
  // One-shot. A deadline in the past fires on the next iteration. Timers with equal deadlines
  // fire in the order they were added. Callbacks may add and cancel timers.
  TimerId add_timer(int64_t deadline_ms, Task callback);
  TimerId add_timer_in(int64_t delay_ms, Task callback) {
    return add_timer(clock_.now_ms() + delay_ms, std::move(callback));
  }
  // Returns false if the timer already fired or was cancelled.
  bool cancel_timer(TimerId id);
  size_t timer_count() const { return live_timers_; }
  // Nearest pending deadline, or -1 if there is none.
  int64_t next_deadline();

  // --- hooks, tasks, running ---------------------------------------------------------------
  // Runs on every iteration just before the loop sleeps (the place to flush coalesced writes).
  HookId add_before_sleep(Task hook);
  void remove_before_sleep(HookId id);

  // Thread-safe. Runs `task` on the loop thread during a later iteration, in posting order.
  // Tasks still queued when the loop is destroyed are dropped without running.
  // REQUIRES: the loop outlives the call (the poster owns that guarantee, e.g. by joining
  // worker threads before destroying the loop).
  void post(Task task);
  // Thread-safe. Makes a sleeping epoll_wait return.
  void wake();

  // One iteration: before-sleep hooks, epoll_wait for at most max_wait_ms (-1: until an event
  // or the next timer; 0: poll), dispatch I/O, fire due timers, run posted tasks.
  // Returns the number of I/O events dispatched plus timers fired, posted tasks and signal
  // callbacks run (0 means the iteration did nothing but the hooks).
  int run_once(int max_wait_ms = -1);
  // Iterates until stop(). A stop() issued before run() makes run() return after one iteration.
  void run();
  // Thread-safe; callable from callbacks. run() returns after the current iteration.
  void stop();
  bool stop_requested() const { return stop_.load(std::memory_order_acquire); }

  // --- signals -----------------------------------------------------------------------------
  // Blocks `signals` in the calling thread's mask and delivers them through a signalfd.
  // Call from the main thread before starting other threads so that they inherit the mask.
  // Watching the same signal again replaces its callback. Signals stay blocked after the loop
  // is destroyed.
  [[nodiscard]] Status watch_signals(std::initializer_list<int> signals, SignalCallback callback);

 private:
  struct FdSlot {
    IoHandler* handler = nullptr;
    uint32_t events = 0;
    uint32_t gen = 0;
  };
  struct TimerSlot {
    Task callback;
    uint32_t gen = 1;
    bool armed = false;
  };
  struct HeapEntry {
    int64_t deadline;
    uint64_t seq;
    uint32_t index;
    uint32_t gen;
  };
  struct Hook {
    HookId id;
    Task fn;
  };
  class InternalHandler : public IoHandler {
   public:
    InternalHandler(EventLoop* loop, void (EventLoop::*fn)()) : loop_(loop), fn_(fn) {}
    void on_io(uint32_t) override { (loop_->*fn_)(); }

   private:
    EventLoop* loop_;
    void (EventLoop::*fn_)();
  };

  explicit EventLoop(Clock& clock);
  [[nodiscard]] Status init();
  void fire_timers();
  void run_hooks();
  void on_wakeup();
  void on_signal();
  void compact_heap();
  bool timer_live(const HeapEntry& e) const;

  Clock& clock_;
  UniqueFd epfd_;
  UniqueFd wakefd_;
  UniqueFd sigfd_;
  std::vector<FdSlot> fds_;
  std::vector<epoll_event> ready_;

  std::vector<TimerSlot> timers_;
  std::vector<uint32_t> free_timers_;
  std::vector<HeapEntry> heap_;  // min-heap on (deadline, seq); cancelled entries removed lazily
  std::vector<HeapEntry> due_;
  size_t live_timers_ = 0;
  uint64_t timer_seq_ = 0;

  std::vector<std::unique_ptr<Hook>> hooks_;
  HookId next_hook_id_ = 1;
  bool hooks_dirty_ = false;
  int work_ = 0;  // callbacks run during the current run_once()

  std::mutex post_mu_;
  std::vector<Task> posted_;     // guarded by post_mu_
  std::vector<Task> running_;    // loop thread only
  std::atomic<bool> wake_pending_{false};
  std::atomic<bool> stop_{false};

  std::vector<SignalCallback> signal_callbacks_;  // indexed by signal number
  sigset_t signal_mask_{};

  InternalHandler wake_handler_{this, &EventLoop::on_wakeup};
  InternalHandler signal_handler_{this, &EventLoop::on_signal};
};

}  // namespace mq::net
