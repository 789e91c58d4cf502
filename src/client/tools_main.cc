// client_main: the part of mosquitto_pub/sub/rr's main() between the option parser and the
// session, shared by the three subcommands; and the start-up and waiting code the tools share
// (start_tool, WaitingTool).
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "client/options.h"
#include "client/tools.h"

namespace mq::client {

constexpr int kTimeoutExit = 27;  // MOSQ_ERR_TIMEOUT

int start_tool(const ClientConfig& cfg, SessionConfig* session,
               std::unique_ptr<net::EventLoop>* loop) {
  if (int rc = prepare_session(cfg, session); rc >= 0) return rc;
  Result<std::unique_ptr<net::EventLoop>> made = net::EventLoop::create(SystemClock::instance());
  if (!made) {
    err_printf(cfg, "Error: %s\n", made.error().context.c_str());
    return 1;
  }
  *loop = std::move(*made);
  return -1;
}

OutputOptions output_options(const ClientConfig& cfg) {
  OutputOptions o;
  o.format = cfg.format;
  o.verbose = cfg.verbose;
  o.eol = cfg.eol;
  o.pretty = cfg.pretty;
  o.json_lines = cfg.json_lines;
  o.legacy_hex_width = !cfg.mq_names;
  return o;
}

uint8_t subscription_options(const ClientConfig& cfg) {
  uint8_t options = cfg.no_retain ? 0x20 : 0;  // retain handling 2: never send
  if (cfg.retain_as_published) options |= 0x08;
  if (cfg.retain_handling >= 0) options = uint8_t((options & ~0x30) | (cfg.retain_handling << 4));
  return options;
}

int WaitingTool::run_session(SessionConfig sc) {
  session_ = std::make_unique<Session>(loop_, std::move(sc), *this);
  if (Status s = session_->connect(); !s) {
    err_printf(cfg_, "%s", connect_error_text(s.error()).c_str());
    return 1;
  }
  Status sig = loop_.watch_signals({SIGINT, SIGTERM}, [this](int) { stop(false); });
  (void)sig;
  if (cfg_.timeout) loop_.add_timer_in(int64_t(cfg_.timeout) * 1000, [this] { stop(true); });
  loop_.run();
  if (timed_out_) {
    err_printf(cfg_, "Timed out\n");
    return kTimeoutExit;
  }
  return rc_;
}

void WaitingTool::stop(bool timeout) {
  if (timeout) timed_out_ = true;
  stopping_ = true;
  if (session_->connected()) {
    session_->disconnect(0x04, disconnect_props());  // with will, as Mosquitto's handler
  } else {
    if (!timeout) rc_ = 255;
    loop_.stop();
  }
}

int client_main(Tool tool, int argc, char** argv, std::string_view prog, bool as_mosquitto) {
  ClientConfig cfg;
  ParseResult r = load_config(cfg, tool, argc, argv, !as_mosquitto);
  const int info_exit = as_mosquitto ? 1 : 0;
  switch (r.status) {
    case ParseStatus::kHelp:
      print_usage(tool);
      return info_exit;
    case ParseStatus::kVersion:
      // 0 under every name (Mosquitto's clients exit 1): asking for the version is no error.
      print_version(tool);
      return 0;
    case ParseStatus::kError:
      fputs(r.error.c_str(), stderr);
      if (r.usage_hint)
        fprintf(stderr, "\nUse '%.*s --help' to see usage.\n", int(prog.size()), prog.data());
      return 1;
    case ParseStatus::kOk: break;
  }
  if (tool == Tool::kPub && (cfg.topic.empty() || cfg.pub_mode == PubMode::kNone)) {
    fprintf(stderr, "Error: Both topic and message must be supplied.\n");
    print_usage(tool);
    return 1;
  }
  if (tool == Tool::kRr &&
      (cfg.topic.empty() || cfg.pub_mode == PubMode::kNone || cfg.response_topic.empty())) {
    fprintf(stderr, "Error: All of topic, message, and response topic must be supplied.\n");
    fprintf(stderr, "\nUse '%.*s --help' to see usage.\n", int(prog.size()), prog.data());
    return 1;
  }
  if (tool == Tool::kSub && cfg.no_retain && cfg.retained_only) {
    fprintf(stderr, "\nError: Combining '-R' and '--retained-only' makes no sense.\n");
    return 1;
  }
  if (!as_mosquitto && cfg.username && !cfg.password) prompt_password(cfg);
  switch (tool) {
    case Tool::kPub: return run_pub(cfg);
    case Tool::kSub: return run_sub(cfg);
    case Tool::kRr: return run_rr(cfg);
  }
  return 1;
}

}  // namespace mq::client
