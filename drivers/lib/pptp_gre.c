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
#include <sys/uio.h>
#include <unistd.h>

#include "epoch.h"
#include "gre.h"
#include "gro.h"
#include "gso.h"
#include "mss_clamp.h"
#include "net_io.h"

#define MAX_FRAME 4096 /* PPP frames are MRU-sized (1500 or so); room for MPPE and the header */
#define GRE_ROOM 16    /* the longest enhanced GRE header: key, sequence and acknowledgement */
#define CALLS 65536
#define TX_BATCH 32    /* packets of one call sealed before one sendmmsg (and the lock let go) */

typedef struct call call;

/* A call's PPP data path in C (issue 22). The sink comes first: the hub hands it back. */
typedef struct {
  dp_hub_sink sink;
  dp_pptp *pptp;
  call *owner;
  dp_ppp_session *ppp;
  dp_mppe_state tx; /* under the call's send lock */
  dp_mppe_state rx; /* receiving thread only */
  dp_hub *hub;      /* NULL: no routes (tests) */
  int tun_fd;
  bool offload;     /* the TUN wants a vnet header before each packet */
} data_path;

struct call {
  uint16_t peer_call_id;
  uint32_t peer_addr; /* network order */
  uint32_t tag;
  pthread_mutex_t send_lock; /* next_seq and the data path's MPPE: the hub's threads and JavaScript send */
  uint32_t next_seq;
  _Atomic uint64_t rx_top;  /* 1 << 32 | the highest sequence number received, or 0 before any */
  _Atomic uint64_t acked;   /* the rx_top value last acknowledged */
  bool touched;             /* receiving thread: already in this batch's list */
  _Atomic(data_path *) data;
};

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
  dp_pptp_output_fn output; /* tests: instead of the socket */
  void *output_ctx;
  uint8_t scratch[MAX_FRAME + 8]; /* receiving thread: a frame being decrypted */
  dp_gro *gro;                    /* receiving thread: TCP runs merged for TUNs with offloads (from the first such packet) */
  data_path *gro_owner;           /* whose packets GRO holds: written before another's, and at the batch's end */
  dp_pptp_stats stats;
};

#define COUNT(p, field) atomic_fetch_add_explicit(&(p)->stats.field, 1, memory_order_relaxed)

/* RFC 1982 serial number arithmetic: is a after b (modulo 2^32)? */
static bool after(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* The enhanced GRE header in front of the `len` bytes of frame at room + GRE_ROOM: where the packet
 * starts (*start) and its length. The acknowledgement rides along whenever there is one (*acked: the
 * value to note once sent). With a sequence number only under the call's send lock. */
static size_t frame_in_gre(call *c, uint8_t *room, size_t len, bool with_seq, uint8_t **start, uint64_t *acked) {
  uint64_t top = atomic_load_explicit(&c->rx_top, memory_order_acquire);
  dp_gre_header h = {.version = 1, .protocol = DP_GRE_PROTO_PPP, .call_id = c->peer_call_id, .has_seq = with_seq, .has_ack = top != 0};
  if (with_seq) h.seq = c->next_seq++;
  h.ack = (uint32_t)top;
  size_t hl = dp_gre_header_size(&h), total = 0;
  *start = room + GRE_ROOM - hl;
  *acked = top;
  if (dp_gre_build(&h, *start, hl + len, len, &total) != DP_GRE_OK) return 0;
  return total;
}

static int output_one(dp_pptp *p, call *c, const uint8_t *packet, size_t len) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = {.s_addr = c->peer_addr}};
  return p->output ? p->output(p->output_ctx, packet, len, c->peer_addr) : sendto(p->fd, packet, len, 0, (const struct sockaddr *)&to, sizeof to) < 0 ? -errno : 0;
}

static void note_sent(dp_pptp *p, call *c, uint64_t acked, bool with_seq) {
  if (acked) atomic_store_explicit(&c->acked, acked, memory_order_release);
  if (with_seq) COUNT(p, tx);
  else COUNT(p, acks_sent);
}

/* Header (+ frame) to the call's peer at once. With a sequence number only under the send lock. */
static int send_packet(dp_pptp *p, call *c, const uint8_t *frame, size_t len, bool with_seq) {
  uint8_t out[GRE_ROOM + MAX_FRAME], *start;
  uint64_t acked;
  if (len > MAX_FRAME) return -EMSGSIZE;
  if (len > 0) memcpy(out + GRE_ROOM, frame, len);
  size_t total = frame_in_gre(c, out, len, with_seq, &start, &acked);
  if (!total) return -EMSGSIZE;
  int rc = output_one(p, c, start, total);
  if (rc < 0) {
    COUNT(p, send_errors);
    return rc;
  }
  note_sent(p, c, acked, with_seq);
  return (int)len;
}

