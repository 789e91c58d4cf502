// idle: open --conns connections, CONNECT each (keep-alive --keepalive, 0 by
// default for this scenario) with at most --concurrency awaiting CONNACK,
// print `ready ...` once all are up, stay connected for --hold seconds, then
// send one PINGREQ on every connection and count the PINGRESPs (proof that
// the broker still serves all of them), print `result ...` and disconnect.
// With --subscribe 1 each connection also subscribes (QoS 1) to a topic of its
// own, bench/s/<index>, and counts as up at its SUBACK: the memory a broker
// needs per connection with one subscription.
//
// retain: one connection publishes --conns retained messages of --size bytes
// on bench/r/<index> (QoS 0, pipelined), then a PINGREQ whose PINGRESP proves
// the broker has processed them all; prints `ready ...`, holds, `result ...`.
//
// Also the probe used by run.sh to wait for a freshly started broker.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "loadgen.h"
#include "net.h"

namespace mq::bench {

namespace {

enum class State : uint8_t { kIdle, kConnecting, kConnected, kFailed, kClosed };

class Idle {
 public:
  explicit Idle(const Options& o) : o_(o), conns_(o.conns), state_(o.conns, State::kIdle) {}
  int run();

 private:
  void open_next();
  void handle_events(int n);
  void fail(size_t i);

  const Options& o_;
  Loop loop_;
  std::vector<Conn> conns_;
  std::vector<State> state_;
  uint32_t sources_ = 0;
  size_t next_ = 0;
  uint32_t pending_ = 0, connected_ = 0, failed_ = 0, dropped_ = 0, pongs_ = 0;
};

void Idle::fail(size_t i) {
  if (state_[i] == State::kConnecting) {
    --pending_;
    ++failed_;
    state_[i] = State::kFailed;
  } else if (state_[i] == State::kConnected) {
    --connected_;
    ++dropped_;
    state_[i] = State::kClosed;
  }
  loop_.close(conns_[i]);
}

void Idle::open_next() {
  while (pending_ < o_.concurrency && next_ < conns_.size()) {
    size_t i = next_++;
    // 127.0.0.1, 127.0.0.2, ...: each source address has its own ephemeral ports.
    uint32_t src = sources_ > 1 ? 0x7f000001u + static_cast<uint32_t>(i % sources_) : 0;
    if (!loop_.open(conns_[i], o_.port, src, i)) {
      ++failed_;
      state_[i] = State::kFailed;
      continue;
    }
    state_[i] = State::kConnecting;
    ++pending_;
    char id[64];
    std::snprintf(id, sizeof id, "mqb-%d-i%zu", static_cast<int>(getpid()), i);
    conns_[i].out = connect_packet(id, o_.keepalive);
    if (!loop_.flush(conns_[i])) fail(i);
  }
}

void Idle::handle_events(int n) {
  for (int k = 0; k < n; ++k) {
    size_t i = static_cast<size_t>(loop_.event_tag(k));
    uint32_t mask = loop_.event_mask(k);
    Conn& c = conns_[i];
    if (c.dead) continue;
    if (mask & EPOLLOUT) {
      if (!loop_.flush(c)) {
        fail(i);
        continue;
      }
    }
    if (!(mask & ~uint32_t{EPOLLOUT})) continue;
    bool ok = loop_.read(c, [&](const Frame& f) {
      if (f.type() == PacketType::kConnack && state_[i] == State::kConnecting && o_.subscribe) {
        if (f.body_len >= 2 && f.body[1] == 0) {
          char topic[48];
          std::snprintf(topic, sizeof topic, "bench/s/%zu", i);
          c.out += subscribe_packet(1, topic, 1);
          if (!loop_.flush(c)) fail(i);
        }
      } else if ((f.type() == PacketType::kConnack && !o_.subscribe) ||
                 (f.type() == PacketType::kSuback && o_.subscribe)) {
        if (state_[i] != State::kConnecting) return;
        bool ok = f.type() == PacketType::kConnack ? f.body_len >= 2 && f.body[1] == 0
                                                    : f.body_len >= 3 && f.body[2] < 0x80;
        if (ok) {
          state_[i] = State::kConnected;
          --pending_;
          ++connected_;
        }
      } else if (f.type() == PacketType::kPingresp) {
        ++pongs_;
      }
    });
    if (!ok) fail(i);
  }
}

int Idle::run() {
  uint64_t limit = raise_nofile_limit();
  if (o_.conns + 64 > limit) {
    std::fprintf(stderr, "mq_loadgen: %u connections need more than RLIMIT_NOFILE %llu\n",
                 o_.conns, static_cast<unsigned long long>(limit));
    return 2;
  }
  // One source address serves ~28k connections to one port (the default
  // ephemeral range); stay well below that.
  sources_ = o_.sources ? o_.sources : (o_.conns + 19999) / 20000;
  const double t0 = now_secs();
  while (connected_ + failed_ + dropped_ < o_.conns && now_secs() - t0 < o_.timeout) {
    open_next();
    handle_events(loop_.wait(10));
  }
  const double connect_secs = now_secs() - t0;
  std::printf("ready conns=%u connected=%u failed=%u secs=%.3f\n", o_.conns, connected_,
              failed_ + (o_.conns - connected_ - failed_ - dropped_), connect_secs);
  std::fflush(stdout);

  const double hold_end = now_secs() + o_.hold;
  while (now_secs() < hold_end) handle_events(loop_.wait(100));

  uint32_t alive = 0;
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (state_[i] != State::kConnected) continue;
    conns_[i].out.append(kPingreq, 2);
    if (loop_.flush(conns_[i])) ++alive;
  }
  const double ping_end = now_secs() + 10;
  while (pongs_ < alive && now_secs() < ping_end) handle_events(loop_.wait(10));

