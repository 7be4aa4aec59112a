#define _GNU_SOURCE
#include "hub.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "esp.h"
#include "gso.h"
#include "pipe.h"
#include "tunnel.h"

#define MAX_READ (65536 + DP_VNET_HDR_LEN)
#define MAX_SEGMENT 2048
#define READS_PER_BATCH 32

/* A route leads to a tunnel, a sink, or (both NULL) to the pipe with a session's tag. */
typedef struct {
  dp_prefix prefix;
  dp_tunnel *tunnel;
  uint32_t tag;
  dp_hub_sink *sink;
} route;

/* A snapshot readers use without locks; a change builds a new one (RCU-style), except a new IPv4
 * /32, which goes into the hash in place while it has room (issue 23: a rebuild per remote-access
 * client made 10,000 clients quadratic): its slot is filled first and its address stored last,
 * with release order, so a reader sees either no entry or the whole one. */
typedef struct {
  size_t count;
  route *routes;       /* longest prefix first; IPv4 /32s live in the hash instead */
  size_t host_mask;    /* hash capacity - 1 (a power of two), or 0 when there is no hash */
  size_t host_count;   /* entries in the hash: in-place inserts stop at half full */
  _Atomic uint32_t *host_addr; /* network order; 0 = empty slot */
  dp_tunnel **host_tunnel;
  uint32_t *host_tag;
  dp_hub_sink **host_sink;
} route_table;

struct dp_hub {
  int tun_fds[DP_HUB_MAX_QUEUES]; /* one per queue of a multi-queue TUN, each read by its own thread */
  unsigned queues;
  int stop_fd;
  bool offload;
  bool uso;
  unsigned mtu;
  _Atomic(route_table *) table;
  _Atomic(dp_pipe *) pipe; /* sessions served in JavaScript; NULL until attached */
  dp_epoch epochs[DP_HUB_MAX_QUEUES]; /* each reading thread's: odd while it handles a batch */
  _Atomic unsigned next_queue;        /* tunnels are given queues in turn */
  route *master;          /* the JavaScript thread's list, source of every snapshot */
  size_t master_count, master_cap;
  pthread_t threads[DP_HUB_MAX_QUEUES];
  struct reader { dp_hub *hub; unsigned queue; } readers[DP_HUB_MAX_QUEUES];
  dp_hub_stats stats;
};

static size_t hash32(uint32_t a) { return (size_t)((a * 2654435761u) ^ (a >> 16)); }

/* The route for a packet's destination: true with its tunnel or sink (or neither and the pipe tag), or false. */
static bool lookup(const route_table *rt, const uint8_t *packet, size_t len, dp_tunnel **tunnel, uint32_t *tag, dp_hub_sink **sink) {
  if (!rt || len < 20) return false;
  unsigned version = packet[0] >> 4;
  const uint8_t *dst = version == 4 ? packet + 16 : packet + 24;
  if (version == 6 && len < 40) return false;
  if (version == 4 && rt->host_mask) {
    uint32_t a;
    memcpy(&a, dst, 4);
    for (size_t i = hash32(a) & rt->host_mask;; i = (i + 1) & rt->host_mask) {
      uint32_t here = atomic_load_explicit(&rt->host_addr[i], memory_order_acquire);
      if (here == a) {
        *tunnel = rt->host_tunnel[i];
        *tag = rt->host_tag[i];
        *sink = rt->host_sink[i];
        return true;
      }
      if (here == 0) break;
    }
  }
  for (size_t i = 0; i < rt->count; i++) {
    const dp_prefix *p = &rt->routes[i].prefix;
    if (p->family == version && dp_prefix_contains(p, dst)) {
      *tunnel = rt->routes[i].tunnel;
      *tag = rt->routes[i].tag;
      *sink = rt->routes[i].sink;
      return true;
    }
  }
  return false;
}

