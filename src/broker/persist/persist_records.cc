#include "broker/persist/persist_records.h"

#include <memory>
#include <optional>

#include "broker/persist/persist_format.h"

namespace mq::broker::persist {

namespace {

struct Rec {
  Rec(std::string& out, RecordType t) : out_(out), start_(begin_record(out, uint8_t(t))), w(out) {}
  ~Rec() { end_record(out_, start_); }
  std::string& out_;
  size_t start_;
  Writer w;
};

enum : uint8_t {
  kHasPfi = 1,
  kHasContentType = 2,
  kHasResponseTopic = 4,
  kHasCorrelation = 8,
};

Error malformed(RecordType t) {
  return make_error(ErrorKind::kMalformed,
                    "malformed record of type " + std::to_string(unsigned(t)));
}

// The small records that change one entry, by sequence number, of an outgoing queue (a
// session's or a bridge's): owner, seq, and for a packet id the id.
void put_seq_record(std::string& out, RecordType t, std::string_view owner, uint64_t seq,
                    std::optional<uint16_t> packet_id = std::nullopt) {
  Rec r(out, t);
  r.w.str(owner);
  r.w.u64(seq);
  if (packet_id) r.w.u16(*packet_id);
}

enum class SeqChange : uint8_t { kPacketId, kPubrec, kDelete };

// Applies one such change to `entries` (a map from seq to a session's or a bridge's stored
// outgoing message); false when there is no entry `seq`.
template <class Map>
bool apply_seq_change(Map& entries, uint64_t seq, SeqChange change, uint16_t packet_id) {
  auto it = entries.find(seq);
  if (it == entries.end()) return false;
  switch (change) {
    case SeqChange::kPacketId:
      it->second.packet_id = packet_id;
      break;
    case SeqChange::kPubrec:  // only PUBREL is left to send: the payload is not needed
      it->second.pubrec_received = true;
      it->second.msg = std::make_shared<Message>();
      break;
    case SeqChange::kDelete:
      entries.erase(it);
      break;
  }
  return true;
}

}  // namespace

void put_meta(std::string& out, uint64_t next_store_id) {
  Rec r(out, RecordType::kMeta);
  r.w.u64(next_store_id);
}

void put_message(std::string& out, const Message& m) {
  Rec r(out, RecordType::kMessage);
  r.w.u64(m.store_id);
  r.w.str(m.topic);
  r.w.str(m.payload);
  r.w.u8(m.qos);
  r.w.u8(m.retain ? 1 : 0);
  r.w.i64(m.expiry_unix_ms);
  const MessageProperties& mp = m.properties();
  uint8_t flags =
      (mp.payload_format_indicator ? kHasPfi : 0) | (mp.content_type ? kHasContentType : 0) |
      (mp.response_topic ? kHasResponseTopic : 0) | (mp.correlation_data ? kHasCorrelation : 0);
  r.w.u8(flags);
  if (mp.payload_format_indicator) r.w.u8(*mp.payload_format_indicator);
  if (mp.content_type) r.w.str(*mp.content_type);
  if (mp.response_topic) r.w.str(*mp.response_topic);
  if (mp.correlation_data) r.w.str(*mp.correlation_data);
  r.w.u32(uint32_t(mp.user_properties.size()));
  for (const auto& [k, v] : mp.user_properties) {
    r.w.str(k);
    r.w.str(v);
  }
  r.w.str(m.origin_client_id());
  r.w.str(m.origin_username());
}

void put_retain_set(std::string& out, std::string_view topic, uint64_t store_id) {
  Rec r(out, RecordType::kRetainSet);
  r.w.str(topic);
  r.w.u64(store_id);
}

void put_retain_del(std::string& out, std::string_view topic) {
  Rec r(out, RecordType::kRetainDel);
  r.w.str(topic);
}

void put_session(std::string& out, const std::string& client_id, const StoredSession& s) {
  Rec r(out, RecordType::kSessionPut);
  r.w.str(client_id);
  r.w.str(s.username);
  r.w.u8(s.has_username ? 1 : 0);
  r.w.u8(s.version);
  r.w.u32(s.expiry_interval);
  r.w.i64(s.disconnect_unix_ms);
}

void put_session_disconnect(std::string& out, std::string_view client_id, uint32_t expiry_interval,
                            int64_t disconnect_unix_ms) {
  Rec r(out, RecordType::kSessionDisconnect);
  r.w.str(client_id);
  r.w.u32(expiry_interval);
  r.w.i64(disconnect_unix_ms);
}

void put_session_del(std::string& out, std::string_view client_id) {
  Rec r(out, RecordType::kSessionDel);
  r.w.str(client_id);
}

void put_sub_add(std::string& out, std::string_view client_id, std::string_view key,
                 const SessionSubscription& sub) {
  Rec r(out, RecordType::kSubAdd);
  r.w.str(client_id);
  r.w.str(key);
  r.w.str(sub.filter);
  r.w.str(sub.share_group());
  r.w.u8(sub.options.qos);
  r.w.u8(uint8_t((sub.options.no_local ? 1 : 0) | (sub.options.retain_as_published ? 2 : 0)));
  r.w.u8(sub.options.retain_handling);
  r.w.u32(sub.options.subscription_id);
}

void put_sub_del(std::string& out, std::string_view client_id, std::string_view key) {
  Rec r(out, RecordType::kSubDel);
  r.w.str(client_id);
  r.w.str(key);
}

void put_out_add(std::string& out, std::string_view client_id, const Outgoing& o) {
  Rec r(out, RecordType::kOutAdd);
  r.w.str(client_id);
  r.w.u64(o.seq);
  r.w.u64(o.pubrec_received || !o.msg ? 0 : o.msg->store_id);
  r.w.u8(o.qos);
  r.w.u8(uint8_t((o.retain ? 1 : 0) | (o.dup ? 2 : 0) | (o.pubrec_received ? 4 : 0)));
  r.w.u32(o.subscription_id);
  r.w.u16(o.packet_id);
}

void put_out_packet_id(std::string& out, std::string_view client_id, uint64_t seq, uint16_t pid) {
  put_seq_record(out, RecordType::kOutPacketId, client_id, seq, pid);
}

void put_out_pubrec(std::string& out, std::string_view client_id, uint64_t seq) {
  put_seq_record(out, RecordType::kOutPubrec, client_id, seq);
}

void put_out_del(std::string& out, std::string_view client_id, uint64_t seq) {
  put_seq_record(out, RecordType::kOutDel, client_id, seq);
}

void put_qos2_in(std::string& out, std::string_view client_id, uint16_t packet_id,
                 uint64_t store_id) {
  Rec r(out, RecordType::kQos2In);
  r.w.str(client_id);
  r.w.u16(packet_id);
  if (store_id) r.w.u64(store_id);  // absent in files from before messages were held
}

void put_qos2_rel(std::string& out, std::string_view client_id, uint16_t packet_id) {
  Rec r(out, RecordType::kQos2Rel);
  r.w.str(client_id);
  r.w.u16(packet_id);
}

void put_bridge_add(std::string& out, std::string_view bridge, const StoredBridgeOut& o) {
  Rec r(out, RecordType::kBridgeAdd);
  r.w.str(bridge);
  r.w.u64(o.seq);
  r.w.u64(o.pubrec_received || !o.msg ? 0 : o.msg->store_id);
  r.w.u8(o.qos);
  r.w.u8(uint8_t((o.retain ? 1 : 0) | (o.pubrec_received ? 4 : 0)));
  r.w.u16(o.packet_id);
  r.w.str(o.topic);
}

void put_bridge_packet_id(std::string& out, std::string_view bridge, uint64_t seq, uint16_t pid) {
  put_seq_record(out, RecordType::kBridgePacketId, bridge, seq, pid);
}

void put_bridge_pubrec(std::string& out, std::string_view bridge, uint64_t seq) {
  put_seq_record(out, RecordType::kBridgePubrec, bridge, seq);
}

void put_bridge_del(std::string& out, std::string_view bridge, uint64_t seq) {
  put_seq_record(out, RecordType::kBridgeDel, bridge, seq);
}

void put_end(std::string& out, uint64_t records) {
  Rec r(out, RecordType::kEnd);
  r.w.u64(records);
}

Status apply(State& st, uint8_t type_byte, std::string_view payload) {
  auto type = RecordType(type_byte);
  Reader r(payload);
  auto session = [&](std::string_view id) -> StoredSession* {
    auto it = st.sessions.find(std::string(id));
    return it == st.sessions.end() ? nullptr : &it->second;
  };
  auto done = [&](bool known) -> Status {
    if (!r.ok() || !r.at_end()) return malformed(type);
    st.records++;
    if (!known) st.skipped++;
    return {};
  };
  switch (type) {
    case RecordType::kMeta: {
      uint64_t next = r.u64();
      if (next > st.next_store_id) st.next_store_id = next;
      return done(true);
    }
    case RecordType::kMessage: {
      auto m = std::make_shared<Message>();
      m->store_id = r.u64();
      m->topic = r.str();
      m->payload = r.str();
      m->qos = r.u8();
      m->retain = r.u8() != 0;
      m->expiry_unix_ms = r.i64();
      uint8_t flags = r.u8();
      MessageProperties mp;
      if (flags & kHasPfi) mp.payload_format_indicator = r.u8();
      if (flags & kHasContentType) mp.content_type.emplace(r.str());
      if (flags & kHasResponseTopic) mp.response_topic.emplace(r.str());
      if (flags & kHasCorrelation) mp.correlation_data.emplace(r.str());
      uint32_t n = r.u32();
      // Each property takes at least 8 bytes: a corrupt count cannot make us allocate much.
      for (uint32_t i = 0; i < n && r.ok(); i++) {
        std::string_view k = r.str();
        std::string_view v = r.str();
        if (r.ok()) mp.user_properties.emplace_back(k, v);
      }
      m->set_properties(std::move(mp));
      std::string_view origin_client = r.str();
      std::string_view origin_user = r.str();
      if (origin_client.size() > 0xFFFF) return malformed(type);
      m->set_origin(origin_client, origin_user);
      if (m->qos > 2 || m->store_id == 0) return malformed(type);
      if (m->store_id >= st.next_store_id) st.next_store_id = m->store_id + 1;
      uint64_t id = m->store_id;
      if (r.ok() && r.at_end()) st.messages[id] = std::move(m);
      return done(true);
    }
    case RecordType::kRetainSet: {
      std::string_view topic = r.str();
      uint64_t id = r.u64();
      bool known = st.messages.count(id) > 0;
      if (r.ok() && known) st.retained[std::string(topic)] = id;
      return done(known);
    }
    case RecordType::kRetainDel: {
      std::string_view topic = r.str();
      if (r.ok()) st.retained.erase(std::string(topic));
      return done(true);
    }
    case RecordType::kSessionPut: {
      std::string id(r.str());
      StoredSession meta;
      meta.username = r.str();
      meta.has_username = r.u8() != 0;
      meta.version = r.u8();
      meta.expiry_interval = r.u32();
      meta.disconnect_unix_ms = r.i64();
      if (r.ok() && r.at_end()) {
        StoredSession& s = st.sessions[id];  // keeps subscriptions and queues if present
        s.username = std::move(meta.username);
        s.has_username = meta.has_username;
        s.version = meta.version;
        s.expiry_interval = meta.expiry_interval;
        s.disconnect_unix_ms = meta.disconnect_unix_ms;
      }
      return done(true);
    }
    case RecordType::kSessionDisconnect: {
      StoredSession* s = session(r.str());
      uint32_t interval = r.u32();
      int64_t when = r.i64();
      if (s && r.ok()) {
        s->expiry_interval = interval;
        s->disconnect_unix_ms = when;
      }
      return done(s != nullptr);
    }
    case RecordType::kSessionDel: {
      std::string id(r.str());
      bool known = r.ok() && st.sessions.erase(id) > 0;
      return done(known);
    }
    case RecordType::kSubAdd: {
      StoredSession* s = session(r.str());
      std::string key(r.str());
      SessionSubscription sub;
      sub.filter = r.str();
      sub.set_share_group(r.str());
      sub.options.qos = r.u8();
      uint8_t flags = r.u8();
      sub.options.no_local = flags & 1;
      sub.options.retain_as_published = flags & 2;
      sub.options.retain_handling = r.u8();
      sub.options.subscription_id = r.u32();
      if (sub.options.qos > 2) return malformed(type);
      if (s && r.ok()) s->subscriptions[key] = std::move(sub);
      return done(s != nullptr);
    }
    case RecordType::kSubDel: {
      StoredSession* s = session(r.str());
      std::string key(r.str());
      if (s && r.ok()) s->subscriptions.erase(key);
      return done(s != nullptr);
    }
    case RecordType::kOutAdd: {
      StoredSession* s = session(r.str());
      Outgoing o;
      o.seq = r.u64();
      uint64_t store_id = r.u64();
      o.qos = r.u8();
      uint8_t flags = r.u8();
      o.retain = flags & 1;
      o.dup = flags & 2;
      o.pubrec_received = flags & 4;
      o.subscription_id = r.u32();
      o.packet_id = r.u16();
      if (o.qos > 2) return malformed(type);
      bool known = s != nullptr;
      if (o.pubrec_received) {
        o.msg = std::make_shared<Message>();  // only PUBREL is left to send
      } else {
        auto m = st.messages.find(store_id);
        if (m == st.messages.end())
          known = false;
        else
          o.msg = m->second;
      }
      if (known && r.ok()) s->outgoing[o.seq] = std::move(o);
      return done(known);
    }
    case RecordType::kOutPacketId:
    case RecordType::kOutPubrec:
    case RecordType::kOutDel: {
      StoredSession* s = session(r.str());
      uint64_t seq = r.u64();
      uint16_t pid = type == RecordType::kOutPacketId ? r.u16() : 0;
      SeqChange change = type == RecordType::kOutPacketId ? SeqChange::kPacketId
                         : type == RecordType::kOutPubrec ? SeqChange::kPubrec
                                                           : SeqChange::kDelete;
      return done(s && r.ok() && apply_seq_change(s->outgoing, seq, change, pid));
    }
    case RecordType::kQos2In:
    case RecordType::kQos2Rel: {
      StoredSession* s = session(r.str());
      uint16_t pid = r.u16();
      MessagePtr held;
      bool known = s != nullptr;
      if (type == RecordType::kQos2In && r.ok() && !r.at_end()) {
        auto m = st.messages.find(r.u64());
        if (m == st.messages.end()) known = false;
        else held = m->second;
      }
      if (known && r.ok()) {
        if (type == RecordType::kQos2In)
          s->incoming_qos2[pid] = std::move(held);
        else
          s->incoming_qos2.erase(pid);
      }
      return done(known);
    }
    case RecordType::kBridgeAdd: {
      std::string name(r.str());
      StoredBridgeOut o;
      o.seq = r.u64();
      uint64_t store_id = r.u64();
      o.qos = r.u8();
      uint8_t flags = r.u8();
      o.retain = flags & 1;
      o.pubrec_received = flags & 4;
      o.packet_id = r.u16();
      o.topic = r.str();
      if (o.qos < 1 || o.qos > 2) return malformed(type);
      bool known = true;
      if (o.pubrec_received) {
        o.msg = std::make_shared<Message>();  // only PUBREL is left to send
      } else {
        auto m = st.messages.find(store_id);
        if (m == st.messages.end())
          known = false;
        else
          o.msg = m->second;
      }
      if (known && r.ok() && r.at_end()) st.bridges[name][o.seq] = std::move(o);
      return done(known);
    }
    case RecordType::kBridgePacketId:
    case RecordType::kBridgePubrec:
    case RecordType::kBridgeDel: {
      std::string name(r.str());
      uint64_t seq = r.u64();
      uint16_t pid = type == RecordType::kBridgePacketId ? r.u16() : 0;
      SeqChange change = type == RecordType::kBridgePacketId ? SeqChange::kPacketId
                         : type == RecordType::kBridgePubrec ? SeqChange::kPubrec
                                                              : SeqChange::kDelete;
      auto b = st.bridges.find(name);
      bool known = b != st.bridges.end() && r.ok() && r.at_end() &&
                   apply_seq_change(b->second, seq, change, pid);
      if (known && b->second.empty()) st.bridges.erase(b);
      return done(known);
    }
    case RecordType::kEnd:
      return make_error(ErrorKind::kMalformed, "unexpected end record");
  }
  return make_error(ErrorKind::kMalformed, "unknown record type " + std::to_string(type_byte));
}

}  // namespace mq::broker::persist
