// persist::Keeper (keeper.h): what is journaled when, recovery at start-up, snapshots.
//
// Design note. Every change that must survive a crash (a QoS 1/2 message queued for or in
// flight to a persistent session, a retained message, a subscription, a session's creation,
// disconnection or end, QoS 2 packet identifiers received and not released) appends a record
// to the journal's in-memory buffer while the packet is handled. The before-sleep hook calls
// Keeper::commit() BEFORE flush_dirty(): one write(2) per loop iteration puts every record of
// that iteration in the kernel before any PUBACK, PUBREC, SUBACK or CONNACK (or PUBLISH with a
// packet identifier) leaves, so kill -9 loses nothing acknowledged. With persistence_fsync the
// journal is also fdatasync'd once for all acknowledgements of the iteration (group commit),
// on the sync worker thread: the output of that iteration's dirty connections is held
// (KeeperHost::hold_waiting_output) until the sync completes, while the loop goes on serving
// others.
// If a write fails the acknowledgements of that iteration are withheld (their connections are
// closed without their output) and so is everything else that needs the store, until a
// snapshot succeeds (retried at most once a second).
// Snapshots (autosave, SIGUSR1, shutdown, start-up, journal growth) serialise the whole state,
// write it durably (temp file, fsync, rename, directory fsync) with the next generation, then
// start an empty journal of that generation; a journal of another generation is stale.
// Recovery at start-up (load, install, start) is in keeper_load.cc.
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>

#include "base/file.h"
#include "base/log.h"
#include "broker/persist/keeper.h"
#include "broker/persist/persist_format.h"
#include "broker/persist/persist_records.h"
#include "broker/persist/persist_snapshot.h"

