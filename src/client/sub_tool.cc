// mosquitto_sub: subscribe, print, and stop on -C, -E, --retained-only, -W or a signal;
// reconnect (and resubscribe) once a second after a lost connection.
#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "client/tools.h"
#include "codec/topic.h"

namespace mq::client {

namespace {

constexpr int kTimeoutExit = 27;  // MOSQ_ERR_TIMEOUT

class SubTool final : public SessionListener {
 public:
  SubTool(ClientConfig& cfg, net::EventLoop& loop) : cfg_(cfg), loop_(loop) {
    out_opts_.format = cfg.format;
    out_opts_.verbose = cfg.verbose;
    out_opts_.eol = cfg.eol;
    out_opts_.pretty = cfg.pretty;
    out_opts_.json_lines = cfg.json_lines;
    options_ = 0;
    if (cfg.no_retain) options_ |= 0x20;  // retain handling 2: never send
    if (cfg.retain_as_published) options_ |= 0x08;
    if (cfg.retain_handling >= 0) options_ = uint8_t((options_ & ~0x30) | (cfg.retain_handling << 4));
    srandom(unsigned(wall_time_now().nsec));
  }

  int run(SessionConfig sc) {
    session_ = std::make_unique<Session>(loop_, std::move(sc), *this);
    if (Status s = session_->connect(); !s) {
      err_printf(cfg_, "%s", connect_error_text(s.error()).c_str());
      return 1;
    }
    Status sig = loop_.watch_signals({SIGINT, SIGTERM}, [this](int) { stop_by_signal(false); });
    (void)sig;
    if (cfg_.timeout) loop_.add_timer_in(int64_t(cfg_.timeout) * 1000, [this] { stop_by_signal(true); });
    loop_.run();
    if (timed_out_) {
      err_printf(cfg_, "Timed out\n");
      return kTimeoutExit;
    }
    return rc_;
  }

  void on_connack(uint8_t rc, const codec::Connack&) override {
    if (rc != 0) {
      if (cfg_.version == codec::ProtocolVersion::kV5) {
        if (rc == 0x84)
          err_printf(cfg_, "Connection error: %s. Try connecting to an MQTT v5 broker, or use MQTT v3.x mode.\n",
                     reason_string_v5(rc));
        else
          err_printf(cfg_, "Connection error: %s\n", reason_string_v5(rc));
      } else {
        err_printf(cfg_, "Connection error: %s\n", connack_string_v3(rc));
      }
      rc_ = rc;
      refused_ = true;
      session_->disconnect(0, {});
      return;
    }
    if (!cfg_.topics.empty())
      session_->subscribe(cfg_.topics, uint8_t(cfg_.qos), options_, subscribe_props());
    for (const std::string& t : cfg_.unsub_topics) session_->unsubscribe(t, unsubscribe_props());
  }

  void on_suback(uint16_t mid, const std::vector<codec::ReasonCode>& codes) override {
    if (cfg_.debug && !cfg_.quiet) {
      printf("Subscribed (mid: %d):", mid);
      for (size_t i = 0; i < codes.size(); i++) printf("%s %d", i ? "," : "", int(codes[i]));
      printf("\n");
      fflush(stdout);
    }
    bool all_denied = !codes.empty();
    for (codec::ReasonCode c : codes)
      if (uint8_t(c) < 0x80) all_denied = false;
    if (all_denied) {
      err_printf(cfg_, "All subscription requests were denied.\n");
      session_->disconnect(0, disconnect_props());
      return;
    }
    if (cfg_.exit_after_sub) session_->disconnect(0, disconnect_props());
  }

  void on_message(const ReceivedMessage& m) override {
    if (!processing_) return;
    if (cfg_.retained_only && !m.retain) {
      processing_ = false;
      if (session_->unfinished_publishes() == 0) session_->disconnect(0, disconnect_props());
      return;
    }
    if (m.retain && cfg_.no_retain) return;
    for (const std::string& f : cfg_.filter_outs)
      if (codec::topic_matches(f, m.topic)) return;
    if (cfg_.remove_retained && m.retain) session_->publish(m.topic, "", 1, true, {});
    print(m);
    if (cfg_.msg_count > 0 && ++count_ == cfg_.msg_count) {
      processing_ = false;
      if (session_->unfinished_publishes() == 0) session_->disconnect(0, disconnect_props());
    }
  }

  void on_published(uint16_t) override {
    if (!processing_ && session_->unfinished_publishes() == 0 && session_->open())
      session_->disconnect(0, disconnect_props());
  }

  void on_closed(bool requested, const std::string& why) override {
    if (requested || refused_ || stopping_) {
      loop_.stop();
      return;
    }
    // Lost: libmosquitto's loop_forever reconnects silently; so do we, once a second.
    (void)why;
    schedule_reconnect();
  }

 private:
  void schedule_reconnect() {
    loop_.add_timer_in(1000, [this] {
      if (stopping_) return;
      if (Status s = session_->connect(); !s) schedule_reconnect();
    });
  }

  void stop_by_signal(bool timeout) {
    if (timeout) timed_out_ = true;
    processing_ = false;
    stopping_ = true;
    if (session_->connected()) {
      session_->disconnect(0x04, disconnect_props());  // with will, as Mosquitto's handler
    } else {
      if (!timeout) rc_ = 255;
      loop_.stop();
    }
  }

  void print(const ReceivedMessage& m) {
    if (cfg_.random_filter < 10000 && random() % 10000 >= cfg_.random_filter) return;
    std::string out, error;
    format_message(out, out_opts_, m, wall_time_now(), &error);
    if (!error.empty()) err_printf(cfg_, "%s", error.c_str());
    if (!out.empty()) {
      fwrite(out.data(), 1, out.size(), stdout);
      fflush(stdout);
    }
  }

  codec::Properties subscribe_props() const { return v5() ? cfg_.subscribe_props.view() : codec::Properties{}; }
  codec::Properties unsubscribe_props() const { return v5() ? cfg_.unsubscribe_props.view() : codec::Properties{}; }
  codec::Properties disconnect_props() const { return v5() ? cfg_.disconnect_props.view() : codec::Properties{}; }
  bool v5() const { return cfg_.version == codec::ProtocolVersion::kV5; }

  ClientConfig& cfg_;
  net::EventLoop& loop_;
  std::unique_ptr<Session> session_;
  OutputOptions out_opts_;
  uint8_t options_ = 0;
  bool processing_ = true;
  bool stopping_ = false;
  bool timed_out_ = false;
  bool refused_ = false;
  int count_ = 0;
  int rc_ = 0;
};

}  // namespace

int run_sub(ClientConfig& cfg) {
  SessionConfig sc;
  if (int rc = prepare_session(cfg, &sc); rc >= 0) return rc;
  Result<std::unique_ptr<net::EventLoop>> loop = net::EventLoop::create(SystemClock::instance());
  if (!loop) {
    err_printf(cfg, "Error: %s\n", loop.error().context.c_str());
    return 1;
  }
  SubTool tool(cfg, **loop);
  return tool.run(std::move(sc));
}

}  // namespace mq::client
