#include "base/allocator.h"

#include <malloc.h>

namespace mq {

void tune_allocator_for_broker() {
  // Setting either threshold by hand also stops glibc from adapting them: both stay put.
  (void)mallopt(M_MMAP_THRESHOLD, int(kMmapThreshold));
  (void)mallopt(M_TRIM_THRESHOLD, int(kTrimThreshold));
}

}  // namespace mq
