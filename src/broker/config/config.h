// The broker's configuration model and the mosquitto.conf reader (Mosquitto 2.0 rules).
// A Config is a plain value: parse_config_text()/load_config() build one, the broker owns the
// running copy and replaces the reloadable parts on SIGHUP with apply_reload(). Options for
// features mq does not implement yet are parsed and kept (with their file:line) so that
// check_supported() can refuse them with a clear message. No networking, no logging here:
// notices the parser wants logged are returned in Config::notes. Not thread-safe; a Config
// is built on one thread and then only read (or replaced as a whole).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "net/tls_context.h"

namespace mq::broker {

// Where an option was written: "file:line".
// Most event loops `thread_count` accepts.
inline constexpr int kMaxThreadCount = 256;

struct SourceLocation {
  std::string file;
  int line = 0;
  std::string to_string() const { return file + ":" + std::to_string(line); }
};

// A line the parser wants logged (deprecation notices, "Loading config file ...").
struct ConfigNote {
  uint32_t type = kLogNotice;  // a LogType bit
  std::string text;
};

enum class ListenerProtocol : uint8_t { kMqtt, kWebsockets };
enum class SocketDomain : uint8_t { kAny, kIpv4, kIpv6 };
enum class TlsKeyform : uint8_t { kPem, kEngine };

struct PluginConfig {
  std::string path;
  std::vector<std::pair<std::string, std::string>> options;  // plugin_opt_<key> <value>
  bool deny_special_chars = true;                            // auth_plugin_deny_special_chars
};

// The options that follow per_listener_settings: global when it is false, else per listener.
// A string left empty was not set (Mosquitto rejects empty values).
struct SecurityOptions {
  std::string password_file;
  std::string acl_file;
  std::string psk_file;
  int8_t allow_anonymous = -1;  // -1 = not set; resolved to 0/1 after parsing
  bool allow_zero_length_clientid = true;
  std::string auto_id_prefix;  // "auto-" after parsing when not set
  std::vector<PluginConfig> plugins;
};

struct ListenerConfig {
  uint16_t port = 0;  // 0 with unix_socket_path = Unix socket listener
  std::string host;   // bind address; empty = all addresses
  std::string unix_socket_path;
  std::string bind_interface;
  SocketDomain socket_domain = SocketDomain::kAny;
  ListenerProtocol protocol = ListenerProtocol::kMqtt;
  int max_connections = -1;  // -1 = unlimited
  uint8_t max_qos = 2;
  uint16_t max_topic_alias = 10;
  // Broker->client aliases (Mosquitto 2.1's option): at most this many, fewer if the client
  // allows fewer. Off by default, unlike 2.1 (10), as in Debian's Mosquitto 2.0: Debian's
  // libmosquitto 2.0 and paho-mqtt 1.6 announce a Topic Alias Maximum when asked to, then fail
  // on an aliased PUBLISH (protocol error; an empty topic), so 2.0's behaviour is the safe one.
  uint16_t max_topic_alias_broker = 0;
  std::string mount_point;
  bool use_username_as_clientid = false;
  // TLS (not implemented yet; kept for the TLS work).
  std::string cafile, capath, certfile, keyfile, ciphers, ciphers_tls13, crlfile, dhparamfile;
  std::string psk_hint, tls_version, tls_engine, tls_engine_kpass_sha1;
  TlsKeyform tls_keyform = TlsKeyform::kPem;
  bool require_certificate = false;
  bool use_identity_as_username = false;
  bool use_subject_as_username = false;
  // WebSockets (not implemented yet).
  std::string http_dir;
  std::vector<std::string> websockets_origins;
  SecurityOptions security;  // used only when per_listener_settings is true
  SourceLocation where;      // the `listener` line (default listener: first option for it)
  bool is_default = false;   // built from port/bind_address/options before any `listener`
  bool local_only = false;   // created by apply_local_only_defaults()

