// Sessions: the broker's table of sessions (by SessionId and by client identifier) and their
// life: attaching one to a CONNECT, detaching it when the connection goes, the will (sent now,
// after its delay, or dropped), the expiry timer, and the end of a session. What a session's
// life does to the rest of the broker (routing, the journal, publishing a will) goes through
// SessionEvents, which the owner implements: the table knows the Broker only through that.
// Threading: single-threaded, on the loop of the broker that owns it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

#include "broker/message.h"
#include "broker/optional_string.h"
#include "broker/session.h"
#include "broker/slot_map.h"
#include "broker/stats.h"
#include "codec/packet.h"
#include "net/loop.h"

namespace mq::broker {

class AclFile;

// What the session table asks of its owner when a session's life reaches the rest of the
// broker. Called on the loop thread, from Sessions' calls and from its timers.
class SessionEvents {
 public:
  // A will passed its ACL check and is due now: route it as a PUBLISH.
  virtual void publish_will_message(const MessagePtr& msg) = 0;
  // Session `s` went offline and lives on (a resumable session): store that.
  virtual void session_offline(Session& s) = 0;
  // Session `s` is about to be destroyed: drop its subscriptions and its stored copy.
  virtual void session_ending(Session& s) = 0;

 protected:
  ~SessionEvents() = default;
};

// The expiry of a session that asked never to expire, bounded by persistent_client_expiration
// (seconds, 0 = no bound), as Mosquitto applies it to 3.x clean-session-0 clients too.
inline uint32_t bounded_expiry(uint32_t interval, int64_t persistent_client_expiration) {
  if (interval != Session::kNeverExpires || persistent_client_expiration <= 0) return interval;
  return uint32_t(std::min<int64_t>(persistent_client_expiration, Session::kNeverExpires - 1));
}

class Sessions {
 public:
  Sessions(net::EventLoop& loop, Stats& stats, SessionEvents& events)
      : loop_(loop), stats_(stats), events_(events) {}
  ~Sessions();  // cancels the will and expiry timers (they name this table)
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // --- the table -----------------------------------------------------------------------------
  // On the message path (a session named by a connection or a subscription): one array index.
  Session* find(SessionId id) const { return by_id_.find(id); }
  Session* find(std::string_view client_id) const {
    auto it = by_client_id_.find(client_id);
    return it == by_client_id_.end() ? nullptr : *it;
  }
  // A new, empty session. REQUIRES: no session has this client identifier.
  Session& add(std::string client_id);
  size_t size() const { return by_client_id_.size(); }
  template <class F>
  void for_each(F&& f) const {
    for (Session* s : by_client_id_) f(*s);
  }

  // --- a session's life ----------------------------------------------------------------------
  // What an accepted CONNECT asks of its session.
  struct Attach {
    std::string_view client_id;
    uint64_t connection_id = 0;
    codec::ProtocolVersion version = codec::ProtocolVersion::kV311;
    bool clean_start = true;
    uint32_t expiry_interval = 0;  // seconds, already bounded (bounded_expiry)
    const OptionalString* username = nullptr;
    std::shared_ptr<const AclFile> acl;  // of the listener the client came through
    std::unique_ptr<Will> will;          // null: none
  };
  struct Attached {
    Session& session;
    bool present;  // an earlier session resumes [MQTT-3.2.2-3]
  };
  // Binds connection `a.connection_id` to the session of `a.client_id`: the earlier one
  // (cancelling its pending will and expiry) unless clean start discards it, else a new one.
  Attached attach(Attach a);
  // The connection `connection_id` bound to session `id` is gone: the will goes out (now or
  // after its delay) when `send_will`, else is dropped; the session ends or waits for expiry.
  // False when `id` names no session bound to that connection (nothing done).
  bool detach(SessionId id, uint64_t connection_id, bool send_will);
  // Ends the session after `delay_ms` unless a client resumes it first.
  void arm_expiry(Session& s, int64_t delay_ms);
  // Publishes the session's will now, if it has one the ACL lets it write.
  void publish_will(Session& s);
  // Destroys the session (a will still waiting for its delay goes out first).
  void end(Session& s);

 private:
  // Sessions are owned by id; by_client_id_ finds them by client identifier, hashing the
  // Session's own client_id() (no second copy of the string as a key).
  struct ByClientId {
    using is_transparent = void;
    size_t operator()(std::string_view cid) const noexcept {
      return std::hash<std::string_view>()(cid);
    }
    size_t operator()(const Session* s) const noexcept {
      return (*this)(std::string_view(s->client_id()));
    }
    static std::string_view key(std::string_view cid) { return cid; }
    static std::string_view key(const Session* s) { return s->client_id(); }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return key(a) == key(b);
    }
  };

  void cancel_timers(Session& s);

  net::EventLoop& loop_;
  Stats& stats_;
  SessionEvents& events_;
  SlotMap<Session> by_id_;
  std::unordered_set<Session*, ByClientId, ByClientId> by_client_id_;
};

}  // namespace mq::broker
