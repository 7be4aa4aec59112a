#define _GNU_SOURCE
#include "tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gre.h"
#include "gro.h"
#include "gso.h"
#include <netinet/udp.h>
#include "mss_clamp.h"
#include "endpoint.h"
#include "hub.h"
#include "net_io.h"
#include "pipe.h"
#include "ppp_data.h"
#include "transport.h"

#define BATCH 32
#define MAX_PACKET 2048
#define MAX_READ (65536 + DP_VNET_HDR_LEN) /* a TSO super-segment and its header */

struct dp_tunnel {
  int tun_fd, net_fd, stop_fd;
  dp_tunnel_options options;
  /* The peer's address and port (IPv4 or IPv6), for lock-free reads by the sending thread. Behind a
   * NAT the port (or address) may change at any time: ESP in UDP follows authenticated packets
   * (RFC 3948 §2.2, RFC 7296 §2.23 floating), never unauthenticated ones. */
  dp_peer peer;
  bool udp_gso, udp_gro; /* what the kernel accepted on the UDP socket */
  _Atomic(dp_sa *) out;
  _Atomic(dp_sa *) in[DP_TUNNEL_MAX_INBOUND];
  /* Per thread (0: to network, 1: to TUN): odd while it processes a batch. */
  dp_epoch epoch[2];
  /* The receiving side's epoch: epoch[1], or the shared endpoint's when its thread receives for us;
   * the sending side's: epoch[0], or the hub's readers' when they send for us. */
  dp_epoch *rx_epoch, *tx_epochs;
  size_t tx_epoch_count;
  dp_endpoint *endpoint; /* shared UDP 4500 socket, or NULL when the tunnel has its own */
  dp_hub *hub;           /* shared TUN, or NULL when the tunnel has its own TUN and sending thread */
  /* On a shared TUN, tun_fd is the queue given to the tunnel: writing there teaches the kernel to
   * send the replies of every flow to the same queue, so one thread seals for this tunnel. */
  uint8_t *rx_area; /* DP_RX_BATCH receive buffers of DP_RX_BUFFER bytes */
  dp_gro *gro;      /* with offloads: merges TCP segments before they are written to the TUN */
  uint16_t transport_id; /* IP IDs of datagrams rebuilt in transport mode (receiving thread only) */
  _Atomic uint16_t sent_id; /* IP IDs of datagrams built for dp_tunnel_send_udp */
  _Atomic uint64_t udp_up_route; /* transport mode: port (network order) << 32 | pipe tag, 0: none (dp_tunnel_deliver_udp) */
  _Atomic uint32_t gre_tx_seq; /* GRE: the next sequence number sent (sending thread and dp_tunnel_send_gre) */
  dp_gre_seq_rx gre_rx_seq;    /* GRE: what the peer's numbers must be after (receiving thread only) */
  _Atomic(dp_ppp_session *) ppp[DP_TUNNEL_MAX_PPP]; /* transport mode: PPP data sessions carried (issue 20) */
  pthread_t to_net, to_tun;
  dp_tunnel_stats stats;
};

#define COUNT(t, field) atomic_fetch_add_explicit(&(t)->stats.field, 1, memory_order_relaxed)

static dp_addr peer_of(const dp_tunnel *t) { return dp_peer_load(&t->peer); }

typedef enum { WAIT_STOP, WAIT_READABLE, WAIT_TIMEOUT } wait_result;

/* Waits for data on fd, the stop signal, or `timeout_ms` (-1: no timeout). */
static wait_result wait_for(dp_tunnel *t, int fd, int timeout_ms) {
  struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = t->stop_fd, .events = POLLIN}};
  for (;;) {
    int n = poll(p, 2, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p[1].revents & POLLIN)) return WAIT_STOP;
    return n == 0 ? WAIT_TIMEOUT : WAIT_READABLE;
  }
}

static bool wait_readable(dp_tunnel *t, int fd) { return wait_for(t, fd, -1) == WAIT_READABLE; }

/* One datagram to `to` from the tunnel's socket, from options.source where set (IPv6). */
static ssize_t send_one(dp_tunnel *t, const void *d, size_t len, const dp_addr *to) {
  union { char buf[DP_PKTINFO_SPACE]; struct cmsghdr align; } control;
  struct iovec iov = {.iov_base = (void *)d, .iov_len = len};
  struct msghdr m = {.msg_name = (void *)to, .msg_namelen = dp_addr_len(to), .msg_iov = &iov, .msg_iovlen = 1};
  m.msg_controllen = dp_pktinfo_cmsg(&t->options.source, control.buf);
  if (m.msg_controllen) m.msg_control = control.buf;
  return sendmsg(t->net_fd, &m, 0);
}

/* RFC 3948 §2.3: a lone 0xFF byte keeps the NAT's mapping alive while the tunnel is idle. */
static void send_keepalive(dp_tunnel *t) {
  static const uint8_t keepalive = 0xff;
  dp_addr peer = peer_of(t);
  if (send_one(t, &keepalive, 1, &peer) == 1) COUNT(t, keepalives_sent);
}

/* The EtherType of an IP packet, by its version. */
static uint16_t ip_ethertype(const uint8_t *ip) { return (ip[0] >> 4) == 6 ? DP_GRE_PROTO_IPV6 : DP_GRE_PROTO_IPV4; }

/* An inner packet into what goes on the wire (after the outer IP and UDP headers). `protocol`: its
 * EtherType where the TUN said (GRE sites), 0 for an IP packet known by its version. */
