#include "proto/connect_request.h"

#include <gtest/gtest.h>

namespace mq::proto {
namespace {

using codec::ProtocolVersion;

ConnectRequest full(ProtocolVersion v) {
  ConnectRequest r;
  r.version = v;
  r.clean_start = false;
  r.keep_alive = 30;
  r.client_id = "c1";
  r.username.emplace("u");
  r.password = std::string{'p', '\0', 'w'};
  WillRequest w;
  w.topic = "will/t";
  w.payload = "bye";
  w.qos = 1;
  w.retain = true;
  w.properties.will_delay_interval = 5;
  r.will = w;
  r.properties.session_expiry_interval = 60;
  return r;
}

TEST(ConnectRequest, Mqtt5PacketCarriesEverything) {
  ConnectRequest r = full(ProtocolVersion::kV5);
  codec::Connect c = r.packet();
  EXPECT_EQ(c.version, ProtocolVersion::kV5);
  EXPECT_FALSE(c.bridge);
  EXPECT_FALSE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 30);
  EXPECT_EQ(c.client_id, "c1");
  ASSERT_TRUE(c.username && c.password);
  EXPECT_EQ(*c.username, "u");
  EXPECT_EQ(*c.password, std::string_view("p\0w", 3));  // binary data kept whole
  ASSERT_TRUE(c.will);
  EXPECT_EQ(c.will->topic, "will/t");
  EXPECT_EQ(c.will->payload, "bye");
  EXPECT_EQ(c.will->qos, 1);
  EXPECT_TRUE(c.will->retain);
  EXPECT_EQ(c.will->properties.will_delay_interval, 5u);
  EXPECT_EQ(c.properties.session_expiry_interval, 60u);
  // The packet views the request.
  EXPECT_EQ(c.client_id.data(), r.client_id.data());
}

TEST(ConnectRequest, PropertiesOnlyInMqtt5) {
  ConnectRequest r = full(ProtocolVersion::kV311);
  r.bridge = true;
  codec::Connect c = r.packet();
  EXPECT_TRUE(c.bridge);
  ASSERT_TRUE(c.will);
  EXPECT_EQ(c.will->topic, "will/t");
  EXPECT_EQ(c.will->properties, codec::Properties());
  EXPECT_EQ(c.properties, codec::Properties());
}

TEST(ConnectRequest, AbsentFieldsStayAbsent) {
  ConnectRequest r;  // an empty client id asks the server to assign one
  codec::Connect c = r.packet();
  EXPECT_EQ(c.version, ProtocolVersion::kV311);
  EXPECT_TRUE(c.clean_start);
  EXPECT_EQ(c.keep_alive, 60);
  EXPECT_TRUE(c.client_id.empty());
  EXPECT_FALSE(c.username);
  EXPECT_FALSE(c.password);
  EXPECT_FALSE(c.will);
  // An empty user name is still sent when asked for (the bridge leaves it out itself).
  r.username = "";
  EXPECT_TRUE(r.packet().username);
}

}  // namespace
}  // namespace mq::proto