/* Where the MPPE packet of a Compressed Datagram (0x00FD, RFC 3078 §3) starts in a PPP frame
 * (Address/Control optional, the protocol in one byte or two); 0 for any other frame. */
static size_t mppe_offset(const uint8_t *f, size_t len) {
  size_t at = len >= 2 && f[0] == 0xff && f[1] == 0x03 ? 2 : 0;
  if (at < len && f[at] == 0xfd) return at + 1;
  if (at + 2 <= len && f[at] == 0x00 && f[at + 1] == 0xfd) return at + 2;
  return 0;
}

/* What GRO hands over: a vnet header and the (merged) packet, for the data path that owns it. */
static int write_merged(void *ctx, const uint8_t *buf, size_t len) {
  dp_pptp *p = ctx;
  if (write(p->gro_owner->tun_fd, buf, len) < 0) COUNT(p, tun_errors);
  return 0;
}

/* GRO's pending packet out, before another data path's packet and at the batch's end (the data
 * path may be gone by the next batch). */
static void flush_gro(dp_pptp *p) {
  if (!p->gro_owner) return;
  dp_gro_flush(p->gro, write_merged, p);
  p->gro_owner = NULL;
}

/* A decrypted IP packet into the TUN: without offloads as it is; with them through GRO, so a TCP
 * run costs the kernel one write and one trip through its stack (the 64 KB buffer comes with the
 * first such packet: an endpoint whose calls never carry IP in C never pays for it). */
static void write_tun(dp_pptp *p, data_path *dp, const uint8_t *ip, size_t len) {
  if (!dp->offload) {
    if (write(dp->tun_fd, ip, len) < 0) COUNT(p, tun_errors);
    return;
  }
  if (!p->gro && !(p->gro = calloc(1, sizeof *p->gro))) { COUNT(p, tun_errors); return; }
  if (p->gro_owner != dp) flush_gro(p);
  p->gro_owner = dp;
  dp_gro_offer(p->gro, ip, len, write_merged, p);
}

/* A frame of a call with its data path in C: false when it is no Compressed Datagram (it goes up
 * as it is). Decrypted, its IP goes into the TUN, anything else up as a plain PPP frame. */
static bool receive_mppe(dp_pptp *p, call *c, data_path *dp, const uint8_t *frame, size_t len) {
  size_t at = mppe_offset(frame, len), n = len - at;
  if (!at) return false;
  if (n > MAX_FRAME) { COUNT(p, mppe_malformed); return true; }
  uint8_t *buf = p->scratch, *info = NULL;
  uint16_t protocol = 0;
  size_t info_len = 0;
  memcpy(buf + 2, frame + at, n);
  dp_mppe_verdict v = dp_mppe_decrypt(&dp->rx, buf + 2, n, &protocol, &info, &info_len);
  if (v != DP_MPPE_OK) {
    if (v == DP_MPPE_LATE) COUNT(p, mppe_late);
    else COUNT(p, mppe_malformed);
    return true;
  }
  COUNT(p, mppe_rx);
  /* The inner frame in place: Address, Control and the two-byte protocol right before the
   * information (over the MPPE header, already read; `info` is at least buf + 5). */
  uint8_t *f = info - 4;
  f[0] = 0xff;
  f[1] = 0x03;
  f[2] = (uint8_t)(protocol >> 8);
  f[3] = (uint8_t)protocol;
  const uint8_t *ip = NULL;
  size_t ip_len = 0;
  dp_ppp_rx_verdict verdict = dp_ppp_rx_frame(dp->ppp, f, info_len + 4, &ip, &ip_len);
  if (verdict == DP_PPP_RX_TUN) write_tun(p, dp, ip, ip_len);
  else if (verdict == DP_PPP_RX_UP && dp_pipe_push(p->pipe, c->tag | DP_PPTP_TAG_DECRYPTED, f, info_len + 4)) COUNT(p, frames_up);
  return true;
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
  data_path *dp = atomic_load_explicit(&c->data, memory_order_acquire);
  if (dp && receive_mppe(p, c, dp, d + ihl + h.header_len, h.payload_length)) return;
  if (dp_pipe_push(p->pipe, c->tag, d + ihl + h.header_len, h.payload_length)) COUNT(p, frames_up);
}

