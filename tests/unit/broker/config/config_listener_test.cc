// Tests for listeners, per_listener_settings, include_dir, bridges, the not-yet-supported check,
// local-only mode and reload (broker/config.h).
// Expected error texts were checked against Debian's mosquitto 2.0.11.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "broker/config/config.h"

// A namespace of its own: CI's unity builds compile this file together with others of the
// program that have helpers of the same names.
namespace mq::broker::config_listener_test {
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

// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mq-config-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, std::string_view text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- listeners ----

TEST(ConfigListeners, SeveralListenersIpv4Ipv6AndUnix) {
  Config c = parse_ok(
      "listener 1883 0.0.0.0\nlistener 1884 ::1\nlistener 1885\nlistener 0 /run/mq.sock\n");
  ASSERT_EQ(c.listeners.size(), 4u);
  EXPECT_EQ(c.listeners[0].host, "0.0.0.0");
  EXPECT_EQ(c.listeners[1].host, "::1");
  EXPECT_EQ(c.listeners[1].port, 1884);
  EXPECT_EQ(c.listeners[2].host, "");
  EXPECT_EQ(c.listeners[3].port, 0);
  EXPECT_EQ(c.listeners[3].unix_socket_path, "/run/mq.sock");
  EXPECT_EQ(c.listeners[3].host, "");
}

TEST(ConfigListeners, DefaultListenerFromPortAndBindAddress) {
  Config c = parse_ok("port 1999\nbind_address 127.0.0.1\n");
  EXPECT_FALSE(c.local_only);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_TRUE(c.listeners[0].is_default);
  EXPECT_EQ(c.listeners[0].port, 1999);
  EXPECT_EQ(c.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].where.line, 1);
}

TEST(ConfigListeners, OptionsBeforeFirstListenerCreateDefaultListener) {
  // The "why is 1883 also open" case: max_connections before `listener` is the default's.
  Config c = parse_ok("max_connections 5\nlistener 1884\nmax_connections 7\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].port, 1884);
  EXPECT_EQ(c.listeners[0].max_connections, 7);
  EXPECT_TRUE(c.listeners[1].is_default);
  EXPECT_EQ(c.listeners[1].port, 1883);
  EXPECT_EQ(c.listeners[1].max_connections, 5);
  EXPECT_EQ(c.listeners[1].where.line, 1);
  // Port after a listener line still configures the default listener.
  Config d = parse_ok("listener 1884\nport 1900\n");
  ASSERT_EQ(d.listeners.size(), 2u);
  EXPECT_EQ(d.listeners[1].port, 1900);
  // Only such options trigger it: a global option does not.
  EXPECT_EQ(parse_ok("sys_interval 5\nlistener 1884\n").listeners.size(), 1u);
  // A lone listener option (no listener) makes Mosquitto open 1883 on all addresses.
  Config e = parse_ok("max_connections 5\n");
  EXPECT_FALSE(e.local_only);
  ASSERT_EQ(e.listeners.size(), 1u);
  EXPECT_EQ(e.listeners[0].host, "");
}

TEST(ConfigListeners, PortSpecifiedTwiceWarns) {
  Config c = parse_ok("port 1\nport 2\n");
  EXPECT_EQ(c.listeners.at(0).port, 2);
  bool warned = false;
  for (const ConfigNote& n : c.notes)
    warned |= n.text.find("specified multiple times") != std::string::npos;
  EXPECT_TRUE(warned);
}

// ---- per_listener_settings ----

TEST(ConfigPerListener, SecurityOptionsGoToListeners) {
  Config c = parse_ok(
      "per_listener_settings true\n"
      "listener 1883\n"
      "allow_anonymous true\n"
      "listener 1884\n"
      "password_file /etc/p\n"
      "auto_id_prefix x-\n");
  EXPECT_TRUE(c.per_listener_settings);
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.security_for(c.listeners[0]).allow_anonymous, 1);
  EXPECT_EQ(c.security_for(c.listeners[1]).allow_anonymous, 0);
  EXPECT_EQ(c.security_for(c.listeners[1]).password_file, "/etc/p");
  EXPECT_EQ(c.security_for(c.listeners[1]).auto_id_prefix, "x-");
  EXPECT_EQ(c.security_for(c.listeners[0]).auto_id_prefix, "auto-");
  EXPECT_EQ(c.security.password_file, "");
}

