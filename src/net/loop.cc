// Design: fds are indexed in a vector of slots; each registration bumps the slot's generation
// and the generation travels in epoll_event.data, so an event fetched for an fd that was removed
// (or removed and re-added) earlier in the same iteration is recognised as stale and dropped.
// Timers live in a slab of slots addressed by (generation, index); a binary min-heap orders
// them. Cancelling frees the slot at once and leaves the heap entry to be discarded when it
// surfaces (or by compaction when dead entries outnumber live ones).
#include "net/loop.h"

#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <csignal>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/log.h"
#include "net/socket_util.h"

namespace mq::net {

namespace {

constexpr size_t kMaxEventsPerWait = 256;
constexpr int kMaxSignal = 65;

uint64_t pack(uint32_t gen, int fd) { return (uint64_t(gen) << 32) | uint32_t(fd); }

bool heap_after(const auto& a, const auto& b) {  // comparator for a min-heap via std::*_heap
  if (a.deadline != b.deadline) return a.deadline > b.deadline;
  return a.seq > b.seq;
}

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create(Clock& clock) {
  std::unique_ptr<EventLoop> loop(new EventLoop(clock));
  Status st = loop->init();
  if (!st) return st.error();
  return loop;
}

EventLoop::EventLoop(Clock& clock) : clock_(clock), ready_(kMaxEventsPerWait) {
  sigemptyset(&signal_mask_);
}

EventLoop::~EventLoop() = default;

Status EventLoop::init() {
  signal(SIGPIPE, SIG_IGN);
  epfd_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epfd_) return sys_error("epoll_create1", errno);
  wakefd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakefd_) return sys_error("eventfd", errno);
  return add(wakefd_.get(), EPOLLIN, &wake_handler_);
}

// ---------------------------------------------------------------------------------------------
// File descriptors

Status EventLoop::add(int fd, uint32_t events, IoHandler* handler) {
  assert(fd >= 0 && handler != nullptr);
  if (size_t(fd) >= fds_.size()) fds_.resize(std::max<size_t>(size_t(fd) + 1, fds_.size() * 2));
  FdSlot& s = fds_[size_t(fd)];
  if (s.handler != nullptr) return make_error(ErrorKind::kInternal, "fd already registered");
  uint32_t gen = s.gen + 1;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(gen, fd);
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return sys_error("epoll_ctl(ADD)", errno);
  s.handler = handler;
  s.events = events;
  s.gen = gen;
  return {};
}

Status EventLoop::modify(int fd, uint32_t events) {
  if (!registered(fd)) return make_error(ErrorKind::kInternal, "fd not registered");
  FdSlot& s = fds_[size_t(fd)];
  if (s.events == events) return {};
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(s.gen, fd);
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) return sys_error("epoll_ctl(MOD)", errno);
  s.events = events;
  return {};
}

void EventLoop::remove(int fd) {
  if (!registered(fd)) return;
  FdSlot& s = fds_[size_t(fd)];
  // Fails only if the fd was already closed, in which case the kernel dropped it itself.
  (void)epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  s.handler = nullptr;
  s.events = 0;
  ++s.gen;  // events already fetched for this registration are now stale
}

bool EventLoop::registered(int fd) const {
  return fd >= 0 && size_t(fd) < fds_.size() && fds_[size_t(fd)].handler != nullptr;
}

uint32_t EventLoop::events_of(int fd) const {
  return registered(fd) ? fds_[size_t(fd)].events : 0;
}

// ---------------------------------------------------------------------------------------------
// Timers

TimerId EventLoop::add_timer(int64_t deadline_ms, Task callback) {
  uint32_t index;
  if (!free_timers_.empty()) {
    index = free_timers_.back();
    free_timers_.pop_back();
  } else {
    index = uint32_t(timers_.size());
    timers_.emplace_back();
  }
  TimerSlot& t = timers_[index];
  t.callback = std::move(callback);
  t.armed = true;
  heap_.push_back(HeapEntry{deadline_ms, timer_seq_++, index, t.gen});
  std::push_heap(heap_.begin(), heap_.end(), [](auto& a, auto& b) { return heap_after(a, b); });
  ++live_timers_;
  return (uint64_t(t.gen) << 32) | index;
}

bool EventLoop::cancel_timer(TimerId id) {
  uint32_t index = uint32_t(id);
  uint32_t gen = uint32_t(id >> 32);
  if (index >= timers_.size()) return false;
  TimerSlot& t = timers_[index];
  if (!t.armed || t.gen != gen) return false;
  t.armed = false;
  t.callback = nullptr;
  ++t.gen;
  free_timers_.push_back(index);
  --live_timers_;
  if (heap_.size() > 1024 && heap_.size() > 2 * live_timers_) compact_heap();
  return true;
}

bool EventLoop::timer_live(const HeapEntry& e) const {
  const TimerSlot& t = timers_[e.index];
  return t.armed && t.gen == e.gen;
}

void EventLoop::compact_heap() {
  std::erase_if(heap_, [this](const HeapEntry& e) { return !timer_live(e); });
  std::make_heap(heap_.begin(), heap_.end(), [](auto& a, auto& b) { return heap_after(a, b); });
}

int64_t EventLoop::next_deadline() {
  auto cmp = [](auto& a, auto& b) { return heap_after(a, b); };
  while (!heap_.empty() && !timer_live(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), cmp);
    heap_.pop_back();
  }
  return heap_.empty() ? -1 : heap_.front().deadline;
}

