// The option parser: values, Mosquitto's error texts, -L URLs, -D properties, the options file.
#include "client/options.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace mq::client {
namespace {

struct Args {
  std::vector<std::string> s;
  std::vector<char*> p;
  Args(std::initializer_list<const char*> a) {
    s.push_back("mosquitto_x");
    for (const char* x : a) s.push_back(x);
    for (std::string& x : s) p.push_back(x.data());
  }
  int argc() { return int(p.size()); }
  char** argv() { return p.data(); }
};

ParseResult load(ClientConfig& cfg, Tool tool, std::initializer_list<const char*> a) {
  setenv("XDG_CONFIG_HOME", "/nonexistent-mq-test", 1);
  Args args(a);
  return load_config(cfg, tool, args.argc(), args.argv(), false);
}

TEST(OptionsTest, Defaults) {
  ClientConfig cfg;
  ASSERT_EQ(load(cfg, Tool::kSub, {"-t", "a/#"}).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.keepalive, 60);
  EXPECT_EQ(cfg.version, codec::ProtocolVersion::kV311);
  EXPECT_EQ(cfg.topics, std::vector<std::string>{"a/#"});
  ClientConfig rr;
  ASSERT_EQ(load(rr, Tool::kRr, {"-t", "a", "-e", "b", "-m", "x"}).status, ParseStatus::kOk);
  EXPECT_EQ(rr.version, codec::ProtocolVersion::kV5);
  EXPECT_EQ(rr.msg_count, 1);
}

TEST(OptionsTest, ErrorsAsMosquitto) {
  ClientConfig cfg;
  EXPECT_EQ(load(cfg, Tool::kSub, {"-q", "3", "-t", "a"}).error, "Error: Invalid QoS given: 3\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-r", "-v"}).error, "Error: Unknown option '-v'.\n");
  EXPECT_EQ(load(cfg, Tool::kSub, {"-r"}).error, "Error: Unknown option '-r'.\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-m", "x", "-n"}).error,
            "Error: Only one type of message can be sent at once.\n\n");
  EXPECT_EQ(load(cfg, Tool::kSub, {"-c", "-t", "a"}).error,
            "Error: You must provide a client id if you are using the -c option.\n");
  EXPECT_EQ(load(cfg, Tool::kSub, {"-t", "a/#/b"}).error,
            "Error: Invalid subscription topic 'a/#/b', are all '+' and '#' wildcards correct?\n");
  EXPECT_EQ(load(cfg, Tool::kSub, {}).error, "Error: You must specify a topic to subscribe to.\n");
  EXPECT_EQ(load(cfg, Tool::kSub, {"--help"}).status, ParseStatus::kHelp);
  EXPECT_EQ(load(cfg, Tool::kSub, {"--version"}).status, ParseStatus::kVersion);
}

TEST(OptionsTest, SessionExpiryAndV5) {
  ClientConfig cfg;
  ASSERT_EQ(load(cfg, Tool::kSub, {"-t", "a", "-x", "30"}).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.version, codec::ProtocolVersion::kV5);  // 2.1: -x implies MQTT 5
  EXPECT_EQ(cfg.connect_props.view().session_expiry_interval, 30u);
  EXPECT_EQ(load(cfg, Tool::kSub, {"-t", "a", "-x", "-1"}).error,
            "Error: You must provide a client id if you are using an infinite session expiry interval.\n");
  EXPECT_EQ(load(cfg, Tool::kSub, {"-t", "a", "-x", "z"}).error,
            "Error: session-expiry-interval not a number.\n\n");
}

TEST(OptionsTest, Url) {
  ClientConfig cfg;
  ASSERT_EQ(load(cfg, Tool::kPub, {"-L", "MQTT://user:pa:ss@host:1999/a/b", "-m", "x"}).status,
            ParseStatus::kOk);
  EXPECT_EQ(cfg.host, "host");
  EXPECT_EQ(cfg.port, 1999);
  EXPECT_EQ(cfg.username, "user");
  EXPECT_EQ(cfg.password, "pa:ss");
  EXPECT_EQ(cfg.topic, "a/b");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-L", "http://x/y"}).error, "Error: unsupported URL scheme.\n\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-L", "mqtt://x"}).error,
            "Error: Invalid URL for -L argument specified - topic missing.\n");
  ASSERT_EQ(load(cfg, Tool::kSub, {"-L", "mqtts://h/t/#"}).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.port, 8883);
  EXPECT_TRUE(cfg.tls_use_os_certs);
  // WebSocket URLs: the first path level is the WebSocket path, the rest the topic (2.1).
  ASSERT_EQ(load(cfg, Tool::kPub, {"-L", "ws://h:8080/mqtt/a/b", "-m", "x"}).status,
            ParseStatus::kOk);
  EXPECT_TRUE(cfg.websockets);
  EXPECT_EQ(cfg.port, 8080);
  EXPECT_EQ(cfg.ws_path, "/mqtt");
  EXPECT_EQ(cfg.topic, "a/b");
  ASSERT_EQ(load(cfg, Tool::kSub, {"-L", "wss://h/ws/s/#"}).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.ws_path, "/ws");
  EXPECT_EQ(cfg.topics, (std::vector<std::string>{"s/#"}));
  ASSERT_EQ(load(cfg, Tool::kPub, {"-L", "ws://h/t", "-m", "x"}).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.ws_path, "/mqtt");
  EXPECT_EQ(cfg.topic, "t");
  // mqtt:// keeps every level in the topic.
  ASSERT_EQ(load(cfg, Tool::kPub, {"-L", "mqtt://h/mqtt/a", "-m", "x"}).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.topic, "mqtt/a");
}

