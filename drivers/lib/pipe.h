/* Packets of the shared TUN for sessions whose protocol runs in JavaScript (PPP over SSTP's TLS):
 * the hub's thread queues a copy tagged with the session, and wakes JavaScript only when the queue
 * turns non-empty, so a burst costs one wake-up. Bounded in packets and bytes: when full, packets
 * are dropped and counted (TCP backs off), never queued without limit. */
#ifndef POSTERN_PIPE_H
#define POSTERN_PIPE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dp_pipe dp_pipe;

typedef struct {
  _Atomic uint64_t queued, delivered, dropped_full;
} dp_pipe_stats;

/* Called by the producer when the queue was empty and now holds a packet: schedule a drain. */
typedef void (*dp_pipe_wake_fn)(void *ctx);

dp_pipe *dp_pipe_open(size_t max_packets, size_t max_bytes, dp_pipe_wake_fn wake, void *ctx);
void dp_pipe_close(dp_pipe *p);
/* Producer (the hub's thread): copies the packet; false when full or closed (counted). */
bool dp_pipe_push(dp_pipe *p, uint32_t tag, const uint8_t *packet, size_t len);
/* Consumer (JavaScript): takes up to `max` packets, oldest first, calling `each` for every one; the
 * next push after a drain that emptied the queue wakes again. Returns how many were taken. */
typedef void (*dp_pipe_each_fn)(void *ctx, uint32_t tag, const uint8_t *packet, size_t len);
size_t dp_pipe_drain(dp_pipe *p, size_t max, dp_pipe_each_fn each, void *ctx);
const dp_pipe_stats *dp_pipe_stats_of(const dp_pipe *p);

#endif
