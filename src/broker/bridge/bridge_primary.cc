// Back to the primary address: with `round_robin false` the first address is the preferred
// one (mosquitto.conf(5)), so while the bridge is connected to another one it probes the first
// with a plain TCP connect every kPrimaryRetryMs and, once that succeeds, ends the current
// connection (DISCONNECT) and connects to the primary at once. Messages in flight go again
// there, with DUP [MQTT-4.4.0-1]; nothing held for the remote is lost by the move.
#include "base/log.h"
#include "broker/bridge/bridge.h"
#include "broker/broker.h"

namespace mq::broker {

void Bridge::arm_primary_retry() {
  cancel_primary_retry();
  if (cfg_.round_robin || address_ == 0 || cfg_.addresses.size() < 2) return;
  primary_timer_ = loop_.add_timer_in(kPrimaryRetryMs, [this] {
    primary_timer_ = 0;
    primary_tick();
  });
}

void Bridge::cancel_primary_retry() {
  primary_probe_.cancel();
  if (primary_timer_) loop_.cancel_timer(primary_timer_);
  primary_timer_ = 0;
}

void Bridge::primary_tick() {
  if (state_ != State::kConnected || address_ == 0) return;
  const BridgeAddress& a = cfg_.addresses[0];
  net::ConnectOptions o;
  o.host = a.host;
  o.port = a.port;
  o.bind_address = cfg_.bind_address;
  o.timeout_ms = 2000;
  Status st = primary_probe_.start(o, [this](Result<net::UniqueFd> fd) {
    // The probe socket closes here: it only tells whether the primary accepts connections.
    if (fd.ok() && state_ == State::kConnected && address_ != 0) {
      back_to_primary();
    } else {
      arm_primary_retry();
    }
  });
  if (!st.ok()) arm_primary_retry();
}

void Bridge::back_to_primary() {
  const BridgeAddress& a = cfg_.addresses[0];
  MQ_LOG(kLogNotice, "Bridge %s: primary address %s:%u is back, moving to it.", cfg_.name.c_str(),
         a.host.c_str(), unsigned(a.port));
  send(codec::Disconnect{});
  write_out();
  if (state_ != State::kConnected) return;  // the write failed: lost() ran and reconnects
  close_transport();
  if (keepalive_timer_) loop_.cancel_timer(keepalive_timer_);
  if (idle_timer_) loop_.cancel_timer(idle_timer_);
  keepalive_timer_ = idle_timer_ = 0;
  state_ = State::kIdle;
  if (cfg_.notifications) notify_local('0');
  address_ = 0;
  backoff_ms_ = 0;
  schedule_restart(0);
}

}  // namespace mq::broker
