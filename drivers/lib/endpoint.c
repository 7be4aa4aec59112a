#define _GNU_SOURCE
#include "endpoint.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_io.h"
#include "tunnel.h"

/* SPI → tunnel, a snapshot read without locks; a change publishes a new one (RCU-style), except a new
 * SPI while the table is under half full (issue 23: a rebuild per child made 10,000 quadratic): its
 * tunnel is written first and its SPI last, with release order, so the thread sees all or nothing. */
typedef struct {
  size_t mask;  /* capacity - 1 (a power of two) */
  size_t count; /* SPIs in it: in-place inserts stop at half full */
  _Atomic uint32_t *spis;
  dp_tunnel **tunnels;
} spi_table;

typedef struct {
  uint32_t spi;
  dp_tunnel *tunnel;
} spi_entry;

/* The tunnels a batch delivered to, so only they are flushed at its end. */
#define TOUCHED_MAX 64

struct dp_endpoint {
  int fd, stop_fd;
  bool raw; /* raw ESP (IP protocol 50): IPv4 datagrams start with the outer header (IPv6 ones never do) */
  bool v6;
  dp_endpoint_ike_fn on_ike;
  void *ike_ctx;
  _Atomic(spi_table *) table;
  spi_entry *master; /* the JavaScript thread's list, source of every snapshot */
  size_t master_count, master_cap;
  dp_epoch epoch; /* odd while the thread handles a batch */
  const spi_table *current; /* the receiving thread's snapshot for this batch */
  dp_tunnel *touched[TOUCHED_MAX];
  int touched_count;
  uint8_t *rx_area;
  uint8_t plain[DP_RX_BUFFER];
  pthread_t rx;
  dp_endpoint_stats stats;
};

#define COUNT(e, field) atomic_fetch_add_explicit(&(e)->stats.field, 1, memory_order_relaxed)

static dp_endpoint *dp_endpoint_open_kind(const dp_addr *local, bool raw, dp_endpoint_ike_fn on_ike, void *ctx, int *error);
static void free_table(spi_table *t);

static size_t hash_spi(uint32_t spi) { return (size_t)((spi * 2654435761u) ^ (spi >> 15)); }

static dp_tunnel *tunnel_for(dp_endpoint *e, uint32_t spi) {
  const spi_table *t = e->current;
  if (!t || spi == 0) return NULL;
  for (size_t i = hash_spi(spi) & t->mask;; i = (i + 1) & t->mask) {
    uint32_t here = atomic_load_explicit(&t->spis[i], memory_order_acquire);
    if (here == spi) return t->tunnels[i];
    if (here == 0) return NULL;
  }
}

/* Flushes what the batch left in the tunnels it used (GRO, expiry reports). */
static void flush_touched(dp_endpoint *e) {
  for (int i = 0; i < e->touched_count; i++) dp_tunnel_receive_done(e->touched[i]);
  e->touched_count = 0;
}

static void deliver_to(dp_endpoint *e, dp_tunnel *t, const uint8_t *d, size_t len, const dp_addr *from) {
  if (e->touched_count == 0 || e->touched[e->touched_count - 1] != t) {
    bool seen = false;
    for (int i = 0; i < e->touched_count && !seen; i++) seen = e->touched[i] == t;
    if (!seen) {
      if (e->touched_count == TOUCHED_MAX) flush_touched(e);
      e->touched[e->touched_count++] = t;
    }
  }
  dp_tunnel_receive(t, d, len, from, e->plain);
}

/* RFC 3948 §2.2: a zero SPI field is the non-ESP marker (IKE); a lone 0xFF is a keepalive (§2.3). */
/* Raw ESP: the kernel hands over the IPv4 header too (never an IPv6 one); the SPI follows it. Nothing here is IKE. */
static void classify_raw(dp_endpoint *e, const uint8_t *d, size_t len, const dp_addr *from) {
  size_t ihl = e->v6 ? 0 : len ? (size_t)(d[0] & 0x0f) * 4 : 0;
  if (len < ihl + 8 || (!e->v6 && ihl < 20)) { COUNT(e, short_packets); return; }
  const uint8_t *esp = d + ihl;
  uint32_t spi = (uint32_t)esp[0] << 24 | (uint32_t)esp[1] << 16 | (uint32_t)esp[2] << 8 | esp[3];
  dp_tunnel *t = tunnel_for(e, spi);
  if (!t) { COUNT(e, unknown_spi); return; }
  deliver_to(e, t, d, len, from);
}

