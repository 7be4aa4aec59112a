#define _GNU_SOURCE
#include "esp_udp_tunnel.h"
#include "mss_clamp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define MAX_PACKET 2048
#define SOCKET_BUFFER (4 << 20)

struct dp_tunnel {
  int tun_fd, udp_fd, stop_fd;
  /* The peer's IPv4 address and port, packed for lock-free reads by the sending thread. A NAT may
   * change the port (or address) at any time: it follows authenticated packets (RFC 3948 §2.2 and
   * RFC 7296 §2.23 floating), never unauthenticated ones. */
  _Atomic uint64_t peer;
  dp_tunnel_options options;
  dp_sa *out, *in;
  pthread_t to_net, to_tun;
  dp_tunnel_stats stats;
};

static uint64_t pack(const struct sockaddr_in *a) { return (uint64_t)a->sin_addr.s_addr << 16 | a->sin_port; }
static struct sockaddr_in unpack(uint64_t v) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = (uint16_t)v, .sin_addr = {.s_addr = (uint32_t)(v >> 16)}};
  return a;
}

/* Waits for data on fd or the stop signal; false when stopping. */
static bool wait_readable(dp_tunnel *t, int fd) {
  struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = t->stop_fd, .events = POLLIN}};
  for (;;) {
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && !(p[1].revents & POLLIN);
  }
}

/* TUN → ESP → UDP: drain up to BATCH packets from the TUN, send them with one sendmmsg. */
static void *run_to_net(void *arg) {
  dp_tunnel *t = arg;
  static __thread uint8_t plain[MAX_PACKET], sealed[BATCH][MAX_PACKET + 64];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  while (wait_readable(t, t->tun_fd)) {
    struct sockaddr_in peer = unpack(atomic_load_explicit(&t->peer, memory_order_relaxed));
    int n = 0;
    while (n < BATCH) {
      ssize_t len = read(t->tun_fd, plain, sizeof plain);
      if (len <= 0) break;
      atomic_fetch_add_explicit(&t->stats.tun_rx, 1, memory_order_relaxed);
      if (dp_clamp_mss(plain, (size_t)len, t->options.mtu)) atomic_fetch_add_explicit(&t->stats.mss_clamped, 1, memory_order_relaxed);
      uint8_t next_header = (plain[0] >> 4) == 6 ? 41 : 4; /* tunnel mode: IPv6 or IPv4 inside */
      size_t out_len = 0;
      if (dp_esp_encrypt(t->out, plain, (size_t)len, next_header, NULL, sealed[n], sizeof sealed[n], &out_len) != DP_OK) {
        atomic_fetch_add_explicit(&t->stats.drop_encrypt, 1, memory_order_relaxed);
        continue;
      }
      iov[n] = (struct iovec){.iov_base = sealed[n], .iov_len = out_len};
      msgs[n] = (struct mmsghdr){.msg_hdr = {.msg_name = &peer, .msg_namelen = sizeof peer, .msg_iov = &iov[n], .msg_iovlen = 1}};
      n++;
    }
    for (int sent = 0; sent < n;) {
      int r = sendmmsg(t->udp_fd, msgs + sent, (unsigned)(n - sent), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        atomic_fetch_add_explicit(&t->stats.drop_io, (uint64_t)(n - sent), memory_order_relaxed);
        break;
      }
      sent += r;
      atomic_fetch_add_explicit(&t->stats.udp_tx, (uint64_t)r, memory_order_relaxed);
    }
  }
  return NULL;
}

