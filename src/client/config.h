// ClientConfig: everything the command lines of pub, sub and rr can say, as one value. Filled by
// options.h (options file, then argv, then the cross-option checks), read by the tools in
// tools.h. Owns all its strings; MQTT 5 properties given with -D are kept as owned values and
// turned into codec::Properties views (into this config) when a packet is built.
// A plain value; not shared between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codec/packet.h"

namespace mq::client {

enum class Tool : uint8_t { kPub, kSub, kRr };

// Where pub (and rr) take the payload from: -m, -f, -s, -l, -n.
enum class PubMode : uint8_t { kNone, kMessage, kFile, kStdinFile, kStdinLine, kNull };

// The properties one -D command collects (connect, publish, subscribe, unsubscribe,
// disconnect, will), owned. Repeats are kept in order: a duplicate single-value property is
// an error reported when the config is finished, as libmosquitto does.
struct OwnedProperty {
  uint8_t id = 0;
  uint32_t number = 0;   // byte, two-byte, four-byte and varint properties
  std::string key;       // user-property name
  std::string value;     // string / binary value, user-property value
};

struct OwnedProperties {
  std::vector<OwnedProperty> items;
  bool has(uint8_t id) const;
  // Views into this object: valid while it lives and is not modified.
  codec::Properties view() const;

 private:
  mutable std::vector<codec::PropertyId> order_;  // what view()'s `order` points at
};

struct ClientConfig {
  Tool tool = Tool::kPub;

  // connection
  std::string host;         // empty: localhost
  int port = -1;            // -1: not given (1883, or 8883 with a TLS option)
  std::string unix_path;    // --unix
  std::string bind_address; // -A
  bool nodelay = false;
  std::string options_file; // -o

  // session
  codec::ProtocolVersion version = codec::ProtocolVersion::kV311;
  std::optional<std::string> id;
  std::optional<std::string> id_prefix;
  int keepalive = 60;
  bool clean_session = true;
  int64_t session_expiry = -1;  // -1: not given
  unsigned max_inflight = 20;

  // auth
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::string pw_env;   // mq: --pw-env NAME
  std::string pw_file;  // mq: --pw-file FILE

  // will
  std::optional<std::string> will_topic;
  std::optional<std::string> will_payload;
  int will_qos = 0;
  bool will_retain = false;

  // properties (-D)
  OwnedProperties connect_props, publish_props, subscribe_props, unsubscribe_props,
      disconnect_props, will_props;

  // TLS
  std::string cafile, capath, certfile, keyfile, ciphers, tls_version, tls_alpn, tls_engine,
      keyform, tls_engine_kpass_sha1, psk, psk_identity, tls_keylog;
  bool insecure = false;
  bool tls_use_os_certs = false;
  bool no_tls = false;

  // WebSockets (mq: --ws, ws:// and wss:// URLs)
  bool websockets = false;
  std::string ws_path = "/mqtt";

  // SOCKS5 proxy (parsed; not used yet)
  std::string proxy_host, proxy_username, proxy_password;
  int proxy_port = 0;

  // diagnostics
  bool debug = false;
  bool quiet = false;

  // publishing (pub, rr)
  int qos = 0;
  bool retain = false;
  PubMode pub_mode = PubMode::kNone;
  std::string message;     // -m
  std::string file_input;  // -f
  int repeat_count = 1;
  int64_t repeat_delay_us = 0;
  std::string topic;           // pub / rr: the one topic
  std::string response_topic;  // rr -e

  // subscribing (sub, rr)
  std::vector<std::string> topics;       // sub -t
  std::vector<std::string> filter_outs;  // -T
  std::vector<std::string> unsub_topics; // -U
  int msg_count = 0;                     // -C (rr: 1)
  bool exit_after_sub = false;           // -E
  bool no_retain = false;                // -R
  bool retained_only = false;
  bool remove_retained = false;
  int random_filter = 10000;             // 10 x the percentage (see sub_tool.cc)
  bool retain_as_published = false;
  int retain_handling = -1;              // --retain-handling; -1: not given
  unsigned timeout = 0;                  // -W seconds

  // output (sub, rr)
  std::optional<std::string> format;  // -F
  bool verbose = false;
  bool eol = true;
  bool pretty = false;
  bool json_lines = false;  // mq sub --json
  bool latency = false;     // rr --latency
  bool watch = false;         // sub -w / --watch (2.1): one fixed screen line per topic
  bool message_rate = false;  // sub --message-rate (2.1): a count line a second, not messages
  bool mq_names = false;      // started as `mq ...`: 2.1 behaviour where it differs from 2.0.11
};

}  // namespace mq::client