static bool encapsulate(dp_tunnel *t, uint16_t protocol, const uint8_t *plain, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  bool v6 = (plain[0] >> 4) == 6;
  if (t->options.mode == DP_TUNNEL_GRE) {
    uint32_t seq = t->options.gre.sequence ? atomic_fetch_add_explicit(&t->gre_tx_seq, 1, memory_order_relaxed) : 0;
    return dp_gre_frame(&t->options.gre, protocol ? protocol : ip_ethertype(plain), seq, plain, len, out, cap, out_len) == DP_GRE_OK;
  }
  dp_sa *sa = atomic_load_explicit(&t->out, memory_order_acquire);
  if (t->options.transport) { /* the datagram's own payload, its protocol as next header */
    size_t offset = 0;
    uint8_t protocol = 0;
    if (v6 != dp_addr_is_v6(&t->options.transport_local)) return false; /* the peer rebuilds it in the SA's family */
    bool whole = v6 ? dp_transport_payload6(plain, len, &offset, &protocol) : dp_transport_payload(plain, len, &offset, &protocol);
    return whole && dp_esp_encrypt(sa, plain + offset, len - offset, protocol, NULL, out, cap, out_len) == DP_OK;
  }
  return dp_esp_encrypt(sa, plain, len, v6 ? 41 : 4, NULL, out, cap, out_len) == DP_OK; /* tunnel mode */
}

/* Transport mode: the PPP data session (issue 20) whose address a TUN packet is for, if any. */
static dp_ppp_session *ppp_owner(dp_tunnel *t, const uint8_t *packet, size_t len) {
  for (int i = 0; i < DP_TUNNEL_MAX_PPP; i++) {
    dp_ppp_session *s = atomic_load_explicit(&t->ppp[i], memory_order_acquire);
    if (s && dp_ppp_owns(s, packet, len)) return s;
  }
  return NULL;
}

/* An IP packet to a PPP data session's peer (at `peer`): PPP, L2TP data header and UDP 1701 around
 * it, sealed in the transport SA as next header 17 (RFC 2661 over RFC 4303 §3.1.1). */
static bool encapsulate_ppp(dp_tunnel *t, dp_ppp_session *s, const dp_addr *peer, const uint8_t *ip, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  static __thread uint8_t framed[MAX_PACKET];
  dp_ppp_stats *st = dp_ppp_session_counters(s);
  size_t n = dp_l2tp_frame(s, ip, len, framed, sizeof framed);
  /* IPv6 forbids UDP without a checksum (RFC 8200 §8.1): the peer's stack would drop the frame. */
  if (n && dp_addr_is_v6(peer)) dp_transport_udp_checksum6(framed, n, t->options.transport_local.v6.sin6_addr.s6_addr, peer->v6.sin6_addr.s6_addr);
  dp_sa *sa = atomic_load_explicit(&t->out, memory_order_acquire);
  if (!n || dp_esp_encrypt(sa, framed, n, 17, NULL, out, cap, out_len) != DP_OK) {
    atomic_fetch_add_explicit(&st->drop_tx, 1, memory_order_relaxed);
    return false;
  }
  atomic_fetch_add_explicit(&st->tx_packets, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&st->tx_bytes, len, memory_order_relaxed);
  return true;
}

typedef enum { DECAP_OK, DECAP_SKIP, DECAP_DROP } decap_result;

/* What arrived (after the outer IP header for raw sockets) into the inner packet. */
/* GRE: `link_protocol` is the inner packet's EtherType (the GRE protocol type); 0 for ESP. */
static decap_result decapsulate(dp_tunnel *t, const uint8_t *d, size_t len, uint8_t *plain, size_t cap, size_t *out_len, uint8_t *next_header, uint16_t *link_protocol) {
  *link_protocol = 0;
  if (t->options.mode == DP_TUNNEL_GRE) {
    dp_gre_header h;
    switch (dp_gre_classify(d, len, &t->options.gre, &h)) {
    case DP_GRE_RX_KEEPALIVE: COUNT(t, keepalives); return DECAP_SKIP; /* our Cisco keepalive, reflected */
    case DP_GRE_RX_BAD_KEY: COUNT(t, gre_bad_key); return DECAP_DROP;
    case DP_GRE_RX_BAD_CHECKSUM: COUNT(t, gre_bad_checksum); return DECAP_DROP;
    case DP_GRE_RX_NO_SEQUENCE: COUNT(t, gre_out_of_order); return DECAP_DROP;
    case DP_GRE_RX_MALFORMED: return DECAP_DROP;
    case DP_GRE_RX_DELIVER: break;
    }
    if (len - h.header_len > cap) return DECAP_DROP;
    if (t->options.gre.sequence) {
      dp_gre_seq_verdict v = dp_gre_seq_check(&t->gre_rx_seq, h.seq);
      if (v == DP_GRE_SEQ_DROP) { COUNT(t, gre_out_of_order); return DECAP_DROP; }
      if (v == DP_GRE_SEQ_RESYNCED) COUNT(t, gre_seq_resyncs);
    }
    *out_len = len - h.header_len;
    memcpy(plain, d + h.header_len, *out_len);
    *link_protocol = h.protocol;
    return DECAP_OK;
  }
  if (t->options.mode == DP_TUNNEL_ESP_UDP) {
    if (len == 1 && d[0] == 0xff) { COUNT(t, keepalives); return DECAP_SKIP; }                      /* RFC 3948 §2.3 */
    if (len >= 4 && !d[0] && !d[1] && !d[2] && !d[3]) { COUNT(t, ike_packets); return DECAP_SKIP; } /* non-ESP marker */
  }
  if (len < 4) return DECAP_DROP;
  uint32_t spi = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
  dp_sa *sa = NULL;
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND && !sa; i++) {
    dp_sa *candidate = atomic_load_explicit(&t->in[i], memory_order_acquire);
    if (candidate && dp_sa_spi(candidate) == spi) sa = candidate;
  }
  uint8_t nh = 0;
  if (!sa || dp_esp_decrypt(sa, d, len, plain, cap, out_len, &nh) != DP_OK) return DECAP_DROP;
  /* Tunnel mode carries whole IP packets; transport mode an upper-layer payload, never an IP packet. */
  if (t->options.transport ? (nh == 4 || nh == 41 || nh == 50 || nh == 59) : (nh != 4 && nh != 41)) return DECAP_DROP;
  *next_header = nh;
  return DECAP_OK;
}

