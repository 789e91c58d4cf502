// Sessions: the session table and each session's life (sessions.h).
#include "broker/sessions/sessions.h"

#include <algorithm>

#include "base/log.h"
#include "broker/auth/acl.h"

namespace mq::broker {

Sessions::~Sessions() {
  by_id_.for_each([this](Session& s) { cancel_timers(s); });
}

Session& Sessions::add(std::string client_id) {
  Session& s = by_id_.emplace(
      [&](SessionId id) { return std::make_unique<Session>(id, std::move(client_id)); });
  by_client_id_.insert(&s);
  return s;
}

void Sessions::cancel_timers(Session& s) {
  if (s.will_timer) loop_.cancel_timer(s.will_timer);
  s.will_timer = 0;
  if (s.expiry_timer) loop_.cancel_timer(s.expiry_timer);
  s.expiry_timer = 0;
}

Sessions::Attached Sessions::attach(Attach a) {
  bool present = false;
  Session* found = find(a.client_id);
  if (found) {
    // Reconnecting within the Will Delay Interval cancels the will [MQTT-3.1.3-9].
    cancel_timers(*found);
    found->will.reset();
    if (a.clean_start) {
      end(*found);  // [MQTT-3.1.2-4] discard any existing session
    } else {
      present = true;  // [MQTT-3.2.2-3]
    }
  }
  Session& s = present ? *found : add(std::string(a.client_id));
  s.connection_id = a.connection_id;
  s.disconnected_unix_ms = 0;
  s.version = a.version;
  s.username = *a.username;
  s.acl = std::move(a.acl);
  s.expiry_interval = a.expiry_interval;
  if (a.will) s.will = std::move(a.will);
  return {s, present};
}

bool Sessions::detach(SessionId id, uint64_t connection_id, bool send_will) {
  Session* s = find(id);
  if (!s || s->connection_id != connection_id) return false;
  s->connection_id = 0;
  if (stats_.clients_connected) stats_.clients_connected--;
  // Messages in flight stay for a resumed session; QoS 0 ones are simply lost.
  if (s->will && send_will) {
    uint32_t delay = s->will->delay_interval;
    if (delay == 0 || s->expiry_interval == 0) {
      publish_will(*s);
    } else {
      uint32_t wait = std::min(delay, s->expiry_interval);
      s->will_timer = loop_.add_timer_in(int64_t(wait) * 1000, [this, id] {
        if (Session* sess = find(id)) {
          sess->will_timer = 0;
          publish_will(*sess);
        }
      });
    }
  } else {
    s->will.reset();  // [MQTT-3.1.2-10] a normal DISCONNECT discards the will
  }
  s->disconnected_unix_ms = loop_.clock().unix_time() * 1000;
  if (s->expiry_interval == 0) {
    end(*s);
    return true;
  }
  events_.session_offline(*s);
  if (s->expiry_interval != Session::kNeverExpires)
    arm_expiry(*s, int64_t(s->expiry_interval) * 1000);
  return true;
}

void Sessions::arm_expiry(Session& s, int64_t delay_ms) {
  SessionId id = s.id();
  s.expiry_timer = loop_.add_timer_in(delay_ms, [this, id] {
    if (Session* sess = find(id)) {
      sess->expiry_timer = 0;
      stats_.clients_expired++;
      end(*sess);
    }
  });
}

void Sessions::publish_will(Session& s) {
  if (!s.will) return;
  if (s.will_timer) loop_.cancel_timer(s.will_timer);
  s.will_timer = 0;
  MessagePtr msg = std::move(s.will->msg);
  // The ACL decides now, against the topic as the client wrote it (without the mount point).
  std::string_view topic = std::string_view(msg->topic).substr(s.will->mount_len);
  if (!acl_allows(s.acl.get(), AclClient{s.client_id(), s.username.view()}, topic,
                  AclAccess::kWrite)) {
    MQ_LOG(kLogDebug, "Denied will from %s on '%.*s'.", s.client_id().c_str(), int(topic.size()),
           topic.data());
    s.will.reset();
    return;
  }
  if (s.will->message_expiry) {
    auto stamped = std::make_shared<Message>(*msg);
    stamped->expiry_unix_ms =
        loop_.clock().unix_time() * 1000 + int64_t(*s.will->message_expiry) * 1000;
    msg = std::move(stamped);
  }
  s.will.reset();
  events_.publish_will_message(msg);
}

void Sessions::end(Session& s) {
  // A will still waiting for its delay goes out when the session ends [MQTT-3.1.3-9].
  if (s.will && s.will_timer) publish_will(s);
  if (s.expiry_timer) loop_.cancel_timer(s.expiry_timer);
  events_.session_ending(s);
  stats_.publish_dropped += s.flow.queue.size() + s.flow.inflight.size();
  by_client_id_.erase(&s);
  by_id_.erase(s.id());  // destroys s
}

}  // namespace mq::broker