void EventLoop::fire_timers() {
  // Collect first, so that timers added by callbacks (even with past deadlines) wait for the
  // next iteration instead of starving I/O.
  auto cmp = [](auto& a, auto& b) { return heap_after(a, b); };
  int64_t now = clock_.now_ms();
  due_.clear();
  while (!heap_.empty() && heap_.front().deadline <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), cmp);
    if (timer_live(heap_.back())) due_.push_back(heap_.back());
    heap_.pop_back();
  }
  for (const HeapEntry& e : due_) {
    if (!timer_live(e)) continue;  // cancelled by an earlier callback in this batch
    TimerSlot& t = timers_[e.index];
    Task cb = std::move(t.callback);
    t.callback = nullptr;
    t.armed = false;
    ++t.gen;
    free_timers_.push_back(e.index);
    --live_timers_;
    cb();
  }
}

// ---------------------------------------------------------------------------------------------
// Hooks and tasks

HookId EventLoop::add_before_sleep(Task hook) {
  HookId id = next_hook_id_++;
  hooks_.push_back(std::make_unique<Hook>(Hook{id, std::move(hook)}));
  return id;
}

void EventLoop::remove_before_sleep(HookId id) {
  for (auto& h : hooks_) {
    if (h && h->id == id) {
      h->fn = nullptr;  // erased after the current run of hooks; never called again
      hooks_dirty_ = true;
    }
  }
}

void EventLoop::run_hooks() {
  // Hooks are heap-allocated so a hook that adds another cannot move the one running.
  for (size_t i = 0; i < hooks_.size(); ++i) {
    Hook* h = hooks_[i].get();
    if (h->fn) h->fn();
  }
  if (hooks_dirty_) {
    std::erase_if(hooks_, [](const std::unique_ptr<Hook>& h) { return !h->fn; });
    hooks_dirty_ = false;
  }
}

void EventLoop::post(Task task) {
  {
    std::lock_guard lock(post_mu_);
    posted_.push_back(std::move(task));
  }
  wake();
}

void EventLoop::wake() {
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  uint64_t one = 1;
  ssize_t n;
  do {
    n = ::write(wakefd_.get(), &one, sizeof one);
  } while (n < 0 && errno == EINTR);
  // EAGAIN means the counter is saturated: the loop is going to wake anyway.
}

void EventLoop::on_wakeup() {
  uint64_t v;
  while (::read(wakefd_.get(), &v, sizeof v) < 0 && errno == EINTR) {
  }
  // Clear before taking the queue: a post() after the swap then writes the eventfd again.
  wake_pending_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(post_mu_);
    running_.swap(posted_);
  }
  work_ += int(running_.size());
  for (Task& t : running_) t();
  running_.clear();
}

void EventLoop::stop() {
  stop_.store(true, std::memory_order_release);
  wake();
}

int EventLoop::run_once(int max_wait_ms) {
  run_hooks();

  int timeout = max_wait_ms;
  int64_t deadline = next_deadline();
  if (deadline >= 0) {
    int64_t delta = std::max<int64_t>(0, deadline - clock_.now_ms());
    if (delta > INT_MAX) delta = INT_MAX;
    if (timeout < 0 || delta < timeout) timeout = int(delta);
  }

  int n = epoll_wait(epfd_.get(), ready_.data(), int(ready_.size()), timeout);
  if (n < 0) {
    if (errno != EINTR) MQ_LOG(kLogError, "Error: epoll_wait: %s", strerror(errno));
    n = 0;
  }
  work_ = 0;
  for (int i = 0; i < n; ++i) {
    uint64_t data = ready_[size_t(i)].data.u64;
    int fd = int(uint32_t(data));
    uint32_t gen = uint32_t(data >> 32);
    if (size_t(fd) >= fds_.size()) continue;
    FdSlot& s = fds_[size_t(fd)];
    if (s.handler == nullptr || s.gen != gen) continue;  // removed earlier in this iteration
    if (fd != wakefd_.get() && fd != sigfd_.get()) ++work_;
    s.handler->on_io(ready_[size_t(i)].events);
  }
  fire_timers();
  work_ += int(due_.size());
  return work_;
}

void EventLoop::run() {
  while (!stop_.load(std::memory_order_acquire)) run_once(-1);
  stop_.store(false, std::memory_order_release);
}

// ---------------------------------------------------------------------------------------------
// Signals

Status EventLoop::watch_signals(std::initializer_list<int> signals, SignalCallback callback) {
  sigset_t block;
  sigemptyset(&block);
  for (int s : signals) {
    if (s <= 0 || s >= kMaxSignal) return make_error(ErrorKind::kInternal, "bad signal number");
    sigaddset(&block, s);
    sigaddset(&signal_mask_, s);
  }
  if (pthread_sigmask(SIG_BLOCK, &block, nullptr) != 0)
    return make_error(ErrorKind::kIo, "pthread_sigmask failed");
  bool fresh = !sigfd_;
  int fd = signalfd(fresh ? -1 : sigfd_.get(), &signal_mask_, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return sys_error("signalfd", errno);
  if (fresh) {
    sigfd_.reset(fd);
    Status st = add(fd, EPOLLIN, &signal_handler_);
    if (!st) return st;
  }
  signal_callbacks_.resize(kMaxSignal);
  for (int s : signals) signal_callbacks_[size_t(s)] = callback;
  return {};
}

void EventLoop::on_signal() {
  signalfd_siginfo info[8];
  for (;;) {
    ssize_t n = ::read(sigfd_.get(), info, sizeof info);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (size_t i = 0; i < size_t(n) / sizeof info[0]; ++i) {
      int s = int(info[i].ssi_signo);
      if (s <= 0 || s >= kMaxSignal || !signal_callbacks_[size_t(s)]) continue;
      ++work_;
      signal_callbacks_[size_t(s)](s);
    }
  }
}

}  // namespace mq::net
