// The three client programs on top of Session: pub, sub and rr, each run to completion on its
// own EventLoop, returning Mosquitto's exit status (0; the CONNACK reason code on refusal; 27 on
// -W timeout; 1 otherwise). Also the shared pieces they use (session settings from a config,
// error printing honouring --quiet). Single-threaded; each run owns its loop.
#pragma once

#include <string>
#include <string_view>

#include "client/config.h"
#include "client/session.h"

namespace mq::client {

int run_pub(ClientConfig& cfg);
int run_sub(ClientConfig& cfg);
int run_rr(ClientConfig& cfg);

// Everything before connecting that may fail: TLS/proxy refusal, client id rules. Returns an
// exit status (>= 0) when the program must stop, after printing; -1 to continue.
int prepare_session(const ClientConfig& cfg, SessionConfig* out);

// fprintf(stderr) unless --quiet.
void err_printf(const ClientConfig& cfg, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Asks for the password on the terminal without echo (mq only, -u given, no -P). Returns false
// when there is no terminal.
bool prompt_password(ClientConfig& cfg);

}  // namespace mq::client

namespace mq::client {

// The whole program: options (file + argv), the tool's own argument checks, --help/--version,
// then run_pub/run_sub/run_rr. `prog` names the tool in the "--help" hint ("mosquitto_sub",
// "mq sub"); `as_mosquitto` keeps Mosquitto's exit status 1 for --help/--version and turns off
// the mq-only options.
int client_main(Tool tool, int argc, char** argv, std::string_view prog, bool as_mosquitto);

}  // namespace mq::client
