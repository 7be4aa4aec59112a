#define _GNU_SOURCE
#include "pptp_gre.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "epoch.h"
#include "gre.h"
#include "net_io.h"

#define MAX_FRAME 4096 /* PPP frames are MRU-sized (1500 or so); room for MPPE and the header */
#define CALLS 65536

typedef struct {
  uint16_t peer_call_id;
  uint32_t peer_addr; /* network order */
  uint32_t tag;
  uint32_t next_seq;        /* JavaScript thread only */
  _Atomic uint64_t rx_top;  /* 1 << 32 | the highest sequence number received, or 0 before any */
  _Atomic uint64_t acked;   /* the rx_top value last acknowledged */
  bool touched;             /* receiving thread: already in this batch's list */
} call;

struct dp_pptp {
  int fd, stop_fd;
  dp_pipe *pipe;
  _Atomic(call *) *calls; /* by our call ID */
  dp_epoch epoch;
  uint8_t *rx_area;
  call *batch_calls[DP_RX_BATCH];
  int batch_count;
  pthread_t thread;
  bool running; /* opened with a socket and a thread (not a bare one for the fuzzer) */
  dp_pptp_stats stats;
};

#define COUNT(p, field) atomic_fetch_add_explicit(&(p)->stats.field, 1, memory_order_relaxed)

/* RFC 1982 serial number arithmetic: is a after b (modulo 2^32)? */
static bool after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* Header (+ frame) to the call's peer; the acknowledgement rides along whenever there is one. */
static int send_packet(dp_pptp *p, call *c, const uint8_t *frame, size_t len, bool with_seq) {
  uint8_t out[MAX_FRAME + 16];
  uint64_t top = atomic_load_explicit(&c->rx_top, memory_order_acquire);
  dp_gre_header h = {.version = 1, .protocol = DP_GRE_PROTO_PPP, .call_id = c->peer_call_id, .has_seq = with_seq, .has_ack = top != 0};
  if (with_seq) h.seq = c->next_seq++;
  h.ack = (uint32_t)top;
  size_t hl = dp_gre_header_size(&h), total = 0;
  if (len > 0) memcpy(out + hl, frame, len);
  if (dp_gre_build(&h, out, sizeof out, len, &total) != DP_GRE_OK) return -EMSGSIZE;
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = {.s_addr = c->peer_addr}};
  if (sendto(p->fd, out, total, 0, (const struct sockaddr *)&to, sizeof to) < 0) {
    COUNT(p, send_errors);
    return -errno;
  }
  if (h.has_ack) atomic_store_explicit(&c->acked, top, memory_order_release);
  if (with_seq) COUNT(p, tx);
  else COUNT(p, acks_sent);
  return (int)len;
}

static void receive_one(void *ctx, const uint8_t *d, size_t len, const dp_addr *from, const dp_addr *to) {
  dp_pptp *p = ctx;
  (void)from;
  (void)to;
  COUNT(p, rx);
  size_t ihl = len ? (size_t)(d[0] & 0x0f) * 4 : 0; /* raw sockets hand over the IPv4 header */
  if (len < 20 || ihl < 20 || ihl >= len) { COUNT(p, malformed); return; }
  uint32_t source;
  memcpy(&source, d + 12, 4);
  dp_gre_header h;
  dp_gre_status st = dp_gre_parse(d + ihl, len - ihl, &h);
  if (st == DP_GRE_OK && h.version == 0) { COUNT(p, not_pptp); return; }
  if (st != DP_GRE_OK) { COUNT(p, malformed); return; }
  call *c = atomic_load_explicit(&p->calls[h.call_id], memory_order_acquire);
  if (!c) { COUNT(p, unknown_call); return; }
  if (c->peer_addr != source) { COUNT(p, wrong_peer); return; }
  if (h.has_ack) COUNT(p, acks_received);
  if (!h.has_seq) return; /* acknowledgement only */
  uint64_t top = atomic_load_explicit(&c->rx_top, memory_order_relaxed);
  if (top != 0 && !after(h.seq, (uint32_t)top)) { COUNT(p, out_of_order); return; }
  atomic_store_explicit(&c->rx_top, 1ull << 32 | h.seq, memory_order_release);
  if (!c->touched && p->batch_count < DP_RX_BATCH) {
    c->touched = true;
    p->batch_calls[p->batch_count++] = c;
  }
  if (h.payload_length == 0) return;
  if (dp_pipe_push(p->pipe, c->tag, d + ihl + h.header_len, h.payload_length)) COUNT(p, frames_up);
}