static void classify(void *ctx, const uint8_t *d, size_t len, const dp_addr *from, const dp_addr *to) {
  dp_endpoint *e = ctx;
  COUNT(e, rx);
  if (e->raw) { classify_raw(e, d, len, from); return; }
  if (len == 1 && d[0] == 0xff) { COUNT(e, keepalives); return; }
  if (len < 8) { COUNT(e, short_packets); return; }
  uint32_t spi = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
  if (spi == 0) {
    COUNT(e, ike);
    if (e->on_ike) e->on_ike(e->ike_ctx, d + 4, len - 4, from, to);
    return;
  }
  dp_tunnel *t = tunnel_for(e, spi);
  if (!t) { COUNT(e, unknown_spi); return; }
  deliver_to(e, t, d, len, from);
}

static void *run_rx(void *arg) {
  dp_endpoint *e = arg;
  struct pollfd p[2] = {{.fd = e->fd, .events = POLLIN}, {.fd = e->stop_fd, .events = POLLIN}};
  for (;;) {
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p[1].revents & POLLIN)) break;
    dp_epoch_enter(&e->epoch);
    e->current = atomic_load_explicit(&e->table, memory_order_acquire);
    dp_receive_batch(e->fd, e->rx_area, classify, e);
    flush_touched(e);
    e->current = NULL;
    dp_epoch_leave(&e->epoch);
  }
  return NULL;
}

dp_endpoint *dp_endpoint_open(const dp_addr *local, dp_endpoint_ike_fn on_ike, void *ctx, int *error) {
  return dp_endpoint_open_kind(local, false, on_ike, ctx, error);
}

dp_endpoint *dp_endpoint_open_raw(const dp_addr *local, int *error) {
  return dp_endpoint_open_kind(local, true, NULL, NULL, error);
}

bool dp_endpoint_is_raw(const dp_endpoint *e) { return e->raw; }
bool dp_endpoint_is_v6(const dp_endpoint *e) { return e->v6; }

static dp_endpoint *dp_endpoint_open_kind(const dp_addr *local, bool raw, dp_endpoint_ike_fn on_ike, void *ctx, int *error) {
  dp_endpoint *e = calloc(1, sizeof *e);
  if (!e) { *error = -ENOMEM; return NULL; }
  e->raw = raw;
  e->v6 = dp_addr_is_v6(local);
  e->on_ike = on_ike;
  e->ike_ctx = ctx;
  e->fd = dp_socket_open(raw ? IPPROTO_ESP : 0, local);
  e->stop_fd = eventfd(0, EFD_CLOEXEC);
  e->rx_area = malloc((size_t)DP_RX_BATCH * DP_RX_BUFFER);
  if (e->fd < 0 || e->stop_fd < 0 || !e->rx_area) {
    *error = e->fd < 0 ? e->fd : e->stop_fd < 0 ? -errno : -ENOMEM;
    if (e->fd >= 0) close(e->fd);
    if (e->stop_fd >= 0) close(e->stop_fd);
    free(e->rx_area);
    free(e);
    return NULL;
  }
  pthread_create(&e->rx, NULL, run_rx, e);
  pthread_setname_np(e->rx, e->raw ? (e->v6 ? "dp-esp6-rx" : "dp-esp-rx") : e->v6 ? "dp-udp6-4500-rx" : "dp-udp4500-rx"); /* names show in top -H */
  *error = 0;
  return e;
}

int dp_endpoint_send_ike(dp_endpoint *e, const uint8_t *msg, size_t len, const dp_addr *to, const dp_addr *source) {
  static const uint8_t marker[4] = {0, 0, 0, 0};
  union { char buf[DP_PKTINFO_SPACE]; struct cmsghdr align; } control;
  if (dp_addr_is_v6(to) != e->v6) { COUNT(e, ike_send_errors); return -EAFNOSUPPORT; }
  struct iovec iov[2] = {{.iov_base = (void *)marker, .iov_len = sizeof marker}, {.iov_base = (void *)msg, .iov_len = len}};
  struct msghdr m = {.msg_name = (void *)to, .msg_namelen = dp_addr_len(to), .msg_iov = iov, .msg_iovlen = 2};
  m.msg_controllen = dp_pktinfo_cmsg(source, control.buf);
  if (m.msg_controllen) m.msg_control = control.buf;
  if (sendmsg(e->fd, &m, 0) < 0) {
    COUNT(e, ike_send_errors);
    return -errno;
  }
  COUNT(e, ike_sent);
  return 0;
}

