/* Outer addresses of either family (issue 24: IPv6 on the WAN), and a peer address that the
 * receiving thread may move (NAT rebinding, MOBIKE) while sending threads read it without locks. */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} dp_addr;

static inline bool dp_addr_is_v6(const dp_addr *a) { return a->sa.sa_family == AF_INET6; }
static inline socklen_t dp_addr_len(const dp_addr *a) { return dp_addr_is_v6(a) ? sizeof a->v6 : sizeof a->v4; }
static inline uint16_t dp_addr_port(const dp_addr *a) { return dp_addr_is_v6(a) ? a->v6.sin6_port : a->v4.sin_port; }

/* Same family, address and port (flow label and scope ignored). */
static inline bool dp_addr_equal(const dp_addr *a, const dp_addr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return false;
  if (dp_addr_is_v6(a)) return a->v6.sin6_port == b->v6.sin6_port && memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, 16) == 0;
  return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
}

/* An IPv4 or IPv6 address and port as three words under a sequence lock: a writer (the receiving
 * thread following a NAT, or JavaScript after MOBIKE) makes the count odd while it writes; a reader
 * retries until it saw the same even count before and after. Two writers are serialised by the CAS. */
typedef struct {
  _Atomic uint32_t seq;
  _Atomic uint64_t word[3]; /* address bytes 0-7, 8-15; family << 16 | port */
} dp_peer;

static inline void dp_peer_store(dp_peer *p, const dp_addr *a) {
  uint64_t w[3] = {0, 0, 0};
  if (dp_addr_is_v6(a)) {
    memcpy(w, &a->v6.sin6_addr, 16);
    w[2] = (uint64_t)AF_INET6 << 16 | a->v6.sin6_port;
  } else {
    memcpy(w, &a->v4.sin_addr, 4);
    w[2] = (uint64_t)AF_INET << 16 | a->v4.sin_port;
  }
  uint32_t s = atomic_load_explicit(&p->seq, memory_order_relaxed);
  for (;;) {
    if (!(s & 1) && atomic_compare_exchange_weak_explicit(&p->seq, &s, s + 1, memory_order_acquire, memory_order_relaxed)) break;
    if (s & 1) s = atomic_load_explicit(&p->seq, memory_order_relaxed);
  }
  atomic_thread_fence(memory_order_release);
  for (int i = 0; i < 3; i++) atomic_store_explicit(&p->word[i], w[i], memory_order_relaxed);
  atomic_store_explicit(&p->seq, s + 2, memory_order_release);
}

static inline dp_addr dp_peer_load(const dp_peer *p) {
  uint64_t w[3];
  for (;;) {
    uint32_t before = atomic_load_explicit(&p->seq, memory_order_acquire);
    for (int i = 0; i < 3; i++) w[i] = atomic_load_explicit(&p->word[i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (!(before & 1) && atomic_load_explicit(&p->seq, memory_order_relaxed) == before) break;
  }
  dp_addr a;
  memset(&a, 0, sizeof a);
  if ((w[2] >> 16) == AF_INET6) {
    a.v6.sin6_family = AF_INET6;
    a.v6.sin6_port = (uint16_t)w[2];
    memcpy(&a.v6.sin6_addr, w, 16);
  } else {
    a.v4.sin_family = AF_INET;
    a.v4.sin_port = (uint16_t)w[2];
    memcpy(&a.v4.sin_addr, w, 4);
  }
  return a;
}

/* The outer IP header's bytes before the ESP, UDP or GRE header (no options or extension headers):
 * what the MTU arithmetic must leave room for. */
static inline unsigned dp_addr_ip_header(const dp_addr *a) { return dp_addr_is_v6(a) ? 40 : 20; }

#endif