/* The batch's end: acknowledge what JavaScript has not (its frames carry acknowledgements too). */
static void acknowledge_batch(dp_pptp *p) {
  for (int i = 0; i < p->batch_count; i++) {
    call *c = p->batch_calls[i];
    c->touched = false;
    if (atomic_load_explicit(&c->acked, memory_order_acquire) != atomic_load_explicit(&c->rx_top, memory_order_acquire)) send_packet(p, c, NULL, 0, false);
  }
  p->batch_count = 0;
}

static void *run(void *arg) {
  dp_pptp *p = arg;
  struct pollfd fds[2] = {{.fd = p->fd, .events = POLLIN}, {.fd = p->stop_fd, .events = POLLIN}};
  for (;;) {
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) break;
    dp_epoch_enter(&p->epoch);
    dp_receive_batch(p->fd, p->rx_area, receive_one, p);
    acknowledge_batch(p);
    dp_epoch_leave(&p->epoch);
  }
  return NULL;
}

dp_pptp *dp_pptp_new(dp_pipe *pipe) {
  dp_pptp *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->pipe = pipe;
  p->fd = p->stop_fd = -1;
  p->calls = calloc(CALLS, sizeof *p->calls);
  if (p->calls) return p;
  free(p);
  return NULL;
}

void dp_pptp_receive(dp_pptp *p, const uint8_t *packet, size_t len) {
  receive_one(p, packet, len, NULL, NULL);
  acknowledge_batch(p);
}

dp_pptp *dp_pptp_open(const struct sockaddr_in *local, dp_pipe *pipe, int *error) {
  dp_pptp *p = dp_pptp_new(pipe);
  if (!p) { *error = -ENOMEM; return NULL; }
  p->rx_area = malloc((size_t)DP_RX_BATCH * DP_RX_BUFFER);
  p->fd = dp_socket_open(IPPROTO_GRE, &(dp_addr){.v4 = *local});
  p->stop_fd = eventfd(0, EFD_CLOEXEC);
  *error = !p->rx_area ? -ENOMEM : p->fd < 0 ? p->fd : p->stop_fd < 0 ? -errno : 0;
  if (*error) {
    dp_pptp_close(p);
    return NULL;
  }
  p->running = pthread_create(&p->thread, NULL, run, p) == 0;
  if (p->running) pthread_setname_np(p->thread, "dp-pptp-rx");
  return p;
}

void dp_pptp_close(dp_pptp *p) {
  if (!p) return;
  uint64_t one = 1;
  if (p->running && write(p->stop_fd, &one, sizeof one) < 0) { /* the thread would wait forever; nothing better to do */ }
  if (p->running) pthread_join(p->thread, NULL);
  if (p->stop_fd >= 0) close(p->stop_fd);
  if (p->fd >= 0) close(p->fd);
  for (size_t i = 0; i < CALLS; i++) free(atomic_load(&p->calls[i]));
  free(p->calls);
  free(p->rx_area);
  free(p);
}

int dp_pptp_call_add(dp_pptp *p, uint16_t call_id, uint16_t peer_call_id, const struct sockaddr_in *peer, uint32_t tag) {
  if (atomic_load(&p->calls[call_id])) return -EEXIST;
  call *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  *c = (call){.peer_call_id = peer_call_id, .peer_addr = peer->sin_addr.s_addr, .tag = tag};
  atomic_store_explicit(&p->calls[call_id], c, memory_order_release);
  return 0;
}

int dp_pptp_call_remove(dp_pptp *p, uint16_t call_id) {
  call *c = atomic_exchange(&p->calls[call_id], NULL);
  if (!c) return -ENOENT;
  dp_epochs_wait(&p->epoch, 1); /* no batch still holds it */
  free(c);
  return 0;
}

int dp_pptp_send(dp_pptp *p, uint16_t call_id, const uint8_t *frame, size_t len) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  if (!c) return -ENOENT;
  if (len == 0 || len > MAX_FRAME) return -EMSGSIZE;
  return send_packet(p, c, frame, len, true);
}

const dp_pptp_stats *dp_pptp_stats_of(const dp_pptp *p) { return &p->stats; }
