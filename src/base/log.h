// Process-wide logger with Mosquitto's log types and destinations. The broker configures it from
// `log_type`, `log_dest`, `log_timestamp` and `log_timestamp_format`; clients use stderr only.
// Line format as Mosquitto: "<timestamp>: <message>" (epoch seconds, or strftime format), or the
// bare message with timestamps off. Thread-safe: the mask is an atomic, sink writes are locked.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mq {

enum LogType : uint32_t {
  kLogNone = 0,
  kLogError = 1u << 0,
  kLogWarning = 1u << 1,
  kLogNotice = 1u << 2,
  kLogInformation = 1u << 3,
  kLogDebug = 1u << 4,
  kLogSubscribe = 1u << 5,
  kLogUnsubscribe = 1u << 6,
  kLogWebsockets = 1u << 7,
  kLogInternal = 1u << 8,
  kLogDefault = kLogError | kLogWarning | kLogNotice | kLogInformation,
  kLogAll = 0x1ffu,
};

enum class LogDest : uint8_t { kStderr, kStdout, kFile, kSyslog, kTopic };

class Logger {
 public:
  // The `log_dest topic` destination: called with the type and the line as a file would get
  // it (timestamp included, no newline), never for debug or internal lines. Called with the
  // logger's lock held: it must not log, and should only queue the line.
  using TopicSink = std::function<void(uint32_t type, std::string_view line)>;

  bool enabled(uint32_t type) const { return (mask_.load(std::memory_order_relaxed) & type) != 0; }
  void set_mask(uint32_t mask) { mask_.store(mask, std::memory_order_relaxed); }
  uint32_t mask() const { return mask_.load(std::memory_order_relaxed); }

  void set_timestamp(bool on, std::string format = "");
  // Replaces all destinations. A file destination is opened here (append); returns false and
  // leaves stderr in place if the file cannot be opened.
  bool set_destinations(const std::vector<LogDest>& dests, const std::string& file_path = "");
  // Installs (or with nullptr removes) what LogDest::kTopic calls; kept across
  // set_destinations().
  void set_topic_sink(TopicSink sink);
  void reopen();  // re-open a file destination (log rotation, SIGHUP)
  void close();

  void log(uint32_t type, std::string_view message);
  void logf(uint32_t type, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
  void vlogf(uint32_t type, const char* fmt, va_list ap);

  // Lines also go to this function (tests only; nullptr to turn off).
  void set_capture(std::function<void(std::string_view line)> capture);

 private:
  std::string timestamp_prefix() const;

  std::atomic<uint32_t> mask_{kLogDefault};
  std::mutex mu_;
  bool timestamp_ = true;
  std::string timestamp_format_;
  std::vector<LogDest> dests_{LogDest::kStderr};
  std::string file_path_;
  int file_fd_ = -1;
  bool syslog_open_ = false;
  TopicSink topic_sink_;
  std::function<void(std::string_view)> capture_;
};

Logger& logger();

// Parses one `log_type` word (debug, error, warning, notice, information, subscribe,
// unsubscribe, websockets, none, all). Returns false for an unknown word.
bool parse_log_type(std::string_view word, uint32_t* bits);

}  // namespace mq

#define MQ_LOG(type, ...)                                            \
  do {                                                               \
    if (::mq::logger().enabled(type)) ::mq::logger().logf(type, __VA_ARGS__); \
  } while (0)
