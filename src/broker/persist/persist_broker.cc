// Persistence inside the broker: what is journaled when, recovery at start-up, snapshots.
//
// Design note. Every change that must survive a crash (a QoS 1/2 message queued for or in
// flight to a persistent session, a retained message, a subscription, a session's creation,
// disconnection or end, QoS 2 packet identifiers received and not released) appends a record
// to the journal's in-memory buffer while the packet is handled. The before-sleep hook calls
// persist_commit() BEFORE flush_dirty(): one write(2) per loop iteration puts every record of
// that iteration in the kernel before any PUBACK, PUBREC, SUBACK or CONNACK (or PUBLISH with a
// packet identifier) leaves, so kill -9 loses nothing acknowledged. With persistence_fsync the
// journal is also fdatasync'd once for all acknowledgements of the iteration (group commit),
// on the sync worker thread: the output of that iteration's dirty connections is held
// (Connection::output_held) until the sync completes, while the loop goes on serving others.
// If a write fails the acknowledgements of that iteration are withheld (their connections are
// closed without their output) and so is everything else that needs the store, until a
// snapshot succeeds (retried at most once a second).
// Snapshots (autosave, SIGUSR1, shutdown, start-up, journal growth) serialise the whole state,
// write it durably (temp file, fsync, rename, directory fsync) with the next generation, then
// start an empty journal of that generation; a journal of another generation is stale.
// A Mosquitto mosquitto.db found where the snapshot belongs is converted (import_mosquitto,
// generation 0) and replaced by the start-up snapshot.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "base/file.h"
#include "base/log.h"
#include "broker/bridge/bridge.h"
#include "broker/broker.h"
#include "broker/persist/mosquitto_db.h"
#include "broker/persist/persist_format.h"
#include "broker/persist/persist_records.h"
#include "broker/persist/persist_snapshot.h"

