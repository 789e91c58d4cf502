// mosquitto_sub: subscribe, print, and stop on -C, -E, --retained-only, -W or a signal;
// reconnect (and resubscribe) once a second after a lost connection. 2.1's screens: -w/--watch
// (one fixed line per topic) and --message-rate (a count a second instead of the messages).
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "client/tools.h"
#include "codec/topic.h"

namespace mq::client {

namespace {

// The terminal's width for --watch lines, 0 when stdout is not a terminal (no cut).
int stdout_columns() {
  struct winsize ws {};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) return ws.ws_col;
  return 0;
}

class SubTool final : public WaitingTool {
 public:
  SubTool(ClientConfig& cfg, net::EventLoop& loop)
      : WaitingTool(cfg, loop), out_opts_(output_options(cfg)), options_(subscription_options(cfg)) {
    if (cfg.watch) {
      // One line per topic: the whole line is the screen row, so no newline of its own
      // (format_message's is cut off), and without -F the topic is shown as with -v.
      out_opts_.eol = true;
      if (!out_opts_.format && !out_opts_.json_lines) out_opts_.verbose = true;
      watch_.emplace(stdout_columns());
    }
    srandom(unsigned(wall_time_now().nsec));
  }

  int run(SessionConfig sc) {
    if (cfg_.message_rate) schedule_rate_line();
    return run_session(std::move(sc));
  }

  void on_connack(uint8_t rc, const codec::Connack&) override {
    if (rc != 0) {
      if (v5()) {
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
    unsubacks_ = 0;
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

  void on_unsuback(uint16_t) override {
    // 2.1 allows -U without -t; -E then exits once every UNSUBSCRIBE is acknowledged.
    if (cfg_.exit_after_sub && cfg_.topics.empty() && ++unsubacks_ == cfg_.unsub_topics.size())
      session_->disconnect(0, disconnect_props());
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
  void stop(bool timeout) override {
    processing_ = false;
    WaitingTool::stop(timeout);
  }

  void schedule_reconnect() {
    loop_.add_timer_in(1000, [this] {
      if (stopping_) return;
      if (Status s = session_->connect(); !s) schedule_reconnect();
    });
  }

  // --message-rate: one line a second, from the start, zeros included, so the lines keep time.
  void schedule_rate_line() {
    loop_.add_timer_in(1000, [this] {
      if (stopping_) return;
      std::string out;
      format_rate_line(out, rate_count_);
      rate_count_ = 0;
      write_out(out);
      schedule_rate_line();
    });
  }

  // --random-filter keeps 10 x the percentage out of 10,000 draws in Mosquitto 2.0, so it prints
  // a tenth of the share asked for (100 prints 10%; verified with Debian's mosquitto_sub). The
  // Mosquitto names keep that; `mq sub` draws out of 1,000 and prints the share asked for.
  bool dropped_by_chance() const {
    const int draws = cfg_.mq_names ? 1000 : 10000;
    return cfg_.random_filter < draws && random() % draws >= cfg_.random_filter;
  }

  void print(const ReceivedMessage& m) {
    if (dropped_by_chance()) return;
    if (cfg_.message_rate) {
      rate_count_++;
      return;
    }
    std::string out, error;
    if (watch_) {
      std::string line;
      format_message(line, out_opts_, m, wall_time_now(), &error);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      watch_->render(out, m.topic, line);
    } else {
      format_message(out, out_opts_, m, wall_time_now(), &error);
    }
    if (!error.empty()) err_printf(cfg_, "%s", error.c_str());
    write_out(out);
  }

  static void write_out(const std::string& out) {
    if (out.empty()) return;
    fwrite(out.data(), 1, out.size(), stdout);
    fflush(stdout);
  }

  codec::Properties subscribe_props() const { return v5() ? cfg_.subscribe_props.view() : codec::Properties{}; }
  codec::Properties unsubscribe_props() const { return v5() ? cfg_.unsubscribe_props.view() : codec::Properties{}; }

  OutputOptions out_opts_;
  uint8_t options_ = 0;
  std::optional<WatchScreen> watch_;
  bool processing_ = true;
  int count_ = 0;
  size_t unsubacks_ = 0;
  uint64_t rate_count_ = 0;
};

}  // namespace

int run_sub(ClientConfig& cfg) {
  SessionConfig sc;
  std::unique_ptr<net::EventLoop> loop;
  if (int rc = start_tool(cfg, &sc, &loop); rc >= 0) return rc;
  SubTool tool(cfg, *loop);
  return tool.run(std::move(sc));
}

}  // namespace mq::client
