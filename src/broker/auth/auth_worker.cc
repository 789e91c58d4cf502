#include "broker/auth/auth_worker.h"

#include <pthread.h>
#include <signal.h>

namespace mq::broker {

AuthWorker::AuthWorker(unsigned threads) {
  if (threads == 0) threads = 1;
  // Signals belong to the loop thread (signalfd). Threads inherit the creator's mask, so all
  // signals are blocked while they start: a worker must never take SIGHUP or SIGTERM with the
  // default action, which would end the process without a clean shutdown.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  for (unsigned i = 0; i < threads; i++) threads_.emplace_back([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

AuthWorker::~AuthWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    tasks_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void AuthWorker::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void AuthWorker::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace mq::broker
