#include "pipe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct item {
  struct item *next;
  uint32_t tag;
  size_t len;
  uint8_t data[];
} item;

struct dp_pipe {
  pthread_mutex_t lock;
  item *head, *tail;
  size_t count, bytes, max_packets, max_bytes;
  bool woken; /* a wake-up is pending: the consumer has not drained since */
  dp_pipe_wake_fn wake;
  void *ctx;
  dp_pipe_stats stats;
};

dp_pipe *dp_pipe_open(size_t max_packets, size_t max_bytes, dp_pipe_wake_fn wake, void *ctx) {
  dp_pipe *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  pthread_mutex_init(&p->lock, NULL);
  p->max_packets = max_packets;
  p->max_bytes = max_bytes;
  p->wake = wake;
  p->ctx = ctx;
  return p;
}

void dp_pipe_close(dp_pipe *p) {
  if (!p) return;
  for (item *i = p->head, *next; i; i = next) {
    next = i->next;
    free(i);
  }
  pthread_mutex_destroy(&p->lock);
  free(p);
}

bool dp_pipe_push(dp_pipe *p, uint32_t tag, const uint8_t *packet, size_t len) {
  pthread_mutex_lock(&p->lock);
  bool full = p->count >= p->max_packets || p->bytes + len > p->max_bytes;
  pthread_mutex_unlock(&p->lock);
  if (full) {
    atomic_fetch_add_explicit(&p->stats.dropped_full, 1, memory_order_relaxed);
    return false;
  }
  item *i = malloc(sizeof *i + len); /* outside the lock: the consumer is never held up by malloc */
  if (!i) {
    atomic_fetch_add_explicit(&p->stats.dropped_full, 1, memory_order_relaxed);
    return false;
  }
  i->next = NULL;
  i->tag = tag;
  i->len = len;
  memcpy(i->data, packet, len);
  pthread_mutex_lock(&p->lock);
  if (p->tail) p->tail->next = i;
  else p->head = i;
  p->tail = i;
  p->count++;
  p->bytes += len;
  bool wake = !p->woken;
  p->woken = true;
  pthread_mutex_unlock(&p->lock);
  atomic_fetch_add_explicit(&p->stats.queued, 1, memory_order_relaxed);
  if (wake && p->wake) p->wake(p->ctx);
  return true;
}

size_t dp_pipe_drain(dp_pipe *p, size_t max, dp_pipe_each_fn each, void *ctx) {
  pthread_mutex_lock(&p->lock);
  item *taken = p->head, *last = NULL;
  size_t n = 0, bytes = 0;
  for (item *i = taken; i && n < max; i = i->next) {
    last = i;
    n++;
    bytes += i->len;
  }
  if (last) {
    p->head = last->next;
    if (!p->head) p->tail = NULL;
    last->next = NULL;
  } else {
    taken = NULL;
  }
  p->count -= n;
  p->bytes -= bytes;
  /* Emptied: the next push wakes the consumer again. Not emptied: it will drain again by itself. */
  if (!p->head) p->woken = false;
  pthread_mutex_unlock(&p->lock);
  for (item *i = taken, *next; i; i = next) {
    next = i->next;
    each(ctx, i->tag, i->data, i->len);
    free(i);
  }
  atomic_fetch_add_explicit(&p->stats.delivered, n, memory_order_relaxed);
  return n;
}

const dp_pipe_stats *dp_pipe_stats_of(const dp_pipe *p) { return &p->stats; }