TEST(ConfigPerListener, GlobalWhenOff) {
  Config c = parse_ok("listener 1883\nallow_anonymous true\nlistener 1884\n");
  EXPECT_EQ(c.security_for(c.listeners[1]).allow_anonymous, 1);
}

TEST(ConfigPerListener, MustComeBeforeSecurityOptions) {
  EXPECT_EQ(parse_err("listener 1\nallow_anonymous true\nper_listener_settings true\n"),
            "Error: per_listener_settings must be set before any other security settings.\n"
            "Error found at t.conf:3.");
  // false is accepted late; once true it cannot be turned off.
  parse_ok("allow_anonymous true\nper_listener_settings false\n");
  EXPECT_TRUE(parse_ok("per_listener_settings true\nlistener 1\nper_listener_settings false\n")
                  .per_listener_settings);
}

TEST(ConfigPerListener, PasswordFileBeforeListenerCreatesDefaultListener) {
  Config c = parse_ok("per_listener_settings true\npassword_file /p\nlistener 1884\n");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_TRUE(c.listeners[1].is_default);
  EXPECT_EQ(c.listeners[1].security.password_file, "/p");
  EXPECT_EQ(c.listeners[0].security.password_file, "");
  EXPECT_EQ(c.listeners[1].security.allow_anonymous, 0);
}

// ---- include_dir ----

TEST(ConfigInclude, LoadsConfFilesInMosquittoOrder) {
  TempDir dir;
  // Each file adds a listener whose port records the load order.
  dir.write("b.conf", "listener 6\n");
  dir.write("B.conf", "listener 5\n");
  dir.write("a.conf", "listener 3\n");
  dir.write("A.conf", "listener 2\n");
  dir.write("Ab.conf", "listener 7\n");
  dir.write("1.conf", "listener 1\n");
  dir.write("_x.conf", "listener 8\n");
  dir.write("ignored.txt", "bogus\n");
  dir.write(".conf", "bogus\n");
  std::string main = dir.write("main.cfg", "include_dir " + dir.path() + "\n");
  Result<Config> r = load_config(main);
  ASSERT_TRUE(r.ok()) << r.error().context;
  std::vector<int> ports;
  for (const ListenerConfig& l : r->listeners) ports.push_back(l.port);
  // 1 < A < Ab < a < B < b < _x  (case-insensitive first, upper case first on a tie).
  EXPECT_EQ(ports, (std::vector<int>{1, 2, 7, 3, 5, 6, 8}));
  EXPECT_EQ(r->listeners[0].where.file, dir.path() + "/1.conf");
  EXPECT_EQ(r->notes.at(0).text, "Loading config file " + dir.path() + "/1.conf");
}

TEST(ConfigInclude, ErrorInIncludedFileNamesBothFiles) {
  TempDir dir;
  dir.write("x.conf", "listener 1\n\nbogus\n");
  std::string main = dir.write("main.cfg", "# main\ninclude_dir " + dir.path() + "\n");
  Result<Config> r = load_config(main);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context,
            "Error: Unknown configuration variable \"bogus\".\n"
            "Error found at " +
                dir.path() +
                "/x.conf:3.\n"
                "Error found at " +
                main + ":2.");
}

TEST(ConfigInclude, OnlyFromMainFile) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/inner");
  dir.write("inner/deep.conf", "bogus\n");
  dir.write("x.conf", "include_dir " + dir.path() + "/inner\n");
  std::string main = dir.write("main.cfg", "include_dir " + dir.path() + "\n");
  EXPECT_TRUE(load_config(main).ok());
}

TEST(ConfigInclude, MissingDirectory) {
  EXPECT_EQ(parse_err("include_dir /nonexistent/mq\n"),
            "Error: Unable to open include_dir '/nonexistent/mq'.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("include_dir\n"),
            "Error: Empty include_dir value in configuration.\nError found at t.conf:1.");
}

