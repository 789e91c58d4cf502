// mosquitto_rr: subscribe to the response topic, publish the request (MQTT 5: with Response
// Topic and Correlation Data), print the first matching response and exit.
#include <unistd.h>

#include <cstdio>

#include "client/tools.h"

namespace mq::client {

namespace {

// The Correlation Data in a received property block, if any.
std::optional<std::string_view> correlation_of(std::string_view raw) {
  for (const PropertyItem& p : read_property_items(raw))
    if (p.id == 0x09) return p.text;
  return std::nullopt;
}

class RrTool final : public WaitingTool {
 public:
  RrTool(ClientConfig& cfg, net::EventLoop& loop) : WaitingTool(cfg, loop), out_opts_(output_options(cfg)) {}

  int run(SessionConfig sc, std::string payload) {
    payload_ = std::move(payload);
    if (v5()) {
      publish_props_ = cfg_.publish_props;
      publish_props_.items.push_back(OwnedProperty{0x08, 0, "", cfg_.response_topic});
      if (!publish_props_.has(0x09)) {
        correlation_ = "mq-rr-" + std::to_string(getpid()) + "-" + std::to_string(wall_time_now().nsec);
        publish_props_.items.push_back(OwnedProperty{0x09, 0, "", correlation_});
      } else {
        for (const OwnedProperty& p : publish_props_.items)
          if (p.id == 0x09) correlation_ = p.value;
      }
    }
    return run_session(std::move(sc));
  }

  void on_connack(uint8_t rc, const codec::Connack&) override {
    if (rc != 0) {
      err_printf(cfg_, "Connection error: %s\n",
                 reason_string_v5(rc));  // as mosquitto_rr 2.0, even for MQTT 3.x codes
      rc_ = rc;
      refused_ = true;
      session_->disconnect(0, {});
      return;
    }
    sub_mid_ = session_->subscribe({cfg_.response_topic}, uint8_t(cfg_.qos), subscription_options(cfg_),
                                   v5() ? cfg_.subscribe_props.view() : codec::Properties{});
  }

  void on_suback(uint16_t mid, const std::vector<codec::ReasonCode>&) override {
    if (mid != sub_mid_ || sent_) return;
    sent_ = true;
    start_ = wall_time_now();
    session_->publish(cfg_.topic, payload_, uint8_t(cfg_.qos), false,
                      v5() ? publish_props_.view() : codec::Properties{});
  }

  void on_message(const ReceivedMessage& m) override {
    if (done_ || !sent_) return;
    if (m.retain && cfg_.no_retain) return;
    if (v5() && !correlation_.empty()) {
      std::optional<std::string_view> c = correlation_of(m.properties);
      if (c && *c != correlation_) return;  // someone else's response
    }
    std::string out, error;
    format_message(out, out_opts_, m, wall_time_now(), &error);
    if (!error.empty()) err_printf(cfg_, "%s", error.c_str());
    fwrite(out.data(), 1, out.size(), stdout);
    if (cfg_.latency) {
      WallTime now = wall_time_now();
      double ms = double(now.sec - start_.sec) * 1e3 + double(now.nsec - start_.nsec) / 1e6;
      printf("Latency: %.3f ms\n", ms);
    }
    fflush(stdout);
    done_ = true;
    session_->disconnect(0, disconnect_props());
  }

  void on_closed(bool requested, const std::string& why) override {
    if (!requested && !refused_ && rc_ == 0 && !stopping_) {
      err_printf(cfg_, "Error: %s\n", why.c_str());
      rc_ = session_->loss_code();  // 7 for a lost connection, as mosquitto_rr
    }
    loop_.stop();
  }

 private:
  OutputOptions out_opts_;
  OwnedProperties publish_props_;
  std::string payload_;
  std::string correlation_;
  WallTime start_;
  uint16_t sub_mid_ = 0;
  bool sent_ = false;
  bool done_ = false;
};

}  // namespace

int run_rr(ClientConfig& cfg) {
  std::string payload;
  if (cfg.pub_mode == PubMode::kMessage) {
    payload = cfg.message;
  } else if (cfg.pub_mode == PubMode::kFile || cfg.pub_mode == PubMode::kStdinFile) {
    FILE* f = cfg.pub_mode == PubMode::kFile ? fopen(cfg.file_input.c_str(), "rb") : stdin;
    if (!f) {
      err_printf(cfg, "Error: Unable to open file \"%s\".\n", cfg.file_input.c_str());
      return 1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) payload.append(buf, n);
    if (f != stdin) fclose(f);
  }
  SessionConfig sc;
  std::unique_ptr<net::EventLoop> loop;
  if (int rc = start_tool(cfg, &sc, &loop); rc >= 0) return rc;
  RrTool tool(cfg, *loop);
  return tool.run(std::move(sc), std::move(payload));
}

}  // namespace mq::client
