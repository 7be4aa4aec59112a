#include <pthread.h>

#include "pipe.h"
#include "tap.h"

void test_pipe(void);

typedef struct {
  uint32_t tags[64];
  size_t lens[64], n;
  int wakes;
} seen;

static void on_wake(void *ctx) { ((seen *)ctx)->wakes++; }

static void collect(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) {
  seen *s = ctx;
  if (s->n < 64) {
    s->tags[s->n] = tag;
    s->lens[s->n++] = len + (packet[0] == 0x45 ? 0 : 1000); /* a corrupted copy shows in the length */
  }
}

typedef struct {
  dp_pipe *p;
  int pushed;
} producer;

static void *produce(void *arg) {
  producer *pr = arg;
  uint8_t packet[100] = {0x45};
  for (int i = 0; i < 20000; i++) pr->pushed += dp_pipe_push(pr->p, (uint32_t)i, packet, sizeof packet);
  return NULL;
}

static void count_only(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) {
  (void)tag;
  (void)packet;
  (void)len;
  (*(size_t *)ctx)++;
}

void test_pipe(void) {
  seen s = {0};
  dp_pipe *p = dp_pipe_open(4, 250, on_wake, &s);
  uint8_t packet[100] = {0x45};
  CHECK(dp_pipe_push(p, 7, packet, 100) && s.wakes == 1, "the first packet wakes the consumer");
  CHECK(dp_pipe_push(p, 8, packet, 60) && s.wakes == 1, "more packets before a drain do not wake again");
  CHECK(!dp_pipe_push(p, 9, packet, 100) && dp_pipe_stats_of(p)->dropped_full == 1, "the byte bound drops and counts");
  CHECK(dp_pipe_drain(p, 1, collect, &s) == 1 && s.tags[0] == 7 && s.lens[0] == 100, "a drain takes the oldest first, intact");
  CHECK(dp_pipe_push(p, 10, packet, 20) && s.wakes == 1, "not emptied: no new wake-up (the consumer comes back by itself)");
  CHECK(dp_pipe_drain(p, 64, collect, &s) == 2 && s.tags[1] == 8 && s.tags[2] == 10, "the rest in order");
  CHECK(dp_pipe_push(p, 11, packet, 20) && s.wakes == 2, "emptied: the next packet wakes again");
  for (int i = 0; i < 3; i++) dp_pipe_push(p, 12, packet, 1);
  CHECK(!dp_pipe_push(p, 13, packet, 1), "the packet bound holds too");
  dp_pipe_close(p); /* with packets still queued: freed, no leak under the sanitizer */

  size_t taken = 0;
  dp_pipe *q = dp_pipe_open(256, 1u << 20, NULL, NULL);
  producer pr = {.p = q};
  pthread_t thread;
  pthread_create(&thread, NULL, produce, &pr);
  for (int spins = 0; spins < 2000000 && taken < 20000; spins++) dp_pipe_drain(q, 64, count_only, &taken);
  pthread_join(thread, NULL);
  while (dp_pipe_drain(q, 64, count_only, &taken)) {}
  const dp_pipe_stats *st = dp_pipe_stats_of(q);
  CHECK((int)taken == pr.pushed && st->delivered == (uint64_t)pr.pushed && st->queued + st->dropped_full == 20000, "a producer thread and a consumer: every queued packet delivered once, the rest counted");
  dp_pipe_close(q);
}