TEST(ConfigLoad, MissingFileAndDirectory) {
  Result<Config> r = load_config("/nonexistent/mq.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, "Error: Unable to open config file /nonexistent/mq.conf.");
  TempDir dir;
  Result<Config> d = load_config(dir.path());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().context, "Error: Config file " + dir.path() + " is a directory.");
}

// ---- bridges ----

TEST(ConfigBridge, ParsesConnection) {
  Config c = parse_ok(
      "connection up\n"
      "address 10.0.0.1:1884 [::1]:1885 host.example\n"
      "topic sensors/# both 1 local/ remote/\n"
      "topic cmd in\n"
      "topic \"\" out 2 l/one r/one\n"
      "bridge_protocol_version mqttv50\n"
      "remote_clientid upclient\n"
      "remote_username u\n"
      "remote_password p\n"
      "cleansession true\n"
      "keepalive_interval 2\n"
      "start_type lazy\n"
      "restart_timeout 10 60\n"
      "notifications false\n"
      "try_private false\n"
      "bridge_max_packet_size 1000\n");
  ASSERT_EQ(c.bridges.size(), 1u);
  const BridgeConfig& b = c.bridges[0];
  EXPECT_EQ(b.name, "up");
  ASSERT_EQ(b.addresses.size(), 3u);
  EXPECT_EQ(b.addresses[0].host, "10.0.0.1");
  EXPECT_EQ(b.addresses[0].port, 1884);
  EXPECT_EQ(b.addresses[1].host, "::1");
  EXPECT_EQ(b.addresses[1].port, 1885);
  EXPECT_EQ(b.addresses[2].port, 1883);
  ASSERT_EQ(b.topics.size(), 3u);
  EXPECT_EQ(b.topics[0].direction, BridgeDirection::kBoth);
  EXPECT_EQ(b.topics[0].qos, 1);
  EXPECT_EQ(b.topics[0].local_topic, "local/sensors/#");
  EXPECT_EQ(b.topics[0].remote_topic, "remote/sensors/#");
  EXPECT_EQ(b.topics[1].direction, BridgeDirection::kIn);
  EXPECT_EQ(b.topics[1].local_topic, "cmd");
  EXPECT_EQ(b.topics[2].topic, "");
  EXPECT_EQ(b.topics[2].local_topic, "l/one");
  EXPECT_EQ(b.topics[2].remote_topic, "r/one");
  EXPECT_EQ(b.protocol_version, BridgeProtocolVersion::kMqtt5);
  EXPECT_EQ(b.remote_clientid, "upclient");
  EXPECT_EQ(b.local_clientid, "local.upclient");
  EXPECT_EQ(b.remote_username, "u");
  EXPECT_EQ(b.remote_password, "p");
  EXPECT_TRUE(b.clean_start);
  EXPECT_EQ(b.keepalive, 5);  // raised to the minimum
  EXPECT_EQ(b.start_type, BridgeStartType::kLazy);
  EXPECT_EQ(b.backoff_base, 10);
  EXPECT_EQ(b.backoff_cap, 60);
  EXPECT_FALSE(b.notifications);
  EXPECT_FALSE(b.try_private);
  EXPECT_EQ(b.max_packet_size, 1000u);
  EXPECT_TRUE(c.local_only);  // a bridge alone does not configure a listener
}