namespace mq::broker::persist {

namespace {

bool is_sys_topic(std::string_view topic) {
  return topic.starts_with("$SYS/");
}

// A journal larger than this (and than twice the last snapshot) triggers a snapshot.
constexpr uint64_t kCompactJournalBytes = 64ull << 20;

StoredSession session_meta(const Session& s) {
  StoredSession m;
  m.username = s.username.value_or_empty();
  m.has_username = bool(s.username);
  m.version = uint8_t(s.version);
  m.expiry_interval = s.expiry_interval;
  m.disconnect_unix_ms = s.connection_id ? 0 : s.disconnected_unix_ms;
  return m;
}

}  // namespace

Keeper::~Keeper() {
  if (autosave_timer_) loop_.cancel_timer(autosave_timer_);
}

void Keeper::put_message_record(std::string& out, const MessagePtr& msg) {
  persist::put_message(out, *msg);
  msg->persist_gen = store_->tag;
}

void Keeper::put_outgoing(std::string& j, Session& s, const Outgoing& o) {
  if (!o.pubrec_received && o.msg) put_message(j, o.msg);  // unless stored already
  put_out_add(j, s.client_id(), o);
}

void Keeper::retained_changed(const MessagePtr& msg, bool erased) {
  if (is_sys_topic(msg->topic)) return;
  std::string* j = journal_any();
  if (msg->payload.empty()) {
    if (erased) put_retain_del(*j, msg->topic);
    return;
  }
  put_message(*j, msg);
  put_retain_set(*j, msg->topic, msg->store_id);
}

void Keeper::session_attached(Session& s) {
  if (!store_) return;
  std::string& j = store_->journal.pending();
  store_->changes++;
  if (s.expiry_interval == 0) {
    // Ends at disconnect: not stored (any stored copy goes now).
    if (s.persisted) put_session_del(j, s.client_id());
    s.persisted = false;
    return;
  }
  put_session(j, s.client_id(), session_meta(s));
  if (s.persisted) return;
  // Newly stored (possibly a session that existed unstored): write all of it.
  s.persisted = true;
  for (const auto& e : s.subscriptions()) put_sub_add(j, s.client_id(), e.key(), e.sub());
  for (Outgoing& o : s.flow.inflight) outgoing(s, o);
  for (Outgoing& o : s.flow.queue) outgoing(s, o);
  for (const auto& [pid, held] : s.incoming_qos2) {
    if (held) put_message(j, held);
    put_qos2_in(j, s.client_id(), pid, held ? held->store_id : 0);
  }
}

std::string Keeper::serialize(uint64_t generation, uint64_t tag) {
  std::string out;
  append_header(out, Header{FileKind::kSnapshot, generation});
  uint64_t n = 0;
  put_meta(out, host_.next_store_id());
  n++;
  auto put_msg = [&](const MessagePtr& m) {
    if (m->persist_gen == tag) return;
    persist::put_message(out, *m);
    m->persist_gen = tag;
    n++;
  };
  host_.for_each_retained([&](const std::vector<MessagePtr>& batch) {
    for (const MessagePtr& m : batch) {
      if (is_sys_topic(m->topic)) continue;
      put_msg(m);
      put_retain_set(out, m->topic, m->store_id);
      n++;
    }
  });
  host_.for_each_session([&](Session& s) {
    const std::string& cid = s.client_id();
    if (!s.persisted) return;
    put_session(out, cid, session_meta(s));
    n++;
    for (const auto& e : s.subscriptions()) {
      put_sub_add(out, cid, e.key(), e.sub());
      n++;
    }
    auto put_out = [&](const Outgoing& o) {
      if (!o.pubrec_received && o.msg) put_msg(o.msg);
      put_out_add(out, cid, o);
      n++;
    };
    for (Outgoing& o : s.flow.inflight) put_out(o);
    for (Outgoing& o : s.flow.queue) put_out(o);
    for (const auto& [pid, held] : s.incoming_qos2) {
      if (held) put_msg(held);
      put_qos2_in(out, cid, pid, held ? held->store_id : 0);
      n++;
    }
  });
  host_.for_each_bridge_entry([&](const std::string& bridge, const StoredBridgeOut& o) {
    if (o.msg) put_msg(o.msg);
    put_bridge_add(out, bridge, o);
    n++;
  });
  put_end(out, n);
  return out;
}

Status Keeper::save(const char* why) {
  Store& p = *store_;
  int64_t t0 = loop_.now_ms();
  uint64_t gen = p.generation + 1;
  uint64_t tag = ++p.tag_counter;
  std::string data = serialize(gen, tag);
  MQ_LOG(kLogNotice, "Saving in-memory database to %s (%s).", p.snapshot_path.c_str(), why);
  if (Status st = write_file_durably(p.snapshot_path, data); !st.ok()) {
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

void Keeper::commit() {
  if (!store_) return;
  Store& p = *store_;
  if (!p.journal.has_pending()) return;
  if (p.broken) {
    int64_t now = loop_.now_ms();
    if (now - p.last_attempt_ms >= 1000) {
      p.last_attempt_ms = now;
      if (save("recovering from a failed write").ok()) return;
    }
    p.journal.drop_pending();
    // The records of this iteration are not stored: nothing they acknowledge may leave. The
    // clients will send again (QoS 1/2, SUBSCRIBE, CONNECT) once they reconnect.
    host_.refuse_unkept_output();
    return;
  }
  // With persistence_fsync the fdatasync runs on the sync worker and this iteration's output
  // waits for it; without a worker (none could start) it runs here.
  const bool async_sync = config_.persistence_fsync && sync_worker_ && !stopping_;
  Status st = p.journal.commit(config_.persistence_fsync && !async_sync);
  if (!st.ok()) {
    MQ_LOG(kLogError,
           "Error: persistence: %s. Not acknowledging what cannot be stored until a snapshot "
           "succeeds.",
           st.error().context.c_str());
    p.broken = true;
    p.last_attempt_ms = loop_.now_ms();
    host_.refuse_unkept_output();
    return;
  }
  if (async_sync) hold_for_sync();
  if (p.journal.size() > kCompactJournalBytes && p.journal.size() > 2 * p.snapshot_bytes)
    (void)save("journal compaction");
}

void Keeper::shutdown() {
  stopping_ = true;
  commit();
  if (store_ && !held_.empty()) {
    // Acknowledgements still waiting for the sync worker: sync here, then let them go.
    bool ok = store_->journal.is_open() && ::fdatasync(store_->journal.fd()) == 0;
    synced(store_->sync_requested, ok, ok ? 0 : errno);
  }
}

void Keeper::hold_for_sync() {
  const uint64_t seq = ++store_->sync_requested;
  // Every connection with output now may carry an acknowledgement of what was just written.
  std::vector<uint64_t> ids;
  host_.hold_waiting_output(ids);
  for (uint64_t id : ids) held_.push_back({id, seq});
  start_sync();
}

void Keeper::start_sync() {
  Store& p = *store_;
  if (p.sync_in_flight || p.sync_done >= p.sync_requested) return;
  const uint64_t seq = p.sync_requested;
  // A duplicate descriptor: a snapshot may replace (and close) the journal meanwhile; syncing
  // the old file is still what the held acknowledgements need.
  int fd = p.journal.is_open() ? ::dup(p.journal.fd()) : -1;
  if (fd < 0) {
    synced(seq, false, errno ? errno : EBADF);
    return;
  }
  p.sync_in_flight = true;
  sync_worker_->submit([this, fd, seq] {
    bool ok = ::fdatasync(fd) == 0;
    int err = ok ? 0 : errno;
    ::close(fd);
    loop_.post([this, seq, ok, err] { synced(seq, ok, err); });
  });
}

void Keeper::synced(uint64_t seq, bool ok, int err) {
  if (!store_) return;
  Store& p = *store_;
  p.sync_in_flight = false;
  if (!ok) {
    MQ_LOG(kLogError,
           "Error: persistence: cannot fdatasync journal %s: %s. Not acknowledging what cannot "
           "be stored until a snapshot succeeds.",
           p.journal_path.c_str(), strerror(err));
    p.broken = true;
    p.last_attempt_ms = loop_.now_ms();
    for (const HeldOutput& h : held_) host_.drop_held_output(h.connection_id);
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
    host_.release_output(h.connection_id);
  }
  held_.resize(kept);
  start_sync();
}

void Keeper::tick() {
  autosave_timer_ = loop_.add_timer_in(1000, [this] { tick(); });
  Store& p = *store_;
  if (p.broken || p.changes == 0 || config_.autosave_interval <= 0) return;
  if (config_.autosave_on_changes) {
    if (p.changes >= uint64_t(config_.autosave_interval)) (void)save("autosave");
  } else if (loop_.now_ms() - p.last_save_ms >= int64_t(config_.autosave_interval) * 1000) {
    (void)save("autosave");
  }
}

}  // namespace mq::broker::persist
