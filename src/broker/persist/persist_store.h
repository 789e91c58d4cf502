// The broker's persistence state: the live journal, the file paths and generation, and the
// counters that decide when to take the next snapshot. The logic that uses it (what to
// journal, recovery, snapshots) is persist::Keeper's (keeper.h).
// Owned by the Keeper (null when `persistence false`); loop thread only.
#pragma once

#include <cstdint>
#include <string>

#include "broker/persist/persist_journal.h"

namespace mq::broker::persist {

struct Store {
  std::string snapshot_path;
  std::string journal_path;
  JournalWriter journal;
  uint64_t generation = 0;  // of the live snapshot and journal
  // Message::persist_gen value meaning "its record is in the live snapshot or journal". A fresh
  // tag per snapshot attempt, so a failed attempt never leaves messages marked as stored.
  uint64_t tag = 0;
  uint64_t tag_counter = 0;
  uint64_t changes = 0;         // records journaled since the last snapshot
  int64_t last_save_ms = 0;     // loop clock
  uint64_t snapshot_bytes = 0;  // size of the last snapshot
  // A journal write failed (or a new journal could not be started): nothing more is
  // acknowledged that depends on the store until a snapshot succeeds.
  bool broken = false;
  int64_t last_attempt_ms = -1'000'000;
  // persistence_fsync: commits written (numbered) and the highest one known synced. The
  // fdatasync runs on the sync worker; acknowledgements wait for it (Keeper::held_).
  uint64_t sync_requested = 0;
  uint64_t sync_done = 0;
  bool sync_in_flight = false;
};

}  // namespace mq::broker::persist
