// Tests for the mosquitto.conf parser and the configuration model (broker/config.h).
// Expected error texts were checked against Debian's mosquitto 2.0.11.
#include "broker/config/config.h"

#include <gtest/gtest.h>

namespace mq::broker {
namespace {

Config parse_ok(std::string_view text) {
  Result<Config> r = parse_config_text(text, "t.conf");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().context);
  return r.ok() ? std::move(r).value() : Config{};
}

std::string parse_err(std::string_view text) {
  Result<Config> r = parse_config_text(text, "t.conf");
  EXPECT_FALSE(r.ok()) << "expected an error for: " << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.error().kind, ErrorKind::kConfig);
  return r.error().context;
}

// ---- defaults ----

TEST(ConfigDefaults, EmptyFileIsLocalOnlyWithMosquittoDefaults) {
  Config c = parse_ok("");
  EXPECT_TRUE(c.local_only);
  EXPECT_TRUE(c.listeners.empty());
  EXPECT_EQ(c.security.allow_anonymous, 1);  // local-only mode allows anonymous
  EXPECT_TRUE(c.security.allow_zero_length_clientid);
  EXPECT_EQ(c.security.auto_id_prefix, "auto-");
  EXPECT_EQ(c.max_keepalive, 0);
  EXPECT_EQ(c.max_packet_size, 0u);
  EXPECT_EQ(c.message_size_limit, 0u);
  EXPECT_EQ(c.max_inflight_messages, 20);
  EXPECT_EQ(c.max_inflight_bytes, 0u);
  EXPECT_EQ(c.max_queued_messages, 1000);
  EXPECT_EQ(c.max_queued_bytes, 0u);
  EXPECT_FALSE(c.queue_qos0_messages);
  EXPECT_TRUE(c.retain_available);
  EXPECT_FALSE(c.upgrade_outgoing_qos);
  EXPECT_TRUE(c.set_tcp_nodelay);  // mq's default (Mosquitto's is false): see config.h
  EXPECT_EQ(c.sys_interval, 10);
  EXPECT_EQ(c.persistent_client_expiration, 0);
  EXPECT_EQ(c.pid_file, "");
  EXPECT_EQ(c.user, "mosquitto");
  EXPECT_EQ(c.log_type, uint32_t(kLogDefault));
  ASSERT_EQ(c.log_dest.size(), 1u);
  EXPECT_EQ(c.log_dest[0], LogDest::kStderr);
  EXPECT_TRUE(c.log_timestamp);
  EXPECT_EQ(c.log_timestamp_format, "");
  EXPECT_TRUE(c.connection_messages);
  EXPECT_FALSE(c.per_listener_settings);
  EXPECT_FALSE(c.persistence);
  EXPECT_EQ(c.persistence_file, "mosquitto.db");
  EXPECT_EQ(c.persistence_location, "");
  EXPECT_EQ(c.persistence_filepath, "mosquitto.db");
  EXPECT_EQ(c.autosave_interval, 1800);
  EXPECT_FALSE(c.autosave_on_changes);
  EXPECT_FALSE(c.allow_duplicate_messages);
  EXPECT_FALSE(c.check_retain_source);
  EXPECT_TRUE(c.bridges.empty());
  EXPECT_TRUE(c.feature_uses.empty());
}

TEST(ConfigDefaults, ListenerDefaults) {
  Config c = parse_ok("listener 1883\n");
  ASSERT_EQ(c.listeners.size(), 1u);
  const ListenerConfig& l = c.listeners[0];
  EXPECT_FALSE(c.local_only);
  EXPECT_EQ(l.port, 1883);
  EXPECT_EQ(l.host, "");
  EXPECT_EQ(l.socket_domain, SocketDomain::kAny);
  EXPECT_EQ(l.protocol, ListenerProtocol::kMqtt);
  EXPECT_EQ(l.max_connections, -1);
  EXPECT_EQ(l.max_qos, 2);
  EXPECT_EQ(l.max_topic_alias, 10);
  EXPECT_EQ(l.max_topic_alias_broker, 0) << "off, as in Mosquitto 2.0";
  EXPECT_EQ(l.mount_point, "");
  EXPECT_FALSE(l.use_username_as_clientid);
  EXPECT_FALSE(l.require_certificate);
  EXPECT_FALSE(l.uses_tls());
  EXPECT_FALSE(l.is_default);
  EXPECT_EQ(l.where.to_string(), "t.conf:1");
  // Once a listener exists anonymous access is off unless asked for.
  EXPECT_EQ(c.security.allow_anonymous, 0);
}