TEST(ConfigBridge, DefaultsAndRemainingOptions) {
  Config d = parse_ok("connection d\naddress h\ntopic t\n");
  const BridgeConfig& def = d.bridges.at(0);
  EXPECT_EQ(def.protocol_version, BridgeProtocolVersion::kMqtt311);
  EXPECT_FALSE(def.round_robin);
  EXPECT_FALSE(def.clean_start);
  EXPECT_EQ(def.clean_start_local, -1);
  EXPECT_EQ(def.start_type, BridgeStartType::kAutomatic);
  EXPECT_EQ(def.restart_timeout, 0);
  EXPECT_EQ(def.backoff_base, 5);
  EXPECT_EQ(def.backoff_cap, 30);
  EXPECT_EQ(def.idle_timeout, 60);
  EXPECT_EQ(def.threshold, 10);
  EXPECT_TRUE(def.notifications);
  EXPECT_FALSE(def.notifications_local_only);
  EXPECT_TRUE(def.try_private);
  EXPECT_TRUE(def.attempt_unsubscribe);
  EXPECT_TRUE(def.outgoing_retain);
  EXPECT_EQ(def.max_packet_size, 0u);
  EXPECT_EQ(def.topics.at(0).direction, BridgeDirection::kOut);
  EXPECT_EQ(def.topics.at(0).qos, 0);

  Config c = parse_ok(
      "connection e\n"
      "addresses h1:1 h2:2\n"
      "topic t out 0\n"
      "round_robin true\n"
      "local_cleansession true\n"
      "local_clientid lc\n"
      "local_username lu\n"
      "local_password lp\n"
      "notification_topic n/t\n"
      "notifications_local_only true\n"
      "idle_timeout 0\n"
      "threshold 20\n"
      "restart_timeout 7\n"
      "start_type once\n"
      "bridge_attempt_unsubscribe false\n"
      "bridge_outgoing_retain false\n"
      "bridge_bind_address 10.0.0.2\n"
      "bridge_cafile /ca\n"
      "bridge_capath /cap\n"
      "bridge_certfile /crt\n"
      "bridge_keyfile /key\n"
      "bridge_insecure true\n"
      "bridge_require_ocsp true\n"
      "bridge_tls_version tlsv1.3\n"
      "bridge_alpn mqtt\n"
      "connection f\n"
      "address h3\n"
      "topic u\n"
      "bridge_identity id\n"
      "bridge_psk 0a0b\n"
      "bridge_protocol_version mqttv31\n");
  const BridgeConfig& b = c.bridges.at(0);
  EXPECT_EQ(b.addresses.size(), 2u);
  EXPECT_TRUE(b.round_robin);
  EXPECT_EQ(b.clean_start_local, 1);
  EXPECT_EQ(b.local_clientid, "lc");
  EXPECT_EQ(b.local_username, "lu");
  EXPECT_EQ(b.local_password, "lp");
  EXPECT_EQ(b.notification_topic, "n/t");
  EXPECT_TRUE(b.notifications_local_only);
  EXPECT_EQ(b.idle_timeout, 1);
  EXPECT_EQ(b.threshold, 20);
  EXPECT_EQ(b.restart_timeout, 7);
  EXPECT_EQ(b.start_type, BridgeStartType::kOnce);
  EXPECT_FALSE(b.attempt_unsubscribe);
  EXPECT_FALSE(b.outgoing_retain);
  EXPECT_EQ(b.bind_address, "10.0.0.2");
  EXPECT_EQ(b.tls.cafile, "/ca");
  EXPECT_EQ(b.tls.capath, "/cap");
  EXPECT_EQ(b.tls.certfile, "/crt");
  EXPECT_EQ(b.tls.keyfile, "/key");
  EXPECT_TRUE(b.tls.insecure);
  EXPECT_TRUE(b.require_ocsp);
  EXPECT_EQ(b.tls.tls_version, "tlsv1.3");
  EXPECT_EQ(b.tls.alpn, std::vector<std::string>{"mqtt"});
  const BridgeConfig& f = c.bridges.at(1);
  EXPECT_EQ(f.tls.psk_identity, "id");
  EXPECT_EQ(f.tls.psk, "0a0b");
  EXPECT_EQ(f.protocol_version, BridgeProtocolVersion::kMqtt31);
  EXPECT_EQ(
      parse_err("connection a\naddress h\ntopic x\nlocal_clientid a\nlocal_clientid b\n"),
      "Error: Duplicate bridge local clientd value in configuration.\nError found at t.conf:5.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic x\nbridge_psk k\n"),
            "Error: Invalid bridge configuration: missing bridge_identity.");
}

TEST(ConfigBridge, DefaultClientIdUsesHostName) {
  Config c = parse_ok("connection b1\naddress h\ntopic t\n");
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(c.bridges.at(0).remote_clientid, std::string(host) + ".b1");
  EXPECT_EQ(c.bridges.at(0).keepalive, 60);
}