TEST(OptionsTest, Properties) {
  ClientConfig cfg;
  ASSERT_EQ(load(cfg, Tool::kPub, {"-t", "a", "-m", "x", "-D", "publish", "user-property", "k", "v",
                                   "-D", "PUBLISH", "Content-Type", "c", "-D", "connect",
                                   "receive-maximum", "5"}).status,
            ParseStatus::kOk);
  EXPECT_EQ(cfg.version, codec::ProtocolVersion::kV5);
  codec::Properties p = cfg.publish_props.view();
  ASSERT_EQ(p.user_properties.size(), 1u);
  EXPECT_EQ(p.content_type, "c");
  EXPECT_EQ(cfg.connect_props.view().receive_maximum, 5);
  EXPECT_EQ(load(cfg, Tool::kPub, {"-D", "connect", "content-type", "x"}).error,
            "Error: content-type property not allowed for connect in --property argument.\n\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-D", "connect", "receive-maximum", "70000"}).error,
            "Error: Property value (70000) out of range for property receive-maximum.\n\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-t", "a", "-m", "x", "-D", "connect", "receive-maximum", "0"}).error,
            "Error in CONNECT properties: A network protocol error occurred when communicating with the broker.\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-D", "auth", "user-property", "a", "b"}).error,
            "Error: user-property property not supported for auth in --property argument.\n\n");
}

TEST(OptionsTest, Sub21Additions) {
  ClientConfig cfg;
  ASSERT_EQ(load(cfg, Tool::kSub, {"-t", "a", "-w"}).status, ParseStatus::kOk);
  EXPECT_TRUE(cfg.watch);
  ASSERT_EQ(load(cfg, Tool::kSub, {"-t", "a", "--watch", "-F", "%t %.2:x %f %d"}).status, ParseStatus::kOk);
  EXPECT_TRUE(cfg.watch);
  ASSERT_EQ(load(cfg, Tool::kSub, {"-t", "a", "--message-rate"}).status, ParseStatus::kOk);
  EXPECT_TRUE(cfg.message_rate);
  EXPECT_FALSE(cfg.mq_names);
  EXPECT_EQ(load(cfg, Tool::kSub, {"-t", "a", "-w", "--message-rate"}).error,
            "Error: --watch and --message-rate cannot be used together.\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"-w"}).error, "Error: Unknown option '-w'.\n");
  EXPECT_EQ(load(cfg, Tool::kRr, {"--message-rate"}).error, "Error: Unknown option '--message-rate'.\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"--watch"}).error, "Error: Unknown option '--watch'.\n");
}

TEST(OptionsTest, RetainHandlingLatencyAndUnsubscribeOnly) {
  ClientConfig cfg;
  ASSERT_EQ(load(cfg, Tool::kSub, {"-t", "a", "--retain-handling", "never"}).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.retain_handling, 2);
  ASSERT_EQ(load(cfg, Tool::kRr, {"-t", "a", "-e", "b", "-m", "x", "--retain-handling", "new",
                                  "--latency"}).status,
            ParseStatus::kOk);
  EXPECT_EQ(cfg.retain_handling, 1);
  EXPECT_TRUE(cfg.latency);
  EXPECT_TRUE(cfg.nodelay);
  EXPECT_EQ(load(cfg, Tool::kSub, {"-t", "a", "--retain-handling", "sometimes"}).error,
            "Error: --retain-handling must be one of always, new, never.\n\n");
  EXPECT_EQ(load(cfg, Tool::kPub, {"--retain-handling", "new"}).error,
            "Error: Unknown option '--retain-handling'.\n");
  EXPECT_EQ(load(cfg, Tool::kSub, {"--latency"}).error, "Error: Unknown option '--latency'.\n");
  ASSERT_EQ(load(cfg, Tool::kSub, {"-U", "a/#"}).status, ParseStatus::kOk);  // 2.1: -t or -U
  EXPECT_TRUE(cfg.topics.empty());
  EXPECT_EQ(cfg.unsub_topics, std::vector<std::string>{"a/#"});
}

TEST(OptionsTest, OptionsFileThenArgv) {
  char dir[] = "/tmp/mq-opts-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string path = std::string(dir) + "/mosquitto_sub";
  FILE* f = fopen(path.c_str(), "w");
  fputs("# comment\n-p 1999\n-t from/file\n-F %t %p\r\n", f);
  fclose(f);
  setenv("XDG_CONFIG_HOME", dir, 1);
  Args args({"-p", "2000"});
  ClientConfig cfg;
  ASSERT_EQ(load_config(cfg, Tool::kSub, args.argc(), args.argv(), false).status, ParseStatus::kOk);
  EXPECT_EQ(cfg.port, 2000);
  EXPECT_EQ(cfg.topics, std::vector<std::string>{"from/file"});
  EXPECT_EQ(cfg.format, "%t %p");
  remove(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace mq::client
