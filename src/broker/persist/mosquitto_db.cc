// Reading Mosquitto's mosquitto.db into a persist::State.
//
// Design note. Mosquitto restores a file chunk by chunk (src/persist_read.c), and this reader
// follows its decisions so that a converted broker holds what Mosquitto itself would after a
// restart:
// - a stored message past its expiry time is dropped, and so, silently, is everything that
//   refers to it;
// - a client message or subscription naming a client without a CLIENT chunk creates the
//   session (Mosquitto's persist__find_or_add_context), kept until it is taken over;
// - an outgoing message in state "queued" waits for the window (mq gives it a packet identifier
//   when it enters, so Mosquitto's is not kept); any other outgoing state is in flight with its
//   packet identifier, and a QoS 2 message whose PUBREC arrived only needs its PUBREL;
// - an incoming QoS 2 message is held under its packet identifier until PUBREL;
// - the protocol version of a session is not in the file: 3.1.1, as Mosquitto assumes until
//   the client is back (it decides how overlapping subscriptions deliver);
// - a username is cut at its first NUL byte: Mosquitto 2.0.11 can write a username length left
//   over from the previous client (and then stray bytes), and uses the text as a C string.
#include "broker/persist/mosquitto_db.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "codec/properties.h"
#include "codec/topic.h"
#include "codec/wire.h"

namespace mq::broker::persist {

namespace L = mosq_layout;

bool is_mosquitto_db(std::string_view data) {
  return data.size() >= sizeof kMosquittoMagic &&
         std::memcmp(data.data(), kMosquittoMagic, sizeof kMosquittoMagic) == 0;
}

std::string describe(const MosquittoCounts& c) {
  std::string s = std::to_string(c.retained) + " retained messages, " + std::to_string(c.sessions) +
                  " persistent sessions with " + std::to_string(c.subscriptions) +
                  " subscriptions, " + std::to_string(c.queued) + " queued and " +
                  std::to_string(c.inflight) + " in-flight outgoing messages, " +
                  std::to_string(c.incoming) + " incoming QoS 2 messages (" +
                  std::to_string(c.messages) + " stored messages)";
  if (c.expired) s += "; " + std::to_string(c.expired) + " expired messages dropped";
  if (c.skipped) s += "; " + std::to_string(c.skipped) + " entries not convertible, skipped";
  return s;
}

namespace {

uint16_t be16(std::string_view d, size_t at) {
  return uint16_t(uint8_t(d[at]) << 8 | uint8_t(d[at + 1]));
}

uint32_t be32(std::string_view d, size_t at) {
  return uint32_t(be16(d, at)) << 16 | be16(d, at + 2);
}

uint64_t host64(std::string_view d, size_t at) {
  uint64_t v;
  std::memcpy(&v, d.data() + at, sizeof v);
  return v;
}

class Importer {
 public:
  Importer(uint32_t version, int64_t now_unix_s) : version_(version), now_s_(now_unix_s) {}

  // Applies one chunk; on failure the context says why (the caller adds the offset).
  Status chunk(uint32_t type, std::string_view body);
  MosquittoImport finish();

 private:
  Status cfg(std::string_view b);
  Status msg_store(std::string_view b);
  Status client(std::string_view b);
  Status client_msg(std::string_view b);
  Status sub(std::string_view b);
  Status retain(std::string_view b);
  StoredSession& session(const std::string& client_id);
  MessagePtr find_message(uint64_t store_id);

