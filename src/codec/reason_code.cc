#include "codec/reason_code.h"

#include "codec/packet.h"

namespace mq::codec {

const char* reason_code_name(ReasonCode rc) {
  switch (static_cast<uint8_t>(rc)) {
    case 0x00:
      return "Success";
    case 0x01:
      return "Granted QoS 1";
    case 0x02:
      return "Granted QoS 2";
    case 0x04:
      return "Disconnect with Will Message";
    case 0x10:
      return "No matching subscribers";
    case 0x11:
      return "No subscription existed";
    case 0x18:
      return "Continue authentication";
    case 0x19:
      return "Re-authenticate";
    case 0x80:
      return "Unspecified error";
    case 0x81:
      return "Malformed Packet";
    case 0x82:
      return "Protocol Error";
    case 0x83:
      return "Implementation specific error";
    case 0x84:
      return "Unsupported Protocol Version";
    case 0x85:
      return "Client Identifier not valid";
    case 0x86:
      return "Bad User Name or Password";
    case 0x87:
      return "Not authorized";
    case 0x88:
      return "Server unavailable";
    case 0x89:
      return "Server busy";
    case 0x8A:
      return "Banned";
    case 0x8B:
      return "Server shutting down";
    case 0x8C:
      return "Bad authentication method";
    case 0x8D:
      return "Keep Alive timeout";
    case 0x8E:
      return "Session taken over";
    case 0x8F:
      return "Topic Filter invalid";
    case 0x90:
      return "Topic Name invalid";
    case 0x91:
      return "Packet Identifier in use";
    case 0x92:
      return "Packet Identifier not found";
    case 0x93:
      return "Receive Maximum exceeded";
    case 0x94:
      return "Topic Alias invalid";
    case 0x95:
      return "Packet too large";
    case 0x96:
      return "Message rate too high";
    case 0x97:
      return "Quota exceeded";
    case 0x98:
      return "Administrative action";
    case 0x99:
      return "Payload format invalid";
    case 0x9A:
      return "Retain not supported";
    case 0x9B:
      return "QoS not supported";
    case 0x9C:
      return "Use another server";
    case 0x9D:
      return "Server moved";
    case 0x9E:
      return "Shared Subscriptions not supported";
    case 0x9F:
      return "Connection rate exceeded";
    case 0xA0:
      return "Maximum connect time";
    case 0xA1:
      return "Subscription Identifiers not supported";
    case 0xA2:
      return "Wildcard Subscriptions not supported";
    default:
      return "Unknown";
  }
}

namespace {

template <size_t N>
bool in(const uint8_t (&set)[N], uint8_t v) {
  for (uint8_t x : set) {
    if (x == v) return true;
  }
  return false;
}

}  // namespace

bool reason_code_allowed(PacketType t, ReasonCode rc) {
  // Section 2.4, Table 2-6, read by packet.
  static constexpr uint8_t kConnack[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                         0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                         0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
  static constexpr uint8_t kPubackPubrec[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
  static constexpr uint8_t kPubrelPubcomp[] = {0x00, 0x92};
  static constexpr uint8_t kSuback[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                        0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
  static constexpr uint8_t kUnsuback[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
  static constexpr uint8_t kDisconnect[] = {
      0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
      0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
  static constexpr uint8_t kAuth[] = {0x00, 0x18, 0x19};
  uint8_t v = static_cast<uint8_t>(rc);
  switch (t) {
    case PacketType::kConnack:
      return in(kConnack, v);
    case PacketType::kPuback:
    case PacketType::kPubrec:
      return in(kPubackPubrec, v);
    case PacketType::kPubrel:
    case PacketType::kPubcomp:
      return in(kPubrelPubcomp, v);
    case PacketType::kSuback:
      return in(kSuback, v);
    case PacketType::kUnsuback:
      return in(kUnsuback, v);
    case PacketType::kDisconnect:
      return in(kDisconnect, v);
    case PacketType::kAuth:
      return in(kAuth, v);
    default:
      return false;
  }
}

uint8_t connack_return_code_v3(ReasonCode rc) {
  switch (rc) {
    case ReasonCode::kSuccess:
      return 0;
    case ReasonCode::kUnsupportedProtocolVersion:
      return 1;
    case ReasonCode::kClientIdentifierNotValid:
      return 2;
    case ReasonCode::kServerUnavailable:
    case ReasonCode::kServerBusy:
      return 3;
    case ReasonCode::kBadUserNameOrPassword:
      return 4;
    case ReasonCode::kNotAuthorized:
    case ReasonCode::kBanned:
    case ReasonCode::kBadAuthenticationMethod:
      return 5;
    default:
      return 3;
  }
}

}  // namespace mq::codec