// ---- every option with a set value ----

TEST(ConfigOptions, GeneralOptionsSetValues) {
  Config c = parse_ok(
      "listener 1883\n"
      "allow_anonymous true\n"
      "allow_zero_length_clientid false\n"
      "auto_id_prefix pre-\n"
      "max_keepalive 120\n"
      "max_packet_size 1000\n"
      "message_size_limit 500\n"
      "max_inflight_messages 5\n"
      "max_inflight_bytes 4096\n"
      "max_queued_messages 50\n"
      "max_queued_bytes 8192\n"
      "queue_qos0_messages true\n"
      "retain_available false\n"
      "upgrade_outgoing_qos 1\n"
      "set_tcp_nodelay false\n"
      "sys_interval 0\n"
      "persistent_client_expiration 2d\n"
      "pid_file /run/mq.pid\n"
      "user nobody\n"
      "log_timestamp false\n"
      "log_timestamp_format %Y-%m-%dT%H:%M:%S\n"
      "connection_messages false\n"
      "autosave_interval 60\n"
      "autosave_on_changes true\n"
      "persistence_file my.db\n"
      "persistence_location /var/lib/mq\n"
      "check_retain_source true\n"
      "allow_duplicate_messages true\n"
      "log_facility 3\n"
      "memory_limit 1000000\n"
      "websockets_log_level 7\n"
      "websockets_headers_size 2048\n"
      "clientid_prefixes abc\n");
  EXPECT_EQ(c.security.allow_anonymous, 1);
  EXPECT_FALSE(c.security.allow_zero_length_clientid);
  EXPECT_EQ(c.security.auto_id_prefix, "pre-");
  EXPECT_EQ(c.max_keepalive, 120);
  EXPECT_EQ(c.max_packet_size, 1000u);
  EXPECT_EQ(c.message_size_limit, 500u);
  EXPECT_EQ(c.max_inflight_messages, 5);
  EXPECT_EQ(c.max_inflight_bytes, 4096u);
  EXPECT_EQ(c.max_queued_messages, 50);
  EXPECT_EQ(c.max_queued_bytes, 8192u);
  EXPECT_TRUE(c.queue_qos0_messages);
  EXPECT_FALSE(c.retain_available);
  EXPECT_TRUE(c.upgrade_outgoing_qos);
  EXPECT_FALSE(c.set_tcp_nodelay);
  EXPECT_EQ(c.sys_interval, 0);
  EXPECT_EQ(c.persistent_client_expiration, 2 * 86400);
  EXPECT_EQ(c.pid_file, "/run/mq.pid");
  EXPECT_EQ(c.user, "nobody");
  EXPECT_FALSE(c.log_timestamp);
  EXPECT_EQ(c.log_timestamp_format, "%Y-%m-%dT%H:%M:%S");
  EXPECT_FALSE(c.connection_messages);
  EXPECT_EQ(c.autosave_interval, 60);
  EXPECT_TRUE(c.autosave_on_changes);
  EXPECT_EQ(c.persistence_filepath, "/var/lib/mq/my.db");
  EXPECT_TRUE(c.check_retain_source);
  EXPECT_TRUE(c.allow_duplicate_messages);
  EXPECT_EQ(c.log_facility, 3);
  EXPECT_EQ(c.memory_limit, 1000000);
  EXPECT_EQ(c.websockets_log_level, 7);
  EXPECT_EQ(c.websockets_headers_size, 2048);
  EXPECT_EQ(c.clientid_prefixes, "abc");
  // A message_size_limit line carries Mosquitto's advice as a notice.
  bool advised = false;
  for (const ConfigNote& n : c.notes)
    advised |= n.text.find("message_size_limit") != std::string::npos;
  EXPECT_TRUE(advised);
}

