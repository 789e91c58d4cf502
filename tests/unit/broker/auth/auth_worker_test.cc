// AuthWorker with the real EventLoop and PasswordDb: the broker's only cross-thread paths
// (tasks submitted from the loop, verification on workers against a shared immutable password
// database that a reload replaces meanwhile, results posted back). Also built with
// ThreadSanitizer by `tests/run.sh --full` (build-tsan), where a data race fails the run.
#include "broker/auth/auth_worker.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <string>

#include "base/clock.h"
#include "broker/auth/password_db.h"
#include "net/loop.h"

namespace mq::broker {
namespace {

// Mosquitto 2.0 $7$ (101 iterations) for "secret" and $6$ for "hunter2".
const char* kAlice =
    "alice:$7$101$1PevhJUDxZJESjVU$bADYmauG2cRPdEK8D9TZNhY3Ma+geY9Pg7HArWQdSnwUh4cD7ki+EQ9qoZiT0H"
    "17lOTrmCqz32OCjsqWXUpY/Q==\n";
const char* kBob =
    "bob:$6$z5SUf+WHGnwxSaaw$jF7WpVubK9xXI9MpIaViPk5Dr4eNdr1jax+TTbQwmwcA+6z7izZEAdg3py1/kX/IftGs"
    "qvcgAP1Za25Kwoq1uA==\n";

std::unique_ptr<net::EventLoop> new_loop() {
  auto loop = net::EventLoop::create(SystemClock::instance());
  EXPECT_TRUE(loop.ok());
  return std::move(*loop);
}

TEST(AuthWorker, VerifiesOnWorkersWhileTheLoopReloadsTheDatabase) {
  auto loop = new_loop();
  std::shared_ptr<const PasswordDb> db = PasswordDb::parse(std::string(kAlice) + kBob, "pw");
  AuthWorker worker(3);
  constexpr int kTasks = 200;
  int done = 0, accepted = 0, reloads = 0;
  // Each result comes back to the loop thread, which then swaps in a freshly parsed database
  // (what SIGHUP does) while other verifications still hold the previous one.
  for (int i = 0; i < kTasks; i++) {
    bool right = i % 2 == 0;
    worker.submit([&, db_now = db, right, i] {
      bool ok = db_now->verify(i % 4 < 2 ? "alice" : "bob",
                               right ? (i % 4 < 2 ? "secret" : "hunter2") : "wrong");
      loop->post([&, ok] {
        done++;
        if (ok) accepted++;
        if (done % 10 == 0) {
          db = PasswordDb::parse(std::string(kBob) + kAlice, "pw");
          reloads++;
        }
        if (done == kTasks) loop->stop();
      });
    });
  }
  net::TimerId guard = loop->add_timer_in(20'000, [&] { loop->stop(); });
  loop->run();
  loop->cancel_timer(guard);
  EXPECT_EQ(done, kTasks);
  EXPECT_EQ(accepted, kTasks / 2) << "every right password accepted, every wrong one refused";
  EXPECT_EQ(reloads, kTasks / 10);
}

TEST(AuthWorker, WorkerThreadsBlockEverySignal) {
  auto loop = new_loop();
  AuthWorker worker(2);
  std::atomic<int> blocked{-1};
  worker.submit([&] {
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    blocked = sigismember(&now, SIGHUP) && sigismember(&now, SIGTERM) &&
              sigismember(&now, SIGINT) && sigismember(&now, SIGUSR1);
    loop->post([&] { loop->stop(); });
  });
  net::TimerId guard = loop->add_timer_in(5'000, [&] { loop->stop(); });
  loop->run();
  loop->cancel_timer(guard);
  EXPECT_EQ(blocked.load(), 1) << "a process signal must never land on a worker thread";
}

TEST(AuthWorker, DestroyedWithTasksQueuedDropsThemAndJoins) {
  std::atomic<int> ran{0};
  {
    AuthWorker worker(1);
    std::atomic<bool> started{false}, release{false};
    worker.submit([&] {
      started = true;
      while (!release) std::this_thread::yield();
      ran++;
    });
    while (!started) std::this_thread::yield();
    for (int i = 0; i < 50; i++) worker.submit([&] { ran++; });
    release = true;
  }  // joins: the running task finishes; queued ones may or may not have started by then
  EXPECT_GE(ran.load(), 1) << "the task that had started ran to its end";
  EXPECT_LE(ran.load(), 51);
}

}  // namespace
}  // namespace mq::broker
