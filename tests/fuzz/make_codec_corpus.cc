// Writes the codec fuzzer's seed corpus: one file per valid packet (every type, MQTT 3.1, 3.1.1
// and 5.0, with properties), each prefixed by the selector byte codec_fuzz.cc reads, plus a few
// multi-packet streams. Usage: make_codec_corpus DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "codec/encode.h"
#include "codec/framer.h"

namespace {

using namespace mq::codec;  // NOLINT: a tool

// Version bits as codec_fuzz.cc reads them; maximum packet size index 7 (protocol maximum).
uint8_t selector(ProtocolVersion v, Direction d, int chunk_index) {
  uint8_t version_bits = v == ProtocolVersion::kV31 ? 0 : v == ProtocolVersion::kV311 ? 1 : 2;
  return static_cast<uint8_t>(version_bits | (d == Direction::kServerToClient ? 4 : 0) | 7 << 3 |
                              (chunk_index & 3) << 6);
}

struct Seed {
  std::string name;
  std::string bytes;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<Seed> seeds;
  int n = 0;
  auto add = [&](const std::string& name, ProtocolVersion v, Direction d,
                 const std::vector<Packet>& packets) {
    std::string out(1, static_cast<char>(selector(v, d, n++ % 4)));
    for (const Packet& p : packets) {
      if (!encode(p, v, out).ok()) {
        std::fprintf(stderr, "cannot encode %s\n", name.c_str());
        std::exit(1);
      }
    }
    seeds.push_back({name, out});
  };

  const auto to_server = Direction::kClientToServer;
  const auto to_client = Direction::kServerToClient;
  for (ProtocolVersion v : {ProtocolVersion::kV31, ProtocolVersion::kV311, ProtocolVersion::kV5}) {
    const bool v5 = v == ProtocolVersion::kV5;
    const std::string tag = v5 ? "v5" : v == ProtocolVersion::kV311 ? "v311" : "v31";

    Connect c;
    c.version = v;
    c.client_id = "client";
    c.keep_alive = 60;
    c.username = "user";
    c.password = "pass";
    Will w{"will/topic", "bye", 1, true, {}};
    if (v5) {
      c.properties.session_expiry_interval = 3600;
      c.properties.receive_maximum = 10;
      c.properties.maximum_packet_size = 65536;
      c.properties.topic_alias_maximum = 5;
      c.properties.user_properties = {{"k", "v"}};
      w.properties.will_delay_interval = 10;
      w.properties.content_type = "text/plain";
      w.properties.payload_format_indicator = 1;
    }
    c.will = w;
    add(tag + "_connect", v, to_server, {c});

    Connack ca{true, ReasonCode::kSuccess, {}};
    if (v5) {
      ca.properties.assigned_client_identifier = "auto";
      ca.properties.maximum_qos = 1;
      ca.properties.topic_alias_maximum = 10;
      ca.properties.shared_subscription_available = 1;
    }
    add(tag + "_connack", v, to_client, {ca});

    Publish p;
    p.topic = "sensors/1/temp";
    p.payload = "21.5";
    p.qos = 1;
    p.packet_id = 1;
    if (v5) {
      p.properties.message_expiry_interval = 60;
      p.properties.response_topic = "reply/1";
      p.properties.correlation_data = "id";
      p.properties.topic_alias = 2;
    }
    add(tag + "_publish", v, to_server, {p});
    Publish q = p;
    q.qos = 2;
    q.dup = true;
    q.retain = true;
    if (v5) q.properties.subscription_identifiers = {1, 200};
    add(tag + "_publish_to_client", v, to_client, {q});

    Puback pa{1, v5 ? ReasonCode::kNoMatchingSubscribers : ReasonCode::kSuccess, {}};
    if (v5) pa.properties.reason_string = "none";
    add(tag + "_puback", v, to_client, {pa});
    add(tag + "_pubrec", v, to_server, {Pubrec{2, {}, {}}});
    add(tag + "_pubrel", v, to_client, {Pubrel{2, {}, {}}});
    add(tag + "_pubcomp", v, to_server, {Pubcomp{2, {}, {}}});

    Subscribe s;
    s.packet_id = 3;
    s.subscriptions = {{"a/+/c", 1, v5, v5, v5 ? uint8_t{2} : uint8_t{0}}, {"$share/g/x/#", 2}};
    if (v5) s.properties.subscription_identifiers = {7};
    add(tag + "_subscribe", v, to_server, {s});
    Suback sa{3, {}, {ReasonCode::kGrantedQos1, ReasonCode::kUnspecifiedError}};
    add(tag + "_suback", v, to_client, {sa});
    add(tag + "_unsubscribe", v, to_server, {Unsubscribe{4, {}, {"a/+/c", "$share/g/x/#"}}});
    Unsuback ua{4, {}, {}};
    if (v5) ua.reason_codes = {ReasonCode::kSuccess, ReasonCode::kNoSubscriptionExisted};
    add(tag + "_unsuback", v, to_client, {ua});
    add(tag + "_pingreq", v, to_server, {Pingreq{}});
    add(tag + "_pingresp", v, to_client, {Pingresp{}});
    Disconnect dc{v5 ? ReasonCode::kDisconnectWithWillMessage : ReasonCode::kSuccess, {}};
    if (v5) dc.properties.session_expiry_interval = 0;
    add(tag + "_disconnect", v, to_server, {dc});
    add(tag + "_session", v, to_server, {c, p, s, Pingreq{}, Unsubscribe{4, {}, {"a"}}, dc});
  }
  Auth a{ReasonCode::kContinueAuthentication, {}};
  a.properties.authentication_method = "SCRAM-SHA-256";
  a.properties.authentication_data = "abc";
  add("v5_auth", ProtocolVersion::kV5, to_server, {a});
  Disconnect server_dc{ReasonCode::kServerMoved, {}};
  server_dc.properties.server_reference = "other:1883";
  server_dc.properties.reason_string = "moved";
  add("v5_disconnect_from_server", ProtocolVersion::kV5, to_client, {server_dc});

  for (const Seed& s : seeds) {
    std::ofstream f(dir + "/" + s.name, std::ios::binary);
    f.write(s.bytes.data(), static_cast<std::streamsize>(s.bytes.size()));
    if (!f) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), s.name.c_str());
      return 1;
    }
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
  return 0;
}
