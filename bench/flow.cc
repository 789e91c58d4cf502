// fanin (P publishers -> 1 subscriber) and fanout (1 publisher -> K
// subscribers) on one topic.
//
// Flow control is closed-loop so the figure is sustained end-to-end
// throughput, not "how fast can the broker drop": every payload starts with
// (publisher index, sequence number), each subscriber tracks the highest
// sequence seen per publisher, and a publisher may run at most --window
// messages ahead of its slowest subscriber. QoS 1 publishers additionally keep
// at most --inflight PUBLISH unacknowledged. Within those limits writes are
// pipelined and batched (--batch messages per send()). A message skipped by
// a later sequence number is counted lost (QoS 0); so are messages still
// missing when nothing moved for --drain seconds after publishing stopped.
//
// Latency: with --size >= 16 the publisher also writes the monotonic time of
// the send() into payload bytes 8..15; each subscriber records now minus that
// time per delivery, and the result line gives the median and 99th percentile
// (p50_us, p99_us). In this closed loop most of it is queueing within the
// window, so it compares brokers at their own sustained rate.
#include <sys/epoll.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "loadgen.h"
#include "net.h"

namespace mq::bench {

namespace {

constexpr uint64_t kPubTag = uint64_t{1} << 32;

uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Latencies in 1 µs buckets below 65.536 ms, 1 ms buckets above (up to 10 min).
class Histogram {
 public:
  Histogram() : fine_(65536, 0), coarse_(600000, 0) {}
  void add(uint64_t ns) {
    uint64_t us = ns / 1000;
    ++n_;
    if (us < fine_.size()) {
      ++fine_[us];
    } else {
      ++coarse_[std::min<uint64_t>(us / 1000, coarse_.size() - 1)];
    }
  }
  uint64_t count() const { return n_; }
  // The smallest bucket value (µs) at or below which a fraction q of samples lie.
  double quantile(double q) const {
    if (n_ == 0) return -1;
    uint64_t want = static_cast<uint64_t>(q * static_cast<double>(n_ - 1)) + 1, seen = 0;
    for (size_t i = 0; i < fine_.size(); ++i) {
      seen += fine_[i];
      if (seen >= want) return static_cast<double>(i);
    }
    for (size_t i = 0; i < coarse_.size(); ++i) {
      seen += coarse_[i];
      if (seen >= want) return static_cast<double>(i) * 1000.0;
    }
    return static_cast<double>(coarse_.size()) * 1000.0;
  }

 private:
  std::vector<uint64_t> fine_, coarse_;
  uint64_t n_ = 0;
};

enum class State : uint8_t { kConnecting, kConnected, kReady };

struct Pub {
  Conn c;
  State state = State::kConnecting;
  PublishTemplate tmpl;
  uint32_t quota = 0;  // messages to send in total
  uint32_t sent = 0;
  uint32_t inflight = 0;  // QoS 1 without PUBACK
  uint32_t forgiven = 0;  // credit base granted after a stall
  uint16_t next_pid = 1;
};

struct Sub {
  Conn c;
  State state = State::kConnecting;
  std::vector<uint32_t> next_seq;  // per publisher: highest sequence seen + 1
  uint64_t received = 0;
};

struct Counters {
  uint64_t delivered = 0;
  uint64_t out_of_order = 0;
  uint64_t pubacks = 0;
  uint32_t closed = 0;
  uint32_t refused = 0;
  uint32_t stalls = 0;
  bool progress = false;
};

class Flow {
 public:
  explicit Flow(const Options& o) : o_(o) {}
  int run();

 private:
  bool setup();
  void pump(bool* more);
  void handle_events(int n);
  void on_sub_frame(Sub& s, const Frame& f);
  void on_pub_frame(Pub& p, const Frame& f);
  uint32_t slowest_seq(size_t pub) const;
  uint64_t published() const;
  bool drained() const;
  std::string client_id(const char* role, size_t i) const;

