#include "broker/persist/persist_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/persist/persist_format.h"
#include "broker/persist/persist_snapshot.h"

namespace mq::broker::persist {

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) close(fd_);
}

Status JournalWriter::start(const std::string& path, uint64_t generation) {
  std::string header;
  append_header(header, Header{FileKind::kJournal, generation});
  if (Status st = write_file_durably(path, header); !st.ok()) return st;
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorKind::kIo, "cannot open " + path + ": " + strerror(errno));
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  path_ = path;
  size_ = header.size();
  return {};
}

Status JournalWriter::commit(bool sync) {
  if (pending_.empty()) return {};
  if (fd_ < 0) {
    pending_.clear();
    return make_error(ErrorKind::kIo, "journal not open");
  }
  size_t off = 0;
  while (off < pending_.size()) {
    ssize_t n = ::write(fd_, pending_.data() + off, pending_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      std::string why = std::string("cannot write journal ") + path_ + ": " + strerror(errno);
      // A partial record would hide every later one at replay: cut it off.
      if (ftruncate(fd_, off_t(size_)) != 0) {
        why += std::string("; cannot truncate it back: ") + strerror(errno);
      }
      pending_.clear();
      return make_error(ErrorKind::kIo, why);
    }
    off += size_t(n);
  }
  size_ += pending_.size();
  pending_.clear();
  if (sync && fdatasync(fd_) != 0)
    return make_error(ErrorKind::kIo,
                      std::string("cannot fdatasync journal ") + path_ + ": " + strerror(errno));
  return {};
}

ReplayResult replay_journal(std::string_view data, uint64_t generation, State& state) {
  ReplayResult res;
  auto header = parse_header(data);
  if (!header.ok() || header->kind != FileKind::kJournal) {
    res.dropped_bytes = data.size();
    res.problem = header.ok() ? "not a journal file" : header.error().context;
    return res;
  }
  if (header->generation != generation) {
    res.stale = true;
    return res;
  }
  RecordScanner scan(data.substr(kHeaderSize));
  uint8_t type;
  std::string_view payload;
  size_t good = 0;
  while (true) {
    size_t at = scan.offset();
    if (!scan.next(&type, &payload)) {
      if (!scan.error().empty()) res.problem = scan.error();
      good = scan.offset();
      break;
    }
    if (Status st = apply(state, type, payload); !st.ok()) {
      res.problem = st.error().context;
      good = at;
      break;
    }
    res.records++;
  }
  res.dropped_bytes = data.size() - kHeaderSize - good;
  return res;
}

}  // namespace mq::broker::persist
