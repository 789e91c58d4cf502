// The persistence file format: CRC32C, the file header, record framing, and what the record
// scanner does with cut and damaged data (stops at the last whole, intact record).
#include "broker/persist/persist_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mq::broker::persist {
namespace {

TEST(PersistCrc32c, KnownVectors) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);              // the CRC-32C check value
  EXPECT_EQ(crc32c("56789", crc32c("1234")), 0xE3069283u);  // chaining
}

TEST(PersistHeader, RoundTrip) {
  std::string h;
  append_header(h, Header{FileKind::kJournal, 0x0102030405060708ull});
  ASSERT_EQ(h.size(), kHeaderSize);
  EXPECT_EQ(h.substr(0, 8), std::string("MQDB\r\n\x1a\n"));
  EXPECT_EQ(h[8], 1);  // format version, little-endian
  auto r = parse_header(h);
  ASSERT_TRUE(r.ok()) << r.error().context;
  EXPECT_EQ(r->kind, FileKind::kJournal);
  EXPECT_EQ(r->generation, 0x0102030405060708ull);
}

TEST(PersistHeader, RejectsShortForeignDamagedAndNewer) {
  std::string h;
  append_header(h, Header{FileKind::kSnapshot, 3});
  for (size_t n = 0; n < kHeaderSize; n++) EXPECT_FALSE(parse_header(h.substr(0, n)).ok()) << n;
  for (size_t i = 0; i < kHeaderSize; i++) {
    std::string bad = h;
    bad[i] ^= 0x01;
    EXPECT_FALSE(parse_header(bad).ok()) << "flip at " << i;
  }
  EXPECT_FALSE(parse_header(std::string(28, '\0')).ok());
  // A newer version with a valid checksum is refused as unsupported.
  std::string v2 = h.substr(0, 8);
  Writer w(v2);
  w.u32(2);
  w.u32(1);
  w.u64(3);
  w.u32(crc32c(v2));
  auto r = parse_header(v2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnsupported);
}

TEST(PersistReader, BoundsChecked) {
  std::string data;
  Writer w(data);
  w.u8(7);
  w.u16(0xBEEF);
  w.u32(0xDEADBEEF);
  w.u64(0x1122334455667788ull);
  w.str("topic");
  Reader r(data);
  EXPECT_EQ(r.u8(), 7);
  EXPECT_EQ(r.u16(), 0xBEEF);
  EXPECT_EQ(r.u32(), 0xDEADBEEFu);
  EXPECT_EQ(r.u64(), 0x1122334455667788ull);
  EXPECT_EQ(r.str(), "topic");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(r.u8(), 0);
  EXPECT_FALSE(r.ok());
  // A string whose length runs past the end fails instead of reading beyond it.
  std::string lie;
  Writer(lie).u32(1000);
  Reader r2(lie);
  EXPECT_TRUE(r2.str().empty());
  EXPECT_FALSE(r2.ok());
}

std::string three_records(std::vector<size_t>* ends) {
  std::string out;
  for (int i = 0; i < 3; i++) {
    size_t start = begin_record(out, uint8_t(10 + i));
    Writer(out).str(std::string(size_t(5 + i * 7), char('a' + i)));
    end_record(out, start);
    ends->push_back(out.size());
  }
  return out;
}

TEST(PersistRecordScanner, ReadsEveryRecord) {
  std::vector<size_t> ends;
  std::string data = three_records(&ends);
  RecordScanner s(data);
  uint8_t type;
  std::string_view payload;
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(s.next(&type, &payload));
    EXPECT_EQ(type, 10 + i);
    Reader r(payload);
    EXPECT_EQ(r.str(), std::string(size_t(5 + i * 7), char('a' + i)));
  }
  EXPECT_FALSE(s.next(&type, &payload));
  EXPECT_TRUE(s.error().empty());
  EXPECT_EQ(s.offset(), data.size());
}

TEST(PersistRecordScanner, CutAtEveryByteKeepsTheWholeRecordsBefore) {
  std::vector<size_t> ends;
  std::string data = three_records(&ends);
  for (size_t n = 0; n <= data.size(); n++) {
    RecordScanner s(std::string_view(data).substr(0, n));
    uint8_t type;
    std::string_view payload;
    size_t count = 0;
    while (s.next(&type, &payload)) count++;
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= n) whole++;
    EXPECT_EQ(count, whole) << "cut at " << n;
    size_t boundary = whole ? ends[whole - 1] : 0;
    EXPECT_EQ(s.offset(), boundary) << "cut at " << n;
    EXPECT_EQ(s.error().empty(), boundary == n) << "cut at " << n;
  }
}

TEST(PersistRecordScanner, EveryBitFlipIsCaughtAtItsRecord) {
  std::vector<size_t> ends;
  std::string data = three_records(&ends);
  for (size_t i = 0; i < data.size(); i++) {
    for (int bit = 0; bit < 8; bit++) {
      std::string bad = data;
      bad[i] = char(bad[i] ^ (1 << bit));
      RecordScanner s(bad);
      uint8_t type;
      std::string_view payload;
      size_t count = 0;
      while (s.next(&type, &payload)) count++;
      size_t damaged = 0;  // index of the record holding byte i
      while (ends[damaged] <= i) damaged++;
      EXPECT_EQ(count, damaged) << "flip at " << i << " bit " << bit;
      EXPECT_FALSE(s.error().empty());
    }
  }
}

TEST(PersistRecordScanner, RejectsAbsurdLengths) {
  std::string data(8, '\0');  // length 0
  RecordScanner s(data);
  uint8_t type;
  std::string_view payload;
  EXPECT_FALSE(s.next(&type, &payload));
  EXPECT_NE(s.error().find("bad record length"), std::string::npos);
  std::string huge = "\xff\xff\xff\xff\0\0\0\0x";
  RecordScanner s2(huge);
  EXPECT_FALSE(s2.next(&type, &payload));
  EXPECT_FALSE(s2.error().empty());
}

}  // namespace
}  // namespace mq::broker::persist
