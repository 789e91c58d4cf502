// Writing a persist::State as Mosquitto's mosquitto.db (format version 6), in the order
// Mosquitto 2.0 writes it (src/persist_write.c): configuration, every stored message, each
// client followed by its messages, subscriptions, retained topics.
//
// Design note. Mosquitto restores what it reads without asking why, so the file must say what
// Mosquitto itself would have written for the same state:
// - a queued QoS 1/2 message already carries the packet identifier it will be sent with
//   (Mosquitto allocates it when queuing), so queued messages get identifiers after the
//   session's in-flight ones, skipping any in use, and the session's last_mid is the last one;
// - a QoS 2 message whose PUBREC arrived needs only its PUBREL, but Mosquitto's client message
//   must name a stored message: it names a stand-in with an empty payload (mq does not keep the
//   original once PUBREC arrived); Mosquitto sends only PUBREL for it and frees it on PUBCOMP;
// - an in-flight message is marked DUP (it was sent before), as Mosquitto marks its own;
// - a session still connected when the state was written expires `interval` from `now`.
// Not written (no equivalent in the format): an incoming QoS 2 packet identifier whose message
// was already forwarded (mq keeps the identifier to answer a repeated PUBREL; Mosquitto answers
// an unknown PUBREL with PUBCOMP anyway), and names or payloads too long for its fields.
#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "broker/persist/mosquitto_db.h"
#include "codec/properties.h"
#include "codec/wire.h"

namespace mq::broker::persist {

namespace L = mosq_layout;

namespace {

constexpr std::string_view kPubrelStandInTopic = "$mq/pubrel-pending";

void be16(std::string& out, uint16_t v) {
  out.push_back(char(v >> 8));
  out.push_back(char(v));
}

void be32(std::string& out, uint32_t v) {
  be16(out, uint16_t(v >> 16));
  be16(out, uint16_t(v));
}

void host64(std::string& out, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, sizeof b);
  out.append(b, sizeof b);
}

void chunk_header(std::string& out, uint32_t type, size_t length) {
  be32(out, type);
  be32(out, uint32_t(length));
}

std::string properties_block(const codec::Properties& p) {
  std::string out;
  if (p.empty()) return out;
  codec::Emit sink(&out);
  codec::encode_properties(sink, p);
  return out;
}

void put_msg_store(std::string& out, const Message& m, uint64_t store_id, bool retain) {
  codec::Properties p;
  const MessageProperties& mp = m.properties();
  p.payload_format_indicator = mp.payload_format_indicator;
  if (mp.content_type) p.content_type = *mp.content_type;
  if (mp.response_topic) p.response_topic = *mp.response_topic;
  if (mp.correlation_data) p.correlation_data = *mp.correlation_data;
  for (const auto& [k, v] : mp.user_properties) p.user_properties.emplace_back(k, v);
  std::string props = properties_block(p);
  chunk_header(out, L::kMsgStore,
               L::kMsgStoreSize + m.origin_client_id().size() + m.origin_username().size() +
                   m.topic.size() + m.payload.size() + props.size());
  host64(out, store_id);
  // Mosquitto keeps whole seconds; round up so a message never expires early.
  int64_t ms = m.expiry_unix_ms;
  host64(out, ms > 0 ? uint64_t(ms / 1000 + (ms % 1000 != 0)) : 0);
  be32(out, uint32_t(m.payload.size()));
  be16(out, 0);  // source mid: only used to log
  be16(out, uint16_t(m.origin_client_id().size()));
  be16(out, uint16_t(m.origin_username().size()));
  be16(out, uint16_t(m.topic.size()));
  be16(out, 0);  // source listener port: unknown
  out.push_back(char(m.qos));
  out.push_back(char(retain ? 1 : 0));
  out += m.origin_client_id();
  out += m.origin_username();
  out += m.topic;
  out += m.payload;
  out += props;
}

struct ClientMsg {
  uint64_t store_id;
  uint16_t mid;
  uint8_t qos;
  uint8_t state;
  bool retain;
  bool dup;
  uint8_t direction;
  uint32_t subscription_id;
};

void put_client_msg(std::string& out, const std::string& client_id, const ClientMsg& c) {
  std::string props;
  if (c.subscription_id) {
    codec::Properties p;
    p.subscription_identifiers.push_back(c.subscription_id);
    props = properties_block(p);
  }
  chunk_header(out, L::kClientMsg, L::kClientMsgSize + client_id.size() + props.size());
  host64(out, c.store_id);
  be16(out, c.mid);
  be16(out, uint16_t(client_id.size()));
  out.push_back(char(c.qos));
  out.push_back(char(c.state));
  out.push_back(char((c.retain ? 0x10 : 0) | (c.dup ? 0x01 : 0)));
  out.push_back(char(c.direction));
  out += client_id;
  out += props;
}

bool fits16(std::string_view s) {
  return s.size() <= 0xFFFF;
}

bool storable(const Message& m) {
  return fits16(m.topic) && !m.topic.empty() && fits16(m.origin_client_id()) &&
         fits16(m.origin_username()) && m.payload.size() <= 0xFFFFFFFFu;
}

struct SessionOut {
  const std::string* client_id;
  const StoredSession* s;
  std::vector<ClientMsg> msgs;
  uint16_t last_mid = 0;
};

}  // namespace