typedef struct {
  dp_hub *hub;
  const route_table *table;
  dp_hub_sink *pending; /* the sink of the last packets, while it holds them (hub.h: flush) */
} route_ctx;

static void flush_pending(route_ctx *c) {
  if (!c->pending) return;
  c->pending->flush(c->pending);
  c->pending = NULL;
}

static bool is_multicast(const uint8_t *packet, size_t len) {
  unsigned version = len ? packet[0] >> 4 : 0;
  if (version == 4 && len >= 20) return (packet[16] & 0xf0) == 0xe0;
  return version == 6 && len >= 40 && packet[24] == 0xff;
}

static int route_one(void *ctx, const uint8_t *packet, size_t len) {
  route_ctx *c = ctx;
  if (is_multicast(packet, len)) {
    atomic_fetch_add_explicit(&c->hub->stats.multicast, 1, memory_order_relaxed);
    return 0;
  }
  dp_tunnel *t = NULL;
  uint32_t tag = 0;
  dp_hub_sink *sink = NULL;
  bool found = lookup(c->table, packet, len, &t, &tag, &sink);
  if (c->pending && (!found || sink != c->pending)) flush_pending(c);
  if (!found) {
    atomic_fetch_add_explicit(&c->hub->stats.no_route, 1, memory_order_relaxed);
    uint64_t seen = len ? (uint64_t)(packet[0] >> 4) << 32 : 0;
    const uint8_t *d = len >= 40 && packet[0] >> 4 == 6 ? packet + 24 : len >= 20 ? packet + 16 : NULL;
    if (d) seen |= (uint64_t)d[0] << 24 | (uint64_t)d[1] << 16 | (uint64_t)d[2] << 8 | d[3];
    atomic_store_explicit(&c->hub->stats.last_no_route, seen, memory_order_relaxed);
  } else if (t) {
    dp_tunnel_tx_packet(t, packet, len);
  } else if (sink) {
    sink->tx(sink, packet, len);
    if (sink->flush) c->pending = sink;
  } else {
    dp_pipe *pipe = atomic_load_explicit(&c->hub->pipe, memory_order_acquire);
    if (pipe) dp_pipe_push(pipe, tag, packet, len);
  }
  return 0;
}

/* One queue's reader: the flows of the tunnels given this queue come here (hub.h), so each thread
 * seals for its own tunnels, on its own cipher contexts (esp.h lanes). */
static void *run(void *arg) {
  struct reader *r = arg;
  dp_hub *h = r->hub;
  int fd = h->tun_fds[r->queue];
  dp_epoch *epoch = &h->epochs[r->queue];
  dp_esp_set_lane(r->queue);
  static __thread uint8_t readbuf[MAX_READ], scratch[MAX_SEGMENT];
  struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = h->stop_fd, .events = POLLIN}};
  for (;;) {
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p[1].revents & POLLIN)) break;
    dp_epoch_enter(epoch);
    route_ctx c = {.hub = h, .table = atomic_load_explicit(&h->table, memory_order_acquire)};
    int reads = 0;
    for (; reads < READS_PER_BATCH; reads++) {
      ssize_t len = read(fd, readbuf, sizeof readbuf);
      if (len <= 0) break;
      if (!h->offload) route_one(&c, readbuf, (size_t)len);
      else dp_gso_split(readbuf, (size_t)len, scratch, sizeof scratch, route_one, &c);
    }
    flush_pending(&c);
    atomic_fetch_add_explicit(&h->stats.tun_rx, (uint64_t)reads, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->stats.queue_rx[r->queue], (uint64_t)reads, memory_order_relaxed);
    dp_tunnel_tx_flush();
    dp_epoch_leave(epoch);
  }
  return NULL;
}

static void wait_quiescent(dp_hub *h) { dp_epochs_wait(h->epochs, h->queues); }