/* The batch's end: GRO written, then acknowledge what JavaScript has not (its frames carry
 * acknowledgements too). */
static void acknowledge_batch(dp_pptp *p) {
  flush_gro(p);
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

void dp_pptp_receive(dp_pptp *p, const uint8_t *packet, size_t len) { dp_pptp_receive_batch(p, &packet, &len, 1); }

void dp_pptp_receive_batch(dp_pptp *p, const uint8_t *const *packets, const size_t *lens, size_t count) {
  for (size_t i = 0; i < count; i++) receive_one(p, packets[i], lens[i], NULL, NULL);
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

static void free_call(call *c) {
  pthread_mutex_destroy(&c->send_lock);
  free(c);
}

void dp_pptp_close(dp_pptp *p) {
  if (!p) return;
  uint64_t one = 1;
  if (p->running && write(p->stop_fd, &one, sizeof one) < 0) { /* the thread would wait forever; nothing better to do */ }
  if (p->running) pthread_join(p->thread, NULL);
  if (p->stop_fd >= 0) close(p->stop_fd);
  if (p->fd >= 0) close(p->fd);
  for (size_t i = 0; i < CALLS; i++) {
    call *c = atomic_load(&p->calls[i]);
    if (!c) continue;
    dp_pptp_data_stop(p, (uint16_t)i, NULL, NULL); /* off the hub before it is freed */
    free_call(c);
  }
  free(p->calls);
  free(p->rx_area);
  free(p->gro);
  free(p);
}

int dp_pptp_call_add(dp_pptp *p, uint16_t call_id, uint16_t peer_call_id, const struct sockaddr_in *peer, uint32_t tag) {
  if (atomic_load(&p->calls[call_id])) return -EEXIST;
  call *c = calloc(1, sizeof *c);
  if (!c) return -ENOMEM;
  *c = (call){.peer_call_id = peer_call_id, .peer_addr = peer->sin_addr.s_addr, .tag = tag};
  pthread_mutex_init(&c->send_lock, NULL);
  atomic_store_explicit(&p->calls[call_id], c, memory_order_release);
  return 0;
}

int dp_pptp_call_remove(dp_pptp *p, uint16_t call_id) {
  dp_pptp_data_stop(p, call_id, NULL, NULL);
  call *c = atomic_exchange(&p->calls[call_id], NULL);
  if (!c) return -ENOENT;
  dp_epochs_wait(&p->epoch, 1); /* no batch still holds it */
  free_call(c);
  return 0;
}

int dp_pptp_send(dp_pptp *p, uint16_t call_id, const uint8_t *frame, size_t len) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  if (!c) return -ENOENT;
  if (len == 0 || len > MAX_FRAME) return -EMSGSIZE;
  pthread_mutex_lock(&c->send_lock);
  int rc = send_packet(p, c, frame, len, true);
  pthread_mutex_unlock(&c->send_lock);
  return rc;
}

const dp_pptp_stats *dp_pptp_stats_of(const dp_pptp *p) { return &p->stats; }

void dp_pptp_set_output(dp_pptp *p, dp_pptp_output_fn output, void *ctx) {
  p->output = output;
  p->output_ctx = ctx;
}

/* An IP packet through the call's MPPE into `room` (GRE_ROOM + MAX_FRAME bytes): Address/Control,
 * 0x00FD and the MPPE packet after the room for the GRE header. Its length, or 0 (the version is
 * not IP, or too long). Under the call's send lock. */
static size_t seal_ip(data_path *dp, const uint8_t *ip, size_t len, uint8_t *room) {
  unsigned version = len ? ip[0] >> 4 : 0;
  if (version != 4 && version != 6) return 0;
  uint8_t *frame = room + GRE_ROOM;
  frame[0] = 0xff;
  frame[1] = 0x03;
  frame[2] = 0x00;
  frame[3] = 0xfd;
  size_t n = dp_mppe_encrypt(&dp->tx, version == 4 ? 0x0021 : 0x0057, ip, len, frame + 4, MAX_FRAME - 4);
  return n ? n + 4 : 0;
}

/* JavaScript's own IP (dp_pptp_send_ip): sealed and sent at once. */
static int send_ip(dp_pptp *p, call *c, data_path *dp, const uint8_t *ip, size_t len) {
  uint8_t room[GRE_ROOM + MAX_FRAME], *start;
  uint64_t acked;
  if (len == 0 || (ip[0] >> 4 != 4 && ip[0] >> 4 != 6)) return -EINVAL;
  pthread_mutex_lock(&c->send_lock);
  size_t n = seal_ip(dp, ip, len, room), total = n ? frame_in_gre(c, room, n, true, &start, &acked) : 0;
  int rc = total ? output_one(p, c, start, total) : -EMSGSIZE;
  if (rc == 0) note_sent(p, c, acked, true);
  else if (total) COUNT(p, send_errors);
  pthread_mutex_unlock(&c->send_lock);
  if (rc < 0) return rc;
  COUNT(p, mppe_tx);
  return (int)n;
}

/* A hub thread's packets for one call, sealed and sequenced under the call's send lock, which is
 * held from the first until they leave in one sendmmsg: the hub flushes before it turns to another
 * target and at its batch's end (hub.h), this after TX_BATCH packets, so JavaScript's control
 * frames wait at most that long and never overtake a sequence number already given. */
typedef struct {
  data_path *dp; /* whose call's lock is held; NULL: none */
  unsigned count;
  uint8_t *start[TX_BATCH]; /* each GRE packet, and its length */
  size_t len[TX_BATCH];
  size_t ip_len[TX_BATCH];  /* the IP packet inside, for the session's counters */
  uint64_t acked[TX_BATCH]; /* the acknowledgement it carries (0: none) */
  uint8_t room[TX_BATCH][GRE_ROOM + MAX_FRAME];
} tx_batch;

static __thread tx_batch hub_batch;

static void send_batch(tx_batch *b) {
  data_path *dp = b->dp;
  dp_pptp *p = dp->pptp;
  call *c = dp->owner;
  bool failed[TX_BATCH] = {false};
  if (p->output) {
    for (unsigned i = 0; i < b->count; i++) failed[i] = output_one(p, c, b->start[i], b->len[i]) < 0;
  } else {
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = {.s_addr = c->peer_addr}};
    struct mmsghdr msgs[TX_BATCH];
    struct iovec iov[TX_BATCH];
    for (unsigned i = 0; i < b->count; i++) {
      iov[i] = (struct iovec){.iov_base = b->start[i], .iov_len = b->len[i]};
      msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    /* sendmmsg stops at the first packet refused: that one is lost (as a sendto's), the rest go on. */
    for (unsigned at = 0; at < b->count;) {
      int n = sendmmsg(p->fd, msgs + at, b->count - at, 0);
      if (n > 0) at += (unsigned)n;
      else failed[at++] = true;
    }
  }
  dp_ppp_stats *st = dp_ppp_session_counters(dp->ppp);
  uint64_t sent = 0, bytes = 0, acked = 0;
  for (unsigned i = 0; i < b->count; i++) {
    if (failed[i]) { COUNT(p, send_errors); atomic_fetch_add_explicit(&st->drop_tx, 1, memory_order_relaxed); continue; }
    sent++;
    bytes += b->ip_len[i];
    if (b->acked[i]) acked = b->acked[i];
  }
  atomic_fetch_add_explicit(&p->stats.tx, sent, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->stats.mppe_tx, sent, memory_order_relaxed);
  atomic_fetch_add_explicit(&st->tx_packets, sent, memory_order_relaxed);
  atomic_fetch_add_explicit(&st->tx_bytes, bytes, memory_order_relaxed);
  if (acked) atomic_store_explicit(&c->acked, acked, memory_order_release);
  b->count = 0;
}

static void sink_flush(dp_hub_sink *sink) {
  tx_batch *b = &hub_batch;
  (void)sink;
  if (!b->dp) return;
  if (b->count) send_batch(b);
  pthread_mutex_unlock(&b->dp->owner->send_lock);
  b->dp = NULL;
}

/* The hub's threads: IP routed to the call, its TCP SYNs clamped to the peer's MRU. */
static void sink_tx(dp_hub_sink *sink, const uint8_t *ip, size_t len) {
  data_path *dp = (data_path *)sink;
  dp_ppp_stats *st = dp_ppp_session_counters(dp->ppp);
  tx_batch *b = &hub_batch;
  if (b->dp != dp) {
    sink_flush(NULL); /* the hub flushes before another target: only tests get here holding one */
    pthread_mutex_lock(&dp->owner->send_lock);
    b->dp = dp;
  }
  uint8_t copy[MAX_FRAME];
  size_t n = 0, total = 0;
  if (len <= sizeof copy) {
    memcpy(copy, ip, len);
    dp_clamp_mss(copy, len, dp_ppp_session_config(dp->ppp)->mtu);
    n = seal_ip(dp, copy, len, b->room[b->count]);
  }
  unsigned i = b->count;
  if (n) total = frame_in_gre(dp->owner, b->room[i], n, true, &b->start[i], &b->acked[i]);
  if (!total) { atomic_fetch_add_explicit(&st->drop_tx, 1, memory_order_relaxed); return; }
  b->len[i] = total;
  b->ip_len[i] = len;
  b->count = i + 1;
  if (b->count == TX_BATCH) send_batch(b);
}

int dp_pptp_data_start(dp_pptp *p, uint16_t call_id, const dp_ppp_config *config, const dp_mppe_state *tx, const dp_mppe_state *rx, dp_hub *hub, int tun_fd, bool offload) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  if (!c) return -ENOENT;
  if (atomic_load(&c->data)) return -EEXIST;
  if (config->lower != DP_PPP_LOWER_PPTP || !dp_mppe_valid(tx) || !dp_mppe_valid(rx)) return -EINVAL;
  data_path *dp = calloc(1, sizeof *dp);
  if (!dp) return -ENOMEM;
  *dp = (data_path){.sink = {.tx = sink_tx, .flush = sink_flush}, .pptp = p, .owner = c, .tx = *tx, .rx = *rx, .hub = hub, .tun_fd = tun_fd, .offload = offload};
  dp->ppp = dp_ppp_session_new(config);
  if (!dp->ppp) {
    free(dp);
    return -EINVAL;
  }
  atomic_store_explicit(&c->data, dp, memory_order_release);
  for (unsigned i = 0; hub && i < config->sources.count; i++) {
    if (dp_hub_sink_route_add(hub, &config->sources.items[i], &dp->sink) < 0) {
      dp_pptp_data_stop(p, call_id, NULL, NULL);
      return -ENOMEM;
    }
  }
  return 0;
}

