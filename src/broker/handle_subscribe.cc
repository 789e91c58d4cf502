// SUBSCRIBE and UNSUBSCRIBE, and retained messages sent on subscribe.
#include "base/log.h"
#include "broker/broker.h"
#include "broker/persist/persist_records.h"
#include "codec/topic.h"

namespace mq::broker {

using codec::ProtocolVersion;
using codec::ReasonCode;

void Broker::handle_subscribe(Connection& conn, const codec::Subscribe& p) {
  Session* s = find_session(conn.session());
  if (!s) return;
  const ListenerConfig& lc = *conn.listener().config;
  const bool v5 = conn.terms().version == ProtocolVersion::kV5;
  uint32_t sub_id = p.properties.subscription_identifiers.empty()
                        ? 0
                        : p.properties.subscription_identifiers.front();
  codec::Suback ack;
  ack.packet_id = p.packet_id;
  struct Retained {
    std::string filter;
    SubscriptionOptions opts;
  };
  std::vector<Retained> to_send;

  for (const codec::Subscription& sub : p.subscriptions) {
    auto shared = codec::parse_shared(sub.filter);
    std::string_view filter = sub.filter;
    std::string_view group;
    if (!shared.ok()) {
      ack.reason_codes.push_back(v5 ? ReasonCode::kTopicFilterInvalid : ReasonCode::kUnspecifiedError);
      continue;
    }
    if (shared->has_value()) {
      filter = (*shared)->filter;
      group = (*shared)->group;
      if (sub.no_local) {  // [MQTT-3.8.3-4]
        protocol_close(conn, ReasonCode::kProtocolError, "No Local on a shared subscription");
        return;
      }
      if (shards_) {
        // A group's members live on different shards: not served with thread_count > 1, as
        // the CONNACK said (Shared Subscription Available 0).
        ack.reason_codes.push_back(v5 ? ReasonCode::kSharedSubscriptionsNotSupported
                                      : ReasonCode::kUnspecifiedError);
        continue;
      }
    }
    std::string mounted;
    if (!lc.mount_point.empty()) {  // the filter lives under the listener's mount_point
      mounted = lc.mount_point;
      mounted.append(filter);
      filter = mounted;
    }
    if (!codec::valid_topic_filter(filter)) {
      ack.reason_codes.push_back(v5 ? ReasonCode::kTopicFilterInvalid : ReasonCode::kUnspecifiedError);
      continue;
    }
    if (const AclFile* acl = conn.listener().security->acl.get()) {
      std::optional<std::string_view> user = conn.terms().username.view();
      if (!acl_allows(acl, AclClient{conn.terms().client_id, user}, sub.filter,
                      AclAccess::kSubscribe)) {
        ack.reason_codes.push_back(v5 ? ReasonCode::kNotAuthorized : ReasonCode::kUnspecifiedError);
        continue;
      }
    }
    SubscriptionOptions opts;
    opts.qos = std::min<uint8_t>(sub.qos, lc.max_qos);  // [MQTT-3.9.3-3] granted may be lower
    // A Mosquitto bridge (CONNECT with the 0x80 bit) gets No Local and Retain As Published on
    // its subscriptions, as Mosquitto gives its MQTT 3.x bridges, so that it is never sent its
    // own messages back (stored with the subscription: it holds while the bridge is away too).
    opts.no_local = sub.no_local || (conn.terms().bridge && group.empty());
    opts.retain_as_published = sub.retain_as_published || conn.terms().bridge;
    opts.retain_handling = sub.retain_handling;
    opts.subscription_id = sub_id;
    SubscribeOutcome outcome = subs_.subscribe(filter, s->id(), opts, group);
    if (shards_ && outcome == SubscribeOutcome::kNew) interest_changed(filter, +1);
    const SessionSubscription& stored =
        s->put_subscription(sub.filter, SessionSubscription(std::string(filter), group, opts));
    if (std::string* j = keeper_.journal(*s)) persist::put_sub_add(*j, s->client_id(), sub.filter, stored);
    ack.reason_codes.push_back(ReasonCode(opts.qos));
    if (config_.connection_messages && logger().enabled(kLogSubscribe)) {
      MQ_LOG(kLogSubscribe, "%s %u %.*s", conn.terms().client_id.c_str(), unsigned(opts.qos),
             int(sub.filter.size()), sub.filter.data());
    }
    // Retained messages [MQTT-3.3.1-9..11]: never for shared subscriptions [MQTT-4.8.2-?],
    // retain handling 1 only for a new subscription, 2 never.
    bool want_retained = group.empty() && (opts.retain_handling == 0 ||
                                           (opts.retain_handling == 1 &&
                                            outcome == SubscribeOutcome::kNew));
    if (want_retained) to_send.push_back(Retained{std::string(filter), opts});
  }
  send_packet(conn, ack);  // [MQTT-3.8.4-1] SUBACK before the retained messages
  for (const Retained& r : to_send) send_retained(*s, r.filter, r.opts);
}

void Broker::send_retained(Session& s, std::string_view filter, const SubscriptionOptions& opts) {
  SubscriptionOptions o = opts;
  o.no_local = false;  // retained messages are delivered whoever published them
  auto cursor = std::make_shared<RetainedCursor>(retained_.cursor(filter));
  continue_retained(s.id(), std::move(cursor), o);
}

void Broker::continue_retained(SessionId id, std::shared_ptr<RetainedCursor> cursor,
                               SubscriptionOptions opts) {
  // A `#` subscription over a huge store is sent in batches across loop iterations, paced by
  // the subscriber's output queue, so it neither stalls the loop nor buffers the whole store.
  constexpr size_t kBatch = 500;
  constexpr size_t kMaxNodes = 20'000;
  constexpr size_t kPaceBytes = 1 << 20;
  Session* s = find_session(id);
  if (!s) return;
  Connection* conn = connection_of(*s);
  if (conn && conn->open() && conn->out().size() > kPaceBytes) {
    schedule_retained(id, std::move(cursor), opts, 10);
    return;
  }
  int64_t now = clock_.unix_time() * 1000;
  std::vector<MessagePtr> batch;
  cursor->next(batch, kBatch, kMaxNodes);
  for (const MessagePtr& m : batch) {
    if (m->expiry_unix_ms != 0 && m->expiry_unix_ms <= now) continue;
    // check_retain_source: the client that published it must still be allowed to write it.
    // (The ACL used is this subscriber's listener's, the same one unless per_listener_settings.)
    if (config_.check_retain_source && s->acl && !m->origin_client_id().empty()) {
      std::optional<std::string_view> origin_user;
      if (!m->origin_username().empty()) origin_user = m->origin_username();
      if (!acl_allows(s->acl.get(), AclClient{m->origin_client_id(), origin_user}, m->topic,
                      AclAccess::kWrite))
        continue;
    }
    deliver(*s, m, opts, true);
  }
  if (!cursor->done()) schedule_retained(id, std::move(cursor), opts, 0);
}

void Broker::schedule_retained(SessionId id, std::shared_ptr<RetainedCursor> cursor,
                               SubscriptionOptions opts, int64_t delay_ms) {
  auto timer = std::make_shared<net::TimerId>(0);
  *timer = loop_.add_timer_in(delay_ms, [this, id, cursor, opts, timer] {
    retained_timers_.erase(*timer);
    continue_retained(id, cursor, opts);
  });
  retained_timers_.insert(*timer);
}

void Broker::handle_unsubscribe(Connection& conn, const codec::Unsubscribe& p) {
  Session* s = find_session(conn.session());
  if (!s) return;
  codec::Unsuback ack;
  ack.packet_id = p.packet_id;
  for (std::string_view f : p.filters) {
    SessionSubscription removed;
    if (!s->remove_subscription(f, &removed)) {
      ack.reason_codes.push_back(ReasonCode::kNoSubscriptionExisted);
      continue;
    }
    if (subs_.unsubscribe(removed.filter, s->id(), removed.share_group()) && shards_)
      interest_changed(removed.filter, -1);
    if (std::string* j = keeper_.journal(*s)) persist::put_sub_del(*j, s->client_id(), f);
    ack.reason_codes.push_back(ReasonCode::kSuccess);
    if (logger().enabled(kLogUnsubscribe))
      MQ_LOG(kLogUnsubscribe, "%s %.*s", conn.terms().client_id.c_str(), int(f.size()), f.data());
  }
  send_packet(conn, ack);
}

}  // namespace mq::broker