static void free_table(route_table *rt) {
  if (!rt) return;
  free(rt->routes);
  free((void *)rt->host_addr);
  free(rt->host_tunnel);
  free(rt->host_tag);
  free(rt->host_sink);
  free(rt);
}

static int by_length_desc(const void *a, const void *b) {
  return (int)((const route *)b)->prefix.length - (int)((const route *)a)->prefix.length;
}

/* A new snapshot from the master list, swapped in; the old one is freed once unused. */
static int publish(dp_hub *h) {
  route_table *rt = calloc(1, sizeof *rt);
  if (!rt) return -ENOMEM;
  size_t hosts = 0;
  for (size_t i = 0; i < h->master_count; i++) hosts += h->master[i].prefix.family == 4 && h->master[i].prefix.length == 32;
  rt->routes = calloc(h->master_count + 1, sizeof *rt->routes);
  size_t cap = 0;
  /* At most a third full when built: room for in-place inserts until half full. */
  if (hosts) for (cap = 16; cap < hosts * 3; cap *= 2) {}
  if (cap) {
    rt->host_addr = calloc(cap, sizeof *rt->host_addr);
    rt->host_tunnel = calloc(cap, sizeof *rt->host_tunnel);
    rt->host_tag = calloc(cap, sizeof *rt->host_tag);
    rt->host_sink = calloc(cap, sizeof *rt->host_sink);
    rt->host_mask = cap - 1;
  }
  if (!rt->routes || (cap && (!rt->host_addr || !rt->host_tunnel || !rt->host_tag || !rt->host_sink))) {
    free_table(rt);
    return -ENOMEM;
  }
  for (size_t i = 0; i < h->master_count; i++) {
    const route *r = &h->master[i];
    if (r->prefix.family == 4 && r->prefix.length == 32) {
      uint32_t a;
      memcpy(&a, r->prefix.addr, 4);
      size_t j = hash32(a) & rt->host_mask;
      while (atomic_load_explicit(&rt->host_addr[j], memory_order_relaxed)) j = (j + 1) & rt->host_mask;
      atomic_store_explicit(&rt->host_addr[j], a, memory_order_relaxed); /* not yet published: no reader */
      rt->host_tunnel[j] = r->tunnel;
      rt->host_tag[j] = r->tag;
      rt->host_sink[j] = r->sink;
      rt->host_count++;
    } else {
      rt->routes[rt->count++] = *r;
    }
  }
  qsort(rt->routes, rt->count, sizeof *rt->routes, by_length_desc);
  route_table *old = atomic_exchange_explicit(&h->table, rt, memory_order_acq_rel);
  wait_quiescent(h);
  free_table(old);
  atomic_store_explicit(&h->stats.routes, h->master_count, memory_order_relaxed);
  return 0;
}

/* The slot of an IPv4 address in the snapshot's hash, or -1. */
static ptrdiff_t host_slot(const route_table *rt, uint32_t a) {
  if (!rt || !rt->host_mask) return -1;
  for (size_t i = hash32(a) & rt->host_mask;; i = (i + 1) & rt->host_mask) {
    uint32_t here = atomic_load_explicit(&rt->host_addr[i], memory_order_relaxed);
    if (here == a) return (ptrdiff_t)i;
    if (here == 0) return -1;
  }
}

/* A route at the end of the master list, grown by doubling: 0, or -ENOMEM. */
static int master_append(dp_hub *h, const dp_prefix *p, dp_tunnel *t, uint32_t tag, dp_hub_sink *sink) {
  if (h->master_count == h->master_cap) {
    size_t cap = h->master_cap ? h->master_cap * 2 : 64;
    route *grown = realloc(h->master, cap * sizeof *grown);
    if (!grown) return -ENOMEM;
    h->master = grown;
    h->master_cap = cap;
  }
  h->master[h->master_count++] = (route){.prefix = *p, .tunnel = t, .tag = tag, .sink = sink};
  return 0;
}

