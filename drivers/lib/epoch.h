/* Quiescence for lock-free readers (a tiny RCU). A worker thread's epoch is odd while it handles a
 * batch; a writer that took a pointer out of the readers' reach waits until every reader thread
 * has been between batches once since, after which none can still hold it. */
#ifndef POSTERN_EPOCH_H
#define POSTERN_EPOCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

typedef _Atomic uint64_t dp_epoch;

static inline void dp_epoch_enter(dp_epoch *e) { atomic_fetch_add_explicit(e, 1, memory_order_acq_rel); }
static inline void dp_epoch_leave(dp_epoch *e) { atomic_fetch_add_explicit(e, 1, memory_order_acq_rel); }

/* Bounded: a batch takes microseconds; after about a second per thread the wait gives up. */
static inline void dp_epochs_wait(dp_epoch *epochs, size_t count) {
  for (size_t i = 0; i < count; i++) {
    uint64_t seen = atomic_load_explicit(&epochs[i], memory_order_acquire);
    for (int spins = 0; (seen & 1) && atomic_load_explicit(&epochs[i], memory_order_acquire) == seen && spins < 200000; spins++) usleep(5);
  }
}

#endif
