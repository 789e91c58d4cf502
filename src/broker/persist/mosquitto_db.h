// Mosquitto's persistence file (mosquitto.db): reading one into the image mq's own snapshot
// rebuilds (persist::State), so that a broker started on a Mosquitto file converts it, and
// writing one from such an image that Mosquitto 2.0 loads (`mq db to-mosquitto`).
// Format versions 6 (Mosquitto 2.0) and 5 (1.6) are read; version 6 is written. Mosquitto writes
// raw C structs: 16- and 32-bit fields big-endian, 64-bit fields (store ids, times) in host byte
// order, compiler padding included; the sizes here are those of files written by Mosquitto
// 2.0.11 on x86-64 (tests/unit/broker/persist/data holds one).
// Pure: no I/O, no logging; every read is bounds-checked. Not thread-safe (plain values).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "broker/persist/persist_records.h"

namespace mq::broker::persist {

inline constexpr char kMosquittoMagic[15] = {'\x00', '\xB5', '\x00', 'm', 'o', 's', 'q', 'u',
                                             'i',    't',    't',    'o', ' ', 'd', 'b'};
inline constexpr uint32_t kMosquittoDbVersion = 6;

// The file's layout (Mosquitto's src/persist.h names in comments), shared by reader and writer.
namespace mosq_layout {
inline constexpr size_t kHeaderSize = 23;  // magic, u32 crc (unused, 0), u32 version
enum Chunk : uint32_t {
  kCfg = 1,        // PF_cfg: u64 last_db_id, u8 shutdown, u8 dbid_size, 6 padding
  kMsgStore = 2,   // PF_msg_store, source id, source username, topic, payload, properties
  kClientMsg = 3,  // PF_client_msg, client id, properties
  kRetain = 4,     // PF_retain: u64 store id
  kSub = 5,        // PF_sub, client id, topic filter
  kClient = 6,     // PF_client, client id, username
};
inline constexpr size_t kCfgSize = 16;
inline constexpr size_t kMsgStoreSize = 32;   // u64 id, i64 expiry, u32 payloadlen, u16 source
                                              // mid, u16 x3 lengths, u16 port, u8 qos, u8 retain
inline constexpr size_t kClientMsgSize = 16;  // u64 store id, u16 mid, u16 id len, u8 qos,
                                              // u8 state, u8 retain<<4|dup, u8 direction
inline constexpr size_t kRetainSize = 8;
inline constexpr size_t kSubSize = 12;       // u32 identifier, u16 id len, u16 topic len, u8 qos,
                                             // u8 options, 2 padding
inline constexpr size_t kClientSizeV5 = 16;  // i64 expiry time, u32 interval, u16 last mid,
                                             // u16 id len
inline constexpr size_t kClientSizeV6 = 24;  // + u16 listener port, u16 username len, 4 padding
// enum mosquitto_msg_state
enum MsgState : uint8_t {
  kPublishQos0 = 1,
  kPublishQos1 = 2,
  kWaitForPuback = 3,
  kPublishQos2 = 4,
  kWaitForPubrec = 5,
  kResendPubrel = 6,
  kWaitForPubrel = 7,
  kResendPubcomp = 8,
  kWaitForPubcomp = 9,
  kSendPubrec = 10,
  kQueued = 11,
};
enum Direction : uint8_t { kIn = 0, kOut = 1 };
}  // namespace mosq_layout

// True when `data` starts with Mosquitto's magic (whatever follows).
bool is_mosquitto_db(std::string_view data);

// What a conversion carried over, for the log line and the tests.
struct MosquittoCounts {
  uint64_t messages = 0;       // stored messages (payloads), each once
  uint64_t retained = 0;       // retained topics
  uint64_t sessions = 0;       // persistent sessions
  uint64_t subscriptions = 0;  // of those sessions
  uint64_t queued = 0;         // outgoing messages waiting for the in-flight window
  uint64_t inflight = 0;       // outgoing messages in flight (PUBLISH or PUBREL unacknowledged)
  uint64_t incoming = 0;       // incoming QoS 2 messages held until PUBREL
  uint64_t expired = 0;        // messages past their expiry interval, dropped as Mosquitto does
  uint64_t skipped = 0;        // entries that cannot be carried over (see the .cc files)
};

// "2 retained messages, 3 sessions, ..." for a log line.
std::string describe(const MosquittoCounts& c);

struct MosquittoImport {
  State state;
  MosquittoCounts counts;
  uint32_t version = 0;  // of the file
};

// Parses a whole mosquitto.db. `now_unix_s` decides which messages have expired. A damaged
// file (short, bad lengths, unknown version, bad properties) fails with kMalformed and a
// context naming the byte offset; unknown chunk types are skipped, as Mosquitto does.
[[nodiscard]] Result<MosquittoImport> parse_mosquitto_db(std::string_view data, int64_t now_unix_s);

struct MosquittoExport {
  std::string data;
  MosquittoCounts counts;
};

// A version 6 file holding `state`. `now_unix_s` anchors the expiry time of sessions that were
// connected when the state was written.
MosquittoExport write_mosquitto_db(const State& state, int64_t now_unix_s);

}  // namespace mq::broker::persist