  uint32_t version_;
  int64_t now_s_;
  State st_;
  MosquittoCounts counts_;
  std::unordered_set<uint64_t> expired_ids_;
  std::unordered_map<std::string, uint64_t> next_seq_;
};

Error bad(const std::string& why) {
  return make_error(ErrorKind::kMalformed, why);
}

Status Importer::chunk(uint32_t type, std::string_view b) {
  switch (type) {
    case L::kCfg:
      return cfg(b);
    case L::kMsgStore:
      return msg_store(b);
    case L::kClient:
      return client(b);
    case L::kClientMsg:
      return client_msg(b);
    case L::kSub:
      return sub(b);
    case L::kRetain:
      return retain(b);
    default:
      return {};  // Mosquitto warns and skips a chunk type it does not know
  }
}

Status Importer::cfg(std::string_view b) {
  // Mosquitto reads the whole struct; only the first 10 bytes carry data.
  if (b.size() < 10) return bad("configuration chunk too short");
  if (uint8_t(b[9]) != 8)
    return bad("store ids of " + std::to_string(uint8_t(b[9])) + " bytes (only 8 are supported)");
  uint64_t last = host64(b, 0);
  if (last + 1 > st_.next_store_id) st_.next_store_id = last + 1;
  return {};
}

// Copies the MQTT 5 properties of a PUBLISH kept with a stored message. A block that does not
// decode is damage.
Status read_message_properties(std::string_view block, Message& m) {
  codec::Reader r(block);
  codec::Properties p;
  if (Status s = codec::decode_properties(r, codec::PropertyScope::kPublish, p); !s.ok())
    return bad("bad message properties: " + s.error().context);
  if (!r.at_end()) return bad("bytes after the message properties");
  MessageProperties mp;
  mp.payload_format_indicator = p.payload_format_indicator;
  if (p.content_type) mp.content_type.emplace(*p.content_type);
  if (p.response_topic) mp.response_topic.emplace(*p.response_topic);
  if (p.correlation_data) mp.correlation_data.emplace(*p.correlation_data);
  for (const auto& [k, v] : p.user_properties) mp.user_properties.emplace_back(k, v);
  m.set_properties(std::move(mp));
  return {};
}

Status Importer::msg_store(std::string_view b) {
  if (b.size() < L::kMsgStoreSize) return bad("message chunk too short");
  uint64_t id = host64(b, 0);
  auto expiry = int64_t(host64(b, 8));
  uint32_t payload_len = be32(b, 16);
  uint16_t source_id_len = be16(b, 22), source_user_len = be16(b, 24), topic_len = be16(b, 26);
  uint8_t qos = uint8_t(b[30]), retain = uint8_t(b[31]);
  size_t need =
      L::kMsgStoreSize + size_t(source_id_len) + source_user_len + topic_len + size_t(payload_len);
  if (need > b.size()) return bad("message chunk lengths exceed the chunk");
  if (qos > 2) return bad("message with QoS " + std::to_string(qos));
  if (topic_len == 0) return bad("message without a topic");
  size_t at = L::kMsgStoreSize;
  auto take = [&](size_t n) {
    std::string_view v = b.substr(at, n);
    at += n;
    return v;
  };
  auto m = std::make_shared<Message>();
  std::string_view origin_client = take(source_id_len);
  m->set_origin(origin_client, take(source_user_len));
  m->topic = take(topic_len);
  m->payload = take(payload_len);
  m->qos = qos;
  m->retain = retain != 0;
  if (at < b.size()) {
    if (Status s = read_message_properties(b.substr(at), *m); !s.ok()) return s;
  }
  if (id == 0) {  // nothing can refer to it
    counts_.skipped++;
    return {};
  }
  // Mosquitto takes a message whose expiry interval left is negative or beyond 32 bits as
  // expired (persist__msg_store_chunk_restore).
  if (expiry > 0 && (expiry <= now_s_ || expiry - now_s_ > int64_t(UINT32_MAX))) {
    expired_ids_.insert(id);
    counts_.expired++;
    return {};
  }
  m->expiry_unix_ms = expiry > 0 ? expiry * 1000 : 0;
  m->store_id = id;
  if (id + 1 > st_.next_store_id) st_.next_store_id = id + 1;
  if (st_.messages.emplace(id, std::move(m)).second) counts_.messages++;
  return {};
}

StoredSession& Importer::session(const std::string& client_id) {
  auto [it, added] = st_.sessions.try_emplace(client_id);
  if (added) {
    it->second.expiry_interval = Session::kNeverExpires;
    counts_.sessions++;
  }
  return it->second;
}

MessagePtr Importer::find_message(uint64_t store_id) {
  auto it = st_.messages.find(store_id);
  if (it != st_.messages.end()) return it->second;
  if (expired_ids_.count(store_id) == 0) counts_.skipped++;  // expired ones are counted already
  return nullptr;
}

Status Importer::client(std::string_view b) {
  const size_t fixed = version_ >= 6 ? L::kClientSizeV6 : L::kClientSizeV5;
  if (b.size() < fixed) return bad("client chunk too short");
  auto expiry_time = int64_t(host64(b, 0));
  uint32_t interval = be32(b, 8);
  uint16_t id_len = be16(b, 14);
  uint16_t user_len = version_ >= 6 ? be16(b, 18) : 0;
  if (fixed + id_len + user_len > b.size()) return bad("client chunk lengths exceed the chunk");
  if (id_len == 0) return bad("client without a client identifier");
  std::string id(b.substr(fixed, id_len));
  StoredSession& s = session(id);
  if (user_len > 0) {
    std::string_view user = b.substr(fixed + id_len, user_len);
    user = user.substr(0, user.find('\0'));
    s.username = user;
    s.has_username = true;
  }
  s.expiry_interval = interval;
  // Mosquitto keeps the absolute time the session ends (disconnection + interval, or now +
  // interval for a client connected at the save); mq keeps the disconnection time.
  // A disconnection is never later than now (a bogus expiry time then leaves the interval).
  if (interval != Session::kNeverExpires && interval != 0 && expiry_time > 0)
    s.disconnect_unix_ms = std::min(expiry_time - int64_t(interval), now_s_) * 1000;
  else
    s.disconnect_unix_ms = 0;  // counted from the start of the converting broker
  return {};
}

Status Importer::client_msg(std::string_view b) {
  if (b.size() < L::kClientMsgSize) return bad("client message chunk too short");
  uint64_t store_id = host64(b, 0);
  uint16_t mid = be16(b, 8), id_len = be16(b, 10);
  uint8_t qos = uint8_t(b[12]), state = uint8_t(b[13]), retain_dup = uint8_t(b[14]),
          direction = uint8_t(b[15]);
  if (L::kClientMsgSize + size_t(id_len) > b.size())
    return bad("client message chunk lengths exceed the chunk");
  if (id_len == 0) return bad("client message without a client identifier");
  if (qos > 2) return bad("client message with QoS " + std::to_string(qos));
  std::string id(b.substr(L::kClientMsgSize, id_len));
  uint32_t subscription_id = 0;
  if (std::string_view props = b.substr(L::kClientMsgSize + id_len); !props.empty()) {
    codec::Reader r(props);
    codec::Properties p;
    if (Status s = codec::decode_properties(r, codec::PropertyScope::kPublish, p);
        !s.ok() || !r.at_end())
      return bad("bad client message properties");
    if (!p.subscription_identifiers.empty()) subscription_id = p.subscription_identifiers[0];
  }
  MessagePtr msg = find_message(store_id);
  if (!msg) return {};
  StoredSession& s = session(id);
  if (direction == L::kIn) {
    // Only QoS 2 messages wait in Mosquitto for their PUBREL; anything else incoming has no
    // equivalent in mq (it is delivered when it arrives).
    if (qos != 2 || mid == 0) {
      counts_.skipped++;
      return {};
    }
    s.incoming_qos2[mid] = std::move(msg);
    counts_.incoming++;
    return {};
  }
  if (direction != L::kOut)
    return bad("client message with direction " + std::to_string(direction));
  Outgoing o;
  o.seq = next_seq_[id]++;
  o.qos = qos;
  o.retain = (retain_dup & 0xF0) != 0;
  o.dup = (retain_dup & 0x0F) != 0;
  o.subscription_id = subscription_id;
  o.msg = std::move(msg);
  const bool in_flight = state != L::kQueued && qos > 0 && mid != 0;
  if (in_flight) {
    o.packet_id = mid;
    if (qos == 2 && (state == L::kWaitForPubcomp || state == L::kResendPubrel)) {
      o.pubrec_received = true;
      o.msg = std::make_shared<Message>();  // only PUBREL is left to send, as mq keeps it
    }
    counts_.inflight++;
  } else {
    counts_.queued++;
  }
  s.outgoing[o.seq] = std::move(o);
  return {};
}

Status Importer::sub(std::string_view b) {
  if (b.size() < L::kSubSize) return bad("subscription chunk too short");
  uint32_t identifier = be32(b, 0);
  uint16_t id_len = be16(b, 4), topic_len = be16(b, 6);
  uint8_t qos = uint8_t(b[8]), options = uint8_t(b[9]);
  if (L::kSubSize + size_t(id_len) + topic_len > b.size())
    return bad("subscription chunk lengths exceed the chunk");
  if (id_len == 0 || topic_len == 0) return bad("subscription without client or filter");
  if (qos > 2) return bad("subscription with QoS " + std::to_string(qos));
  std::string id(b.substr(L::kSubSize, id_len));
  std::string key(b.substr(L::kSubSize + id_len, topic_len));
  SessionSubscription sub;
  sub.filter = key;
  auto shared = codec::parse_shared(key);
  if (!shared.ok()) {
    counts_.skipped++;
    return {};
  }
  if (shared->has_value()) {
    sub.filter = (*shared)->filter;
    sub.set_share_group((*shared)->group);
  }
  if (!codec::valid_topic_filter(sub.filter)) {
    counts_.skipped++;
    return {};
  }
  // The MQTT 5 subscription options byte without its QoS bits (Mosquitto 2.0.11 keeps only No
  // Local and Retain As Published; Retain Handling only matters when subscribing).
  sub.options.qos = qos;
  sub.options.no_local = options & 0x04;
  sub.options.retain_as_published = options & 0x08;
  sub.options.retain_handling = uint8_t((options >> 4) & 0x03);
  sub.options.subscription_id = identifier;
  StoredSession& s = session(id);
  if (s.subscriptions.emplace(std::move(key), std::move(sub)).second) counts_.subscriptions++;
  return {};
}

Status Importer::retain(std::string_view b) {
  if (b.size() < L::kRetainSize) return bad("retained chunk too short");
  MessagePtr m = find_message(host64(b, 0));
  if (!m) return {};
  if (m->topic.starts_with("$SYS/")) return {};  // the broker's own, made afresh
  if (st_.retained.insert_or_assign(m->topic, m->store_id).second) counts_.retained++;
  return {};
}

MosquittoImport Importer::finish() {
  MosquittoImport out;
  out.state = std::move(st_);
  out.counts = counts_;
  out.version = version_;
  return out;
}

}  // namespace

Result<MosquittoImport> parse_mosquitto_db(std::string_view data, int64_t now_unix_s) {
  auto corrupt = [](size_t offset, const std::string& why) -> Error {
    return make_error(ErrorKind::kMalformed, "a Mosquitto persistence file damaged at offset " +
                                                 std::to_string(offset) + ": " + why);
  };
  if (!is_mosquitto_db(data)) return corrupt(0, "no Mosquitto magic");
  if (data.size() < L::kHeaderSize) return corrupt(data.size(), "file cut short in its header");
  uint32_t version = be32(data, 19);
  if (version != 5 && version != 6)
    return make_error(ErrorKind::kUnsupported,
                      "a Mosquitto persistence file of format version " + std::to_string(version) +
                          " (only 5 and 6, from Mosquitto 1.6 and 2.0, can be converted; let a "
                          "Mosquitto 2.0 broker load and save it first)");
  Importer im(version, now_unix_s);
  size_t at = L::kHeaderSize;
  while (at < data.size()) {
    if (data.size() - at < 8) return corrupt(at, "chunk header cut short");
    uint32_t type = be32(data, at), length = be32(data, at + 4);
    if (length > data.size() - at - 8)
      return corrupt(at, "chunk of " + std::to_string(length) + " bytes past the end of the file");
    if (Status s = im.chunk(type, data.substr(at + 8, length)); !s.ok())
      return corrupt(at, s.error().context);
    at += 8 + size_t(length);
  }
  return im.finish();
}

}  // namespace mq::broker::persist
