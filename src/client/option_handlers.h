// The per-option logic of the client command line that is more than storing a value: range
// checks, topic validation, -L URLs, the proxy URL, the one-payload-source rule. Each is named by
// its row in option_table.cc and called by the parser (options.cc) with the option's argument;
// each returns Mosquitto's error text or "". Internal to src/client; pure, single-threaded use.
#pragma once

#include <string>

#include "client/config.h"

namespace mq::client::handlers {

// Checks made before the argument is read (OptionCheck).
std::string pub_mode_file(ClientConfig& cfg);     // -f
std::string pub_mode_message(ClientConfig& cfg);  // -m
std::string id_not_prefix(ClientConfig& cfg);     // -i
std::string prefix_not_id(ClientConfig& cfg);     // -I

// OptionHandler: `value` is the argument, nullptr for options without one.
std::string msg_count(ClientConfig& cfg, const char* value);       // -C
std::string response_topic(ClientConfig& cfg, const char* value);  // -e
std::string format(ClientConfig& cfg, const char* value);          // -F
std::string id(ClientConfig& cfg, const char* value);              // -i
std::string id_prefix(ClientConfig& cfg, const char* value);       // -I
std::string keepalive(ClientConfig& cfg, const char* value);       // -k
std::string url(ClientConfig& cfg, const char* value);             // -L
std::string stdin_line(ClientConfig& cfg, const char* value);      // -l
std::string message(ClientConfig& cfg, const char* value);         // -m
std::string max_inflight(ClientConfig& cfg, const char* value);    // -M
std::string null_message(ClientConfig& cfg, const char* value);    // -n
std::string stdin_file(ClientConfig& cfg, const char* value);      // -s
std::string port(ClientConfig& cfg, const char* value);            // -p
std::string password(ClientConfig& cfg, const char* value);        // -P
std::string username(ClientConfig& cfg, const char* value);        // -u
std::string proxy(ClientConfig& cfg, const char* value);           // --proxy
std::string qos(ClientConfig& cfg, const char* value);             // -q
std::string random_filter(ClientConfig& cfg, const char* value);   // --random-filter
std::string repeat(ClientConfig& cfg, const char* value);          // --repeat
std::string repeat_delay(ClientConfig& cfg, const char* value);    // --repeat-delay
std::string retain_handling(ClientConfig& cfg, const char* value); // --retain-handling
std::string topic(ClientConfig& cfg, const char* value);           // -t
std::string filter_out(ClientConfig& cfg, const char* value);      // -T
std::string unsubscribe(ClientConfig& cfg, const char* value);     // -U
std::string unix_socket(ClientConfig& cfg, const char* value);     // --unix
std::string protocol_version(ClientConfig& cfg, const char* value);  // -V
std::string timeout(ClientConfig& cfg, const char* value);         // -W
std::string will_payload(ClientConfig& cfg, const char* value);    // --will-payload
std::string will_qos(ClientConfig& cfg, const char* value);        // --will-qos
std::string will_topic(ClientConfig& cfg, const char* value);      // --will-topic
std::string session_expiry(ClientConfig& cfg, const char* value);  // -x
std::string ws_path(ClientConfig& cfg, const char* value);         // --ws-path
std::string latency(ClientConfig& cfg, const char* value);         // --latency

}  // namespace mq::client::handlers