/* After a batch: report lifetime thresholds the SA crossed, once each. */
static void report_expiry(dp_tunnel *t, dp_sa *sa) {
  if (!sa || !t->options.on_event) return;
  unsigned fresh = dp_sa_take_expiry(sa);
  if (fresh) t->options.on_event(t->options.event_ctx, dp_sa_spi(sa), fresh);
}

/* The sending thread's batch: encapsulated packets waiting for one sendmmsg. */
typedef struct {
  dp_tunnel *t;
  dp_addr peer;
  size_t pktinfo_len; /* IPv6 with a chosen source: IPV6_PKTINFO on every message */
  union { char buf[DP_PKTINFO_SPACE]; struct cmsghdr align; } pktinfo;
  uint16_t protocol; /* the packet being queued: its EtherType from the TUN (GRE sites), else 0 */
  int n;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint8_t sealed[BATCH][MAX_PACKET + 64];
} out_batch;

static void send_all(out_batch *b, struct mmsghdr *msgs, int count, uint64_t packets) {
  for (int sent = 0; sent < count;) {
    int r = sendmmsg(b->t->net_fd, msgs + sent, (unsigned)(count - sent), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      atomic_fetch_add_explicit(&b->t->stats.drop_io, packets, memory_order_relaxed);
      return;
    }
    sent += r;
  }
  atomic_fetch_add_explicit(&b->t->stats.net_tx, packets, memory_order_relaxed);
}

/* ESP in UDP: runs of equal-size datagrams (the last may be shorter) leave as one UDP GSO send
 * (UDP_SEGMENT), so the kernel and the veth or NIC carry one buffer for the whole run. */
static void flush_gso(out_batch *b) {
  static __thread struct mmsghdr msgs[BATCH];
  static __thread union { char buf[CMSG_SPACE(sizeof(uint16_t)) + DP_PKTINFO_SPACE]; struct cmsghdr align; } control[BATCH];
  int m = 0;
  for (int i = 0; i < b->n;) {
    size_t size = b->iov[i].iov_len;
    int j = i + 1;
    while (j < b->n && b->iov[j].iov_len == size) j++;
    if (j < b->n && b->iov[j].iov_len < size) j++; /* a shorter tail may close the run */
    msgs[m] = (struct mmsghdr){.msg_hdr = {.msg_name = &b->peer, .msg_namelen = dp_addr_len(&b->peer), .msg_iov = &b->iov[i], .msg_iovlen = (size_t)(j - i)}};
    size_t used = 0;
    if (j - i > 1) {
      struct cmsghdr *c = (struct cmsghdr *)control[m].buf;
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t segment = (uint16_t)size;
      memcpy(CMSG_DATA(c), &segment, sizeof segment);
      used = CMSG_SPACE(sizeof(uint16_t));
    }
    if (b->pktinfo_len) {
      memcpy(control[m].buf + used, b->pktinfo.buf, b->pktinfo_len);
      used += b->pktinfo_len;
    }
    if (used) {
      msgs[m].msg_hdr.msg_control = control[m].buf;
      msgs[m].msg_hdr.msg_controllen = used;
    }
    m++;
    i = j;
  }
  send_all(b, msgs, m, (uint64_t)b->n);
}

static void flush(out_batch *b) {
  if (b->n == 0) return;
  if (b->t->options.mode == DP_TUNNEL_ESP_UDP && b->t->udp_gso) flush_gso(b);
  else send_all(b, b->msgs, b->n, (uint64_t)b->n);
  b->n = 0;
}

/* An IP packet, as opposed to what else a GRE site's TUN may carry (0: bare IP from a TUN without protocol information). */
static bool is_ip(uint16_t protocol) { return !protocol || protocol == DP_GRE_PROTO_IPV4 || protocol == DP_GRE_PROTO_IPV6; }

/* One packet from the TUN (or one segment of a super-segment): clamp, encapsulate, queue. */
static int queue_packet(void *ctx, const uint8_t *packet, size_t len) {
  out_batch *b = ctx;
  dp_tunnel *t = b->t;
  uint8_t *plain = (uint8_t *)packet; /* ours to rewrite: the read buffer or the GSO scratch */
  dp_ppp_session *ppp = t->options.transport ? ppp_owner(t, plain, len) : NULL;
  if (is_ip(b->protocol) && dp_clamp_mss(plain, len, ppp ? dp_ppp_session_config(ppp)->mtu : t->options.mtu)) COUNT(t, mss_clamped);
  size_t out_len = 0;
  if (!(ppp ? encapsulate_ppp(t, ppp, &b->peer, plain, len, b->sealed[b->n], sizeof b->sealed[b->n], &out_len)
            : encapsulate(t, b->protocol, plain, len, b->sealed[b->n], sizeof b->sealed[b->n], &out_len))) {
    COUNT(t, drop_encrypt);
    return 0;
  }
  b->iov[b->n] = (struct iovec){.iov_base = b->sealed[b->n], .iov_len = out_len};
  b->msgs[b->n] = (struct mmsghdr){.msg_hdr = {.msg_name = &b->peer, .msg_namelen = dp_addr_len(&b->peer), .msg_iov = &b->iov[b->n], .msg_iovlen = 1}};
  if (b->pktinfo_len) {
    b->msgs[b->n].msg_hdr.msg_control = b->pktinfo.buf;
    b->msgs[b->n].msg_hdr.msg_controllen = b->pktinfo_len;
  }
  if (++b->n == BATCH) flush(b);
  return 0;
}

