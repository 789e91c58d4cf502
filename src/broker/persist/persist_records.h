// Persistence records: what the snapshot and the journal say, and the in-memory image
// (State) they rebuild. A snapshot is a header, a kMeta record, then the records that recreate
// the whole state, then kEnd (with the record count, so a cut snapshot is detected). The
// journal is a header followed by the same kinds of records describing changes, replayed on top
// of the snapshot's State in file order.
// Sessions are named by client identifier; messages by store id, written once (kMessage) and
// referenced by retained topics and session queues, so a message queued for N sessions is
// stored once. A bridge's queue to its remote (messages acknowledged locally, not yet by the
// remote) is named by the bridge's connection name and numbered by seq, like a session's.
// Pure: no I/O, no logging. Not thread-safe (plain values).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"
#include "broker/message.h"
#include "broker/session.h"

namespace mq::broker::persist {

enum class RecordType : uint8_t {
  kMeta = 1,               // u64 next store id
  kMessage = 2,            // the message, by store id
  kRetainSet = 3,          // topic, store id
  kRetainDel = 4,          // topic
  kSessionPut = 5,         // client id, user name, version, expiry interval, disconnect time
  kSessionDisconnect = 6,  // client id, expiry interval, disconnect time (unix ms)
  kSessionDel = 7,         // client id
  kSubAdd = 8,             // client id, key (filter as written), filter, share group, options
  kSubDel = 9,             // client id, key
  kOutAdd = 10,            // client id, seq, store id, qos, flags, subscription id, packet id
  kOutPacketId = 11,       // client id, seq, packet id: moved into the in-flight window
  kOutPubrec = 12,         // client id, seq: PUBREC received, PUBREL sent
  kOutDel = 13,            // client id, seq: acknowledged, expired or discarded
  kQos2In = 14,            // client id, packet id[, store id of the held message]: PUBREC sent
  kQos2Rel = 15,           // client id, packet id: released by PUBREL
  kEnd = 16,               // u64 number of records before it (snapshots only)
  kBridgeAdd = 17,       // bridge name, seq, store id, qos, flags, packet id, remote topic
  kBridgePacketId = 18,  // bridge name, seq, packet id: sent to the remote (restored with DUP)
  kBridgePubrec = 19,    // bridge name, seq: PUBREC from the remote, only PUBREL is left
  kBridgeDel = 20,       // bridge name, seq: acknowledged by the remote, expired or dropped
};

// One persistent session as stored.
struct StoredSession {
  std::string username;
  bool has_username = false;
  uint8_t version = 4;             // codec::ProtocolVersion value
  uint32_t expiry_interval = 0;    // seconds; Session::kNeverExpires = never
  int64_t disconnect_unix_ms = 0;  // 0 = connected when last written
  std::map<std::string, SessionSubscription> subscriptions;  // by key (filter as written)
  std::map<uint64_t, Outgoing> outgoing;  // by seq: queued (packet_id 0) and in flight
  std::map<uint16_t, MessagePtr> incoming_qos2;  // held until PUBREL (null: already forwarded)
};

// One message held for a bridge's remote as stored.
struct StoredBridgeOut {
  uint64_t seq = 0;
  MessagePtr msg;     // an empty message once PUBREC arrived
  std::string topic;  // the remote topic
  uint8_t qos = 1;
  bool retain = false;
  bool pubrec_received = false;
  uint16_t packet_id = 0;  // 0: never sent
};

struct State {
  uint64_t next_store_id = 1;
  std::unordered_map<uint64_t, MessagePtr> messages;  // by store id; may hold unreferenced ones
  std::map<std::string, uint64_t> retained;           // topic -> store id
  std::unordered_map<std::string, StoredSession> sessions;
  // Bridge queues by connection name, each by seq.
  std::map<std::string, std::map<uint64_t, StoredBridgeOut>> bridges;
  uint64_t records = 0;  // applied
  uint64_t skipped = 0;  // well-formed but naming something unknown (ignored)
};

// --- encoders: each appends one framed record ---------------------------------------------
void put_meta(std::string& out, uint64_t next_store_id);
void put_message(std::string& out, const Message& m);
void put_retain_set(std::string& out, std::string_view topic, uint64_t store_id);
void put_retain_del(std::string& out, std::string_view topic);
void put_session(std::string& out, const std::string& client_id, const StoredSession& s);
void put_session_disconnect(std::string& out, std::string_view client_id, uint32_t expiry_interval,
                            int64_t disconnect_unix_ms);
void put_session_del(std::string& out, std::string_view client_id);
void put_sub_add(std::string& out, std::string_view client_id, std::string_view key,
                 const SessionSubscription& sub);
void put_sub_del(std::string& out, std::string_view client_id, std::string_view key);
void put_out_add(std::string& out, std::string_view client_id, const Outgoing& o);
void put_out_packet_id(std::string& out, std::string_view client_id, uint64_t seq, uint16_t pid);
void put_out_pubrec(std::string& out, std::string_view client_id, uint64_t seq);
void put_out_del(std::string& out, std::string_view client_id, uint64_t seq);
// `store_id` names the held message (written before with put_message); 0 for none.
void put_qos2_in(std::string& out, std::string_view client_id, uint16_t packet_id,
                 uint64_t store_id);
void put_qos2_rel(std::string& out, std::string_view client_id, uint16_t packet_id);
void put_bridge_add(std::string& out, std::string_view bridge, const StoredBridgeOut& o);
void put_bridge_packet_id(std::string& out, std::string_view bridge, uint64_t seq, uint16_t pid);
void put_bridge_pubrec(std::string& out, std::string_view bridge, uint64_t seq);
void put_bridge_del(std::string& out, std::string_view bridge, uint64_t seq);
void put_end(std::string& out, uint64_t records);

// Applies one record to `state`. Fails (kMalformed) when the payload does not parse; a record
// naming an unknown session or message is counted in state.skipped and otherwise ignored.
// kEnd is not applied: the caller checks it.
[[nodiscard]] Status apply(State& state, uint8_t type, std::string_view payload);

}  // namespace mq::broker::persist