/* UDP → ESP → TUN: one recvmmsg for up to BATCH datagrams. */
static void *run_to_tun(void *arg) {
  dp_tunnel *t = arg;
  static __thread uint8_t bufs[BATCH][MAX_PACKET + 64], plain[MAX_PACKET + 64];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  while (wait_readable(t, t->udp_fd)) {
    for (int i = 0; i < BATCH; i++) {
      iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
      msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    int n = recvmmsg(t->udp_fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) continue;
    atomic_fetch_add_explicit(&t->stats.udp_rx, (uint64_t)n, memory_order_relaxed);
    for (int i = 0; i < n; i++) {
      size_t len = msgs[i].msg_len;
      const uint8_t *d = bufs[i];
      if (len == 1 && d[0] == 0xff) { atomic_fetch_add_explicit(&t->stats.keepalives, 1, memory_order_relaxed); continue; }
      if (len >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0) { atomic_fetch_add_explicit(&t->stats.ike_packets, 1, memory_order_relaxed); continue; }
      size_t out_len = 0;
      uint8_t nh = 0;
      if (dp_esp_decrypt(t->in, d, len, plain, sizeof plain, &out_len, &nh) != DP_OK || (nh != 4 && nh != 41)) {
        atomic_fetch_add_explicit(&t->stats.drop_decrypt, 1, memory_order_relaxed);
        continue;
      }
      /* RFC 4301 §5.2: what the peer may send us is bounded by the SA's selectors. */
      if (!dp_prefix_set_matches(&t->options.remote_ts, plain, out_len, true) || !dp_prefix_set_matches(&t->options.local_ts, plain, out_len, false)) {
        atomic_fetch_add_explicit(&t->stats.drop_selector, 1, memory_order_relaxed);
        continue;
      }
      /* Authentic and fresh: if it came from elsewhere, the peer's NAT mapping moved. */
      uint64_t source = pack(&from[i]);
      if (from[i].sin_family == AF_INET && source != atomic_load_explicit(&t->peer, memory_order_relaxed)) {
        atomic_store_explicit(&t->peer, source, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->stats.peer_moved, 1, memory_order_relaxed);
      }
      if (dp_clamp_mss(plain, out_len, t->options.mtu)) atomic_fetch_add_explicit(&t->stats.mss_clamped, 1, memory_order_relaxed);
      if (write(t->tun_fd, plain, out_len) < 0) atomic_fetch_add_explicit(&t->stats.drop_io, 1, memory_order_relaxed);
      else atomic_fetch_add_explicit(&t->stats.tun_tx, 1, memory_order_relaxed);
    }
  }
  return NULL;
}

static int open_udp(const struct sockaddr_in *local) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  int one = 1, size = SOCKET_BUFFER;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* The namespace's rmem_max cannot be raised from inside it; as root, force the size per socket. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  /* Bound, not connected: a connected socket would discard the peer's packets after a NAT rebinding. */
  if (bind(fd, (const struct sockaddr *)local, sizeof *local) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

dp_tunnel *dp_tunnel_start(int tun_fd, const dp_tunnel_options *options, const struct sockaddr_in *local,
                           const struct sockaddr_in *remote, dp_sa *outbound, dp_sa *inbound, int *error) {
  dp_tunnel *t = calloc(1, sizeof *t);
  if (!t) { *error = -ENOMEM; return NULL; }
  t->tun_fd = tun_fd;
  t->options = *options;
  t->out = outbound;
  t->in = inbound;
  t->peer = pack(remote);
  t->udp_fd = open_udp(local);
  t->stop_fd = eventfd(0, EFD_CLOEXEC);
  int flags = fcntl(tun_fd, F_GETFL);
  if (t->udp_fd < 0 || t->stop_fd < 0 || flags < 0 || fcntl(tun_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    *error = t->udp_fd < 0 ? t->udp_fd : -errno;
    if (t->udp_fd >= 0) close(t->udp_fd);
    if (t->stop_fd >= 0) close(t->stop_fd);
    free(t);
    return NULL;
  }
  pthread_create(&t->to_net, NULL, run_to_net, t);
  pthread_create(&t->to_tun, NULL, run_to_tun, t);
  *error = 0;
  return t;
}

void dp_tunnel_stop(dp_tunnel *t) {
  if (!t) return;
  uint64_t one = 1;
  if (write(t->stop_fd, &one, sizeof one) < 0) { /* the threads would wait forever; nothing better to do */ }
  pthread_join(t->to_net, NULL);
  pthread_join(t->to_tun, NULL);
  close(t->udp_fd);
  close(t->stop_fd);
  close(t->tun_fd);
  free(t);
}

const dp_tunnel_stats *dp_tunnel_stats_of(const dp_tunnel *t) { return &t->stats; }