/* A batch's destination and source, read once per batch. */
static void batch_begin(out_batch *b, dp_tunnel *t) {
  b->t = t;
  b->protocol = 0;
  b->peer = peer_of(t);
  b->pktinfo_len = dp_addr_is_v6(&b->peer) ? dp_pktinfo_cmsg(&t->options.source, b->pktinfo.buf) : 0;
}

/* TUN → network: drain the TUN (cutting super-segments), send in batches of up to BATCH. */
static void *run_to_net(void *arg) {
  dp_tunnel *t = arg;
  static __thread uint8_t readbuf[MAX_READ], scratch[MAX_PACKET];
  static __thread out_batch b;
  b.t = t;
  int keepalive = t->options.mode == DP_TUNNEL_ESP_UDP && t->options.keepalive_ms ? (int)t->options.keepalive_ms : -1;
  for (;;) {
    wait_result w = wait_for(t, t->tun_fd, keepalive);
    if (w == WAIT_STOP) break;
    if (w == WAIT_TIMEOUT) { /* a whole interval with nothing to send */
      send_keepalive(t);
      continue;
    }
    dp_epoch_enter(&t->epoch[0]);
    batch_begin(&b, t);
    for (int reads = 0; reads < BATCH; reads++) {
      ssize_t len = read(t->tun_fd, readbuf, sizeof readbuf);
      if (len <= 0) break;
      COUNT(t, tun_rx);
      uint8_t *packet = readbuf;
      if (t->options.link_protocol) { /* struct tun_pi first: the packet's EtherType */
        struct tun_pi pi;
        if ((size_t)len <= sizeof pi) { COUNT(t, drop_encrypt); continue; }
        memcpy(&pi, readbuf, sizeof pi);
        b.protocol = ntohs(pi.proto);
        packet += sizeof pi;
        len -= (ssize_t)sizeof pi;
      }
      if (!t->options.offload) queue_packet(&b, packet, (size_t)len);
      else if (!is_ip(b.protocol)) { /* never segmented nor checksummed by the kernel: past the vnet header as it is */
        if ((size_t)len > DP_VNET_HDR_LEN) queue_packet(&b, packet + DP_VNET_HDR_LEN, (size_t)len - DP_VNET_HDR_LEN);
      } else if (dp_gso_split(packet, (size_t)len, scratch, sizeof scratch, queue_packet, &b) < 0) COUNT(t, drop_encrypt);
    }
    flush(&b);
    report_expiry(t, atomic_load_explicit(&t->out, memory_order_acquire));
    dp_epoch_leave(&t->epoch[0]);
  }
  return NULL;
}

/* The hub's thread sends for many tunnels: one batch, flushed whenever the tunnel changes. */
static __thread out_batch hub_batch;

void dp_tunnel_tx_packet(dp_tunnel *t, const uint8_t *packet, size_t len) {
  if (hub_batch.t != t) {
    dp_tunnel_tx_flush();
    batch_begin(&hub_batch, t);
  }
  COUNT(t, tun_rx);
  queue_packet(&hub_batch, packet, len);
}

void dp_tunnel_tx_flush(void) {
  if (!hub_batch.t) return;
  flush(&hub_batch);
  report_expiry(hub_batch.t, atomic_load_explicit(&hub_batch.t->out, memory_order_acquire));
  hub_batch.t = NULL; /* never kept past the batch: the tunnel may be gone by the next one */
}

/* One packet into the TUN, after struct tun_pi where it wants one (`protocol` 0: IP, by its version,
 * past the vnet header on a TUN with offloads) and a blank vnet header where `blank_vnet` (a packet
 * that bypassed GRO on a TUN with offloads). */
static void write_framed(dp_tunnel *t, uint16_t protocol, bool blank_vnet, const uint8_t *buf, size_t len) {
  static const uint8_t no_offload[DP_VNET_HDR_LEN];
  struct tun_pi pi = {.flags = 0};
  struct iovec iov[3];
  int n = 0;
  if (t->options.link_protocol) {
    size_t ip = t->options.offload && !blank_vnet ? DP_VNET_HDR_LEN : 0;
    if (!protocol && len <= ip) { COUNT(t, drop_io); return; }
    pi.proto = htons(protocol ? protocol : ip_ethertype(buf + ip));
    iov[n++] = (struct iovec){.iov_base = &pi, .iov_len = sizeof pi};
  }
  if (blank_vnet) iov[n++] = (struct iovec){.iov_base = (void *)no_offload, .iov_len = sizeof no_offload};
  iov[n++] = (struct iovec){.iov_base = (void *)buf, .iov_len = len};
  if (writev(t->tun_fd, iov, n) < 0) COUNT(t, drop_io);
  else COUNT(t, tun_tx);
}

/* An IP packet (after its vnet header on a TUN with offloads), as GRO hands them over. */
static int write_tun(void *ctx, const uint8_t *buf, size_t len) {
  write_framed(ctx, 0, false, buf, len);
  return 0;
}

typedef enum { UP_NOT, UP_TAKEN, UP_INNER } up_result;

/* The local UDP port of the first PPP data session carried here (network order), 0 without any. */
static uint16_t ppp_port(dp_tunnel *t) {
  for (int i = 0; i < DP_TUNNEL_MAX_PPP; i++) {
    dp_ppp_session *s = atomic_load_explicit(&t->ppp[i], memory_order_acquire);
    if (s) return dp_ppp_session_config(s)->local_port;
  }
  return 0;
}

/* A data message of a PPP data session carried here (issue 20): its IP for the TUN (UP_INNER, in
 * place), dropped (UP_TAKEN), or for JavaScript like every other L2TP datagram (UP_NOT). */