  const Options& o_;
  Loop loop_;
  std::vector<Pub> pubs_;
  std::vector<Sub> subs_;
  Counters n_;
  bool stalled_ = false;  // no delivery or PUBACK for 0.5 s
  Histogram latency_;
};

std::string Flow::client_id(const char* role, size_t i) const {
  char b[64];
  std::snprintf(b, sizeof b, "mqb-%d-%s%zu", static_cast<int>(getpid()), role, i);
  return b;
}

uint32_t Flow::slowest_seq(size_t pub) const {
  uint32_t m = std::numeric_limits<uint32_t>::max();
  for (const Sub& s : subs_) {
    if (!s.c.dead) m = std::min(m, s.next_seq[pub]);
  }
  return m;
}

uint64_t Flow::published() const {
  uint64_t t = 0;
  for (const Pub& p : pubs_) t += p.sent;
  return t;
}

bool Flow::drained() const {
  uint64_t live = 0;
  for (const Sub& s : subs_) live += s.c.dead ? 0 : 1;
  for (const Pub& p : pubs_) {
    if (p.inflight > 0 && !p.c.dead) return false;
  }
  return n_.delivered >= published() * live;
}

void Flow::on_sub_frame(Sub& s, const Frame& f) {
  switch (f.type()) {
    case PacketType::kConnack:
      if (f.body_len < 2 || f.body[1] != 0) ++n_.refused;
      s.state = State::kConnected;
      break;
    case PacketType::kSuback:
      if (f.body_len < 3 || f.body[2] == 0x80) ++n_.refused;
      s.state = State::kReady;
      break;
    case PacketType::kPublish: {
      int qos = (f.first_byte >> 1) & 3;
      if (f.body_len < 2) return;
      size_t off = 2 + get_u16(f.body);
      if (qos > 0) {
        if (off + 2 > f.body_len) return;
        append_puback(s.c.out, get_u16(f.body + off));
        off += 2;
      }
      ++s.received;
      ++n_.delivered;
      n_.progress = true;
      if (off + 8 > f.body_len) return;
      uint32_t pub = get_u32le(f.body + off);
      uint32_t seq = get_u32le(f.body + off + 4);
      if (off + 16 <= f.body_len) {
        uint64_t sent = 0;
        std::memcpy(&sent, f.body + off + 8, 8);
        uint64_t now = mono_ns();
        if (sent && now >= sent) latency_.add(now - sent);
      }
      if (pub >= s.next_seq.size()) return;
      if (seq >= s.next_seq[pub]) {
        s.next_seq[pub] = seq + 1;
      } else {
        ++n_.out_of_order;
      }
      break;
    }
    default:
      break;
  }
}

void Flow::on_pub_frame(Pub& p, const Frame& f) {
  switch (f.type()) {
    case PacketType::kConnack:
      if (f.body_len < 2 || f.body[1] != 0) ++n_.refused;
      p.state = State::kReady;
      break;
    case PacketType::kPuback:
      if (p.inflight > 0) --p.inflight;
      ++n_.pubacks;
      n_.progress = true;
      break;
    default:
      break;
  }
}

void Flow::handle_events(int n) {
  for (int i = 0; i < n; ++i) {
    uint64_t tag = loop_.event_tag(i);
    uint32_t mask = loop_.event_mask(i);
    bool is_pub = tag & kPubTag;
    size_t idx = static_cast<size_t>(tag & 0xffffffffu);
    Conn& c = is_pub ? pubs_[idx].c : subs_[idx].c;
    if (c.dead) continue;
    if (mask & EPOLLOUT) loop_.flush(c);
    if (c.dead || !(mask & ~uint32_t{EPOLLOUT})) continue;
    bool ok = is_pub ? loop_.read(c, [&](const Frame& f) { on_pub_frame(pubs_[idx], f); })
                     : loop_.read(c, [&](const Frame& f) { on_sub_frame(subs_[idx], f); });
    if (!ok) {
      loop_.close(c);
      ++n_.closed;
    }
  }
  for (Sub& s : subs_) {
    if (!s.c.dead && s.c.out_pending() && !s.c.pollout) loop_.flush(s.c);
  }
}

bool Flow::setup() {
  size_t np = static_cast<size_t>(o_.pubs), ns = static_cast<size_t>(o_.subs);
  subs_.resize(ns);
  pubs_.resize(np);
  for (size_t i = 0; i < ns; ++i) {
    Sub& s = subs_[i];
    if (!loop_.open(s.c, o_.port, 0, i)) return false;
    s.next_seq.assign(np, 0);
    s.c.out = connect_packet(client_id("s", i), o_.keepalive, !o_.persistent_subs);
    s.c.out += subscribe_packet(1, o_.topic, static_cast<uint8_t>(o_.qos));
    loop_.flush(s.c);
  }
  uint64_t per = o_.msgs ? o_.msgs / np : std::numeric_limits<uint32_t>::max();
  for (size_t i = 0; i < np; ++i) {
    Pub& p = pubs_[i];
    if (!loop_.open(p.c, o_.port, 0, kPubTag | i)) return false;
    p.tmpl = publish_template(o_.topic, static_cast<uint8_t>(o_.qos), o_.size);
    set_u32le(&p.tmpl.bytes[p.tmpl.payload_offset], static_cast<uint32_t>(i));
    p.quota = static_cast<uint32_t>(std::min<uint64_t>(
        per + (o_.msgs && i < o_.msgs % np ? 1 : 0), std::numeric_limits<uint32_t>::max()));
    p.c.out = connect_packet(client_id("p", i), o_.keepalive);
    loop_.flush(p.c);
  }
  double deadline = now_secs() + o_.timeout;
  for (;;) {
    bool ready = n_.closed == 0 && n_.refused == 0;
    for (const Sub& s : subs_) ready = ready && s.state == State::kReady;
    for (const Pub& p : pubs_) ready = ready && p.state == State::kReady;
    if (ready) return true;
    if (n_.closed || n_.refused || now_secs() > deadline) return false;
    handle_events(loop_.wait(10));
  }
}

void Flow::pump(bool* more) {
  for (size_t i = 0; i < pubs_.size(); ++i) {
    Pub& p = pubs_[i];
    if (p.c.dead || p.sent >= p.quota || p.c.out_pending()) continue;
    uint32_t credit = std::min(p.quota - p.sent, o_.batch);
    if (o_.qos > 0) credit = std::min(credit, o_.inflight - std::min(o_.inflight, p.inflight));
    uint32_t base = std::max(slowest_seq(i), p.forgiven);
    uint32_t ahead = p.sent > base ? p.sent - base : 0;
    uint32_t e2e = o_.window > ahead ? o_.window - ahead : 0;
    if (e2e == 0 && stalled_) {
      // Nothing arrived for a while although we are waiting: the messages in
      // the window were dropped. Grant a fresh window rather than deadlock.
      p.forgiven = p.sent;
      ++n_.stalls;
      n_.progress = true;  // restart the stall clock
      e2e = o_.window;
    }
    credit = std::min(credit, e2e);
    // Hysteresis: with messages in flight, wait until a quarter of a window
    // is free, so the broker sees a few large writes, not many tiny ones.
    uint32_t chunk = std::min(o_.batch, std::max(1u, o_.window / 4));
    if (o_.qos > 0) chunk = std::min(chunk, std::max(1u, o_.inflight / 4));
    chunk = std::min(chunk, p.quota - p.sent);
    if (credit == 0 || (credit < chunk && (ahead > 0 || p.inflight > 0))) continue;
    std::string& out = p.c.out;
    const std::string& t = p.tmpl.bytes;
    size_t base_len = out.size();
    out.resize(base_len + t.size() * credit);
    char* w = out.data() + base_len;
    const uint64_t stamp = o_.size >= 16 ? mono_ns() : 0;
    for (uint32_t k = 0; k < credit; ++k, w += t.size()) {
      std::memcpy(w, t.data(), t.size());
      if (stamp) std::memcpy(w + p.tmpl.payload_offset + 8, &stamp, 8);
      if (o_.qos > 0) {
        uint16_t pid = p.next_pid;
        p.next_pid = pid == 0xffff ? 1 : static_cast<uint16_t>(pid + 1);
        w[p.tmpl.pid_offset] = static_cast<char>(pid >> 8);
        w[p.tmpl.pid_offset + 1] = static_cast<char>(pid & 0xff);
        ++p.inflight;
      }
      set_u32le(w + p.tmpl.payload_offset + 4, p.sent++);
    }
    loop_.flush(p.c);
    if (credit == o_.batch && !p.c.out_pending()) *more = true;
  }
}

int Flow::run() {
  if (!setup()) {
    std::fprintf(stderr, "mq_loadgen: setup failed (closed=%u refused=%u)\n", n_.closed,
                 n_.refused);
    return 1;
  }
  const double t0 = now_secs();
  const double cpu0 = cpu_secs_self();
  const double pub_deadline = o_.secs > 0 ? t0 + o_.secs : 1e300;
  const double hard_deadline = t0 + (o_.secs > 0 ? o_.secs : 0) + 300;
  double last_progress = t0, last_delivery = t0;
  for (;;) {
    double now = now_secs();
    if (n_.progress) {
      n_.progress = false;
      last_progress = now;
    }
    stalled_ = now - last_progress > 0.5;
    bool publishing = now < pub_deadline;
    if (publishing) {
      publishing = false;
      for (const Pub& p : pubs_) publishing = publishing || (!p.c.dead && p.sent < p.quota);
    }
    bool more = false;
    if (publishing) {
      pump(&more);
    } else if (drained() || now - last_progress > o_.drain) {
      break;
    }
    if (now > hard_deadline) break;
    uint64_t before = n_.delivered;
    handle_events(loop_.wait(more ? 0 : 5));
    if (n_.delivered != before) last_delivery = now_secs();
  }
  const double cpu = cpu_secs_self() - cpu0;
  const double secs = std::max(last_delivery - t0, 1e-6);
  uint64_t sent = published();
  uint64_t expected = sent * subs_.size();
  uint64_t lost = expected > n_.delivered ? expected - n_.delivered : 0;
  std::printf(
      "result scenario=%s qos=%d pubs=%zu subs=%zu size=%zu published=%" PRIu64
      " delivered=%" PRIu64 " lost=%" PRIu64 " ooo=%" PRIu64 " stalls=%u closed=%u secs=%.3f"
      " rate=%.0f pub_rate=%.0f per_pub=%.2f lg_cpu=%.2f p50_us=%.0f p99_us=%.0f\n",
      o_.scenario.c_str(), o_.qos, pubs_.size(), subs_.size(), o_.size, sent, n_.delivered, lost,
      n_.out_of_order, n_.stalls, n_.closed, secs, static_cast<double>(n_.delivered) / secs,
      static_cast<double>(sent) / secs,
      sent ? static_cast<double>(n_.delivered) / static_cast<double>(sent) : 0.0, cpu / secs,
      latency_.quantile(0.5), latency_.quantile(0.99));
  std::fflush(stdout);
  for (Pub& p : pubs_) {
    if (!p.c.dead) {
      p.c.out.append(kDisconnect, 2);
      loop_.flush(p.c);
      loop_.close(p.c);
    }
  }
  for (Sub& s : subs_) {
    if (!s.c.dead) {
      s.c.out.append(kDisconnect, 2);
      loop_.flush(s.c);
      loop_.close(s.c);
    }
  }
  return n_.closed == 0 ? 0 : 1;
}

}  // namespace

int run_flow(const Options& o) {
  Flow f(o);
  return f.run();
}

}  // namespace mq::bench
