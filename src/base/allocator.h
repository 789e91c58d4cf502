// Allocator settings for the broker process. glibc serves blocks of 128 KiB and more with a
// fresh mmap and gives freed memory at the top of the heap back at once (both thresholds
// adapt only partly). A broker relaying large payloads allocates and frees a block of that
// size per message (read buffer, message), and every fresh block is page-faulted in again:
// measured here, a 256 KiB QoS 1 fan-out spent most of its CPU in those faults.
// Called once at broker start-up, before any thread starts.
#pragma once

#include <cstddef>

namespace mq {

// Blocks below kMmapThreshold come from the heap; up to kTrimThreshold of free memory at the
// top of the heap is kept for reuse rather than returned at each free.
inline constexpr size_t kMmapThreshold = 1 << 20;   // 1 MiB
inline constexpr size_t kTrimThreshold = 8 << 20;   // 8 MiB

void tune_allocator_for_broker();

}  // namespace mq