TEST(ConfigOptions, ListenerOptionsSetValues) {
  Config c = parse_ok(
      "listener 8883 127.0.0.1\n"
      "socket_domain ipv4\n"
      "max_connections 10\n"
      "max_qos 1\n"
      "max_topic_alias 0\n"
      "max_topic_alias_broker 20\n"
      "mount_point tenant/\n"
      "use_username_as_clientid true\n"
      "listener 8884\n"
      "maximum_qos 0\n"
      "socket_domain ipv6\n"
      "protocol mqtt\n"
      "max_connections -5\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  const ListenerConfig& a = c.listeners[0];
  EXPECT_EQ(a.port, 8883);
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.socket_domain, SocketDomain::kIpv4);
  EXPECT_EQ(a.max_connections, 10);
  EXPECT_EQ(a.max_qos, 1);
  EXPECT_EQ(a.max_topic_alias, 0);
  EXPECT_EQ(a.max_topic_alias_broker, 20);
  EXPECT_EQ(a.mount_point, "tenant/");
  EXPECT_TRUE(a.use_username_as_clientid);
  const ListenerConfig& b = c.listeners[1];
  EXPECT_EQ(b.max_qos, 0);
  EXPECT_EQ(b.socket_domain, SocketDomain::kIpv6);
  EXPECT_EQ(b.max_connections, -1);
  EXPECT_EQ(b.where.line, 9);
}

