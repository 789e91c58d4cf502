// Bridge topic remapping (bridge_map_out / bridge_map_in): the table of mosquitto.conf(5),
// built from real `topic` lines so that parsing and remapping are proved together.
#include "broker/bridge/bridge.h"

#include <gtest/gtest.h>

#include <string>

namespace mq::broker {
namespace {

std::vector<BridgeTopic> topics(std::string_view lines) {
  std::string text = "connection b\naddress 127.0.0.1\n" + std::string(lines);
  Result<Config> r = parse_config_text(text, "t.conf");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().context);
  return r.ok() ? r->bridges.at(0).topics : std::vector<BridgeTopic>{};
}

std::string out(const std::vector<BridgeTopic>& t, std::string_view local) {
  auto r = bridge_map_out(t, local);
  return r ? r->topic : "<none>";
}

TEST(BridgeRemap, TableRows) {
  // pattern, local prefix, remote prefix -> local topic, remote topic.
  auto both = [](std::string_view line) { return topics("topic " + std::string(line) + "\n"); };
  auto t1 = both("pattern both 0 L/ R/");
  EXPECT_EQ(out(t1, "L/pattern"), "R/pattern");
  EXPECT_EQ(bridge_map_in(t1, "R/pattern"), "L/pattern");
  auto t2 = both("pattern both 0 L/ \"\"");
  EXPECT_EQ(out(t2, "L/pattern"), "pattern");
  EXPECT_EQ(bridge_map_in(t2, "pattern"), "L/pattern");
  auto t3 = both("pattern both 0 \"\" R/");
  EXPECT_EQ(out(t3, "pattern"), "R/pattern");
  EXPECT_EQ(bridge_map_in(t3, "R/pattern"), "pattern");
  auto t4 = both("pattern both 0 \"\" \"\"");
  EXPECT_EQ(out(t4, "pattern"), "pattern");
  EXPECT_EQ(bridge_map_in(t4, "pattern"), "pattern");
  auto t5 = both("\"\" both 0 local remote");  // single topic remap
  EXPECT_EQ(out(t5, "local"), "remote");
  EXPECT_EQ(bridge_map_in(t5, "remote"), "local");
  EXPECT_EQ(out(t5, "local/x"), "<none>");
}

TEST(BridgeRemap, WildcardsDirectionsAndQos) {
  auto t = topics(
      "topic s/# out 1 L/ R/\n"
      "topic c/+ in 2 L/ R/\n"
      "topic plain\n");  // out, QoS 0, no prefixes
  auto r = bridge_map_out(t, "L/s/a/b");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->topic, "R/s/a/b");
  EXPECT_EQ(r->qos, 1);
  EXPECT_EQ(out(t, "s/a"), "<none>");    // the local prefix is part of the match
  EXPECT_EQ(out(t, "L/c/x"), "<none>");  // in only
  EXPECT_EQ(out(t, "plain"), "plain");
  EXPECT_EQ(bridge_map_in(t, "R/c/x"), "L/c/x");
  EXPECT_EQ(bridge_map_in(t, "R/s/x"), "R/s/x");  // out only: kept as received
  EXPECT_EQ(bridge_map_in(t, "R/c/x/y"), "R/c/x/y");  // '+' is one level
}

TEST(BridgeRemap, FirstMatchingTopicWins) {
  auto t = topics("topic a/# out 0 one/ R1/\ntopic # out 2 \"\" R2/\n");
  EXPECT_EQ(out(t, "one/a/x"), "R1/a/x");
  EXPECT_EQ(out(t, "two/x"), "R2/two/x");
  EXPECT_EQ(bridge_map_out(t, "two/x")->qos, 2);
  EXPECT_EQ(out(t, "$SYS/x"), "<none>");  // '#' does not match '$' topics [MQTT-4.7.2-1]
}

TEST(BridgeConfig, RestartTimeoutForms) {
  Result<Config> one = parse_config_text("connection b\naddress h\ntopic t\nrestart_timeout 1\n", "t");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->bridges[0].restart_constant);
  EXPECT_EQ(one->bridges[0].restart_timeout, 1);
  Result<Config> two = parse_config_text("connection b\naddress h\ntopic t\nrestart_timeout 2 9\n", "t");
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE(two->bridges[0].restart_constant);
  EXPECT_EQ(two->bridges[0].backoff_base, 2);
  EXPECT_EQ(two->bridges[0].backoff_cap, 9);
}

TEST(BridgeConfig, UnimplementedOptionsRefusedWithLocation) {
  Result<Config> c = parse_config_text("connection b\naddress h\ntopic t\nbridge_require_ocsp true\n", "t.conf");
  ASSERT_TRUE(c.ok());
  SupportedFeatures all;
  all.bridge = true;
  Status st = check_supported(*c, all);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().context, "Error: The \"bridge_require_ocsp\" option is not supported yet (t.conf:4).");
  for (const char* type : {"automatic", "lazy", "once"}) {
    Result<Config> ok = parse_config_text(
        std::string("connection b\naddress h\ntopic t\nstart_type ") + type + "\n", "t");
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE(check_supported(*ok, all).ok()) << type;
  }
}

}  // namespace
}  // namespace mq::broker