static up_result ppp_rx(dp_tunnel *t, uint8_t *l2tp, size_t len, uint8_t **inner, size_t *inner_len) {
  dp_l2tp_header h;
  if (!dp_l2tp_parse(l2tp, len, &h) || h.control) return UP_NOT;
  for (int i = 0; i < DP_TUNNEL_MAX_PPP; i++) {
    dp_ppp_session *s = atomic_load_explicit(&t->ppp[i], memory_order_acquire);
    if (!s || !dp_l2tp_is_session(s, &h)) continue;
    const uint8_t *ip = NULL;
    switch (dp_l2tp_rx(s, &h, l2tp, &ip, inner_len)) {
    case DP_PPP_RX_TUN: *inner = (uint8_t *)ip; return UP_INNER;
    case DP_PPP_RX_DROP: return UP_TAKEN;
    case DP_PPP_RX_UP: return UP_NOT;
    }
  }
  return UP_NOT;
}

/* Transport mode: the UDP port JavaScript serves from this SA (L2TP) goes up the hub's pipe, tagged,
 * but for the IP of PPP data sessions, which goes into the TUN from here. */
static up_result deliver_up(dp_tunnel *t, uint8_t *datagram, size_t len, uint8_t **inner, size_t *inner_len) {
  uint64_t up = atomic_load_explicit(&t->udp_up_route, memory_order_relaxed);
  /* Without a port handed up (a dialing L2TP site's child), its PPP data sessions' port. */
  uint16_t port = up ? (uint16_t)(up >> 32) : ppp_port(t);
  size_t udp = 0;
  if (!port || !t->options.transport || !dp_transport_is_udp_to(datagram, len, port, &udp)) return UP_NOT;
  up_result r = ppp_rx(t, datagram + udp + 8, len - udp - 8, inner, inner_len);
  if (r != UP_NOT || !up) return r; /* not handed up: to the TUN, as before */
  dp_pipe *pipe = dp_hub_pipe(t->hub);
  if (pipe && dp_pipe_push(pipe, (uint32_t)up, datagram, len)) COUNT(t, udp_up);
  else COUNT(t, udp_up_dropped);
  return UP_TAKEN;
}

/* One received datagram: decapsulate, check selectors, follow the peer, clamp, write to the TUN. */
static void deliver(dp_tunnel *t, const uint8_t *d, size_t len, const dp_addr *from, uint8_t *plain) {
  /* Transport mode rebuilds the datagram between the outer addresses: the peer's as it arrived. */
  uint32_t outer_src = from->v4.sin_addr.s_addr, outer_dst = t->options.transport_local.v4.sin_addr.s_addr;
  bool v6 = dp_addr_is_v6(from);
  if (t->options.mode != DP_TUNNEL_ESP_UDP && dp_addr_is_v6(from)) {
    /* Raw IPv6 sockets never hand over the outer header. */
    dp_addr peer = peer_of(t);
    if (t->options.mode == DP_TUNNEL_GRE && memcmp(&from->v6.sin6_addr, &peer.v6.sin6_addr, 16) != 0) {
      COUNT(t, drop_source);
      return;
    }
  } else if (t->options.mode != DP_TUNNEL_ESP_UDP) {
    /* Raw IPv4 sockets hand over the outer header too. */
    size_t ihl = len ? (size_t)(d[0] & 0x0f) * 4 : 0;
    if (len < 20 || ihl < 20 || ihl > len) { COUNT(t, drop_decrypt); return; }
    memcpy(&outer_src, d + 12, 4);
    memcpy(&outer_dst, d + 16, 4);
    /* A GRE site takes packets from its peer alone: the raw socket sees all GRE to this address. */
    if (t->options.mode == DP_TUNNEL_GRE && outer_src != peer_of(t).v4.sin_addr.s_addr) {
      COUNT(t, drop_source);
      return;
    }
    d += ihl;
    len -= ihl;
  }
  size_t out_len = 0, room = t->options.transport ? (v6 ? 40 : 20) : 0;
  uint8_t nh = 0;
  uint16_t protocol = 0;
  decap_result r = decapsulate(t, d, len, plain + room, MAX_PACKET + 64 - room, &out_len, &nh, &protocol);
  if (r == DECAP_SKIP) return;
  if (r == DECAP_DROP) { COUNT(t, drop_decrypt); return; }
  if (!is_ip(protocol)) { /* a GRE site's non-IP (MPLS, ...): no selectors, no MSS; the kernel decides */
    if (t->options.link_protocol) write_framed(t, protocol, t->options.offload, plain, out_len);
    else COUNT(t, drop_decrypt);
    return;
  }
  if (t->options.transport) {
    /* Behind a NAT (ESP in UDP) the sender's L4 checksum covered addresses not seen here. */
    /* Over IPv6 always: a UDP checksum of 0 (L2TP data frames, dp_l2tp_frame) is not allowed there. */
    out_len = v6 ? dp_transport_rebuild6(plain, out_len, nh, from->v6.sin6_addr.s6_addr, t->options.transport_local.v6.sin6_addr.s6_addr, true)
                 : dp_transport_rebuild(plain, out_len, nh, outer_src, outer_dst, t->transport_id++, t->options.mode == DP_TUNNEL_ESP_UDP);
    if (!out_len) { COUNT(t, drop_decrypt); return; }
  }
  /* RFC 4301 §5.2: what the peer may send us is bounded by the SA's selectors. */
  if (!dp_prefix_set_matches(&t->options.remote_ts, plain, out_len, true) || !dp_prefix_set_matches(&t->options.local_ts, plain, out_len, false)) {
    COUNT(t, drop_selector);
    return;
  }
  /* Authentic and fresh: if it came from elsewhere, the peer's NAT mapping moved. */
  if (t->options.mode == DP_TUNNEL_ESP_UDP) {
    dp_addr peer = peer_of(t);
    if (!dp_addr_equal(from, &peer)) {
      dp_peer_store(&t->peer, from);
      COUNT(t, peer_moved);
    }
  }
  if (t->hub) {
    uint8_t *inner = NULL;
    size_t inner_len = 0;
    up_result u = deliver_up(t, plain, out_len, &inner, &inner_len);
    if (u == UP_TAKEN) return;
    if (u == UP_INNER) { plain = inner; out_len = inner_len; } /* a PPP data session's IP packet */
  }
  if (dp_clamp_mss(plain, out_len, t->options.mtu)) COUNT(t, mss_clamped);
  /* With offloads every write carries a virtio_net_hdr; GRO merges TCP (and with USO, UDP) runs, flushed per batch. */
  /* The 64 KB merge buffer comes with the first packet: idle remote-access clients never pay for it. */
  if (!t->options.offload) { write_tun(t, plain, out_len); return; }
  if (!t->gro && !(t->gro = calloc(1, sizeof *t->gro))) { COUNT(t, drop_io); return; } /* the TUN wants a vnet header */
  t->gro->uso = t->options.uso;
  dp_gro_offer(t->gro, plain, out_len, write_tun, t);
}

