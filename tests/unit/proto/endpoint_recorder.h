// The recording sink and fixture of the proto::Endpoint tests: every event and packet the
// endpoint emits becomes one line of text, so each test states the exact sequence a role
// produces. Shared by endpoint_test.cc and endpoint_publish_test.cc; single-threaded, as the
// endpoint is.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "proto/endpoint.h"

namespace mq::proto::endpoint_testing {

using codec::PacketType;
using codec::ReasonCode;

struct Msg {
  uint16_t packet_id = 0;
  uint8_t qos = 0;
  bool pubrec_received = false;
  bool dup = false;
  std::string name;
  size_t size = 10;      // the encoded size the sink reports
  bool expired = false;
  bool sent = true;  // Resend::kWithinWindow: false until re-sent on a resumed session
};

// A message as an owner describes it to publish(const M&): built into a Msg only when kept.
struct Desc {
  uint8_t qos = 0;
  std::string name;
  size_t size = 10;
  bool queue_ok = true;  // what may_queue answers
};

inline const char* finish_name(Finish f) {
  switch (f) {
    case Finish::kAcknowledged: return "acked";
    case Finish::kSent: return "sent";
    case Finish::kTooLarge: return "too-large";
    case Finish::kExpired: return "expired";
    case Finish::kForgotten: return "forgotten";
  }
  return "?";
}

inline std::string ack_text(const char* name, uint16_t id, ReasonCode rc) {
  std::string s = std::string(name) + " " + std::to_string(id);
  if (rc != ReasonCode::kSuccess) s += " rc" + std::to_string(int(rc));
  return s;
}

struct Recorder {
  using Entry = Msg;
  using Held = std::string;
  std::vector<std::string> log;

  template <class Ack>
  void ack(const char* name, const codec::Packet& p) {
    const auto& a = std::get<Ack>(p);
    log.push_back(ack_text(name, a.packet_id, a.reason_code));
  }
  void send(const codec::Packet& p) {
    switch (codec::packet_type(p)) {
      case PacketType::kPuback: ack<codec::Puback>("PUBACK", p); break;
      case PacketType::kPubrec: ack<codec::Pubrec>("PUBREC", p); break;
      case PacketType::kPubrel: ack<codec::Pubrel>("PUBREL", p); break;
      case PacketType::kPubcomp: ack<codec::Pubcomp>("PUBCOMP", p); break;
      case PacketType::kPingreq: log.push_back("PINGREQ"); break;
      default: log.push_back("other"); break;
    }
  }
  bool send_publish(Msg& m, const PublishOut& out) {
    if (!out.fits(m.size)) return false;
    log.push_back("PUBLISH " + m.name + " q" + std::to_string(out.qos) + " m" +
                  std::to_string(out.packet_id) + (out.dup ? " dup" : ""));
    return true;
  }
  void received(const codec::Publish&, std::string_view topic) {
    log.push_back("received " + std::string(topic));
  }
  void deliver(const codec::Publish& p, std::string_view topic) {
    log.push_back("deliver " + std::string(topic) + " " + std::string(p.payload));
  }
  std::string hold(const codec::Publish& p, std::string_view topic) {
    log.push_back("hold " + std::string(topic));
    return std::string(topic) + " " + std::string(p.payload);
  }
  void deliver_held(uint16_t, std::string& h) { log.push_back("deliver-held " + h); }
  void admitted(Msg& m) { log.push_back("admitted " + m.name + " m" + std::to_string(m.packet_id)); }
  void dequeued(Msg&) {}
  void entered_window(Msg& m) {
    log.push_back("window " + m.name + " m" + std::to_string(m.packet_id));
  }
  void released(Msg& m) { log.push_back("released " + m.name); }
  void finished(Msg& m, Finish f) { log.push_back(std::string(finish_name(f)) + " " + m.name); }
  // publish(const Desc&): written without an entry ("write"), or built into one ("built").
  bool send_publish(const Desc& d, const PublishOut& out) {
    if (!out.fits(d.size)) return false;
    log.push_back("write " + d.name + " q" + std::to_string(out.qos) + " m" +
                  std::to_string(out.packet_id) + (out.dup ? " dup" : ""));
    return true;
  }
  void finished(const Desc& d, Finish f) {
    log.push_back(std::string(finish_name(f)) + " " + d.name + " unkept");
  }
  Msg entry(const Desc& d) {
    log.push_back("built " + d.name);
    Msg m;
    m.qos = d.qos;
    m.name = d.name;
    m.size = d.size;
    return m;
  }
  bool may_queue(const Desc& d) {
    log.push_back(std::string(d.queue_ok ? "may-queue " : "refused ") + d.name);
    return d.queue_ok;
  }
  bool expired(const Msg& m) { return m.expired; }
  void protocol_error(ReasonCode rc) { log.push_back("error " + std::to_string(int(rc))); }

  // The log since the last call.
  std::vector<std::string> take() { return std::exchange(log, {}); }
};

using Lines = std::vector<std::string>;

struct Fixture {
  explicit Fixture(const EndpointPolicy& policy) : ep(policy, out, in, link, sink) {}
  Outbound<Msg> out;
  InboundQos2<std::string> in;
  LinkState link;
  Recorder sink;
  Endpoint<Recorder> ep;

  void connect(bool session_present = false) {
    ep.on_connected(session_present);
  }
  void publish(std::string name, uint8_t qos, uint16_t packet_id = 0) {
    Msg m;
    m.name = std::move(name);
    m.qos = qos;
    m.packet_id = packet_id;
    ep.publish(std::move(m));
  }
  void describe(std::string name, uint8_t qos, bool queue_ok = true, size_t size = 10) {
    ep.publish(Desc{qos, std::move(name), size, queue_ok});
  }
  void feed(const codec::Packet& p, int64_t now = 0) { ASSERT_TRUE(ep.on_packet(p, now)); }
};

inline codec::Publish incoming(std::string_view topic, uint8_t qos, uint16_t id,
                        std::string_view payload = "x") {
  codec::Publish p;
  p.topic = topic;
  p.payload = payload;
  p.qos = qos;
  p.packet_id = id;
  return p;
}

}  // namespace mq::proto::endpoint_testing