TEST(ConfigOptions, TlsAndWebsocketOptionsAreStored) {
  Config c = parse_ok(
      "listener 8883\n"
      "cafile /c/ca.crt\n"
      "capath /c\n"
      "certfile /c/server.crt\n"
      "keyfile /c/server.key\n"
      "ciphers HIGH\n"
      "ciphers_tls1.3 TLS_AES_256_GCM_SHA384\n"
      "crlfile /c/crl.pem\n"
      "dhparamfile /c/dh.pem\n"
      "require_certificate true\n"
      "tls_version tlsv1.3\n"
      "use_identity_as_username true\n"
      "use_subject_as_username false\n"
      "listener 8080\n"
      "protocol websockets\n"
      "http_dir /www\n"
      "websockets_origin https://a.example\n"
      "websockets_origin https://b.example\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  const ListenerConfig& t = c.listeners[0];
  EXPECT_EQ(t.cafile, "/c/ca.crt");
  EXPECT_EQ(t.capath, "/c");
  EXPECT_EQ(t.certfile, "/c/server.crt");
  EXPECT_EQ(t.keyfile, "/c/server.key");
  EXPECT_EQ(t.ciphers, "HIGH");
  EXPECT_EQ(t.ciphers_tls13, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(t.crlfile, "/c/crl.pem");
  EXPECT_EQ(t.dhparamfile, "/c/dh.pem");
  EXPECT_TRUE(t.require_certificate);
  EXPECT_EQ(t.tls_version, "tlsv1.3");
  EXPECT_TRUE(t.use_identity_as_username);
  EXPECT_FALSE(t.use_subject_as_username);
  EXPECT_TRUE(t.uses_tls());
  const ListenerConfig& w = c.listeners[1];
  EXPECT_EQ(w.protocol, ListenerProtocol::kWebsockets);
  EXPECT_EQ(w.http_dir, "/www");
  EXPECT_EQ(w.websockets_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
}

TEST(ConfigOptions, MoreListenerOptions) {
  Config c = parse_ok(
      "listener 1\n"
      "bind_interface eth0\n"
      "tls_engine pkcs11\n"
      "tls_keyform engine\n"
      "tls_engine_kpass_sha1 0123456789abcdef0123456789abcdef01234567\n");
  const ListenerConfig& l = c.listeners.at(0);
  EXPECT_EQ(l.bind_interface, "eth0");
  EXPECT_EQ(l.tls_engine, "pkcs11");
  EXPECT_EQ(l.tls_keyform, TlsKeyform::kEngine);
  EXPECT_EQ(l.tls_engine_kpass_sha1.size(), 40u);
  EXPECT_EQ(parse_err("listener 1\npsk_hint foo\ncafile /x\n"),
            "Error: Cannot use both certificate and psk encryption in a single listener.\n"
            "Error found at t.conf:3.");
  // An empty max_connections is only logged by Mosquitto.
  EXPECT_EQ(parse_ok("listener 1\nmax_connections\n").listeners.at(0).max_connections, -1);
  // retry_interval is obsolete: accepted with a warning.
  EXPECT_EQ(parse_ok("retry_interval 20\n").notes.at(0).text,
            "Warning: The retry_interval option is no longer available.");
}

TEST(ConfigOptions, SecurityFilesAndPsk) {
  Config c = parse_ok(
      "password_file /etc/mq/passwd\n"
      "acl_file /etc/mq/acl\n"
      "psk_file /etc/mq/psk\n"
      "listener 8885\n"
      "psk_hint hint one\n");
  EXPECT_EQ(c.security.password_file, "/etc/mq/passwd");
  EXPECT_EQ(c.security.acl_file, "/etc/mq/acl");
  EXPECT_EQ(c.security.psk_file, "/etc/mq/psk");
  ASSERT_EQ(c.listeners.size(), 1u);  // without per_listener_settings no default listener
  EXPECT_EQ(c.listeners[0].psk_hint, "hint one");
}

TEST(ConfigOptions, PluginsAndOptions) {
  Config c = parse_ok(
      "plugin /usr/lib/auth.so\n"
      "plugin_opt_dbfile   /tmp/x y\n"
      "auth_opt_host localhost\n"
      "auth_plugin_deny_special_chars false\n");
  ASSERT_EQ(c.security.plugins.size(), 1u);
  const PluginConfig& p = c.security.plugins[0];
  EXPECT_EQ(p.path, "/usr/lib/auth.so");
  ASSERT_EQ(p.options.size(), 2u);
  EXPECT_EQ(p.options[0], (std::pair<std::string, std::string>{"dbfile", "/tmp/x y"}));
  EXPECT_EQ(p.options[1], (std::pair<std::string, std::string>{"host", "localhost"}));
  EXPECT_FALSE(p.deny_special_chars);
  EXPECT_EQ(parse_err("plugin /p.so\nplugin_opt_db x\n"),
            "Error: Invalid auth_opt_ config option.\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("plugin /p.so\nplugin_opt_dbx\n"),
            "Error: Empty dbx value in configuration.\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("plugin_opt_x y\n"),
            "Error: An auth_opt_ option exists in the config file without an auth_plugin.\n"
            "Error found at t.conf:1.");
}

TEST(ConfigOptions, PersistenceOptions) {
  Config c = parse_ok("persistence true\npersistence_location /data\n");
  EXPECT_TRUE(c.persistence);
  EXPECT_EQ(c.persistence_filepath, "/data/mosquitto.db");
  EXPECT_TRUE(parse_ok("retained_persistence 1\n").persistence);
}

// ---- logging ----

TEST(ConfigLogging, LogDestRepeatable) {
  Config c =
      parse_ok("log_dest stdout\nlog_dest syslog\nlog_dest topic\nlog_dest file /var/log/mq.log\n");
  EXPECT_EQ(c.log_dest, (std::vector<LogDest>{LogDest::kStdout, LogDest::kSyslog, LogDest::kTopic,
                                              LogDest::kFile}));
  EXPECT_EQ(c.log_file, "/var/log/mq.log");
  EXPECT_TRUE(parse_ok("log_dest stdout\nlog_dest none\n").log_dest.empty());
  EXPECT_EQ(parse_ok("log_dest stderr\n").log_dest, std::vector<LogDest>{LogDest::kStderr});
}

TEST(ConfigLogging, LogDestErrors) {
  EXPECT_EQ(parse_err("log_dest foo\n"),
            "Error: Invalid log_dest value (foo).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("log_dest file\n"),
            "Error: Empty \"log_dest file\" value in configuration.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("log_dest file /a\nlog_dest file /b\n"),
            "Error: Duplicate \"log_dest file\" value.\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("log_dest\n"),
            "Error: Empty log_dest value in configuration.\nError found at t.conf:1.");
}

TEST(ConfigLogging, LogTypeWords) {
  EXPECT_EQ(parse_ok("log_type error\nlog_type debug\n").log_type, uint32_t(kLogError | kLogDebug));
  EXPECT_EQ(parse_ok("log_type all\n").log_type, uint32_t(kLogAll));
  EXPECT_EQ(parse_ok("log_type all\nlog_type none\n").log_type, uint32_t(kLogNone));
  EXPECT_EQ(parse_ok("log_type none\nlog_type subscribe\n").log_type, uint32_t(kLogSubscribe));
  EXPECT_EQ(
      parse_ok("log_type websockets\nlog_type unsubscribe\nlog_type notice\n"
               "log_type warning\nlog_type information\n")
          .log_type,
      uint32_t(kLogWebsockets | kLogUnsubscribe | kLogNotice | kLogWarning | kLogInformation));
  EXPECT_EQ(parse_err("log_type foo\n"),
            "Error: Invalid log_type value (foo).\nError found at t.conf:1.");
  // An empty log_type is only logged by Mosquitto, not fatal.
  Config c = parse_ok("log_type\n");
  EXPECT_EQ(c.log_type, uint32_t(kLogDefault));
  ASSERT_FALSE(c.notes.empty());
  EXPECT_EQ(c.notes.back().text, "Error: Empty log_type value in configuration.");
}

// ---- parser rules (reference §1.0) ----

TEST(ConfigParser, TabIsNotASeparator) {
  EXPECT_EQ(parse_err("listener\t1883\n"),
            "Error: Unknown configuration variable \"listener\t1883\".\nError found at t.conf:1.");
}

TEST(ConfigParser, MultipleSpacesAreFine) {
  EXPECT_EQ(parse_ok("listener    1883    ::1\nallow_anonymous   true\n").listeners.at(0).host,
            "::1");
}

TEST(ConfigParser, CommentsOnlyInFirstColumn) {
  parse_ok("# a comment\n#another\n\n\r\n");
  EXPECT_EQ(parse_err("listener 1883\n  # indented\n"),
            "Error: Unknown configuration variable \"#\".\nError found at t.conf:2.");
}

TEST(ConfigParser, LineOfSpacesIsSkipped) {
  parse_ok("   \nlistener 1883\n");
}

TEST(ConfigParser, CrLfLineEndings) {
  Config c = parse_ok("listener 1883\r\nallow_anonymous true\r\npid_file /x\r\n");
  EXPECT_EQ(c.security.allow_anonymous, 1);
  EXPECT_EQ(c.pid_file, "/x");
}

TEST(ConfigParser, TrailingTextAfterBoolAndIntIgnored) {
  Config c = parse_ok("allow_anonymous true # c\nmax_queued_messages 5 # five\nsys_interval 7x\n");
  EXPECT_EQ(c.security.allow_anonymous, 1);
  EXPECT_EQ(c.max_queued_messages, 5);
  EXPECT_EQ(c.sys_interval, 7);  // atoi
  EXPECT_EQ(parse_ok("autosave_interval abc\n").autosave_interval, 0);
}

TEST(ConfigParser, StringTakesRestOfLineTrimmed) {
  Config c = parse_ok("pid_file   /run/my file.pid # not a comment  \n");
  EXPECT_EQ(c.pid_file, "/run/my file.pid # not a comment");
}

TEST(ConfigParser, ListenerIgnoresTrailingComment) {
  Config c = parse_ok("listener 1883 # all addresses\n");
  EXPECT_EQ(c.listeners.at(0).host, "");
}

TEST(ConfigParser, BoolWords) {
  EXPECT_EQ(parse_ok("allow_anonymous 1\n").security.allow_anonymous, 1);
  EXPECT_EQ(parse_ok("listener 1\nallow_anonymous 0\n").security.allow_anonymous, 0);
  EXPECT_EQ(parse_ok("listener 1\nallow_anonymous false\n").security.allow_anonymous, 0);
  EXPECT_EQ(parse_err("allow_anonymous yes\n"),
            "Error: Invalid allow_anonymous value (yes).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("allow_anonymous TRUE\n"),
            "Error: Invalid allow_anonymous value (TRUE).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("set_tcp_nodelay\n"),
            "Error: Empty set_tcp_nodelay value in configuration.\nError found at t.conf:1.");
}

TEST(ConfigParser, UnknownOptionNamesFileAndLine) {
  EXPECT_EQ(parse_err("listener 1883\n\n# c\nbogus 1\n"),
            "Error: Unknown configuration variable \"bogus\".\nError found at t.conf:4.");
}

TEST(ConfigParser, DuplicateStrings) {
  EXPECT_EQ(parse_err("password_file /a\npassword_file /b\n"),
            "Error: Duplicate password_file value in configuration.\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("pid_file /a\npid_file /b\n"),
            "Error: Duplicate pid_file value in configuration.\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("user a\nuser b\n"),
            "Error: Duplicate user value in configuration.\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("persistence_file a\npersistence_file b\n"),
            "Error: Duplicate persistence_file value in configuration.\nError found at t.conf:2.");
  // A string option in another listener's scope is not a duplicate.
  parse_ok("listener 1\nmount_point a/\nlistener 2\nmount_point b/\n");
}

TEST(ConfigParser, EmptyStringValue) {
  EXPECT_EQ(parse_err("listener 1\ncafile    \n"),
            "Error: Empty cafile value in configuration.\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("pid_file\n"),
            "Error: Empty pid_file value in configuration.\nError found at t.conf:1.");
}

TEST(ConfigParser, MalformedUtf8InString) {
  EXPECT_EQ(parse_err("pid_file /a\xff\n"),
            "Error: Malformed UTF-8 in configuration.\nError found at t.conf:1.");
}

// ---- validations ----

TEST(ConfigValidation, RangesMatchMosquitto) {
  EXPECT_EQ(parse_err("max_packet_size 10\n"),
            "Error: Invalid max_packet_size value (10).\nError found at t.conf:1.");
  EXPECT_EQ(parse_ok("max_packet_size 20\n").max_packet_size, 20u);
  EXPECT_EQ(parse_err("max_qos 3\n"),
            "Error: max_qos must be between 0 and 2 inclusive.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("max_keepalive 70000\n"),
            "Error: Invalid max_keepalive value (70000).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("max_keepalive -1\n"),
            "Error: Invalid max_keepalive value (-1).\nError found at t.conf:1.");
  // 2.0.11 refuses below 10, and garbage is atoi's 0.
  EXPECT_EQ(parse_err("max_keepalive abc\n"),
            "Error: Invalid max_keepalive value (0).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("max_keepalive 9\n"),
            "Error: Invalid max_keepalive value (9).\nError found at t.conf:1.");
  EXPECT_EQ(parse_ok("max_keepalive 10\n").max_keepalive, 10);
  EXPECT_EQ(parse_err("sys_interval -1\n"),
            "Error: Invalid sys_interval value (-1).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("sys_interval 65536\n"),
            "Error: Invalid sys_interval value (65536).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("max_topic_alias 70000\n"),
            "Error: Invalid max_topic_alias value in configuration.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("max_topic_alias_broker -1\n"),
            "Error: Invalid max_topic_alias_broker value in configuration.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("max_inflight_messages 70000\n"),
            "Error: max_inflight_messages must be <= 65535.\nError found at t.conf:1.");
  EXPECT_EQ(parse_ok("max_inflight_messages 65535\n").max_inflight_messages, 0);
  EXPECT_EQ(parse_ok("max_queued_messages -3\n").max_queued_messages, 0);
  EXPECT_EQ(parse_err("message_size_limit 300000000\n"),
            "Error: Invalid message_size_limit value (300000000).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("log_facility 8\n"),
            "Error: Invalid log_facility value (8).\nError found at t.conf:1.");
  EXPECT_EQ(
      parse_err("socket_domain ipv5\n"),
      "Error: Invalid socket_domain value \"ipv5\" in configuration.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("protocol foo\n"),
            "Error: Invalid protocol value (foo).\nError found at t.conf:1.");
}

TEST(ConfigValidation, Ports) {
  EXPECT_EQ(parse_err("listener 70000\n"),
            "Error: Invalid port value (70000).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("listener -1\n"),
            "Error: Invalid port value (-1).\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("listener\n"),
            "Error: Empty listener value in configuration.\nError found at t.conf:1.");
  EXPECT_EQ(
      parse_err("listener 0\n"),
      "Error: A listener with port 0 must provide a Unix socket path.\nError found at t.conf:1.");
  EXPECT_EQ(
      parse_err("listener abc\n"),
      "Error: A listener with port 0 must provide a Unix socket path.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("port 0\n"), "Error: Invalid port value (0).\nError found at t.conf:1.");
}

TEST(ConfigValidation, MountPoint) {
  EXPECT_EQ(parse_err("mount_point foo/\n"),
            "Error: You must use create a listener before using the mount_point option in the "
            "configuration file.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("listener 1\nmount_point foo/#\n"),
            "Error: Invalid mount_point 'foo/#'. Does it contain a wildcard character?\n"
            "Error found at t.conf:2.");
}

TEST(ConfigValidation, PersistentClientExpirationUnits) {
  EXPECT_EQ(parse_ok("persistent_client_expiration 30s\n").persistent_client_expiration, 30);
  EXPECT_EQ(parse_ok("persistent_client_expiration 2h\n").persistent_client_expiration, 7200);
  EXPECT_EQ(parse_ok("persistent_client_expiration 1d\n").persistent_client_expiration, 86400);
  EXPECT_EQ(parse_ok("persistent_client_expiration 1w\n").persistent_client_expiration, 604800);
  EXPECT_EQ(parse_ok("persistent_client_expiration 1m\n").persistent_client_expiration, 2592000);
  EXPECT_EQ(parse_ok("persistent_client_expiration 1y\n").persistent_client_expiration, 31536000);
  const char* bad =
      "Error: Invalid persistent_client_expiration duration in configuration.\n"
      "Error found at t.conf:1.";
  EXPECT_EQ(parse_err("persistent_client_expiration 10\n"), bad);
  EXPECT_EQ(parse_err("persistent_client_expiration 0d\n"), bad);
  EXPECT_EQ(parse_err("persistent_client_expiration -1d\n"), bad);
  EXPECT_EQ(parse_err("persistent_client_expiration 5x\n"), bad);
  EXPECT_EQ(parse_expiration("3h").value(), 10800);
}

}  // namespace
}  // namespace mq::broker

namespace mq::broker {
namespace {

// ---- thread_count (mq extension) ----

TEST(ConfigThreadCount, DefaultIsOneLoop) {
  EXPECT_EQ(parse_ok("").thread_count, 1);
}

TEST(ConfigThreadCount, NumbersAndAuto) {
  EXPECT_EQ(parse_ok("thread_count 1\n").thread_count, 1);
  EXPECT_EQ(parse_ok("thread_count 4\n").thread_count, 4);
  EXPECT_EQ(parse_ok("thread_count 256\n").thread_count, 256);
  Config c = parse_ok("listener 1883\nthread_count auto\n");
  EXPECT_GE(c.thread_count, 1);
  EXPECT_EQ(c.thread_count_where.to_string(), "t.conf:2");
}

TEST(ConfigThreadCount, BadValuesRefusedWithTheLine) {
  for (const char* v : {"0", "-1", "257", "two", ""}) {
    std::string err = parse_err(std::string("thread_count ") + v + "\n");
    EXPECT_NE(err.find("thread_count value"), std::string::npos) << err;
    EXPECT_NE(err.find("t.conf:1"), std::string::npos) << err;
  }
}

TEST(ConfigThreadCount, WhatIsNotYetCorrectAcrossLoopsIsRefused) {
  std::string err = parse_err("thread_count 2\npersistence true\n");
  EXPECT_EQ(err,
            "Error: persistence (t.conf:2) is not supported with thread_count 2 (t.conf:1) yet; "
            "use thread_count 1.");
  err = parse_err("log_dest topic\nthread_count 3\n");
  EXPECT_EQ(err,
            "Error: log_dest topic (t.conf:1) is not supported with thread_count 3 (t.conf:2) "
            "yet; use thread_count 1.");
  err = parse_err("thread_count 2\nconnection up\naddress 127.0.0.1:1883\ntopic # out\n");
  EXPECT_NE(err.find("bridge \"up\" (t.conf:2)"), std::string::npos) << err;
  // With one loop all of them stay as they were.
  Config c = parse_ok("thread_count 1\npersistence true\nlog_dest topic\n");
  EXPECT_TRUE(c.persistence);
}

}  // namespace
}  // namespace mq::broker