typedef struct {
  dp_tunnel *t;
  uint8_t *plain;
} rx_ctx;

static void receive_one(void *ctx, const uint8_t *d, size_t len, const dp_addr *from, const dp_addr *to) {
  (void)to;
  rx_ctx *c = ctx;
  atomic_fetch_add_explicit(&c->t->stats.net_rx, 1, memory_order_relaxed);
  deliver(c->t, d, len, from, c->plain);
}

/* After a received batch: write what GRO merged, report lifetimes crossed. */
void dp_tunnel_receive_done(dp_tunnel *t) {
  if (t->gro) dp_gro_flush(t->gro, write_tun, t);
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND; i++) report_expiry(t, atomic_load_explicit(&t->in[i], memory_order_acquire));
}

void dp_tunnel_receive(dp_tunnel *t, const uint8_t *d, size_t len, const dp_addr *from, uint8_t *plain) {
  rx_ctx c = {.t = t, .plain = plain};
  receive_one(&c, d, len, from, NULL);
}

bool dp_tunnel_owns_spi(dp_tunnel *t, uint32_t spi) {
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND; i++) {
    dp_sa *sa = atomic_load_explicit(&t->in[i], memory_order_acquire);
    if (sa && dp_sa_spi(sa) == spi) return true;
  }
  return false;
}

/* Network → TUN on the tunnel's own socket: batches of up to DP_RX_BATCH datagrams. */
static void *run_to_tun(void *arg) {
  dp_tunnel *t = arg;
  static __thread uint8_t plain[MAX_PACKET + 64];
  rx_ctx c = {.t = t, .plain = plain};
  while (wait_readable(t, t->net_fd)) {
    dp_epoch_enter(&t->epoch[1]);
    dp_receive_batch(t->net_fd, t->rx_area, receive_one, &c);
    dp_tunnel_receive_done(t);
    dp_epoch_leave(&t->epoch[1]);
  }
  return NULL;
}

static int open_socket(const dp_tunnel_options *o, const dp_addr *local) {
  /* Bound, never connected: a connected socket would discard the peer's packets after a NAT rebinding. */
  return dp_socket_open(o->mode == DP_TUNNEL_ESP_UDP ? 0 : o->mode == DP_TUNNEL_ESP ? IPPROTO_ESP : IPPROTO_GRE, local);
}

static dp_tunnel *start(int tun_fd, const dp_tunnel_options *options, dp_endpoint *endpoint, dp_hub *hub, const dp_addr *local,
                        const dp_addr *remote, dp_sa *outbound, dp_sa *inbound, int *error) {
  bool v6 = dp_addr_is_v6(remote);
  if ((options->transport && dp_addr_is_v6(&options->transport_local) != v6) || (local && dp_addr_is_v6(local) != v6) || (endpoint && dp_endpoint_is_v6(endpoint) != v6)) {
    *error = -EAFNOSUPPORT; /* one family per tunnel: transport mode rebuilds datagrams between its two addresses */
    return NULL;
  }
  bool esp = options->mode == DP_TUNNEL_ESP_UDP || options->mode == DP_TUNNEL_ESP;
  if ((esp && (!outbound || !inbound)) || (!esp && options->mode != DP_TUNNEL_GRE) || (endpoint && options->mode != (dp_endpoint_is_raw(endpoint) ? DP_TUNNEL_ESP : DP_TUNNEL_ESP_UDP)) || (hub && !endpoint)) {
    *error = -EINVAL;
    return NULL;
  }
  dp_tunnel *t = calloc(1, sizeof *t);
  if (!t) { *error = -ENOMEM; return NULL; }
  t->tun_fd = tun_fd;
  t->options = *options;
  t->endpoint = endpoint;
  t->hub = hub;
  if (hub) t->options.offload = dp_hub_offload(hub); /* writes to the shared TUN carry its vnet header */
  if (hub) t->options.uso = dp_hub_uso(hub);
  atomic_init(&t->out, outbound);
  atomic_init(&t->gre_tx_seq, options->gre_seq_start);
  atomic_init(&t->in[0], inbound);
  dp_peer_store(&t->peer, remote);
  t->net_fd = endpoint ? dp_endpoint_fd(endpoint) : open_socket(options, local);
  t->rx_epoch = endpoint ? dp_endpoint_epoch(endpoint) : &t->epoch[1];
  t->tx_epochs = &t->epoch[0];
  t->tx_epoch_count = 1;
  if (hub) t->tx_epochs = dp_hub_epochs(hub, &t->tx_epoch_count);
  t->rx_area = endpoint ? NULL : malloc((size_t)DP_RX_BATCH * DP_RX_BUFFER);
  if (t->net_fd >= 0 && options->mode == DP_TUNNEL_ESP_UDP) {
    int gro = 0, segment = 0;
    socklen_t l = sizeof gro;
    t->udp_gro = getsockopt(t->net_fd, SOL_UDP, UDP_GRO, &gro, &l) == 0 && gro;
    l = sizeof segment;
    t->udp_gso = getsockopt(t->net_fd, SOL_UDP, UDP_SEGMENT, &segment, &l) == 0; /* the option exists */
  }
  /* The stop signal is for the tunnel's own threads: on a hub with a shared endpoint it has none
   * (an eventfd per client is a file and a syscall each, issue 23). */
  bool threads = !hub || !endpoint;
  t->stop_fd = threads ? eventfd(0, EFD_CLOEXEC) : -1;
  int flags = hub ? 0 : fcntl(tun_fd, F_GETFL);
  if (t->net_fd < 0 || (threads && t->stop_fd < 0) || (!endpoint && !t->rx_area) || flags < 0 || (!hub && fcntl(tun_fd, F_SETFL, flags | O_NONBLOCK) < 0)) {
    *error = t->net_fd < 0 ? t->net_fd : !endpoint && !t->rx_area ? -ENOMEM : -errno;
    goto fail;
  }
  if (endpoint && (*error = dp_endpoint_spi_add(endpoint, dp_sa_spi(inbound), t)) < 0) goto fail;
  if (!hub && pthread_create(&t->to_net, NULL, run_to_net, t) == 0) pthread_setname_np(t->to_net, "dp-tunnel-tx");
  if (!endpoint && pthread_create(&t->to_tun, NULL, run_to_tun, t) == 0) pthread_setname_np(t->to_tun, "dp-tunnel-rx");
  *error = 0;
  return t;
fail:
  free(t->rx_area);
  free(t->gro);
  if (t->net_fd >= 0 && !endpoint) close(t->net_fd);
  if (t->stop_fd >= 0) close(t->stop_fd);
  free(t);
  return NULL;
}