MosquittoExport write_mosquitto_db(const State& st, int64_t now_unix_s) {
  MosquittoExport ex;
  MosquittoCounts& n = ex.counts;
  uint64_t next_id = st.next_store_id;
  for (const auto& [id, m] : st.messages) next_id = std::max(next_id, id + 1);
  // Messages to write, by store id: what a retained topic or a session refers to.
  std::map<uint64_t, std::pair<MessagePtr, bool>> stored;  // id -> message, retained
  auto refer = [&](const MessagePtr& m, bool retained) {
    auto [it, added] = stored.try_emplace(m->store_id, m, retained);
    if (!added && retained) it->second.second = true;
  };

  std::vector<SessionOut> sessions;
  for (const auto& [cid, s] : st.sessions) {
    if (cid.empty() || !fits16(cid) || !fits16(s.username)) {
      n.skipped++;
      continue;
    }
    sessions.push_back(SessionOut{&cid, &s, {}, 0});
  }
  std::sort(sessions.begin(), sessions.end(),
            [](const SessionOut& a, const SessionOut& b) { return *a.client_id < *b.client_id; });
  for (SessionOut& so : sessions) {
    const StoredSession& s = *so.s;
    for (const auto& [pid, held] : s.incoming_qos2) {
      if (!held || held->store_id == 0 || !storable(*held)) {
        n.skipped++;
        continue;
      }
      refer(held, false);
      so.msgs.push_back(
          {held->store_id, pid, 2, L::kWaitForPubrel, held->retain, false, L::kIn, 0});
      n.incoming++;
    }
    std::set<uint16_t> used;
    uint16_t last = 0;
    for (const auto& [seq, o] : s.outgoing) {
      if (o.packet_id == 0) continue;
      used.insert(o.packet_id);
      last = o.packet_id;
    }
    // In flight first, then queued, each in the order mq would send them.
    for (int pass = 0; pass < 2; pass++) {
      for (const auto& [seq, o] : s.outgoing) {
        const bool in_flight = o.packet_id != 0;
        if (in_flight != (pass == 0)) continue;
        ClientMsg c{0, o.packet_id, o.qos, 0, o.retain, in_flight, L::kOut, o.subscription_id};
        if (in_flight && o.pubrec_received) {
          auto stand_in = std::make_shared<Message>();
          stand_in->topic = kPubrelStandInTopic;
          stand_in->qos = 2;
          stand_in->store_id = next_id++;
          refer(stand_in, false);
          c.store_id = stand_in->store_id;
          c.state = L::kWaitForPubcomp;
        } else {
          if (!o.msg || o.msg->store_id == 0 || !storable(*o.msg)) {
            n.skipped++;
            continue;
          }
          refer(o.msg, false);
          c.store_id = o.msg->store_id;
          if (in_flight) {
            c.state = o.qos == 1 ? L::kWaitForPuback : L::kWaitForPubrec;
          } else {
            c.state = L::kQueued;
            if (o.qos > 0 && used.size() < 0xFFFF) {
              do last = uint16_t(last == 0xFFFF ? 1 : last + 1);
              while (used.count(last));
              used.insert(last);
              c.mid = last;
            }
          }
        }
        (in_flight ? n.inflight : n.queued)++;
        so.msgs.push_back(c);
      }
    }
    so.last_mid = last;
  }
  for (const auto& [topic, id] : st.retained) {
    auto it = st.messages.find(id);
    if (it == st.messages.end() || !storable(*it->second) || topic.starts_with("$SYS/")) {
      n.skipped++;
      continue;
    }
    refer(it->second, true);
  }

  std::string& out = ex.data;
  out.append(kMosquittoMagic, sizeof kMosquittoMagic);
  be32(out, 0);  // crc: unused
  be32(out, kMosquittoDbVersion);
  chunk_header(out, L::kCfg, L::kCfgSize);
  host64(out, next_id - 1);  // last_db_id: Mosquitto numbers new messages after it
  out.push_back(1);          // shutdown: written cleanly
  out.push_back(8);          // dbid_size
  out.append(6, '\0');       // padding
  for (const auto& [id, entry] : stored) {
    const auto& [m, retained] = entry;
    put_msg_store(out, *m, id, m->retain || retained);
    n.messages++;
  }
  for (const SessionOut& so : sessions) {
    const StoredSession& s = *so.s;
    const std::string& cid = *so.client_id;
    std::string user = s.has_username ? s.username : std::string();
    chunk_header(out, L::kClient, L::kClientSizeV6 + cid.size() + user.size());
    int64_t expiry_time = 0;
    if (s.expiry_interval != Session::kNeverExpires) {
      int64_t gone = s.disconnect_unix_ms ? s.disconnect_unix_ms / 1000 : now_unix_s;
      expiry_time = gone + int64_t(s.expiry_interval);
    }
    host64(out, uint64_t(expiry_time));
    be32(out, s.expiry_interval);
    be16(out, so.last_mid);
    be16(out, uint16_t(cid.size()));
    be16(out, 0);  // listener port: unknown (only used with per_listener_settings)
    be16(out, uint16_t(user.size()));
    out.append(4, '\0');  // padding
    out += cid;
    out += user;
    for (const ClientMsg& c : so.msgs) put_client_msg(out, cid, c);
    n.sessions++;
  }
  for (const SessionOut& so : sessions) {
    const std::string& cid = *so.client_id;
    for (const auto& [key, sub] : so.s->subscriptions) {
      if (!fits16(key)) {
        n.skipped++;
        continue;
      }
      chunk_header(out, L::kSub, L::kSubSize + cid.size() + key.size());
      be32(out, sub.options.subscription_id);
      be16(out, uint16_t(cid.size()));
      be16(out, uint16_t(key.size()));
      out.push_back(char(sub.options.qos));
      out.push_back(
          char((sub.options.no_local ? 0x04 : 0) | (sub.options.retain_as_published ? 0x08 : 0)));
      out.append(2, '\0');  // padding
      out += cid;
      out += key;
      n.subscriptions++;
    }
  }
  for (const auto& [topic, id] : st.retained) {
    if (!stored.count(id) || topic.starts_with("$SYS/")) continue;
    chunk_header(out, L::kRetain, L::kRetainSize);
    host64(out, id);
    n.retained++;
  }
  return ex;
}

}  // namespace mq::broker::persist
