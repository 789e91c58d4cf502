// persist::Keeper: the broker's persistence, one object. It owns the Store (journal, file paths,
// generation), autosave, the group commit before each loop iteration's output, and the
// fdatasync holds of persistence_fsync; it decides what is journaled when, recovers the stored
// state at start-up and writes snapshots. It reaches the broker only through KeeperHost, the
// way the session table reaches it through SessionEvents.
// Ownership: the Broker owns one Keeper (disabled, with no Store, when `persistence false`) and
// implements KeeperHost; the Keeper holds the host by reference and never outlives it.
// Threading: loop thread only, except the fdatasync job it gives its sync worker.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "broker/auth/auth_worker.h"
#include "broker/config/config.h"
#include "broker/message.h"
#include "broker/persist/persist_records.h"
#include "broker/persist/persist_store.h"
#include "broker/session.h"
#include "net/loop.h"

namespace mq::broker::persist {

// What the keeper reads of the broker and asks it to do. Called on the loop thread, from the
// Keeper's calls and timers only.
class KeeperHost {
 public:
  // --- what a snapshot holds, read in this order ---------------------------------------------
  virtual uint64_t next_store_id() const = 0;
  // Retained messages in batches: one call per batch, not per message, for large stores.
  virtual void for_each_retained(
      const std::function<void(const std::vector<MessagePtr>&)>& fn) = 0;
  virtual void for_each_session(const std::function<void(Session&)>& fn) = 0;
  // Every entry queued for a bridge's remote, by bridge name.
  virtual void for_each_bridge_entry(
      const std::function<void(const std::string& bridge, const StoredBridgeOut&)>& fn) = 0;

  // --- installing the stored state at start-up (before any client is accepted) -------------
  virtual void raise_next_store_id(uint64_t at_least) = 0;
  virtual void restore_retained(const std::string& topic, const MessagePtr& msg) = 0;
  // A new, empty session in the table, with the ACL a restored session starts with.
  virtual Session& restore_session(const std::string& client_id) = 0;
  virtual void restore_subscription(Session& s, const std::string& key,
                                    const SessionSubscription& sub) = 0;
  virtual void arm_session_expiry(Session& s, int64_t left_ms) = 0;
  // False when no bridge has that name any more (the queue is then dropped).
  virtual bool restore_bridge_queue(const std::string& bridge,
                                    std::map<uint64_t, StoredBridgeOut>& queue) = 0;

  // --- output that acknowledges what the journal holds -------------------------------------
  // This iteration's records are not stored: close every connection with output waiting
  // (dirty or closing) without sending it.
  virtual void refuse_unkept_output() = 0;
  // Holds the output of every open connection with output waiting and not already held;
  // appends their ids to `held`.
  virtual void hold_waiting_output(std::vector<uint64_t>& held) = 0;
  // The journal is synced: connection `id` (if it still exists) may send its output.
  virtual void release_output(uint64_t connection_id) = 0;
  // The sync failed: connection `id` (if still open) is closed without its held output.
  virtual void drop_held_output(uint64_t connection_id) = 0;

 protected:
  ~KeeperHost() = default;
};

class Keeper {
 public:
  Keeper(const Config& config, net::EventLoop& loop, KeeperHost& host)
      : config_(config), loop_(loop), host_(host) {}
  ~Keeper();
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

  bool enabled() const { return store_ != nullptr; }

  // --- life cycle ---------------------------------------------------------------------------
  // Start-up, with persistence: load() reads the snapshot and replays the journal into `state`
  // (before any socket is bound, so a corrupt file stops start-up early) and enables the
  // keeper; start() installs `state` through the host, writes a fresh snapshot and arms
  // autosave, before the loop runs.
  [[nodiscard]] Status load(State& state);
  void start(State& state);
  // --test-config: load() that reads and parses but renames and writes nothing; the keeper
  // stays disabled.
  [[nodiscard]] Status check();
  // Before-sleep hook, before any output is flushed: one write(2) of this iteration's records
  // (group commit). No-op when disabled.
  void commit();
  // Broker shutdown: commits, and syncs here what still waits for the sync worker. The final
  // snapshot is save_now("shutdown"), after the last output is flushed.
  void shutdown();
  // A snapshot now (and a compacted journal): SIGUSR1, shutdown. No-op when disabled.
  void save_now(const char* why) {
    if (store_) (void)save(why);
  }

  // --- the journal (null or no-op when disabled) --------------------------------------------
  // The journal buffer for a change to session `s`, or null when it is not stored.
  std::string* journal(const Session& s) {
    if (!store_ || !s.persisted) return nullptr;
    store_->changes++;
    return &store_->journal.pending();
  }
  // The journal buffer for a change that is always stored (retained, bridges), or null.
  std::string* journal_any() {
    if (!store_) return nullptr;
    store_->changes++;
    return &store_->journal.pending();
  }
  // Appends the record of `msg` to `out` unless the live snapshot or journal holds it.
  // REQUIRES: enabled().
  void put_message(std::string& out, const MessagePtr& msg) {
    if (msg->persist_gen == store_->tag) return;
    put_message_record(out, msg);
  }
  // An entry entered session `s`'s queue or window.
  void outgoing(Session& s, const Outgoing& o) {
    if (std::string* j = journal(s)) put_outgoing(*j, s, o);
  }
  // A session was created or resumed by a CONNECT: stored (whole, the first time) when it
  // outlives its connection, forgotten when it does not.
  void session_attached(Session& s);
  // A retained message was set, or cleared (`erased`: something was there).
  void retained(const MessagePtr& msg, bool erased) {
    if (store_) retained_changed(msg, erased);
  }

 private:
  [[nodiscard]] Status load(State& state, bool dry_run);
  void install(State& state);
  [[nodiscard]] Status save(const char* why);
  std::string serialize(uint64_t generation, uint64_t tag);
  void put_message_record(std::string& out, const MessagePtr& msg);
  void put_outgoing(std::string& j, Session& s, const Outgoing& o);
  void retained_changed(const MessagePtr& msg, bool erased);
  void tick();  // autosave, once a second
  // persistence_fsync off the loop thread: holds the output of this iteration's waiting
  // connections until the sync worker's fdatasync of the journal completes.
  void hold_for_sync();
  void start_sync();
  void synced(uint64_t seq, bool ok, int err);

  const Config& config_;
  net::EventLoop& loop_;
  KeeperHost& host_;
  std::unique_ptr<Store> store_;  // null: disabled
  net::TimerId autosave_timer_ = 0;
  bool stopping_ = false;  // shutdown: syncs run on the loop thread
  struct HeldOutput {
    uint64_t connection_id;
    uint64_t sync_seq;  // released once Store::sync_done reaches it
  };
  std::vector<HeldOutput> held_;
  std::unique_ptr<AuthWorker> sync_worker_;  // one thread: journal fdatasync
};

}  // namespace mq::broker::persist