dp_tunnel *dp_tunnel_start(int tun_fd, const dp_tunnel_options *options, const dp_addr *local,
                           const dp_addr *remote, dp_sa *outbound, dp_sa *inbound, int *error) {
  return start(tun_fd, options, NULL, NULL, local, remote, outbound, inbound, error);
}

dp_tunnel *dp_tunnel_start_shared(int tun_fd, const dp_tunnel_options *options, dp_endpoint *endpoint,
                                  const dp_addr *remote, dp_sa *outbound, dp_sa *inbound, int *error) {
  return start(tun_fd, options, endpoint, NULL, NULL, remote, outbound, inbound, error);
}

dp_tunnel *dp_tunnel_start_hub(const dp_tunnel_options *options, dp_hub *hub, dp_endpoint *endpoint,
                               const dp_addr *remote, dp_sa *outbound, dp_sa *inbound, int *error) {
  return start(dp_hub_queue_fd(hub, dp_hub_assign_queue(hub)), options, endpoint, hub, NULL, remote, outbound, inbound, error);
}

int dp_tunnel_send_gre(dp_tunnel *t, uint16_t protocol, const uint8_t *payload, size_t len) {
  if (t->options.mode != DP_TUNNEL_GRE) return -EINVAL;
  uint8_t out[MAX_PACKET + 64];
  size_t total = 0;
  uint32_t seq = t->options.gre.sequence ? atomic_fetch_add_explicit(&t->gre_tx_seq, 1, memory_order_relaxed) : 0;
  if (dp_gre_frame(&t->options.gre, protocol, seq, payload, len, out, sizeof out, &total) != DP_GRE_OK) return -EMSGSIZE;
  dp_addr peer = peer_of(t);
  if (send_one(t, out, total, &peer) < 0) {
    int e = errno;
    COUNT(t, drop_io);
    return -e;
  }
  COUNT(t, keepalives_sent);
  return 0;
}

void dp_tunnel_deliver_udp(dp_tunnel *t, uint16_t port, uint32_t tag) {
  atomic_store_explicit(&t->udp_up_route, port ? (uint64_t)port << 32 | tag : 0, memory_order_relaxed);
}

int dp_tunnel_send_udp(dp_tunnel *t, uint16_t sport, uint16_t dport, const uint8_t *payload, size_t len) {
  if (!t->options.transport || t->options.mode == DP_TUNNEL_GRE) return -EINVAL;
  static __thread uint8_t datagram[MAX_PACKET], out[MAX_PACKET + 64];
  dp_addr peer = peer_of(t);
  uint16_t id = atomic_fetch_add_explicit(&t->sent_id, 1, memory_order_relaxed);
  size_t n = dp_addr_is_v6(&peer) ? dp_transport_udp_build6(datagram, sizeof datagram, t->options.transport_local.v6.sin6_addr.s6_addr, peer.v6.sin6_addr.s6_addr, sport, dport, payload, len)
                                  : dp_transport_udp_build(datagram, sizeof datagram, t->options.transport_local.v4.sin_addr.s_addr, peer.v4.sin_addr.s_addr, sport, dport, payload, len, id);
  if (!n) return -EMSGSIZE;
  size_t total = 0;
  dp_esp_set_lane(DP_ESP_LANE_CALLER); /* the hub's readers may be sealing for the same SA meanwhile */
  bool sealed = encapsulate(t, 0, datagram, n, out, sizeof out, &total);
  dp_esp_set_lane(0);
  if (!sealed) {
    COUNT(t, drop_encrypt);
    return -EMSGSIZE;
  }
  if (send_one(t, out, total, &peer) < 0) {
    int e = errno;
    COUNT(t, drop_io);
    return -e;
  }
  COUNT(t, udp_sent);
  return (int)total;
}