  bool uses_tls() const { return !certfile.empty() || !keyfile.empty() || !psk_hint.empty(); }
};

enum class BridgeDirection : uint8_t { kOut, kIn, kBoth };
enum class BridgeStartType : uint8_t { kAutomatic, kLazy, kOnce };
enum class BridgeProtocolVersion : uint8_t { kMqtt31, kMqtt311, kMqtt5 };
// What a bridge does with a message for the remote when its queue is full.
enum class BridgeQueuePolicy : uint8_t { kRefuseNew, kDropOldest };

struct BridgeAddress {
  std::string host;
  uint16_t port = 1883;
};

struct BridgeTopic {
  std::string topic;  // pattern; empty for a single-topic remap (`""`)
  BridgeDirection direction = BridgeDirection::kOut;
  uint8_t qos = 0;
  std::string local_prefix;  // empty = none
  std::string remote_prefix;
  std::string local_topic;   // local_prefix + topic
  std::string remote_topic;  // remote_prefix + topic
};

struct BridgeConfig {
  std::string name;
  SourceLocation where;  // the `connection` line
  std::vector<BridgeAddress> addresses;
  bool round_robin = false;
  std::vector<BridgeTopic> topics;
  BridgeProtocolVersion protocol_version = BridgeProtocolVersion::kMqtt311;
  bool clean_start = false;
  int8_t clean_start_local = -1;  // -1 = same as clean_start
  std::string remote_clientid;    // default "<hostname>.<name>"
  std::string local_clientid;     // default "local.<remote_clientid>"
  std::string remote_username, remote_password, local_username, local_password;
  uint16_t keepalive = 60;
  BridgeStartType start_type = BridgeStartType::kAutomatic;
  int restart_timeout = 0;  // 0 = use backoff_base/backoff_cap jitter
  bool restart_constant = false;  // `restart_timeout <s>` alone: a constant delay, no backoff
  int backoff_base = 5;
  int backoff_cap = 30;
  int idle_timeout = 60;
  int threshold = 10;
  bool notifications = true;
  bool notifications_local_only = false;
  std::string notification_topic;
  bool try_private = true;
  bool attempt_unsubscribe = true;
  bool outgoing_retain = true;
  uint32_t max_packet_size = 0;
  std::string bind_address;
  // bridge_cafile, _capath, _certfile, _keyfile, _insecure, _tls_version, _alpn (one
  // protocol), _identity, _psk: handed to net::TlsContext::client as they are.
  net::TlsClientOptions tls;
  bool require_ocsp = false;
  // Bounds on what is held for the remote (queued and in flight); -1 = the broker's
  // max_queued_messages / max_queued_bytes; 0 = unlimited (mq options, not Mosquitto's).
  long long max_queued_messages = -1;
  long long max_queued_bytes = -1;
  BridgeQueuePolicy queue_policy = BridgeQueuePolicy::kRefuseNew;
};

// Features whose options the parser accepts before mq implements them.
enum class Feature : uint8_t {
  kTls,
  kWebsockets,
  kPasswordFile,
  kAclFile,
  kPsk,
  kPersistence,
  kBridge,
  kBridgeOption,  // a bridge sub-option mq does not implement (never supported)
  kPlugin,
  kUnixSocket,
  kBindInterface,
};

struct FeatureUse {
  Feature feature;
  std::string option;  // as the user would recognise it: "password_file", "protocol websockets"
  SourceLocation where;
};

struct SupportedFeatures {
  bool tls = false, websockets = false, password_file = false, acl_file = false, psk = false,
       persistence = false, bridge = false, plugin = false, unix_socket = false,
       bind_interface = false;
  bool supports(Feature f) const;
};

struct Config {
  std::string config_file;                // main file ("" when none was read)
  std::vector<ListenerConfig> listeners;  // explicit listeners, then the default listener
  bool local_only = true;                 // no listener/port/bind_address configured
  bool per_listener_settings = false;
  SecurityOptions security;  // global security options
  bool check_retain_source = false;
  std::string clientid_prefixes;
  bool allow_duplicate_messages = false;

  // Limits.
  uint16_t max_keepalive = 0;    // 0 = no limit (2.0 code default)
  uint32_t max_packet_size = 0;  // 0 = no limit
  uint32_t message_size_limit = 0;
  uint16_t max_inflight_messages = 20;  // 0 = unlimited
  uint64_t max_inflight_bytes = 0;
  int max_queued_messages = 1000;  // 0 = unlimited
  uint64_t max_queued_bytes = 0;
  int64_t memory_limit = 0;
  bool queue_qos0_messages = false;
  // mq extension: a SUBSCRIBE is granted only for filters an acl_file `read` rule covers
  // (SUBACK 0x80 / MQTT 5 0x87 otherwise). Off by default: Mosquitto grants every SUBSCRIBE.
  bool acl_subscribe_check = false;
  bool retain_available = true;
  bool upgrade_outgoing_qos = false;
  // On by default, unlike Mosquitto (false): mq already gathers a connection's packets into one
  // writev per loop iteration, so Nagle adds no coalescing, only stalls: a subscriber that sends
  // nothing back delays its ACKs (up to 40 ms on Linux) and Nagle then holds the next write for
  // them (seen in bench/run.sh's fan-out, p99 44 ms and a fifth of the throughput).
  // `set_tcp_nodelay false` keeps Nagle.
  bool set_tcp_nodelay = true;
  int sys_interval = 10;                     // seconds; 0 disables $SYS
  int64_t persistent_client_expiration = 0;  // seconds; 0 = never
  // mq extension: event loops (threads) serving clients; `auto` = one per CPU. 1 is the
  // single-loop broker. Not reloaded. Options not yet correct across loops are refused with
  // more than one (finish()): persistence, bridges, `log_dest topic`.
  int thread_count = 1;
  SourceLocation thread_count_where;
  SourceLocation persistence_where;     // the `persistence true` line
  SourceLocation log_dest_topic_where;  // the `log_dest topic` line

