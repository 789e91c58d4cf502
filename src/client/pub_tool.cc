// mosquitto_pub: one message (-m, -f, -s, -n, repeated with --repeat), or one per stdin line
// (-l, staying connected until EOF); disconnects once everything is delivered.
//
// A lost connection ends the one-message modes with libmosquitto's error ("Error: The
// connection was lost.", status 7). With -l, mosquitto_pub runs libmosquitto's loop_forever,
// which reconnects silently once a second; so do we. Lines keep being read meanwhile: QoS 0
// lines read while disconnected are dropped (libmosquitto's publish fails with NO_CONN), QoS 1
// and 2 lines wait, and the session resends what was in flight with DUP set after CONNACK.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "client/tools.h"

namespace mq::client {

namespace {

bool read_all(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) out->append(buf, size_t(n));
    else if (n == 0) return true;
    else if (errno != EINTR) return false;
  }
}

class PubTool final : public SessionListener, public net::IoHandler {
 public:
  PubTool(ClientConfig& cfg, net::EventLoop& loop) : cfg_(cfg), loop_(loop) {}

  int run(SessionConfig sc, std::string payload) {
    payload_ = std::move(payload);
    session_ = std::make_unique<Session>(loop_, std::move(sc), *this);
    if (Status s = session_->connect(); !s) {
      err_printf(cfg_, "%s", connect_error_text(s.error()).c_str());
      return 1;
    }
    loop_.run();
    if (stdin_registered_) loop_.remove(STDIN_FILENO);
    return rc_;
  }

  void on_connack(uint8_t rc, const codec::Connack&) override {
    if (rc != 0) {
      bool v5 = cfg_.version == codec::ProtocolVersion::kV5;
      if (v5) {
        err_printf(cfg_, "Connection error: %s\n", reason_string_v5(rc));
      } else {
        err_printf(cfg_, "Connection error: %s\n", connack_string_v3(rc));
      }
      err_printf(cfg_, "%s", v5 ? "Error: A network protocol error occurred when communicating with the broker.\n"
                                : "Error: The connection was refused.\n");
      rc_ = rc;
      session_->disconnect(0, {});
      return;
    }
    if (started_) {
      // A reconnect: the session resent what was in flight; EOF may have come meanwhile.
      maybe_finish_lines();
      return;
    }
    started_ = true;
    if (cfg_.pub_mode == PubMode::kStdinLine) {
      start_stdin();
    } else {
      publish_one(payload_);
    }
  }

  void on_published(uint16_t mid) override {
    if (cfg_.pub_mode == PubMode::kStdinLine) {
      maybe_finish_lines();
      return;
    }
    if (mid != last_mid_) return;
    if (++sent_ < cfg_.repeat_count) {
      if (cfg_.repeat_delay_us > 0)
        loop_.add_timer_in(cfg_.repeat_delay_us / 1000, [this] { publish_one(payload_); });
      else
        publish_one(payload_);
      return;
    }
    session_->disconnect(0, disconnect_props());
  }

  void on_message(const ReceivedMessage&) override {}

  void on_closed(bool requested, const std::string& why) override {
    if (!requested && rc_ == 0 && cfg_.pub_mode == PubMode::kStdinLine) {
      if (stdin_done_ && session_->unfinished_publishes() == 0) {
        loop_.stop();  // nothing left to deliver (Mosquitto 2.0.11 would wait forever here)
        return;
      }
      schedule_reconnect();
      return;
    }
    if (!requested && rc_ == 0) {
      err_printf(cfg_, "Error: %s\n", why.c_str());
      rc_ = session_->loss_code();
    }
    loop_.stop();
  }

  // stdin readable (-l)
  void on_io(uint32_t) override { read_stdin_chunk(); }

 private:
  void publish_one(std::string_view payload) {
    last_mid_ = session_->publish(cfg_.topic, payload, uint8_t(cfg_.qos), cfg_.retain, publish_props());
  }

