// Shards: start-up, reload and shutdown of the brokers of a thread_count > 1 process (shards.h).
#include "broker/shards.h"

#include "base/clock.h"
#include "base/log.h"
#include "broker/broker.h"

namespace mq::broker {

Result<std::unique_ptr<Shards>> Shards::create(Broker& first) {
  const size_t n = size_t(first.config().thread_count);
  std::unique_ptr<Shards> s(new Shards(first));
  s->set_.brokers.push_back(&first);
  for (size_t k = 1; k < n; k++) {
    auto loop = net::EventLoop::create(SystemClock::instance());
    if (!loop.ok()) return loop.error();
    s->brokers_.push_back(std::make_unique<Broker>(first.config(), **loop));
    s->loops_.push_back(std::move(*loop));
    s->set_.brokers.push_back(s->brokers_.back().get());
  }
  for (size_t k = 0; k < n; k++) s->set_.interest.push_back(std::make_unique<Interest>());
  for (size_t k = 0; k < n; k++) s->set_.brokers[k]->join_shards(&s->set_, k);
  return s;
}

Shards::~Shards() { stop(); }

void Shards::start() {
  for (auto& b : brokers_) b->start_secondary(first_);
  for (auto& loop : loops_) {
    net::EventLoop* l = loop.get();
    threads_.emplace_back([l] { l->run(); });
  }
  MQ_LOG(kLogNotice, "Serving on %zu event loops.", set_.brokers.size());
}

void Shards::reload(const Config& fresh) {
  std::vector<Broker::ListenerState> states = first_.listener_states();
  for (size_t k = 0; k < brokers_.size(); k++) {
    Broker* b = brokers_[k].get();
    loops_[k]->post([b, fresh, states] { b->reload_secondary(fresh, states); });
  }
}

void Shards::dump_state() {
  for (size_t k = 0; k < brokers_.size(); k++) {
    Broker* b = brokers_[k].get();
    loops_[k]->post([b] { b->dump_state(); });
  }
}

void Shards::stop() {
  if (threads_.empty()) return;
  for (size_t k = 0; k < brokers_.size(); k++) {
    Broker* b = brokers_[k].get();
    net::EventLoop* l = loops_[k].get();
    l->post([b, l] {
      b->shutdown();
      l->stop();
    });
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

// --- the Broker's side ---------------------------------------------------------------------

void Broker::join_shards(ShardSet* set, size_t index) {
  shards_ = set;
  shard_index_ = index;
  outbox_.resize(set->brokers.size());
}

void Broker::start_secondary(const Broker& first) {
  for (const auto& fl : first.listeners_) {
    auto l = std::make_unique<Listener>();
    l->config = &config_.listeners[size_t(fl->config - first.config_.listeners.data())];
    l->index = fl->index;
    l->port = fl->port;
    l->connections = fl->connections;  // one count across shards, for max_connections
    l->security = fl->security;
    l->tls = fl->tls;
    l->ws = fl->ws;
    listeners_.push_back(std::move(l));
  }
  bool need_worker = false;
  for (const auto& l : listeners_) need_worker = need_worker || l->security->passwords;
  if (need_worker && !auth_worker_) auth_worker_ = std::make_unique<AuthWorker>(1);
  install_loop_hooks();
}

std::vector<Broker::ListenerState> Broker::listener_states() const {
  std::vector<ListenerState> out;
  for (const auto& l : listeners_) out.push_back({l->security, l->tls});
  return out;
}

void Broker::reload_secondary(const Config& fresh, const std::vector<ListenerState>& states) {
  Status st = apply_reload(config_, fresh);
  if (!st.ok()) return;  // shard 0 accepted the same configuration; logged there otherwise
  bool need_worker = false;
  for (size_t i = 0; i < listeners_.size() && i < states.size(); i++) {
    listeners_[i]->security = states[i].security;
    listeners_[i]->tls = states[i].tls;
    need_worker = need_worker || listeners_[i]->security->passwords;
  }
  if (need_worker && !auth_worker_) auth_worker_ = std::make_unique<AuthWorker>(1);
  recheck_connected_clients();
}

}  // namespace mq::broker
