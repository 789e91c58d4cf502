#include "broker/persist/persist_format.h"

#include <array>
#include <cstring>

namespace mq::broker::persist {

namespace {

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t load32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

void store32(char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = char(v >> (8 * i));
}

}  // namespace

uint32_t crc32c(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (unsigned char c : data) crc = kTable[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void Writer::u16(uint16_t v) {
  out_.push_back(char(v));
  out_.push_back(char(v >> 8));
}
void Writer::u32(uint32_t v) {
  char b[4];
  store32(b, v);
  out_.append(b, 4);
}
void Writer::u64(uint64_t v) {
  u32(uint32_t(v));
  u32(uint32_t(v >> 32));
}
void Writer::str(std::string_view s) {
  u32(uint32_t(s.size()));
  out_.append(s);
}

bool Reader::take(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}
uint8_t Reader::u8() {
  if (!take(1)) return 0;
  return uint8_t(data_[pos_++]);
}
uint16_t Reader::u16() {
  if (!take(2)) return 0;
  uint16_t v = uint16_t(uint8_t(data_[pos_]) | uint8_t(data_[pos_ + 1]) << 8);
  pos_ += 2;
  return v;
}
uint32_t Reader::u32() {
  if (!take(4)) return 0;
  uint32_t v = load32(data_.data() + pos_);
  pos_ += 4;
  return v;
}
uint64_t Reader::u64() {
  uint64_t lo = u32();
  uint64_t hi = u32();
  return lo | hi << 32;
}
std::string_view Reader::str() {
  uint32_t n = u32();
  if (!take(n)) return {};
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

void append_header(std::string& out, const Header& h) {
  size_t start = out.size();
  out.append(kMagic, sizeof kMagic);
  Writer w(out);
  w.u32(kFormatVersion);
  w.u32(uint32_t(h.kind));
  w.u64(h.generation);
  w.u32(crc32c(std::string_view(out).substr(start, 24)));
}

Result<Header> parse_header(std::string_view data) {
  if (data.size() < kHeaderSize)
    return make_error(ErrorKind::kMalformed, "file shorter than its header");
  if (std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return make_error(ErrorKind::kMalformed, "not an mq persistence file (bad magic)");
  Reader r(data.substr(8, kHeaderSize - 8));
  uint32_t version = r.u32();
  uint32_t kind = r.u32();
  uint64_t gen = r.u64();
  uint32_t crc = r.u32();
  if (crc != crc32c(data.substr(0, 24)))
    return make_error(ErrorKind::kMalformed, "header checksum mismatch");
  if (version != kFormatVersion)
    return make_error(ErrorKind::kUnsupported,
                      "unsupported format version " + std::to_string(version));
  if (kind != uint32_t(FileKind::kSnapshot) && kind != uint32_t(FileKind::kJournal))
    return make_error(ErrorKind::kMalformed, "unknown file kind " + std::to_string(kind));
  return Header{FileKind(kind), gen};
}

size_t begin_record(std::string& out, uint8_t type) {
  size_t start = out.size();
  out.append(kRecordOverhead, '\0');
  out.push_back(char(type));
  return start;
}

void end_record(std::string& out, size_t start) {
  size_t body = out.size() - start - kRecordOverhead;
  std::string_view view(out.data() + start + kRecordOverhead, body);
  uint32_t crc = crc32c(view);
  store32(out.data() + start, uint32_t(body));
  store32(out.data() + start + 4, crc);
}

bool RecordScanner::next(uint8_t* type, std::string_view* payload) {
  if (!error_.empty() || pos_ == data_.size()) return false;
  size_t left = data_.size() - pos_;
  if (left < kRecordOverhead) {
    error_ = "torn record header";
    return false;
  }
  uint32_t len = load32(data_.data() + pos_);
  uint32_t crc = load32(data_.data() + pos_ + 4);
  if (len == 0 || len > kMaxRecordBody) {
    error_ = "bad record length " + std::to_string(len);
    return false;
  }
  if (left - kRecordOverhead < len) {
    error_ = "torn record (" + std::to_string(len) + " bytes announced, " +
             std::to_string(left - kRecordOverhead) + " present)";
    return false;
  }
  std::string_view body = data_.substr(pos_ + kRecordOverhead, len);
  if (crc32c(body) != crc) {
    error_ = "record checksum mismatch";
    return false;
  }
  *type = uint8_t(body[0]);
  *payload = body.substr(1);
  pos_ += kRecordOverhead + len;
  return true;
}

}  // namespace mq::broker::persist