int dp_pptp_data_stop(dp_pptp *p, uint16_t call_id, dp_mppe_state *tx, dp_mppe_state *rx) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  data_path *dp = c ? atomic_exchange(&c->data, NULL) : NULL;
  if (!dp) return -ENOENT;
  if (dp->hub) dp_hub_sink_routes_remove(dp->hub, &dp->sink); /* returns once no hub thread sends for it */
  dp_epochs_wait(&p->epoch, 1);                                  /* and no batch decrypts for it */
  pthread_mutex_lock(&c->send_lock);
  if (tx) *tx = dp->tx;
  if (rx) *rx = dp->rx;
  pthread_mutex_unlock(&c->send_lock);
  dp_ppp_session_free(dp->ppp);
  memset(dp, 0, sizeof *dp); /* the keys */
  free(dp);
  return 0;
}

int dp_pptp_data_stats(dp_pptp *p, uint16_t call_id, dp_ppp_stats *out) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  data_path *dp = c ? atomic_load_explicit(&c->data, memory_order_acquire) : NULL;
  if (!dp) return -ENOENT;
  const dp_ppp_stats *s = dp_ppp_session_stats(dp->ppp);
  atomic_store(&out->rx_packets, atomic_load(&s->rx_packets));
  atomic_store(&out->rx_bytes, atomic_load(&s->rx_bytes));
  atomic_store(&out->tx_packets, atomic_load(&s->tx_packets));
  atomic_store(&out->tx_bytes, atomic_load(&s->tx_bytes));
  atomic_store(&out->up, atomic_load(&s->up));
  atomic_store(&out->drop_source, atomic_load(&s->drop_source));
  atomic_store(&out->drop_malformed, atomic_load(&s->drop_malformed));
  atomic_store(&out->drop_tx, atomic_load(&s->drop_tx));
  return 0;
}

int dp_pptp_send_ip(dp_pptp *p, uint16_t call_id, const uint8_t *ip, size_t len) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  data_path *dp = c ? atomic_load_explicit(&c->data, memory_order_acquire) : NULL;
  if (!dp) return -ENOENT;
  return send_ip(p, c, dp, ip, len);
}

void dp_pptp_data_tx(dp_pptp *p, uint16_t call_id, const uint8_t *ip, size_t len) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  data_path *dp = c ? atomic_load_explicit(&c->data, memory_order_acquire) : NULL;
  if (dp) sink_tx(&dp->sink, ip, len);
}

void dp_pptp_data_flush(dp_pptp *p, uint16_t call_id) {
  call *c = atomic_load_explicit(&p->calls[call_id], memory_order_acquire);
  data_path *dp = c ? atomic_load_explicit(&c->data, memory_order_acquire) : NULL;
  if (dp) sink_flush(&dp->sink);
}
