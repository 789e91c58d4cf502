// The journal: an append-only file of persistence records written between snapshots.
// JournalWriter buffers records in memory; the broker calls commit() once per loop iteration,
// before it flushes any connection's output, so one write(2) (and, with persistence_fsync, one
// fdatasync) covers every acknowledgement of that iteration (group commit).
// replay_journal() applies a journal's valid prefix to a State.
// Threading: a JournalWriter belongs to the broker loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "broker/persist/persist_records.h"

namespace mq::broker::persist {

class JournalWriter {
 public:
  JournalWriter() = default;
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Creates a fresh journal of `generation` at `path` (durably: written as <path>.new, synced,
  // renamed) and makes it the file appended to; the previous file, if any, is closed.
  [[nodiscard]] Status start(const std::string& path, uint64_t generation);
  bool is_open() const { return fd_ >= 0; }

  // Records waiting for commit(); encoders append here.
  std::string& pending() { return pending_; }
  bool has_pending() const { return !pending_.empty(); }
  // Discards the pending records (a snapshot now holds what they described).
  void drop_pending() { pending_.clear(); }

  // Writes the pending records (and fdatasyncs when `sync`). On failure the file is cut back
  // to its last committed length, the pending records are dropped, and the error says why.
  [[nodiscard]] Status commit(bool sync);

  uint64_t size() const { return size_; }  // committed bytes, header included
  int fd() const { return fd_; }            // for an fdatasync on another thread (dup it)

 private:
  int fd_ = -1;
  std::string path_;
  std::string pending_;
  uint64_t size_ = 0;
};

struct ReplayResult {
  uint64_t records = 0;        // applied
  uint64_t dropped_bytes = 0;  // torn or corrupt tail cut off
  std::string problem;         // why the tail was cut (empty when the file ended cleanly)
  bool stale = false;          // generation differs from the snapshot's: ignored entirely
};

// Applies the records of journal bytes `data` to `state`, up to the first torn or damaged
// record. A missing or damaged header counts as a dropped tail of the whole file.
ReplayResult replay_journal(std::string_view data, uint64_t generation, State& state);

}  // namespace mq::broker::persist
