// AuthWorker: runs slow work (password hash verification: Argon2id costs ~0.1 s of CPU; the
// journal's fdatasync, in a one-thread instance) on its own threads so the broker loop never
// waits for it. Worker threads block every signal (signals belong to the loop's signalfd). Tasks are plain functions; a task hands
// its result back to the loop with EventLoop::post(). Owned by the Broker; destroying it stops
// and joins the threads (tasks not started are dropped).
// Threading: submit() is called on the loop thread; tasks run on the worker threads and must
// touch only immutable shared data (e.g. shared_ptr<const PasswordDb>).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mq::broker {

class AuthWorker {
 public:
  explicit AuthWorker(unsigned threads);
  ~AuthWorker();
  AuthWorker(const AuthWorker&) = delete;
  AuthWorker& operator=(const AuthWorker&) = delete;

  void submit(std::function<void()> task);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace mq::broker
