// persist::Keeper (keeper.h) at start-up: reading the snapshot and replaying its journal,
// converting a Mosquitto mosquitto.db found where the snapshot belongs (import_mosquitto,
// generation 0, replaced by the start-up snapshot), and installing the recovered state in the
// broker through KeeperHost.
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "base/file.h"
#include "base/log.h"
#include "broker/persist/keeper.h"
#include "broker/persist/mosquitto_db.h"
#include "broker/persist/persist_journal.h"
#include "broker/persist/persist_snapshot.h"
#include "broker/sessions/sessions.h"

namespace mq::broker::persist {

namespace {

// The backup name for a converted Mosquitto file: <file>.mosquitto-backup, or with a number
// after it when that exists (an earlier conversion's backup is never overwritten).
std::string free_backup_name(const std::string& path) {
  std::string base = path + ".mosquitto-backup";
  std::string name = base;
  for (int i = 1; access(name.c_str(), F_OK) == 0; i++) name = base + "." + std::to_string(i);
  return name;
}

// A Mosquitto mosquitto.db where mq's snapshot belongs: converted into `state`. The original
// stays in place until Keeper::start replaces it with mq's snapshot (atomically), so a crash
// in between converts it again at the next start; the backup is a hard link (the same file,
// owner and mode), or a copy where links are not possible.
// With `dry_run` (--test-config) nothing is written: the file is only read and checked.
Result<State> import_mosquitto(const std::string& path, std::string_view data,
                                        int64_t now_unix_s, bool dry_run) {
  auto im = parse_mosquitto_db(data, now_unix_s);
  if (!im.ok()) return im.error();
  if (dry_run) {
    MQ_LOG(kLogNotice, "Mosquitto persistence file %s (format version %u) would be converted: %s.",
           path.c_str(), im->version, describe(im->counts).c_str());
    return std::move(im->state);
  }
  std::string backup = free_backup_name(path);
  if (link(path.c_str(), backup.c_str()) != 0) {
    if (Status st = write_file_durably(backup, data); !st.ok())
      return make_error(ErrorKind::kIo, "cannot keep the Mosquitto file as " + backup + ": " +
                                            st.error().context);
  } else if (Status st = sync_parent_dir(backup); !st.ok()) {
    return make_error(ErrorKind::kIo, st.error().context);
  }
  MQ_LOG(kLogNotice,
         "Converting Mosquitto persistence file %s (format version %u): %s. The original is "
         "kept as %s.",
         path.c_str(), im->version, describe(im->counts).c_str(), backup.c_str());
  return std::move(im->state);
}

}  // namespace

Status Keeper::check() {
  State state;
  Status st = load(state, /*dry_run=*/true);
  store_.reset();
  return st;
}

Status Keeper::load(State& state) { return load(state, /*dry_run=*/false); }

// `dry_run` (--test-config) reads and parses but renames nothing.
Status Keeper::load(State& state, bool dry_run) {
  store_ = std::make_unique<Store>();
  Store& p = *store_;
  p.snapshot_path = config_.persistence_filepath;
  p.journal_path = p.snapshot_path + ".journal";
  uint64_t gen = 0;
  auto snap = read_file(p.snapshot_path);
  if (snap.ok()) {
    const bool from_mosquitto = is_mosquitto_db(*snap);
    const int64_t now_unix_s = loop_.clock().unix_time();
    auto parsed = from_mosquitto ? import_mosquitto(p.snapshot_path, *snap, now_unix_s, dry_run)
                                 : parse_snapshot(*snap, &gen);
    if (parsed.ok()) {
      state = std::move(*parsed);
    } else if (parsed.error().kind == ErrorKind::kIo) {
      return make_error(ErrorKind::kIo, "Error: " + parsed.error().context);
    } else if (config_.persistence_corrupt_start_empty && dry_run) {
      MQ_LOG(kLogWarning,
             "Warning: persistence file %s is %s; start-up will set it aside and start empty "
             "(persistence_on_corrupt start_empty).",
             p.snapshot_path.c_str(), parsed.error().context.c_str());
    } else if (config_.persistence_corrupt_start_empty) {
      std::string keep = p.snapshot_path + ".corrupt-" + std::to_string(time(nullptr));
      MQ_LOG(kLogError,
             "Error: persistence file %s is %s; starting empty as persistence_on_corrupt "
             "says (the file is kept as %s).",
             p.snapshot_path.c_str(), parsed.error().context.c_str(), keep.c_str());
      if (rename(p.snapshot_path.c_str(), keep.c_str()) != 0)
        return make_error(ErrorKind::kIo, "Error: cannot rename " + p.snapshot_path);
      gen = 0;
      // Its journal continues a snapshot we no longer have: set it aside too.
      (void)rename(p.journal_path.c_str(), (keep + ".journal").c_str());
    } else {
      return make_error(ErrorKind::kMalformed,
                        "Error: persistence file " + p.snapshot_path + " is " +
                            parsed.error().context +
                            ". Refusing to start; set `persistence_on_corrupt start_empty` to "
                            "start without it.");
    }
  } else if (snap.error().kind != ErrorKind::kNotFound) {
    std::string why = access_problem(p.snapshot_path);
    return make_error(ErrorKind::kIo, "Error: " + snap.error().context +
                                          (why.empty() ? "" : "\nError: " + why + "."));
  }
  auto jdata = read_file(p.journal_path);
  if (jdata.ok()) {
    ReplayResult r = replay_journal(*jdata, gen, state);
    if (r.stale) {
      MQ_LOG(kLogNotice, "Persistence: journal %s is older than the snapshot; ignored.",
             p.journal_path.c_str());
    } else if (r.dropped_bytes) {
      MQ_LOG(kLogWarning,
             "Warning: persistence journal %s: replayed %" PRIu64
             " records, cut off a torn or "
             "corrupt tail of %" PRIu64 " bytes (%s).",
             p.journal_path.c_str(), r.records, r.dropped_bytes, r.problem.c_str());
    } else {
      MQ_LOG(kLogNotice, "Persistence: replayed %" PRIu64 " journal records.", r.records);
    }
  } else if (jdata.error().kind != ErrorKind::kNotFound) {
    std::string why = access_problem(p.journal_path);
    return make_error(ErrorKind::kIo, "Error: " + jdata.error().context +
                                          (why.empty() ? "" : "\nError: " + why + "."));
  }
  p.generation = gen;
  return {};
}

void Keeper::install(State& st) {
  int64_t now = loop_.clock().unix_time() * 1000;
  host_.raise_next_store_id(st.next_store_id);
  size_t retained = 0, sessions = 0, expired = 0;
  // Held by the broker from now on (those nothing refers to go with `st`).
  for (auto& [id, m] : st.messages) m->tally.count(m->payload.size());
  for (auto& [topic, id] : st.retained) {
    auto it = st.messages.find(id);
    if (it == st.messages.end()) continue;
    const MessagePtr& m = it->second;
    if (m->expiry_unix_ms != 0 && m->expiry_unix_ms <= now) continue;
    host_.restore_retained(topic, m);
    retained++;
  }
  for (auto& [cid, ss] : st.sessions) {
    uint32_t interval = bounded_expiry(ss.expiry_interval, config_.persistent_client_expiration);
    // A session connected when the broker stopped counts as disconnected now.
    int64_t gone = ss.disconnect_unix_ms ? ss.disconnect_unix_ms : now;
    int64_t left_ms = 0;
    if (interval != Session::kNeverExpires) {
      left_ms = gone + int64_t(interval) * 1000 - now;
      if (left_ms <= 0) {
        expired++;
        continue;
      }
    }
    Session& s = host_.restore_session(cid);
    if (ss.has_username) s.username.emplace(ss.username);
    s.version = codec::ProtocolVersion(ss.version);
    s.expiry_interval = interval;
    s.disconnected_unix_ms = gone;
    s.persisted = true;
    for (auto& [key, sub] : ss.subscriptions) host_.restore_subscription(s, key, sub);
    for (auto& [seq, o] : ss.outgoing) {
      if (o.packet_id != 0) {
        o.sent = false;  // re-sent when the client is back [MQTT-4.4.0-1]
        s.flow.inflight.push_back(o);
        s.flow.unsent++;
      } else {
        s.queued_bytes += o.msg->payload.size();
        s.flow.queue.push_back(o);
      }
      s.next_seq = seq + 1;
    }
    for (auto& [pid, held] : ss.incoming_qos2) s.incoming_qos2.restore(pid, held);
    if (interval != Session::kNeverExpires) host_.arm_session_expiry(s, left_ms);
    sessions++;
  }
  MQ_LOG(kLogNotice,
         "Restored %zu retained messages and %zu persistent sessions (%zu expired while the "
         "broker was down).",
         retained, sessions, expired);
  for (auto& [name, queue] : st.bridges) {
    if (!host_.restore_bridge_queue(name, queue)) {
      MQ_LOG(kLogWarning,
             "Warning: persistence: %zu messages queued for bridge %s are dropped: no "
             "`connection %s` in the configuration any more.",
             queue.size(), name.c_str(), name.c_str());
    }
  }
  if (st.skipped)
    MQ_LOG(kLogNotice, "Persistence: %" PRIu64 " records named an unknown session or message.",
           st.skipped);
}

void Keeper::start(State& state) {
  Store& p = *store_;
  int64_t t0 = loop_.now_ms();
  install(state);
  state = State();  // frees messages nothing refers to
  if (config_.persistence_fsync) sync_worker_ = std::make_unique<AuthWorker>(1);
  // A fresh snapshot folds the journal in (and drops any torn tail for good). If it cannot be
  // written the broker still runs, but acknowledges nothing that needs the store until a
  // snapshot succeeds; the files on disk stay as they were, so nothing is lost meanwhile.
  if (!save("start-up").ok()) {
    p.broken = true;
    p.last_attempt_ms = loop_.now_ms();
  }
  MQ_LOG(kLogNotice, "Persistence loaded from %s in %" PRId64 " ms.", p.snapshot_path.c_str(),
         loop_.now_ms() - t0);
  autosave_timer_ = loop_.add_timer_in(1000, [this] { tick(); });
}

}  // namespace mq::broker::persist