TEST(ConfigBridge, Errors) {
  EXPECT_EQ(parse_err("address 1.2.3.4\n"),
            "Error: Invalid bridge configuration.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("topic foo\n"),
            "Error: Invalid bridge configuration.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("connection\n"),
            "Error: Empty connection value in configuration.\nError found at t.conf:1.");
  EXPECT_EQ(parse_err("connection a\nconnection a\n"),
            "Error: Duplicate bridge name \"a\".\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("connection a\naddress h:1\n"),
            "Error: Invalid bridge configuration: no topics defined.");
  EXPECT_EQ(parse_err("connection a\ntopic x\n"),
            "Error: Invalid bridge configuration: no remote addresses defined.");
  EXPECT_EQ(parse_err("connection a\naddress h:70000\n"),
            "Error: Invalid port value (70000).\nError found at t.conf:2.");
  EXPECT_EQ(parse_err("connection a\naddress h\naddress g\n"),
            "Error: Invalid bridge configuration.\nError found at t.conf:3.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic x sideways\n"),
            "Error: Invalid bridge topic direction 'sideways'.\nError found at t.conf:3.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic x in 3\n"),
            "Error: Invalid bridge QoS level '3'.\nError found at t.conf:3.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic \"\" in 1 \"\" \"\"\n"),
            "Error: Invalid bridge remapping.\nError found at t.conf:3.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic # in 1 a/# b/\n"),
            "Error: Invalid bridge topic local prefix 'a/#'.\nError found at t.conf:3.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic a both 1 \"\" b/#\n"),
            "Error: Invalid bridge topic remote prefix 'b/#'.\nError found at t.conf:3.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic x\nstart_type manual\n"),
            "Error: Manual start_type not supported.\nError found at t.conf:4.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic x\nkeepalive_interval 70000\n"),
            "Error: Bridge keepalive value too high.\nError found at t.conf:4.");
  EXPECT_EQ(
      parse_err("connection a\naddress h\ntopic x\nrestart_timeout 10 5\n"),
      "Error: backoff cap is lower than the base in restart_timeout.\nError found at t.conf:4.");
  EXPECT_EQ(parse_err("connection a\naddress h\ntopic x\nbridge_cafile /x\nbridge_identity foo\n"),
            "Error: Cannot use both certificate and identity encryption in a single bridge.\n"
            "Error found at t.conf:5.");
  EXPECT_EQ(
      parse_err(
          "connection a\naddress h\ntopic a\nconnection b\naddress h\ntopic a\nremote_clientid x\n"
          "connection c\naddress h\ntopic b\nremote_clientid x\n"),
      "Error: Bridge local_clientid 'local.x' is not unique. Try changing or setting the "
      "local_clientid value for one of the bridges.");
}

TEST(ConfigBridge, TopicTrailingComment) {
  Config c = parse_ok("connection a\naddress h\ntopic a in 1 # comment\n");
  EXPECT_EQ(c.bridges.at(0).topics.at(0).qos, 1);
  EXPECT_EQ(c.bridges.at(0).topics.at(0).local_prefix, "");
}

// ---- not supported yet ----

TEST(ConfigSupported, NamesOptionAndFileLine) {
  Config c = parse_ok("listener 1883\nallow_anonymous false\n\npassword_file /etc/x\n");
  Status st = check_supported(c, SupportedFeatures{});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().context,
            "Error: The \"password_file\" option is not supported yet (t.conf:4).");
  SupportedFeatures with_pw;
  with_pw.password_file = true;
  EXPECT_TRUE(check_supported(c, with_pw).ok());
}

