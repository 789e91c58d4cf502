// Persistence on-disk format, shared by the snapshot and the journal: a versioned file header
// and length-prefixed, CRC32C-checksummed records, little-endian throughout.
//
//   header (28 bytes): magic "MQDB\r\n\x1a\n" | u32 format version (1) | u32 file kind
//                      (1 snapshot, 2 journal) | u64 generation | u32 crc32c(previous 24 bytes)
//   record:            u32 length of body | u32 crc32c(body) | body = u8 type + payload
//
// A snapshot and the journal that follows it share one generation number; a journal whose
// generation differs from the snapshot's is stale (already folded into the snapshot).
// Pure functions and value types: no I/O, no logging; every read is bounds-checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace mq::broker::persist {

inline constexpr char kMagic[8] = {'M', 'Q', 'D', 'B', '\r', '\n', '\x1a', '\n'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kRecordOverhead = 8;  // length + crc
// A record body larger than this is taken as corruption (MQTT payloads are < 256 MiB).
inline constexpr uint32_t kMaxRecordBody = 300u << 20;

enum class FileKind : uint32_t { kSnapshot = 1, kJournal = 2 };

// CRC-32C (Castagnoli), software table; `crc` chains calls (start with 0).
uint32_t crc32c(std::string_view data, uint32_t crc = 0);

struct Header {
  FileKind kind = FileKind::kSnapshot;
  uint64_t generation = 0;
};

void append_header(std::string& out, const Header& h);
// Fails (kMalformed, context says why) on a short, foreign, damaged or newer-version header.
[[nodiscard]] Result<Header> parse_header(std::string_view data);

// Little-endian writer; appends to a caller-owned string.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(char(v)); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void i64(int64_t v) { u64(uint64_t(v)); }
  void str(std::string_view s);  // u32 length + bytes

 private:
  std::string& out_;
};

// Bounds-checked little-endian reader over a view; after any failed read ok() is false and
// every later read returns zero / empty. The view must outlive the reader.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  uint64_t u64();
  int64_t i64() { return int64_t(u64()); }
  std::string_view str();
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == data_.size(); }

 private:
  bool take(size_t n);
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Frames one record: call begin(), write the body through a Writer on `out`, then end().
// Begin returns the offset to pass to end().
size_t begin_record(std::string& out, uint8_t type);
void end_record(std::string& out, size_t start);

// Splits a buffer of records (after the header). next() returns false at the end of the data
// or at the first record that is torn (short) or damaged (bad length or checksum); then
// error() says which, and offset() is where the valid prefix ends.
class RecordScanner {
 public:
  explicit RecordScanner(std::string_view data) : data_(data) {}
  // On true, `type` and `payload` (a view into the data) describe the record.
  bool next(uint8_t* type, std::string_view* payload);
  size_t offset() const { return pos_; }
  // Empty when the data ended cleanly on a record boundary.
  const std::string& error() const { return error_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace mq::broker::persist
