#include "broker/persist/persist_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/persist/persist_format.h"

namespace mq::broker::persist {

namespace {

Error io_error(const std::string& what, const std::string& path) {
  return make_error(ErrorKind::kIo, what + " " + path + ": " + strerror(errno));
}

Error corrupt(size_t offset, const std::string& why) {
  return make_error(ErrorKind::kMalformed,
                    "corrupt at offset " + std::to_string(offset) + ": " + why);
}

}  // namespace

Result<State> parse_snapshot(std::string_view data, uint64_t* generation) {
  auto header = parse_header(data);
  if (!header.ok()) return corrupt(0, header.error().context);
  if (header->kind != FileKind::kSnapshot) return corrupt(0, "not a snapshot file");
  *generation = header->generation;
  State st;
  RecordScanner scan(data.substr(kHeaderSize));
  uint8_t type;
  std::string_view payload;
  uint64_t count = 0;
  for (;;) {
    size_t at = kHeaderSize + scan.offset();
    if (!scan.next(&type, &payload)) {
      return corrupt(kHeaderSize + scan.offset(),
                     scan.error().empty() ? "end record missing (file cut short)" : scan.error());
    }
    if (type == uint8_t(RecordType::kEnd)) {
      Reader r(payload);
      uint64_t expected = r.u64();
      if (!r.ok() || !r.at_end() || expected != count) return corrupt(at, "bad end record");
      if (kHeaderSize + scan.offset() != data.size())
        return corrupt(kHeaderSize + scan.offset(), "data after the end record");
      return st;
    }
    if (Status s = apply(st, type, payload); !s.ok()) return corrupt(at, s.error().context);
    count++;
  }
}

Result<std::string> read_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(ErrorKind::kNotFound, path + " does not exist");
    return io_error("cannot open", path);
  }
  std::string data;
  struct stat sb {};
  if (fstat(fd, &sb) == 0 && sb.st_size > 0) data.reserve(size_t(sb.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = io_error("cannot read", path);
      close(fd);
      return e;
    }
    if (n == 0) break;
    data.append(buf, size_t(n));
  }
  close(fd);
  return data;
}

Status sync_parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory", dir);
  int rc = fsync(fd);
  Error e;
  if (rc != 0) e = io_error("cannot fsync directory", dir);
  close(fd);
  if (rc != 0) return e;
  return {};
}

Status write_file_durably(const std::string& path, std::string_view data) {
  std::string tmp = path + ".new";
  unlink(tmp.c_str());  // never write through a hard link to the live file
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      Error e = io_error("cannot write", tmp);
      close(fd);
      unlink(tmp.c_str());
      return e;
    }
    off += size_t(n);
  }
  if (fsync(fd) != 0) {
    Error e = io_error("cannot fsync", tmp);
    close(fd);
    unlink(tmp.c_str());
    return e;
  }
  if (close(fd) != 0) {
    Error e = io_error("cannot close", tmp);
    unlink(tmp.c_str());
    return e;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = io_error("cannot rename to", path);
    unlink(tmp.c_str());
    return e;
  }
  return sync_parent_dir(path);
}

}  // namespace mq::broker::persist