TEST(ConfigSupported, EachFeature) {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"listener 1\ncertfile /c\n", "\"certfile\" option is not supported yet (t.conf:2)"},
      {"listener 1\nrequire_certificate true\n", "\"require_certificate\""},
      {"listener 1\nprotocol websockets\n", "\"protocol websockets\""},
      {"acl_file /a\n", "\"acl_file\" option is not supported yet (t.conf:1)"},
      {"psk_file /a\n", "\"psk_file\""},
      {"listener 1\npsk_hint h\n", "\"psk_hint\""},
      {"persistence true\n", "\"persistence\""},
      {"connection b\naddress h\ntopic t\n",
       "\"connection\" option is not supported yet (t.conf:1)"},
      {"plugin /p.so\n", "\"plugin\""},
      {"listener 0 /run/s\n", "\"listener 0 /run/s\""},
      {"listener 1\nbind_interface eth0\n", "\"bind_interface\""},
  };
  for (const Case& k : cases) {
    Config c = parse_ok(k.text);
    Status st = check_supported(c, SupportedFeatures{});
    ASSERT_FALSE(st.ok()) << k.text;
    EXPECT_NE(st.error().context.find(k.expect), std::string::npos) << st.error().context;
  }
  // Harmless values of such options are accepted.
  EXPECT_TRUE(
      check_supported(parse_ok("persistence false\nlistener 1\nrequire_certificate false\n"),
                      SupportedFeatures{})
          .ok());
}

// ---- local-only mode ----

TEST(ConfigLocalOnly, DefaultPorts) {
  Config c = parse_ok("");
  apply_local_only_defaults(c, {});
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].host, "127.0.0.1");
  EXPECT_EQ(c.listeners[1].host, "::1");
  EXPECT_EQ(c.listeners[0].port, 1883);
  EXPECT_TRUE(c.listeners[0].local_only);
  EXPECT_EQ(c.security_for(c.listeners[0]).allow_anonymous, 1);
}

TEST(ConfigLocalOnly, CommandLinePorts) {
  Config c;  // no config file at all
  apply_local_only_defaults(c, {1884, 1885});
  ASSERT_EQ(c.listeners.size(), 4u);
  EXPECT_EQ(c.listeners[2].port, 1885);
  EXPECT_EQ(c.listeners[3].host, "::1");
  EXPECT_EQ(c.security.allow_anonymous, 1);
}

TEST(ConfigLocalOnly, IgnoredWhenAListenerIsConfigured) {
  Config c = parse_ok("listener 1999\n");
  apply_local_only_defaults(c, {1884});
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].port, 1999);
  EXPECT_EQ(c.security.allow_anonymous, 0);
}

// ---- reload ----

TEST(ConfigReload, CopiesReloadableOptionsOnly) {
  Config running = parse_ok("listener 1883\nmax_qos 1\npid_file /a\nsys_interval 10\n");
  Config fresh = parse_ok(
      "listener 1883\nmax_qos 0\npid_file /b\nsys_interval 30\nallow_anonymous true\n"
      "log_type debug\nmax_queued_messages 5\npassword_file /p\n");
  ASSERT_TRUE(apply_reload(running, fresh).ok());
  EXPECT_EQ(running.sys_interval, 30);
  EXPECT_EQ(running.security.allow_anonymous, 1);
  EXPECT_EQ(running.security.password_file, "/p");
  EXPECT_EQ(running.log_type, uint32_t(kLogDebug));
  EXPECT_EQ(running.max_queued_messages, 5);
  EXPECT_EQ(running.pid_file, "/a");              // not reloaded
  EXPECT_EQ(running.listeners.at(0).max_qos, 1);  // listener options not reloaded
}

TEST(ConfigReload, PerListenerSecurity) {
  Config running = parse_ok("per_listener_settings true\nlistener 1883\nlistener 1884 ::1\n");
  Config fresh = parse_ok(
      "per_listener_settings true\nlistener 1884 ::1\nallow_anonymous true\nlistener 1883\n");
  ASSERT_TRUE(apply_reload(running, fresh).ok());
  EXPECT_EQ(running.listeners[0].security.allow_anonymous, 0);
  EXPECT_EQ(running.listeners[1].security.allow_anonymous, 1);
}

TEST(ConfigReload, CannotAddListeners) {
  Config running = parse_ok("listener 1883\n");
  Config fresh = parse_ok("listener 1883\nlistener 1884\nsys_interval 99\n");
  Status st = apply_reload(running, fresh);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().context,
            "Error: It is not currently possible to add/remove listeners when reloading the config "
            "file.");
  EXPECT_EQ(running.sys_interval, 10);  // unchanged
}

}  // namespace
}  // namespace mq::broker::config_listener_test
