#include "base/log.h"

#include <fcntl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace mq {

namespace {

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    s.remove_prefix(size_t(n));
  }
}

int syslog_priority(uint32_t type) {
  if (type & kLogError) return LOG_ERR;
  if (type & kLogWarning) return LOG_WARNING;
  if (type & kLogNotice) return LOG_NOTICE;
  if (type & kLogDebug) return LOG_DEBUG;
  return LOG_INFO;
}

}  // namespace

Logger& logger() {
  static Logger instance;
  return instance;
}

void Logger::set_timestamp(bool on, std::string format) {
  std::lock_guard lock(mu_);
  timestamp_ = on;
  timestamp_format_ = std::move(format);
}

void Logger::set_topic_sink(TopicSink sink) {
  std::lock_guard lock(mu_);
  topic_sink_ = std::move(sink);
}

bool Logger::set_destinations(const std::vector<LogDest>& dests, const std::string& file_path) {
  std::lock_guard lock(mu_);
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
  dests_ = dests;
  file_path_ = file_path;
  for (LogDest d : dests_) {
    if (d == LogDest::kFile) {
      file_fd_ = ::open(file_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (file_fd_ < 0) {
        dests_ = {LogDest::kStderr};
        return false;
      }
    }
    if (d == LogDest::kSyslog && !syslog_open_) {
      openlog("mosquitto", LOG_PID | LOG_NDELAY, LOG_DAEMON);
      syslog_open_ = true;
    }
  }
  return true;
}

void Logger::reopen() {
  std::lock_guard lock(mu_);
  if (file_fd_ < 0) return;
  ::close(file_fd_);
  file_fd_ = ::open(file_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

void Logger::close() {
  std::lock_guard lock(mu_);
  if (file_fd_ >= 0) ::close(file_fd_);
  file_fd_ = -1;
}

void Logger::set_capture(std::function<void(std::string_view)> capture) {
  std::lock_guard lock(mu_);
  capture_ = std::move(capture);
}

std::string Logger::timestamp_prefix() const {
  if (!timestamp_) return {};
  time_t now = time(nullptr);
  if (timestamp_format_.empty()) return std::to_string(int64_t(now)) + ": ";
  struct tm tm;
  localtime_r(&now, &tm);
  char buf[256];
  size_t n = strftime(buf, sizeof buf, timestamp_format_.c_str(), &tm);
  return std::string(buf, n) + ": ";
}

void Logger::log(uint32_t type, std::string_view message) {
  if (!enabled(type)) return;
  // A message of several lines is several log lines, each with its own timestamp.
  if (size_t nl = message.find('\n'); nl != std::string_view::npos) {
    log(type, message.substr(0, nl));
    if (nl + 1 < message.size()) log(type, message.substr(nl + 1));
    return;
  }
  std::lock_guard lock(mu_);
  std::string line = timestamp_prefix();
  line.append(message);
  line.push_back('\n');
  for (LogDest d : dests_) {
    switch (d) {
      case LogDest::kStderr: write_all(2, line); break;
      case LogDest::kStdout: write_all(1, line); break;
      case LogDest::kFile:
        if (file_fd_ >= 0) write_all(file_fd_, line);
        break;
      case LogDest::kSyslog:
        syslog(syslog_priority(type), "%.*s", int(message.size()), message.data());
        break;
      case LogDest::kTopic:
        if (topic_sink_ && !(type & (kLogDebug | kLogInternal)))
          topic_sink_(type, std::string_view(line).substr(0, line.size() - 1));
        break;
    }
  }
  if (capture_) capture_(std::string_view(line).substr(0, line.size() - 1));
}

void Logger::vlogf(uint32_t type, const char* fmt, va_list ap) {
  char buf[1024];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  if (size_t(n) < sizeof buf) {
    va_end(ap2);
    log(type, std::string_view(buf, size_t(n)));
    return;
  }
  std::string big(size_t(n) + 1, '\0');
  vsnprintf(big.data(), big.size(), fmt, ap2);
  va_end(ap2);
  big.resize(size_t(n));
  log(type, big);
}

void Logger::logf(uint32_t type, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlogf(type, fmt, ap);
  va_end(ap);
}

bool parse_log_type(std::string_view w, uint32_t* bits) {
  struct Entry { std::string_view name; uint32_t bits; };
  static constexpr Entry kTable[] = {
      {"debug", kLogDebug},         {"error", kLogError},
      {"warning", kLogWarning},     {"notice", kLogNotice},
      {"information", kLogInformation}, {"subscribe", kLogSubscribe},
      {"unsubscribe", kLogUnsubscribe}, {"websockets", kLogWebsockets},
      {"internal", kLogInternal},   {"none", kLogNone},
      {"all", kLogAll},
  };
  for (const Entry& e : kTable) {
    if (e.name == w) {
      *bits = e.bits;
      return true;
    }
  }
  return false;
}

}  // namespace mq