  std::printf(
      "result scenario=idle conns=%u connected=%u failed=%u dropped=%u pong=%u connect_secs=%.3f"
      " conn_rate=%.0f lg_cpu=%.2f\n",
      o_.conns, connected_, o_.conns - connected_ - dropped_, dropped_, pongs_, connect_secs,
      connected_ / std::max(connect_secs, 1e-6), cpu_secs_self() / (now_secs() - t0));
  std::fflush(stdout);
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].dead) continue;
    conns_[i].out.append(kDisconnect, 2);
    loop_.flush(conns_[i]);
    loop_.close(conns_[i]);
  }
  return connected_ == o_.conns && pongs_ == alive ? 0 : 1;
}

}  // namespace

int run_idle(const Options& o) {
  Idle idle(o);
  return idle.run();
}

int run_retain(const Options& o) {
  Loop loop;
  Conn c;
  const double t0 = now_secs();
  if (!loop.open(c, o.port, 0, 0)) return 1;
  char id[64];
  std::snprintf(id, sizeof id, "mqb-%d-r", static_cast<int>(getpid()));
  c.out = connect_packet(id, 0);
  std::string payload(o.size, 'r');
  for (uint32_t i = 0; i < o.conns; ++i) {
    char topic[48];
    std::snprintf(topic, sizeof topic, "bench/r/%u", i);
    PublishTemplate t = publish_template(topic, 0, o.size);
    t.bytes[0] = static_cast<char>(t.bytes[0] | 1);  // RETAIN
    c.out += t.bytes;
  }
  c.out.append(kPingreq, 2);
  bool pong = false, refused = false;
  loop.flush(c);
  while (!pong && !c.dead && now_secs() - t0 < o.timeout) {
    int n = loop.wait(20);
    for (int k = 0; k < n; ++k) {
      if (loop.event_mask(k) & EPOLLOUT) loop.flush(c);
      if (c.dead) break;
      if (!loop.read(c, [&](const Frame& f) {
            if (f.type() == PacketType::kConnack) refused = f.body_len < 2 || f.body[1] != 0;
            if (f.type() == PacketType::kPingresp) pong = true;
          })) {
        loop.close(c);
      }
    }
    if (c.out_pending() && !c.pollout) loop.flush(c);
  }
  const double secs = now_secs() - t0;
  std::printf("ready retained=%u secs=%.3f\n", pong ? o.conns : 0, secs);
  std::fflush(stdout);
  const double hold_end = now_secs() + o.hold;
  while (!c.dead && now_secs() < hold_end) loop.wait(100);
  std::printf("result scenario=retain retained=%u size=%zu ok=%d secs=%.3f rate=%.0f lg_cpu=%.2f\n",
              pong ? o.conns : 0, o.size, pong && !refused ? 1 : 0, secs, o.conns / secs,
              cpu_secs_self() / (now_secs() - t0));
  std::fflush(stdout);
  if (!c.dead) {
    c.out.append(kDisconnect, 2);
    loop.flush(c);
    loop.close(c);
  }
  return pong && !refused ? 0 : 1;
}

int run_probe(const Options& o) {
  const double deadline = now_secs() + o.timeout;
  while (now_secs() < deadline) {
    Loop loop;
    Conn c;
    if (loop.open(c, o.port, 0, 0)) {
      c.out = connect_packet("mqb-probe", 0);
      loop.flush(c);
      const double until = std::min(deadline, now_secs() + 0.5);
      bool ok = false, done = false;
      while (!done && now_secs() < until) {
        int n = loop.wait(20);
        for (int k = 0; k < n && !done; ++k) {
          if (loop.event_mask(k) & EPOLLOUT) loop.flush(c);
          if (c.dead) {
            done = true;
            break;
          }
          if (!loop.read(c, [&](const Frame& f) {
                if (f.type() == PacketType::kConnack) {
                  ok = f.body_len >= 2 && f.body[1] == 0;
                  done = true;
                }
              })) {
            done = true;
          }
        }
      }
      if (ok) {
        c.out.append(kDisconnect, 2);
        loop.flush(c);
        loop.close(c);
        return 0;
      }
      loop.close(c);
    }
    usleep(50 * 1000);
  }
  std::fprintf(stderr, "mq_loadgen: no CONNACK from 127.0.0.1:%u\n", o.port);
  return 1;
}

}  // namespace mq::bench
