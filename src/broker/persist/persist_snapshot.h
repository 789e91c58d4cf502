// Snapshot files: reading one into a persist::State, and writing a file so that a crash at any
// moment leaves either the old or the new file whole (write <path>.new, fsync, rename, fsync
// the directory). Also the whole-file read used for journals.
// Blocking file I/O; call from one thread at a time. No logging: errors are returned.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "broker/persist/persist_records.h"

namespace mq::broker::persist {

// Parses snapshot bytes. Any damage (bad header, torn or bad record, missing or wrong kEnd,
// bytes after it) fails with kMalformed and a context naming the byte offset.
[[nodiscard]] Result<State> parse_snapshot(std::string_view data, uint64_t* generation);

// Reads a whole file. kNotFound when it does not exist.
[[nodiscard]] Result<std::string> read_file(const std::string& path);

// Replaces `path` atomically and durably with `data` (mode 0600).
[[nodiscard]] Status write_file_durably(const std::string& path, std::string_view data);

// fsyncs the directory holding `path`, so a rename or creation in it is durable.
[[nodiscard]] Status sync_parent_dir(const std::string& path);

}  // namespace mq::broker::persist
