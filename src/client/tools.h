// The three client programs on top of Session: pub, sub and rr, each run to completion on its
// own EventLoop, returning Mosquitto's exit status (0; the CONNACK reason code on refusal; 27 on
// -W timeout; 1 otherwise). Also the shared pieces they use (session settings from a config,
// error printing honouring --quiet, the waiting part of sub and rr). Single-threaded; each run
// owns its loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "client/config.h"
#include "client/session.h"

namespace mq::client {

int run_pub(ClientConfig& cfg);
int run_sub(ClientConfig& cfg);
int run_rr(ClientConfig& cfg);
// `mq check`: connects and prints "healthy: ..." (exit 0) or "unhealthy: why" (exit 1).
int run_check(ClientConfig& cfg);

// Everything before connecting that may fail: TLS/proxy refusal, client id rules. Returns an
// exit status (>= 0) when the program must stop, after printing; -1 to continue.
int prepare_session(const ClientConfig& cfg, SessionConfig* out);

// fprintf(stderr) unless --quiet.
void err_printf(const ClientConfig& cfg, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Asks for the password on the terminal without echo (mq only, -u given, no -P). Returns false
// when there is no terminal.
bool prompt_password(ClientConfig& cfg);

// The rest of this header is in tools_main.cc.

// What every tool does before it runs: prepare_session, then a new EventLoop. Returns -1 when
// the tool may run (both out-parameters filled), else the exit status, after printing why.
int start_tool(const ClientConfig& cfg, SessionConfig* session,
               std::unique_ptr<net::EventLoop>* loop);

// How sub and rr print: -F, -v, -N, --pretty, --json, and 2.1's %x/%X width rule under `mq`.
OutputOptions output_options(const ClientConfig& cfg);

// The SUBSCRIBE options byte of sub and rr: -R (retain handling 2), --retain-as-published,
// --retain-handling (which wins over -R).
uint8_t subscription_options(const ClientConfig& cfg);

// The part of sub and rr that waits for messages: connect, then stop cleanly on SIGINT/SIGTERM
// and on -W (DISCONNECT with reason 0x04 "with will", as Mosquitto's signal handler does), and
// return Mosquitto's status: 27 and "Timed out" after -W, 255 for a signal before the
// connection is up, else rc_. Listener callbacks run on loop_ (single-threaded).
class WaitingTool : public SessionListener {
 protected:
  WaitingTool(ClientConfig& cfg, net::EventLoop& loop) : cfg_(cfg), loop_(loop) {}

  // Creates the session and runs the loop until the tool is done.
  int run_session(SessionConfig sc);
  // A signal (timeout false) or -W expired (true).
  virtual void stop(bool timeout);

  bool v5() const { return cfg_.version == codec::ProtocolVersion::kV5; }
  codec::Properties disconnect_props() const {
    return v5() ? cfg_.disconnect_props.view() : codec::Properties{};
  }

  ClientConfig& cfg_;
  net::EventLoop& loop_;
  std::unique_ptr<Session> session_;
  bool stopping_ = false;
  bool timed_out_ = false;
  bool refused_ = false;
  int rc_ = 0;
};

}  // namespace mq::client

namespace mq::client {

// The whole program: options (file + argv), the tool's own argument checks, --help/--version,
// then run_pub/run_sub/run_rr. `prog` names the tool in the "--help" hint ("mosquitto_sub",
// "mq sub"); `as_mosquitto` keeps Mosquitto's exit status 1 for --help/--version and turns off
// the mq-only options.
int client_main(Tool tool, int argc, char** argv, std::string_view prog, bool as_mosquitto);

}  // namespace mq::client