void dp_endpoint_close(dp_endpoint *e) {
  if (!e) return;
  uint64_t one = 1;
  if (write(e->stop_fd, &one, sizeof one) < 0) { /* the thread would wait forever; nothing better to do */ }
  pthread_join(e->rx, NULL);
  close(e->fd);
  close(e->stop_fd);
  free(e->rx_area);
  free_table(atomic_load(&e->table));
  free(e->master);
  free(e);
}

const dp_endpoint_stats *dp_endpoint_stats_of(const dp_endpoint *e) { return &e->stats; }
int dp_endpoint_fd(const dp_endpoint *e) { return e->fd; }
dp_epoch *dp_endpoint_epoch(dp_endpoint *e) { return &e->epoch; }

static void wait_quiescent(dp_endpoint *e) {
  dp_epochs_wait(&e->epoch, 1);
}

static void free_table(spi_table *t) {
  if (!t) return;
  free((void *)t->spis);
  free(t->tunnels);
  free(t);
}

/* A new snapshot from the master list; the old one freed once the thread cannot hold it. */
static int publish(dp_endpoint *e) {
  spi_table *t = calloc(1, sizeof *t);
  size_t cap = 16;
  while (cap < e->master_count * 3) cap *= 2; /* a third full at most: room for in-place inserts */
  if (t) {
    t->spis = calloc(cap, sizeof *t->spis);
    t->tunnels = calloc(cap, sizeof *t->tunnels);
    t->mask = cap - 1;
  }
  if (!t || !t->spis || !t->tunnels) {
    free_table(t);
    return -ENOMEM;
  }
  for (size_t k = 0; k < e->master_count; k++) {
    size_t i = hash_spi(e->master[k].spi) & t->mask;
    while (atomic_load_explicit(&t->spis[i], memory_order_relaxed)) i = (i + 1) & t->mask;
    atomic_store_explicit(&t->spis[i], e->master[k].spi, memory_order_relaxed); /* not yet published: no reader */
    t->tunnels[i] = e->master[k].tunnel;
    t->count++;
  }
  spi_table *old = atomic_exchange_explicit(&e->table, t, memory_order_acq_rel);
  wait_quiescent(e);
  free_table(old);
  return 0;
}

/* The live table's slot for a SPI, or -1 (the table holds every SPI of the master list). */
static ptrdiff_t spi_slot(const spi_table *t, uint32_t spi) {
  for (size_t i = hash_spi(spi) & t->mask;; i = (i + 1) & t->mask) {
    uint32_t here = atomic_load_explicit(&t->spis[i], memory_order_relaxed);
    if (here == spi) return (ptrdiff_t)i;
    if (here == 0) return -1;
  }
}

int dp_endpoint_spi_add(dp_endpoint *e, uint32_t spi, dp_tunnel *t) {
  if (spi == 0) return -EINVAL;
  spi_table *live = atomic_load_explicit(&e->table, memory_order_acquire);
  if (live) {
    if (spi_slot(live, spi) >= 0) return -EEXIST;
  } else {
    for (size_t k = 0; k < e->master_count; k++) if (e->master[k].spi == spi) return -EEXIST;
  }
  bool in_place = live && (live->count + 1) * 2 <= live->mask + 1;
  if (e->master_count == e->master_cap) {
    size_t cap = e->master_cap ? e->master_cap * 2 : 64;
    spi_entry *grown = realloc(e->master, cap * sizeof *grown);
    if (!grown) return -ENOMEM;
    e->master = grown;
    e->master_cap = cap;
  }
  e->master[e->master_count++] = (spi_entry){.spi = spi, .tunnel = t};
  if (in_place) {
    size_t i = hash_spi(spi) & live->mask;
    while (atomic_load_explicit(&live->spis[i], memory_order_relaxed)) i = (i + 1) & live->mask;
    live->tunnels[i] = t;
    atomic_store_explicit(&live->spis[i], spi, memory_order_release);
    live->count++;
    return 0;
  }
  int rc = publish(e);
  if (rc < 0) e->master_count--;
  return rc;
}

/* Takes out one SPI, or every SPI of `t` (spi 0); returns once the thread cannot deliver to them. */
void dp_endpoint_spi_remove(dp_endpoint *e, uint32_t spi, dp_tunnel *t) {
  size_t kept = 0;
  for (size_t k = 0; k < e->master_count; k++) {
    bool gone = spi ? e->master[k].spi == spi : e->master[k].tunnel == t;
    if (!gone) e->master[kept++] = e->master[k];
  }
  e->master_count = kept;
  if (publish(e) < 0) {
    spi_table *old = atomic_exchange_explicit(&e->table, NULL, memory_order_acq_rel); /* safe: nothing delivered */
    wait_quiescent(e);
    free_table(old);
  }
  wait_quiescent(e);
}
