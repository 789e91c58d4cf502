// `mq check`: connect, wait for CONNACK, disconnect; one line on stdout says what happened.
// Meant for container health checks and scripts (no shell needed): exit 0 when the broker
// accepted the connection, 1 otherwise (refused, unreachable, TLS failure, timeout).
#include <cstdio>

#include "client/tools.h"

namespace mq::client {

namespace {

class CheckTool final : public SessionListener {
 public:
  CheckTool(const ClientConfig& cfg, net::EventLoop& loop) : cfg_(cfg), loop_(loop) {}

  int run(SessionConfig sc) {
    session_ = std::make_unique<Session>(loop_, std::move(sc), *this);
    if (Status s = session_->connect(); !s) {
      std::string text = connect_error_text(s.error());
      while (!text.empty() && text.back() == '\n') text.pop_back();
      printf("unhealthy: %s\n", text.c_str());
      return 1;
    }
    net::TimerId t = loop_.add_timer_in(int64_t(cfg_.timeout ? cfg_.timeout : 5) * 1000, [this] {
      if (result_ < 0) finish(1, "unhealthy: no CONNACK within the timeout");
    });
    while (result_ < 0) loop_.run_once(-1);
    loop_.cancel_timer(t);
    loop_.run_once(0);  // the before-sleep hook writes the DISCONNECT
    return result_ < 0 ? 1 : result_;
  }

  void on_connack(uint8_t reason, const codec::Connack&) override {
    if (reason == 0) {
      session_->disconnect(0, {});
      finish(0, "healthy: connection accepted");
      return;
    }
    std::string why = cfg_.version == codec::ProtocolVersion::kV5 ? reason_string_v5(reason)
                                                                   : connack_string_v3(reason);
    finish(1, "unhealthy: " + why);
  }
  void on_message(const ReceivedMessage&) override {}
  void on_closed(bool requested, const std::string& why) override {
    if (!requested && result_ < 0) finish(1, "unhealthy: " + why);
  }

 private:
  void finish(int rc, const std::string& line) {
    if (result_ >= 0) return;
    result_ = rc;
    printf("%s\n", line.c_str());
    fflush(stdout);
  }

  const ClientConfig& cfg_;
  net::EventLoop& loop_;
  std::unique_ptr<Session> session_;
  int result_ = -1;
};

}  // namespace

int run_check(ClientConfig& cfg) {
  SessionConfig sc;
  std::unique_ptr<net::EventLoop> loop;
  if (int rc = start_tool(cfg, &sc, &loop); rc >= 0) return rc == 0 ? 0 : 1;
  CheckTool tool(cfg, *loop);
  return tool.run(std::move(sc));
}

}  // namespace mq::client