namespace mq::broker {

namespace {

bool is_sys_topic(std::string_view topic) {
  return topic.starts_with("$SYS/");
}

// A journal larger than this (and than twice the last snapshot) triggers a snapshot.
constexpr uint64_t kCompactJournalBytes = 64ull << 20;

}  // namespace

void Broker::persist_message(std::string& out, const MessagePtr& msg) {
  if (msg->persist_gen == persist_->tag) return;
  persist::put_message(out, *msg);
  msg->persist_gen = persist_->tag;
}

void Broker::persist_outgoing(Session& s, const Outgoing& o) {
  std::string* j = journal_for(s);
  if (!j) return;
  if (!o.pubrec_received && o.msg) persist_message(*j, o.msg);
  persist::put_out_add(*j, s.client_id(), o);
}

void Broker::persist_retained(const MessagePtr& msg, bool erased) {
  if (!persist_ || is_sys_topic(msg->topic)) return;
  std::string* j = journal_any();
  if (msg->payload.empty()) {
    if (erased) persist::put_retain_del(*j, msg->topic);
    return;
  }
  persist_message(*j, msg);
  persist::put_retain_set(*j, msg->topic, msg->store_id);
}

namespace {

persist::StoredSession session_meta(const Session& s) {
  persist::StoredSession m;
  m.username = s.username.value_or_empty();
  m.has_username = bool(s.username);
  m.version = uint8_t(s.version);
  m.expiry_interval = s.expiry_interval;
  m.disconnect_unix_ms = s.connection_id ? 0 : s.disconnected_unix_ms;
  return m;
}

}  // namespace

void Broker::persist_session_attached(Session& s) {
  if (!persist_) return;
  std::string& j = persist_->journal.pending();
  persist_->changes++;
  if (s.expiry_interval == 0) {
    // Ends at disconnect: not stored (any stored copy goes now).
    if (s.persisted) persist::put_session_del(j, s.client_id());
    s.persisted = false;
    return;
  }
  persist::put_session(j, s.client_id(), session_meta(s));
  if (s.persisted) return;
  // Newly stored (possibly a session that existed unstored): write all of it.
  s.persisted = true;
  for (const auto& e : s.subscriptions()) persist::put_sub_add(j, s.client_id(), e.key(), e.sub());
  for (Outgoing& o : s.flow.inflight) persist_outgoing(s, o);
  for (Outgoing& o : s.flow.queue) persist_outgoing(s, o);
  for (const auto& [pid, held] : s.incoming_qos2) {
    if (held) persist_message(j, held);
    persist::put_qos2_in(j, s.client_id(), pid, held ? held->store_id : 0);
  }
}

std::string Broker::persist_serialize(uint64_t generation, uint64_t tag) {
  std::string out;
  persist::append_header(out, persist::Header{persist::FileKind::kSnapshot, generation});
  uint64_t n = 0;
  persist::put_meta(out, next_store_id_);
  n++;
  auto put_msg = [&](const MessagePtr& m) {
    if (m->persist_gen == tag) return;
    persist::put_message(out, *m);
    m->persist_gen = tag;
    n++;
  };
  std::vector<MessagePtr> batch;
  RetainedCursor cursor = retained_.cursor_all();
  while (!cursor.done()) {
    batch.clear();
    cursor.next(batch, 4096);
    for (const MessagePtr& m : batch) {
      if (is_sys_topic(m->topic)) continue;
      put_msg(m);
      persist::put_retain_set(out, m->topic, m->store_id);
      n++;
    }
  }
  sessions_.for_each([&](Session& s) {
    const std::string& cid = s.client_id();
    if (!s.persisted) return;
    persist::put_session(out, cid, session_meta(s));
    n++;
    for (const auto& e : s.subscriptions()) {
      persist::put_sub_add(out, cid, e.key(), e.sub());
      n++;
    }
    auto put_out = [&](const Outgoing& o) {
      if (!o.pubrec_received && o.msg) put_msg(o.msg);
      persist::put_out_add(out, cid, o);
      n++;
    };
    for (Outgoing& o : s.flow.inflight) put_out(o);
    for (Outgoing& o : s.flow.queue) put_out(o);
    for (const auto& [pid, held] : s.incoming_qos2) {
      if (held) put_msg(held);
      persist::put_qos2_in(out, cid, pid, held ? held->store_id : 0);
      n++;
    }
  });
  for (const auto& b : bridges_) {
    for (const persist::StoredBridgeOut& o : b->stored_entries()) {
      if (o.msg) put_msg(o.msg);
      persist::put_bridge_add(out, b->config().name, o);
      n++;
    }
  }
  persist::put_end(out, n);
  return out;
}

Status Broker::persist_save(const char* why) {
  persist::Store& p = *persist_;
  int64_t t0 = loop_.now_ms();
  uint64_t gen = p.generation + 1;
  uint64_t tag = ++p.tag_counter;
  std::string data = persist_serialize(gen, tag);
  MQ_LOG(kLogNotice, "Saving in-memory database to %s (%s).", p.snapshot_path.c_str(), why);
  if (Status st = persist::write_file_durably(p.snapshot_path, data); !st.ok()) {
    std::string why = access_problem(p.snapshot_path + ".new", true);
    MQ_LOG(kLogError, "Error saving in-memory database: %s.%s%s", st.error().context.c_str(),
           why.empty() ? "" : "\nError: ", why.empty() ? "" : (why + ".").c_str());
    return st;
  }
  // The new snapshot is live: the old journal's records are in it, and it is stale now.
  p.generation = gen;
  if (Status st = p.journal.start(p.journal_path, gen); !st.ok()) {
    MQ_LOG(kLogError, "Error starting persistence journal: %s.", st.error().context.c_str());
    p.broken = true;
    return st;
  }
  p.journal.drop_pending();  // what they described is in the snapshot
  p.tag = tag;
  p.changes = 0;
  p.last_save_ms = loop_.now_ms();
  p.snapshot_bytes = data.size();
  if (p.broken) MQ_LOG(kLogNotice, "Persistence recovered: snapshot saved.");
  p.broken = false;
  MQ_LOG(kLogDebug, "Snapshot of %zu bytes written in %" PRId64 " ms.", data.size(),
         loop_.now_ms() - t0);
  return {};
}

void Broker::save_now() {
  if (persist_) (void)persist_save("SIGUSR1");
}

void Broker::persist_refuse_unkept() {
  // The records of this iteration are not stored: nothing they acknowledge may leave. The
  // clients will send again (QoS 1/2, SUBSCRIBE, CONNECT) once they reconnect.
  std::vector<Connection*> waiting = dirty_;
  for (Connection* c : closing_) c->out().clear();  // reap_closed would make a last write
  for (Connection* c : waiting) {
    if (!c->open()) continue;
    c->out().clear();
    c->close("disconnected: persistence failed, acknowledgement withheld.");
  }
}

void Broker::persist_commit() {
  if (!persist_) return;
  persist::Store& p = *persist_;
  if (!p.journal.has_pending()) return;
  if (p.broken) {
    int64_t now = loop_.now_ms();
    if (now - p.last_attempt_ms >= 1000) {
      p.last_attempt_ms = now;
      if (persist_save("recovering from a failed write").ok()) return;
    }
    p.journal.drop_pending();
    persist_refuse_unkept();
    return;
  }
  // With persistence_fsync the fdatasync runs on the sync worker and this iteration's output
  // waits for it; without a worker (none could start) it runs here.
  const bool async_sync = config_.persistence_fsync && sync_worker_ && !shutting_down_;
  Status st = p.journal.commit(config_.persistence_fsync && !async_sync);
  if (!st.ok()) {
    MQ_LOG(kLogError,
           "Error: persistence: %s. Not acknowledging what cannot be stored until a snapshot "
           "succeeds.",
           st.error().context.c_str());
    p.broken = true;
    p.last_attempt_ms = loop_.now_ms();
    persist_refuse_unkept();
    return;
  }
  if (async_sync) persist_hold_for_sync();
  if (p.journal.size() > kCompactJournalBytes && p.journal.size() > 2 * p.snapshot_bytes)
    (void)persist_save("journal compaction");
}

void Broker::persist_hold_for_sync() {
  persist::Store& p = *persist_;
  const uint64_t seq = ++p.sync_requested;
  // Every connection with output now may carry an acknowledgement of what was just written.
  for (Connection* c : dirty_) {
    if (!c->open() || c->output_held()) continue;
    c->hold_output();
    held_.push_back({c->id(), seq});
  }
  persist_start_sync();
}

void Broker::persist_start_sync() {
  persist::Store& p = *persist_;
  if (p.sync_in_flight || p.sync_done >= p.sync_requested) return;
  const uint64_t seq = p.sync_requested;
  // A duplicate descriptor: a snapshot may replace (and close) the journal meanwhile; syncing
  // the old file is still what the held acknowledgements need.
  int fd = p.journal.is_open() ? ::dup(p.journal.fd()) : -1;
  if (fd < 0) {
    persist_synced(seq, false, errno ? errno : EBADF);
    return;
  }
  p.sync_in_flight = true;
  sync_worker_->submit([this, fd, seq] {
    bool ok = ::fdatasync(fd) == 0;
    int err = ok ? 0 : errno;
    ::close(fd);
    loop_.post([this, seq, ok, err] { persist_synced(seq, ok, err); });
  });
}

void Broker::persist_synced(uint64_t seq, bool ok, int err) {
  if (!persist_) return;
  persist::Store& p = *persist_;
  p.sync_in_flight = false;
  if (!ok) {
    MQ_LOG(kLogError,
           "Error: persistence: cannot fdatasync journal %s: %s. Not acknowledging what cannot "
           "be stored until a snapshot succeeds.",
           p.journal_path.c_str(), strerror(err));
    p.broken = true;
    p.last_attempt_ms = loop_.now_ms();
    for (const HeldOutput& h : held_) {
      Connection* c = connections_.find(h.connection_id);
      if (!c || !c->open()) continue;
      c->out().clear();
      c->release_output();
      c->close("disconnected: persistence failed, acknowledgement withheld.");
    }
    held_.clear();
    p.sync_done = p.sync_requested;
    return;
  }
  if (seq > p.sync_done) p.sync_done = seq;
  size_t kept = 0;
  for (const HeldOutput& h : held_) {
    if (h.sync_seq > p.sync_done) {
      held_[kept++] = h;
      continue;
    }
    Connection* c = connections_.find(h.connection_id);
    if (!c) continue;
    c->release_output();
    mark_dirty(*c);
  }
  held_.resize(kept);
  persist_start_sync();
}

void Broker::persist_tick() {
  autosave_timer_ = loop_.add_timer_in(1000, [this] { persist_tick(); });
  persist::Store& p = *persist_;
  if (p.broken || p.changes == 0 || config_.autosave_interval <= 0) return;
  if (config_.autosave_on_changes) {
    if (p.changes >= uint64_t(config_.autosave_interval)) (void)persist_save("autosave");
  } else if (loop_.now_ms() - p.last_save_ms >= int64_t(config_.autosave_interval) * 1000) {
    (void)persist_save("autosave");
  }
}

void Broker::persist_install(persist::State& st) {
  int64_t now = clock_.unix_time() * 1000;
  next_store_id_ = std::max(next_store_id_, st.next_store_id);
  size_t retained = 0, sessions = 0, expired = 0;
  // Held by the broker from now on (those nothing refers to go with `st`).
  for (auto& [id, m] : st.messages) m->tally.count(m->payload.size());
  for (auto& [topic, id] : st.retained) {
    auto it = st.messages.find(id);
    if (it == st.messages.end()) continue;
    const MessagePtr& m = it->second;
    if (m->expiry_unix_ms != 0 && m->expiry_unix_ms <= now) continue;
    retained_.set(topic, m);
    retained++;
  }
  std::shared_ptr<const AclFile> acl;
  if (!config_.per_listener_settings && !listeners_.empty()) acl = listeners_[0]->security->acl;
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
    Session& s = sessions_.add(cid);
    if (ss.has_username) s.username.emplace(ss.username);
    s.version = codec::ProtocolVersion(ss.version);
    s.expiry_interval = interval;
    s.disconnected_unix_ms = gone;
    s.acl = acl;
    s.persisted = true;
    for (auto& [key, sub] : ss.subscriptions) {
      subs_.subscribe(sub.filter, s.id(), sub.options, sub.share_group());
      s.put_subscription(key, sub);
    }
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
    if (interval != Session::kNeverExpires) sessions_.arm_expiry(s, left_ms);
    sessions++;
  }
  MQ_LOG(kLogNotice,
         "Restored %zu retained messages and %zu persistent sessions (%zu expired while the "
         "broker was down).",
         retained, sessions, expired);
  for (auto& [name, queue] : st.bridges) {
    auto b = std::find_if(bridges_.begin(), bridges_.end(),
                          [&](const auto& br) { return br->config().name == name; });
    if (b != bridges_.end()) {
      (*b)->restore(queue);
    } else {
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
// stays in place until persist_start replaces it with mq's snapshot (atomically), so a crash
// in between converts it again at the next start; the backup is a hard link (the same file,
// owner and mode), or a copy where links are not possible.
// With `dry_run` (--test-config) nothing is written: the file is only read and checked.
Result<persist::State> import_mosquitto(const std::string& path, std::string_view data,
                                        int64_t now_unix_s, bool dry_run) {
  auto im = persist::parse_mosquitto_db(data, now_unix_s);
  if (!im.ok()) return im.error();
  if (dry_run) {
    MQ_LOG(kLogNotice, "Mosquitto persistence file %s (format version %u) would be converted: %s.",
           path.c_str(), im->version, persist::describe(im->counts).c_str());
    return std::move(im->state);
  }
  std::string backup = free_backup_name(path);
  if (link(path.c_str(), backup.c_str()) != 0) {
    if (Status st = persist::write_file_durably(backup, data); !st.ok())
      return make_error(ErrorKind::kIo, "cannot keep the Mosquitto file as " + backup + ": " +
                                            st.error().context);
  } else if (Status st = persist::sync_parent_dir(backup); !st.ok()) {
    return make_error(ErrorKind::kIo, st.error().context);
  }
  MQ_LOG(kLogNotice,
         "Converting Mosquitto persistence file %s (format version %u): %s. The original is "
         "kept as %s.",
         path.c_str(), im->version, persist::describe(im->counts).c_str(), backup.c_str());
  return std::move(im->state);
}

}  // namespace

Status Broker::persist_load(persist::State& state, bool dry_run) {
  persist_ = std::make_unique<persist::Store>();
  persist::Store& p = *persist_;
  p.snapshot_path = config_.persistence_filepath;
  p.journal_path = p.snapshot_path + ".journal";
  uint64_t gen = 0;
  auto snap = persist::read_file(p.snapshot_path);
  if (snap.ok()) {
    const bool from_mosquitto = persist::is_mosquitto_db(*snap);
    auto parsed = from_mosquitto ? import_mosquitto(p.snapshot_path, *snap, clock_.unix_time(), dry_run)
                                 : persist::parse_snapshot(*snap, &gen);
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
  auto jdata = persist::read_file(p.journal_path);
  if (jdata.ok()) {
    persist::ReplayResult r = persist::replay_journal(*jdata, gen, state);
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

void Broker::persist_start(persist::State& state) {
  persist::Store& p = *persist_;
  int64_t t0 = loop_.now_ms();
  persist_install(state);
  state = persist::State();  // frees messages nothing refers to
  if (config_.persistence_fsync) sync_worker_ = std::make_unique<AuthWorker>(1);
  // A fresh snapshot folds the journal in (and drops any torn tail for good). If it cannot be
  // written the broker still runs, but acknowledges nothing that needs the store until a
  // snapshot succeeds; the files on disk stay as they were, so nothing is lost meanwhile.
  if (!persist_save("start-up").ok()) {
    p.broken = true;
    p.last_attempt_ms = loop_.now_ms();
  }
  MQ_LOG(kLogNotice, "Persistence loaded from %s in %" PRId64 " ms.", p.snapshot_path.c_str(),
         loop_.now_ms() - t0);
  autosave_timer_ = loop_.add_timer_in(1000, [this] { persist_tick(); });
}

}  // namespace mq::broker