  // Process.
  std::string pid_file;
  std::string user = "mosquitto";

  // Logging.
  uint32_t log_type = kLogDefault;
  std::vector<LogDest> log_dest{LogDest::kStderr};  // empty = `log_dest none`
  std::string log_file;                             // with LogDest::kFile
  int log_facility = -1;                            // -1 = daemon, else local0..local7
  bool log_timestamp = true;
  std::string log_timestamp_format;  // empty = epoch seconds
  bool connection_messages = true;

  // Persistence (persist_*.h).
  bool persistence = false;
  std::string persistence_file = "mosquitto.db";
  std::string persistence_location;
  std::string persistence_filepath;  // location + "/" + file, set after parsing
  int autosave_interval = 1800;
  bool autosave_on_changes = false;
  // mq extensions. persistence_fsync: fdatasync the journal before acknowledging what it
  // holds (survives power loss, not only kill -9). persistence_on_corrupt: what to do when
  // the snapshot file is corrupt: refuse to start (default) or start_empty (the bad file is
  // renamed to <file>.corrupt-<unix time> and the broker starts with no stored state).
  bool persistence_fsync = false;
  bool persistence_corrupt_start_empty = false;

  // WebSockets tuning (libwebsockets knobs, stored only).
  int websockets_log_level = 0;
  int websockets_headers_size = 0;

  std::vector<BridgeConfig> bridges;

  std::vector<FeatureUse> feature_uses;  // options of not-yet-implemented features
  std::vector<ConfigNote> notes;         // to be logged by the caller

  // The security options in force for clients of `listener`.
  const SecurityOptions& security_for(const ListenerConfig& listener) const {
    return per_listener_settings ? listener.security : security;
  }
};

// Parses mosquitto.conf text; `name` is the file name used in messages. include_dir is
// honoured (relative to the process, as Mosquitto). On failure the Error (kind kConfig) has
// the full message lines, e.g. "Error: Unknown configuration variable \"x\".\n"
// "Error found at /etc/m.conf:3."; the broker prints them and exits with status 3.
[[nodiscard]] Result<Config> parse_config_text(std::string_view text, std::string_view name);

// Reads and parses `path` ("Error: Unable to open config file X." when it cannot).
[[nodiscard]] Result<Config> load_config(const std::string& path);

// A config for running without a file (or a file with no listener): when config.local_only,
// replaces the listeners with 127.0.0.1 and ::1 on each of `cmdline_ports` (1883 when none)
// and allows anonymous clients. Does nothing when a listener/port/bind_address was configured
// (Mosquitto ignores -p then).
void apply_local_only_defaults(Config& config, const std::vector<uint16_t>& cmdline_ports);

// Refuses the first option (in file order) of a feature not in `supported`, as a kUnsupported
// error: `Error: The "password_file" option is not supported yet (/etc/x.conf:12).`
[[nodiscard]] Status check_supported(const Config& config, const SupportedFeatures& supported);

// SIGHUP: copies the reloadable options of `fresh` (a newly loaded Config) into `running`.
// Reloaded (Mosquitto 2.0): global security options (password_file, acl_file, psk_file,
// allow_anonymous, allow_zero_length_clientid, auto_id_prefix) and, under
// per_listener_settings, the same options of each listener; allow_duplicate_messages,
// autosave_interval, autosave_on_changes, check_retain_source, clientid_prefixes,
// connection_messages, log_dest/log_file/log_facility/log_type/log_timestamp(_format),
// max_keepalive, max_packet_size, message_size_limit, max_inflight_messages/bytes,
// max_queued_messages/bytes, memory_limit, persistence, persistence_file/location,
// persistent_client_expiration, queue_qos0_messages, retain_available, set_tcp_nodelay,
// sys_interval, upgrade_outgoing_qos, websockets_log_level.
// Not reloaded: listeners and every listener option, pid_file, user, plugins, bridges,
// per_listener_settings. A listener in `fresh` that `running` lacks (matched by port + bind
// address, or Unix path) is an error, as in Mosquitto; `running` is unchanged then.
[[nodiscard]] Status apply_reload(Config& running, const Config& fresh);

// Parses a persistent_client_expiration value into seconds: N followed by h, d, w, m (30 days),
// y (365 days), or s (Mosquitto 2.1). N must be positive.
[[nodiscard]] Result<int64_t> parse_expiration(std::string_view value);

}  // namespace mq::broker
