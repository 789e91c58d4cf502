#include "net/loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <random>
#include <thread>

#include "net/unique_fd.h"
#include "net_test_util.h"

namespace mq::net {
namespace {

using testing::FnHandler;
using testing::run_until;

struct Pair {
  UniqueFd a, b;
};

Pair make_pair() {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  return Pair{UniqueFd(sv[0]), UniqueFd(sv[1])};
}

std::unique_ptr<EventLoop> new_loop(Clock& clock) {
  auto loop = EventLoop::create(clock);
  EXPECT_TRUE(loop.ok());
  return std::move(*loop);
}

TEST(EventLoop, DispatchesReadableAndWritable) {
  auto loop = new_loop(SystemClock::instance());
  Pair p = make_pair();
  uint32_t seen = 0;
  int calls = 0;
  FnHandler h([&](uint32_t ev) {
    seen |= ev;
    ++calls;
    char buf[16];
    (void)!::read(p.a.get(), buf, sizeof buf);
  });
  ASSERT_TRUE(loop->add(p.a.get(), EPOLLIN, &h).ok());
  EXPECT_FALSE(loop->add(p.a.get(), EPOLLIN, &h).ok());  // one handler per fd
  EXPECT_EQ(loop->run_once(0), 0);
  ASSERT_EQ(::write(p.b.get(), "x", 1), 1);
  EXPECT_EQ(loop->run_once(1000), 1);
  EXPECT_TRUE(seen & EPOLLIN);

  // Level-triggered EPOLLOUT fires every iteration while armed; modify() turns it off.
  seen = 0;
  ASSERT_TRUE(loop->modify(p.a.get(), EPOLLIN | EPOLLOUT).ok());
  EXPECT_EQ(loop->events_of(p.a.get()), uint32_t(EPOLLIN | EPOLLOUT));
  loop->run_once(0);
  loop->run_once(0);
  EXPECT_TRUE(seen & EPOLLOUT);
  ASSERT_TRUE(loop->modify(p.a.get(), EPOLLIN).ok());
  calls = 0;
  EXPECT_EQ(loop->run_once(0), 0);
  EXPECT_EQ(calls, 0);
  loop->remove(p.a.get());
  EXPECT_FALSE(loop->registered(p.a.get()));
  loop->remove(p.a.get());  // no-op
}

TEST(EventLoop, RemovingAnotherHandlerInsideACallbackIsSafe) {
  auto loop = new_loop(SystemClock::instance());
  Pair p1 = make_pair(), p2 = make_pair();
  std::unique_ptr<FnHandler> h1, h2;
  int calls = 0;
  // Whichever runs first removes and frees the other; the other's event, already fetched by
  // epoll_wait in the same iteration, must be dropped.
  h1 = std::make_unique<FnHandler>([&](uint32_t) {
    ++calls;
    loop->remove(p2.a.get());
    h2.reset();
  });
  h2 = std::make_unique<FnHandler>([&](uint32_t) {
    ++calls;
    loop->remove(p1.a.get());
    h1.reset();
  });
  ASSERT_TRUE(loop->add(p1.a.get(), EPOLLIN, h1.get()).ok());
  ASSERT_TRUE(loop->add(p2.a.get(), EPOLLIN, h2.get()).ok());
  ASSERT_EQ(::write(p1.b.get(), "x", 1), 1);
  ASSERT_EQ(::write(p2.b.get(), "x", 1), 1);
  EXPECT_EQ(loop->run_once(1000), 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop->run_once(0), 1);  // the survivor is still readable (level-triggered)
  EXPECT_EQ(calls, 2);
}

TEST(EventLoop, StaleEventNotDeliveredToReusedFdNumber) {
  auto loop = new_loop(SystemClock::instance());
  Pair p1 = make_pair(), p2 = make_pair();
  int first_calls = 0, second_calls = 0, newcomer_calls = 0;
  FnHandler newcomer([&](uint32_t) { ++newcomer_calls; });
  Pair replacement;
  std::unique_ptr<FnHandler> h1, h2;
  auto kill_and_replace = [&](Pair& victim) {
    int victim_fd = victim.a.get();
    loop->remove(victim_fd);
    victim.a.reset();
    replacement = make_pair();  // the lowest free number: the victim's
    EXPECT_EQ(replacement.a.get(), victim_fd);
    ASSERT_TRUE(loop->add(replacement.a.get(), EPOLLIN, &newcomer).ok());
  };
  h1 = std::make_unique<FnHandler>([&](uint32_t) {
    ++first_calls;
    if (second_calls == 0) kill_and_replace(p2);
  });
  h2 = std::make_unique<FnHandler>([&](uint32_t) {
    ++second_calls;
    if (first_calls == 0) kill_and_replace(p1);
  });
  ASSERT_TRUE(loop->add(p1.a.get(), EPOLLIN, h1.get()).ok());
  ASSERT_TRUE(loop->add(p2.a.get(), EPOLLIN, h2.get()).ok());
  ASSERT_EQ(::write(p1.b.get(), "x", 1), 1);
  ASSERT_EQ(::write(p2.b.get(), "x", 1), 1);
  loop->run_once(1000);
  EXPECT_EQ(first_calls + second_calls, 1);
  EXPECT_EQ(newcomer_calls, 0);  // the new socket is not readable; the old event was stale
  loop->remove(replacement.a.get());
}

TEST(EventLoop, TimersFireInDeadlineOrderWithFakeClock) {
  FakeClock clock;
  auto loop = new_loop(clock);
  std::vector<std::string> fired;
  int64_t t0 = clock.now_ms();
  loop->add_timer(t0 + 30, [&] { fired.push_back("30"); });
  loop->add_timer(t0 + 10, [&] { fired.push_back("10a"); });
  loop->add_timer(t0 + 20, [&] { fired.push_back("20"); });
  loop->add_timer_in(10, [&] { fired.push_back("10b"); });
  EXPECT_EQ(loop->timer_count(), 4u);
  EXPECT_EQ(loop->next_deadline(), t0 + 10);

  loop->run_once(0);
  EXPECT_TRUE(fired.empty());
  clock.advance_ms(9);
  loop->run_once(0);
  EXPECT_TRUE(fired.empty());
  clock.advance_ms(1);
  EXPECT_EQ(loop->run_once(0), 2);
  EXPECT_EQ(fired, (std::vector<std::string>{"10a", "10b"}));
  clock.advance_ms(100);
  loop->run_once(0);
  EXPECT_EQ(fired, (std::vector<std::string>{"10a", "10b", "20", "30"}));
  EXPECT_EQ(loop->timer_count(), 0u);
  EXPECT_EQ(loop->next_deadline(), -1);
}

TEST(EventLoop, CancelTimer) {
  FakeClock clock;
  auto loop = new_loop(clock);
  int a = 0, b = 0;
  TimerId ia = loop->add_timer_in(5, [&] { ++a; });
  TimerId ib = loop->add_timer_in(5, [&] { ++b; });
  EXPECT_NE(ia, 0u);
  EXPECT_TRUE(loop->cancel_timer(ia));
  EXPECT_FALSE(loop->cancel_timer(ia));
  EXPECT_EQ(loop->next_deadline(), clock.now_ms() + 5);
  clock.advance_ms(5);
  loop->run_once(0);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_FALSE(loop->cancel_timer(ib));  // already fired
  // A reused slot gets a new id: the old id cannot cancel the new timer.
  TimerId ic = loop->add_timer_in(5, [&] { ++a; });
  EXPECT_NE(ic, ia);
  EXPECT_NE(ic, ib);
  EXPECT_FALSE(loop->cancel_timer(ib));
  clock.advance_ms(5);
  loop->run_once(0);
  EXPECT_EQ(a, 1);
}

TEST(EventLoop, TimerCallbacksCanCancelAndAddTimers) {
  FakeClock clock;
  auto loop = new_loop(clock);
  std::vector<int> fired;
  TimerId second = 0;
  loop->add_timer_in(1, [&] {
    fired.push_back(1);
    loop->cancel_timer(second);  // due in the same batch: must not run
    loop->add_timer_in(-5, [&] { fired.push_back(3); });  // past deadline: next iteration
  });
  second = loop->add_timer_in(1, [&] { fired.push_back(2); });
  clock.advance_ms(1);
  loop->run_once(0);
  EXPECT_EQ(fired, std::vector<int>{1});
  loop->run_once(0);
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
}

TEST(EventLoop, HundredThousandTimers) {
  FakeClock clock;
  auto loop = new_loop(clock);
  constexpr int kCount = 100'000;
  std::mt19937 rng(42);
  std::vector<TimerId> ids;
  ids.reserve(kCount);
  int64_t last = -1;
  int fired = 0;
  bool ordered = true;
  for (int i = 0; i < kCount; ++i) {
    int64_t deadline = clock.now_ms() + int64_t(rng() % 10'000);
    ids.push_back(loop->add_timer(deadline, [&, deadline] {
      ordered = ordered && deadline >= last;
      last = deadline;
      ++fired;
    }));
  }
  for (int i = 0; i < kCount; i += 2) EXPECT_TRUE(loop->cancel_timer(ids[size_t(i)]));
  EXPECT_EQ(loop->timer_count(), size_t(kCount / 2));
  for (int step = 0; step < 100; ++step) {
    clock.advance_ms(100);
    loop->run_once(0);
  }
  EXPECT_EQ(fired, kCount / 2);
  EXPECT_TRUE(ordered);
  EXPECT_EQ(loop->timer_count(), 0u);
}

TEST(EventLoop, RealClockTimerBoundsTheWait) {
  auto loop = new_loop(SystemClock::instance());
  bool fired = false;
  loop->add_timer_in(20, [&] { fired = true; });
  int64_t start = SystemClock::instance().now_ms();
  EXPECT_TRUE(run_until(*loop, [&] { return fired; }, 2000));
  EXPECT_GE(SystemClock::instance().now_ms() - start, 19);
}

TEST(EventLoop, BeforeSleepHooksRunEachIteration) {
  FakeClock clock;
  auto loop = new_loop(clock);
  int a = 0, b = 0;
  HookId ha = loop->add_before_sleep([&] { ++a; });
  HookId hb = 0;
  hb = loop->add_before_sleep([&] {
    ++b;
    if (b == 2) loop->remove_before_sleep(hb);  // removing itself from inside is fine
  });
  for (int i = 0; i < 3; ++i) loop->run_once(0);
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 2);
  loop->remove_before_sleep(ha);
  loop->run_once(0);
  EXPECT_EQ(a, 3);

  // Hooks see work done in the iteration before: a timer's effect is flushed by the next hook.
  int pending = 0, flushed = 0;
  loop->add_before_sleep([&] {
    flushed += pending;
    pending = 0;
  });
  loop->add_timer_in(0, [&] { pending = 7; });
  loop->run_once(0);
  EXPECT_EQ(flushed, 0);
  loop->run_once(0);
  EXPECT_EQ(flushed, 7);
}

TEST(EventLoop, PostFromAnotherThreadWakesTheLoop) {
  auto loop = new_loop(SystemClock::instance());
  std::atomic<bool> ran{false};
  std::vector<int> order;
  std::thread t([&] {
    for (int i = 0; i < 100; ++i) loop->post([&order, i] { order.push_back(i); });
    loop->post([&] { ran = true; });
  });
  // A long wait: only the eventfd can end it early.
  int64_t start = SystemClock::instance().now_ms();
  while (!ran && SystemClock::instance().now_ms() - start < 5000) loop->run_once(10'000);
  t.join();
  EXPECT_TRUE(ran);
  ASSERT_EQ(order.size(), 100u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_LT(SystemClock::instance().now_ms() - start, 5000);
}

TEST(EventLoop, StopFromCallbackAndFromAnotherThread) {
  auto loop = new_loop(SystemClock::instance());
  TimerId guard = loop->add_timer_in(5000, [&] {
    loop->stop();
    ADD_FAILURE() << "stop() did not end run()";
  });
  loop->add_timer_in(0, [&] { loop->stop(); });
  loop->run();
  EXPECT_FALSE(loop->stop_requested());

  std::thread t([&] { loop->stop(); });
  loop->run();  // returns whether stop() lands before or during run()
  t.join();
  loop->cancel_timer(guard);
  guard = loop->add_timer_in(5000, [&] { loop->stop(); ADD_FAILURE() << "not stopped"; });
  std::atomic<bool> running{false};
  loop->add_before_sleep([&] { running = true; });
  std::thread t2([&] {
    while (!running) std::this_thread::yield();
    loop->stop();
  });
  loop->run();
  t2.join();
  loop->cancel_timer(guard);
}

TEST(EventLoop, SignalsArriveThroughSignalfd) {
  auto loop = new_loop(SystemClock::instance());
  std::vector<int> got;
  ASSERT_TRUE(loop->watch_signals({SIGUSR1, SIGUSR2}, [&](int s) { got.push_back(s); }).ok());
  ASSERT_EQ(raise(SIGUSR2), 0);
  EXPECT_TRUE(run_until(*loop, [&] { return !got.empty(); }, 2000));
  EXPECT_EQ(got, std::vector<int>{SIGUSR2});
  ASSERT_EQ(raise(SIGUSR1), 0);
  EXPECT_TRUE(run_until(*loop, [&] { return got.size() == 2; }, 2000));
  EXPECT_EQ(got.back(), SIGUSR1);
  // SIGPIPE is ignored for the process.
  struct sigaction sa;
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &sa), 0);
  EXPECT_EQ(sa.sa_handler, SIG_IGN);
}

}  // namespace
}  // namespace mq::net