/* A new IPv4 /32 into the live snapshot's hash while it is under half full: 0, or 1 when it must be rebuilt. */
static int host_insert_in_place(dp_hub *h, const dp_prefix *p, dp_tunnel *t, uint32_t tag, dp_hub_sink *sink) {
  route_table *rt = atomic_load_explicit(&h->table, memory_order_acquire);
  if (p->family != 4 || p->length != 32 || !rt || !rt->host_mask || (rt->host_count + 1) * 2 > rt->host_mask + 1) return 1;
  uint32_t a;
  memcpy(&a, p->addr, 4);
  if (a == 0 || host_slot(rt, a) >= 0) return 1; /* 0 marks empty slots; an existing host is a replacement */
  if (master_append(h, p, t, tag, sink) < 0) return -ENOMEM;
  size_t j = hash32(a) & rt->host_mask;
  while (atomic_load_explicit(&rt->host_addr[j], memory_order_relaxed)) j = (j + 1) & rt->host_mask;
  rt->host_tunnel[j] = t;
  rt->host_tag[j] = tag;
  rt->host_sink[j] = sink;
  atomic_store_explicit(&rt->host_addr[j], a, memory_order_release);
  rt->host_count++;
  atomic_store_explicit(&h->stats.routes, h->master_count, memory_order_relaxed);
  return 0;
}

static int route_add(dp_hub *h, const dp_prefix *p, dp_tunnel *t, uint32_t tag, dp_hub_sink *sink) {
  int fast = host_insert_in_place(h, p, t, tag, sink);
  if (fast <= 0) return fast;
  for (size_t i = 0; i < h->master_count; i++) {
    if (h->master[i].prefix.family == p->family && h->master[i].prefix.length == p->length && !memcmp(h->master[i].prefix.addr, p->addr, 16)) {
      /* The newest tunnel for a prefix wins (a reauthentication's new child before the old one goes). */
      route previous = h->master[i];
      h->master[i].tunnel = t;
      h->master[i].tag = tag;
      h->master[i].sink = sink;
      int rc = publish(h);
      if (rc < 0) h->master[i] = previous;
      return rc;
    }
  }
  if (master_append(h, p, t, tag, sink) < 0) return -ENOMEM;
  int rc = publish(h);
  if (rc < 0) h->master_count--;
  return rc;
}

int dp_hub_route_add(dp_hub *h, const dp_prefix *p, dp_tunnel *t) { return route_add(h, p, t, 0, NULL); }
int dp_hub_pipe_route_add(dp_hub *h, const dp_prefix *p, uint32_t tag) { return route_add(h, p, NULL, tag, NULL); }
int dp_hub_sink_route_add(dp_hub *h, const dp_prefix *p, dp_hub_sink *s) { return route_add(h, p, NULL, 0, s); }

/* Every route to the tunnel, to the sink, or (neither) to the pipe with the tag. */
static void routes_remove(dp_hub *h, dp_tunnel *t, uint32_t tag, dp_hub_sink *sink) {
  size_t kept = 0;
  for (size_t i = 0; i < h->master_count; i++) {
    const route *r = &h->master[i];
    bool gone = r->tunnel == t && r->sink == sink && (t || sink || r->tag == tag);
    if (!gone) h->master[kept++] = *r;
  }
  h->master_count = kept;
  if (publish(h) < 0) {
    /* Out of memory for a new snapshot: no table at all is safe (packets are dropped as unrouted). */
    route_table *old = atomic_exchange_explicit(&h->table, NULL, memory_order_acq_rel);
    wait_quiescent(h);
    free_table(old);
  }
  wait_quiescent(h); /* also covers a batch that looked t up before the swap */
}

void dp_hub_routes_remove(dp_hub *h, dp_tunnel *t) { routes_remove(h, t, 0, NULL); }
void dp_hub_sink_routes_remove(dp_hub *h, dp_hub_sink *s) { routes_remove(h, NULL, 0, s); }

