#include "broker/log_topic.h"

#include "base/log.h"
#include "broker/broker.h"

namespace mq::broker {

namespace {
// Set while this thread publishes log lines: what that logs is not published again.
thread_local bool t_publishing = false;
constexpr int64_t kExpiryMs = 20'000;  // Mosquitto's message expiry for log messages
}  // namespace

LogTopic::~LogTopic() { logger().set_topic_sink(nullptr); }

const char* LogTopic::topic_for(uint32_t type) {
  switch (type) {
    case kLogError: return "$SYS/broker/log/E";
    case kLogWarning: return "$SYS/broker/log/W";
    case kLogNotice: return "$SYS/broker/log/N";
    case kLogInformation: return "$SYS/broker/log/I";
    case kLogSubscribe: return "$SYS/broker/log/M/subscribe";
    case kLogUnsubscribe: return "$SYS/broker/log/M/unsubscribe";
    case kLogWebsockets: return "$SYS/broker/log/WS";
    default: return nullptr;
  }
}

void LogTopic::install() {
  logger().set_topic_sink([this](uint32_t type, std::string_view line) { queue(type, line); });
}

void LogTopic::queue(uint32_t type, std::string_view line) {
  const char* topic = topic_for(type);
  if (!topic || t_publishing) return;
  std::lock_guard lock(q_->mu);
  q_->lines.emplace_back(topic, std::string(line));
  if (q_->posted) return;
  q_->posted = true;
  loop_.post([this, weak = std::weak_ptr<Queue>(q_)] {
    if (weak.lock()) drain();  // else the broker is gone
  });
}

void LogTopic::drain() {
  std::vector<std::pair<const char*, std::string>> lines;
  {
    std::lock_guard lock(q_->mu);
    lines.swap(q_->lines);
    q_->posted = false;
  }
  t_publishing = true;
  int64_t now_ms = loop_.clock().unix_time() * 1000;
  for (auto& [topic, line] : lines) {
    auto m = std::make_shared<Message>();
    m->topic = topic;
    m->payload = std::move(line);
    m->qos = 2;
    m->expiry_unix_ms = now_ms + kExpiryMs;
    broker_.publish(m);
  }
  t_publishing = false;
}

}  // namespace mq::broker