uint32_t dp_tunnel_gre_next_seq(const dp_tunnel *t) { return atomic_load_explicit(&t->gre_tx_seq, memory_order_relaxed); }

void dp_tunnel_set_peer(dp_tunnel *t, const dp_addr *peer) {
  dp_peer_store(&t->peer, peer);
}

int dp_tunnel_route(dp_tunnel *t, const dp_prefix *p) {
  return t->hub ? dp_hub_route_add(t->hub, p, t) : -EINVAL;
}

void dp_tunnel_stop(dp_tunnel *t) {
  if (!t) return;
  uint64_t one = 1;
  if (t->hub) dp_hub_routes_remove(t->hub, t); /* first: the threads stop handing us packets */
  if (t->endpoint) dp_endpoint_spi_remove(t->endpoint, 0, t);
  if (t->stop_fd >= 0 && write(t->stop_fd, &one, sizeof one) < 0) { /* the threads would wait forever; nothing better to do */ }
  if (!t->hub) pthread_join(t->to_net, NULL);
  if (!t->endpoint) {
    pthread_join(t->to_tun, NULL);
    close(t->net_fd);
  }
  if (t->stop_fd >= 0) close(t->stop_fd);
  if (!t->hub) close(t->tun_fd);
  for (int i = 0; i < DP_TUNNEL_MAX_PPP; i++) { /* its PPP data sessions live on (JavaScript's), without it */
    dp_ppp_session *s = atomic_load(&t->ppp[i]);
    if (s) dp_ppp_session_unlink(s, t);
  }
  free(t->rx_area);
  free(t->gro);
  free(t);
}

/* Returns once each thread sending or receiving for us has been quiescent at some moment after
 * this call began: from then on none can hold a pointer loaded before it. */
static void wait_for_quiescence(dp_tunnel *t) {
  dp_epochs_wait(t->tx_epochs, t->tx_epoch_count);
  dp_epochs_wait(t->rx_epoch, 1);
}

int dp_tunnel_add_inbound(dp_tunnel *t, dp_sa *sa) {
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND; i++) {
    dp_sa *present = atomic_load(&t->in[i]);
    if (present && dp_sa_spi(present) == dp_sa_spi(sa)) return -EEXIST;
  }
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND; i++) {
    dp_sa *expected = NULL;
    if (atomic_compare_exchange_strong(&t->in[i], &expected, sa)) {
      /* On a shared endpoint the SA is found by its SPI there first. */
      int rc = t->endpoint ? dp_endpoint_spi_add(t->endpoint, dp_sa_spi(sa), t) : 0;
      if (rc < 0) atomic_store(&t->in[i], NULL);
      return rc;
    }
  }
  return -ENOSPC;
}

dp_sa *dp_tunnel_remove_inbound(dp_tunnel *t, uint32_t spi) {
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND; i++) {
    dp_sa *present = atomic_load(&t->in[i]);
    if (present && dp_sa_spi(present) == spi && atomic_compare_exchange_strong(&t->in[i], &present, NULL)) {
      if (t->endpoint) dp_endpoint_spi_remove(t->endpoint, spi, t);
      wait_for_quiescence(t);
      return present;
    }
  }
  return NULL;
}

dp_sa *dp_tunnel_set_outbound(dp_tunnel *t, dp_sa *sa) {
  dp_sa *old = atomic_exchange(&t->out, sa);
  wait_for_quiescence(t);
  return old;
}

const dp_tunnel_stats *dp_tunnel_stats_of(const dp_tunnel *t) { return &t->stats; }

int dp_tunnel_ppp_attach(dp_tunnel *t, dp_ppp_session *s) {
  if (!t->hub || !t->options.transport || dp_ppp_session_config(s)->lower != DP_PPP_LOWER_L2TP) return -EINVAL;
  bool present = false;
  for (int i = 0; i < DP_TUNNEL_MAX_PPP; i++) present |= atomic_load(&t->ppp[i]) == s;
  for (int i = 0; i < DP_TUNNEL_MAX_PPP && !present; i++) {
    dp_ppp_session *expected = NULL;
    present = atomic_compare_exchange_strong(&t->ppp[i], &expected, s);
  }
  if (!present) return -ENOSPC;
  if (!dp_ppp_session_link(s, t)) {
    dp_tunnel_ppp_detach(t, s);
    return -ENOSPC;
  }
  /* The session's addresses lead here now (the newest tunnel of a path wins: hub.h). */
  const dp_prefix_set *sources = &dp_ppp_session_config(s)->sources;
  for (unsigned i = 0; i < sources->count; i++) {
    int rc = dp_hub_route_add(t->hub, &sources->items[i], t);
    if (rc < 0) return rc;
  }
  return 0;
}

void dp_tunnel_ppp_detach(dp_tunnel *t, dp_ppp_session *s) {
  bool found = false;
  for (int i = 0; i < DP_TUNNEL_MAX_PPP; i++) {
    dp_ppp_session *expected = s;
    found |= atomic_compare_exchange_strong(&t->ppp[i], &expected, NULL);
  }
  dp_ppp_session_unlink(s, t);
  if (!found) return;
  const dp_prefix_set *sources = &dp_ppp_session_config(s)->sources;
  for (unsigned i = 0; i < sources->count; i++) dp_hub_route_remove(t->hub, &sources->items[i], t);
  wait_for_quiescence(t);
}

void dp_tunnel_ppp_release(dp_ppp_session *s) {
  for (size_t i = 0; i < DP_PPP_MAX_LOWERS; i++) {
    dp_tunnel *t = dp_ppp_session_linked(s, i);
    if (t) dp_tunnel_ppp_detach(t, s);
  }
  dp_ppp_session_free(s);
}
