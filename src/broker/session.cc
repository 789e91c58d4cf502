#include "broker/session.h"

namespace mq::broker {

Fifo<Outgoing>::iterator Session::find_inflight(uint16_t packet_id) {
  // Acknowledgements usually arrive in order: the front is the common case.
  for (auto it = inflight.begin(); it != inflight.end(); ++it)
    if (it->packet_id == packet_id) return it;
  return inflight.end();
}

uint16_t Session::next_packet_id() {
  for (;;) {
    last_packet_id_ = uint16_t(last_packet_id_ + 1);
    if (last_packet_id_ == 0) continue;
    if (find_inflight(last_packet_id_) == inflight.end()) return last_packet_id_;
  }
}

}  // namespace mq::broker