  void start_stdin() {
    if (Status s = loop_.add(STDIN_FILENO, EPOLLIN, this); s) {
      stdin_registered_ = true;
      return;
    }
    // A regular file (or /dev/null) cannot be polled: it is always readable.
    std::string all;
    read_all(STDIN_FILENO, &all);
    consume(all, true);
  }

  void read_stdin_chunk() {
    char buf[65536];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      loop_.remove(STDIN_FILENO);
      stdin_registered_ = false;
      consume({}, true);
      return;
    }
    consume(std::string_view(buf, size_t(n)), false);
  }

  void consume(std::string_view data, bool eof) {
    line_.append(data);
    size_t start = 0;
    for (size_t nl; (nl = line_.find('\n', start)) != std::string::npos; start = nl + 1) {
      publish_one(std::string_view(line_).substr(start, nl - start));
      pending_lines_++;
    }
    line_.erase(0, start);
    if (eof) {
      if (!line_.empty()) {
        publish_one(line_);
        pending_lines_++;
        line_.clear();
      }
      stdin_done_ = true;
      maybe_finish_lines();
    }
  }

  // libmosquitto's loop_forever: the first attempt a second after the loss, then one a second.
  void schedule_reconnect() {
    loop_.add_timer_in(1000, [this] {
      if (Status s = session_->connect(); !s) schedule_reconnect();
    });
  }

  void maybe_finish_lines() {
    if (!stdin_done_ || session_->unfinished_publishes() != 0) return;
    // QoS 0 completions are posted; wait until the last one has been reported. While
    // reconnecting, the CONNACK calls here again; with no connection there is nothing left
    // to deliver.
    loop_.post([this] {
      if (session_->connected()) session_->disconnect(0, disconnect_props());
      else if (!session_->open()) loop_.stop();
    });
  }

  codec::Properties publish_props() const {
    return cfg_.version == codec::ProtocolVersion::kV5 ? cfg_.publish_props.view() : codec::Properties{};
  }
  codec::Properties disconnect_props() const {
    return cfg_.version == codec::ProtocolVersion::kV5 ? cfg_.disconnect_props.view() : codec::Properties{};
  }

  ClientConfig& cfg_;
  net::EventLoop& loop_;
  std::unique_ptr<Session> session_;
  std::string payload_;
  std::string line_;
  uint16_t last_mid_ = 0;
  int sent_ = 0;
  int rc_ = 0;
  size_t pending_lines_ = 0;
  bool started_ = false;
  bool stdin_registered_ = false;
  bool stdin_done_ = false;
};

}  // namespace

int run_pub(ClientConfig& cfg) {
  std::string payload;
  if (cfg.pub_mode == PubMode::kMessage) {
    payload = cfg.message;
  } else if (cfg.pub_mode == PubMode::kFile) {
    int fd = open(cfg.file_input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !read_all(fd, &payload)) {
      if (fd >= 0) close(fd);
      err_printf(cfg, "Error: Unable to open file \"%s\".\n", cfg.file_input.c_str());
      err_printf(cfg, "Error loading input file \"%s\".\n", cfg.file_input.c_str());
      return 1;
    }
    close(fd);
  } else if (cfg.pub_mode == PubMode::kStdinFile) {
    bool ok = read_all(STDIN_FILENO, &payload);
    if (ok && payload.empty() && !cfg.mq_names) {
      // mosquitto_pub 2.0's load_stdin() refuses empty input; an empty -f file is sent.
      err_printf(cfg, "Error: Zero length input.\n");
      ok = false;
    }
    if (!ok) {
      err_printf(cfg, "Error loading input from stdin.\n");
      return 1;
    }
  }
  if (payload.size() > codec::kMaxVarint) {
    err_printf(cfg, "Error: Message length must be less than 268435455 bytes.\n");
    return 1;
  }
  SessionConfig sc;
  std::unique_ptr<net::EventLoop> loop;
  if (int rc = start_tool(cfg, &sc, &loop); rc >= 0) return rc;
  PubTool tool(cfg, *loop);
  return tool.run(std::move(sc), std::move(payload));
}

}  // namespace mq::client