void dp_hub_route_remove(dp_hub *h, const dp_prefix *p, dp_tunnel *t) {
  for (size_t i = 0; i < h->master_count; i++) {
    route r = h->master[i];
    if (r.tunnel != t || r.prefix.family != p->family || r.prefix.length != p->length || memcmp(r.prefix.addr, p->addr, 16)) continue;
    h->master[i] = h->master[--h->master_count];
    if (publish(h) < 0) { /* kept: the old snapshot still routes it */
      h->master[h->master_count++] = h->master[i];
      h->master[i] = r;
    }
    return;
  }
}
void dp_hub_pipe_routes_remove(dp_hub *h, uint32_t tag) { routes_remove(h, NULL, tag, NULL); }

dp_pipe *dp_hub_pipe(dp_hub *h) { return atomic_load_explicit(&h->pipe, memory_order_acquire); }

void dp_hub_set_pipe(dp_hub *h, dp_pipe *p) {
  atomic_store_explicit(&h->pipe, p, memory_order_release);
  wait_quiescent(h); /* a batch holding the old pipe is done with it */
}

dp_hub *dp_hub_open(const int *tun_fds, unsigned queues, bool offload, bool uso, unsigned mtu, int *error) {
  if (queues < 1 || queues > DP_HUB_MAX_QUEUES) { *error = -EINVAL; return NULL; }
  dp_hub *h = calloc(1, sizeof *h);
  if (!h) { *error = -ENOMEM; return NULL; }
  h->queues = queues;
  h->offload = offload;
  h->uso = uso;
  h->mtu = mtu;
  h->stats.queues = queues;
  h->stop_fd = eventfd(0, EFD_CLOEXEC);
  *error = h->stop_fd < 0 ? -errno : 0;
  for (unsigned i = 0; i < queues && !*error; i++) {
    int flags = fcntl(tun_fds[i], F_GETFL);
    if (flags < 0 || fcntl(tun_fds[i], F_SETFL, flags | O_NONBLOCK) < 0) *error = -errno;
    h->tun_fds[i] = tun_fds[i];
  }
  if (*error) {
    if (h->stop_fd >= 0) close(h->stop_fd);
    free(h);
    return NULL;
  }
  for (unsigned i = 0; i < queues; i++) {
    h->readers[i] = (struct reader){.hub = h, .queue = i};
    if (pthread_create(&h->threads[i], NULL, run, &h->readers[i]) == 0) {
      char name[16];
      snprintf(name, sizeof name, "dp-hub-q%u", i);
      pthread_setname_np(h->threads[i], name);
    }
  }
  return h;
}

void dp_hub_close(dp_hub *h) {
  if (!h) return;
  uint64_t one = 1;
  if (write(h->stop_fd, &one, sizeof one) < 0) { /* the threads would wait forever; nothing better to do */ }
  for (unsigned i = 0; i < h->queues; i++) pthread_join(h->threads[i], NULL);
  close(h->stop_fd);
  for (unsigned i = 0; i < h->queues; i++) close(h->tun_fds[i]);
  free_table(atomic_load(&h->table));
  free(h->master);
  free(h);
}

const dp_hub_stats *dp_hub_stats_of(const dp_hub *h) { return &h->stats; }
int dp_hub_tun_fd(const dp_hub *h) { return h->tun_fds[0]; }

int dp_hub_queue_fd(const dp_hub *h, unsigned queue) { return h->tun_fds[queue % h->queues]; }

bool dp_hub_offload(const dp_hub *h) { return h->offload; }
bool dp_hub_uso(const dp_hub *h) { return h->uso; }
unsigned dp_hub_assign_queue(dp_hub *h) { return atomic_fetch_add_explicit(&h->next_queue, 1, memory_order_relaxed) % h->queues; }

dp_epoch *dp_hub_epochs(dp_hub *h, size_t *count) {
  *count = h->queues;
  return h->epochs;
}
