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

struct dp_endpoint {
  int fd, stop_fd;
  dp_endpoint_ike_fn on_ike;
  void *ike_ctx;
  _Atomic(dp_tunnel *) tunnels[DP_ENDPOINT_MAX_TUNNELS];
  _Atomic uint64_t epoch; /* odd while the thread handles a batch */
  uint8_t *rx_area;
  uint8_t plain[DP_RX_BUFFER];
  pthread_t rx;
  dp_endpoint_stats stats;
};

#define COUNT(e, field) atomic_fetch_add_explicit(&(e)->stats.field, 1, memory_order_relaxed)

static dp_tunnel *tunnel_for(dp_endpoint *e, uint32_t spi) {
  for (int i = 0; i < DP_ENDPOINT_MAX_TUNNELS; i++) {
    dp_tunnel *t = atomic_load_explicit(&e->tunnels[i], memory_order_acquire);
    if (t && dp_tunnel_owns_spi(t, spi)) return t;
  }
  return NULL;
}

/* RFC 3948 §2.2: a zero SPI field is the non-ESP marker (IKE); a lone 0xFF is a keepalive (§2.3). */
static void classify(void *ctx, const uint8_t *d, size_t len, const struct sockaddr_in *from) {
  dp_endpoint *e = ctx;
  COUNT(e, rx);
  if (len == 1 && d[0] == 0xff) { COUNT(e, keepalives); return; }
  if (len < 8) { COUNT(e, short_packets); return; }
  uint32_t spi = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
  if (spi == 0) {
    COUNT(e, ike);
    if (e->on_ike) e->on_ike(e->ike_ctx, d + 4, len - 4, from);
    return;
  }
  dp_tunnel *t = tunnel_for(e, spi);
  if (!t) { COUNT(e, unknown_spi); return; }
  dp_tunnel_receive(t, d, len, from, e->plain);
}

static void *run_rx(void *arg) {
  dp_endpoint *e = arg;
  struct pollfd p[2] = {{.fd = e->fd, .events = POLLIN}, {.fd = e->stop_fd, .events = POLLIN}};
  for (;;) {
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p[1].revents & POLLIN)) break;
    atomic_fetch_add_explicit(&e->epoch, 1, memory_order_acq_rel); /* busy */
    dp_receive_batch(e->fd, e->rx_area, classify, e);
    for (int i = 0; i < DP_ENDPOINT_MAX_TUNNELS; i++) {
      dp_tunnel *t = atomic_load_explicit(&e->tunnels[i], memory_order_acquire);
      if (t) dp_tunnel_receive_done(t);
    }
    atomic_fetch_add_explicit(&e->epoch, 1, memory_order_acq_rel); /* quiescent */
  }
  return NULL;
}

dp_endpoint *dp_endpoint_open(const struct sockaddr_in *local, dp_endpoint_ike_fn on_ike, void *ctx, int *error) {
  dp_endpoint *e = calloc(1, sizeof *e);
  if (!e) { *error = -ENOMEM; return NULL; }
  e->on_ike = on_ike;
  e->ike_ctx = ctx;
  e->fd = dp_socket_open(0, local);
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
  *error = 0;
  return e;
}

int dp_endpoint_send_ike(dp_endpoint *e, const uint8_t *msg, size_t len, const struct sockaddr_in *to) {
  static const uint8_t marker[4] = {0, 0, 0, 0};
  struct iovec iov[2] = {{.iov_base = (void *)marker, .iov_len = sizeof marker}, {.iov_base = (void *)msg, .iov_len = len}};
  struct msghdr m = {.msg_name = (void *)to, .msg_namelen = sizeof *to, .msg_iov = iov, .msg_iovlen = 2};
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
  free(e);
}

const dp_endpoint_stats *dp_endpoint_stats_of(const dp_endpoint *e) { return &e->stats; }
int dp_endpoint_fd(const dp_endpoint *e) { return e->fd; }
_Atomic uint64_t *dp_endpoint_epoch(dp_endpoint *e) { return &e->epoch; }

int dp_endpoint_attach(dp_endpoint *e, dp_tunnel *t) {
  for (int i = 0; i < DP_ENDPOINT_MAX_TUNNELS; i++) {
    dp_tunnel *expected = NULL;
    if (atomic_compare_exchange_strong(&e->tunnels[i], &expected, t)) return 0;
  }
  return -ENOSPC;
}

void dp_endpoint_detach(dp_endpoint *e, dp_tunnel *t) {
  for (int i = 0; i < DP_ENDPOINT_MAX_TUNNELS; i++) {
    dp_tunnel *present = t;
    if (atomic_compare_exchange_strong(&e->tunnels[i], &present, NULL)) break;
  }
  /* Wait until the thread has been between batches once since: then it holds no pointer to t. */
  uint64_t seen = atomic_load_explicit(&e->epoch, memory_order_acquire);
  for (int spins = 0; (seen & 1) && atomic_load_explicit(&e->epoch, memory_order_acquire) == seen && spins < 200000; spins++) usleep(5);
}
