/* A PPTP call's PPP data path in C (issue 22), without sockets: enhanced GRE packets from the peer
 * carrying MPPE go through dp_pptp_receive; the TUN is one end of a socket pair and what the call
 * sends is caught by the output hook. IP of the session's is decrypted into the TUN; DHCPINFORM and
 * LCP go up (decrypted, and as they were); a foreign source, a late packet and a malformed one are
 * counted; IP from the hub is clamped, encrypted and sequenced; stopping hands the MPPE state back. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gre.h"
#include "gso.h"
#include "inet_checksum.h"
#include "mppe.h"
#include "pptp_gre.h"
#include "tap.h"

void test_pptp_data(void);

static void wake_nothing(void *ctx) { (void)ctx; }

typedef struct { int n; uint8_t last[4096]; size_t last_len; uint32_t last_peer; dp_mppe_state *peer_rx; int in_order; } caught;
/* With `peer_rx`: each packet is also opened as the peer would, counting those whose sequence number
 * follows the previous one and whose MPPE decrypts to a run of UDP packets numbered in order. */
static int catch_output(void *ctx, const uint8_t *gre, size_t len, uint32_t peer) {
  caught *c = ctx;
  dp_gre_header h, before;
  if (c->peer_rx && c->n > 0 && dp_gre_parse(gre, len, &h) == DP_GRE_OK && dp_gre_parse(c->last, c->last_len, &before) == DP_GRE_OK && h.seq == before.seq + 1) {
    uint8_t copy[4096], *info = NULL;
    uint16_t protocol = 0;
    size_t info_len = 0;
    memcpy(copy, gre + h.header_len, h.payload_length);
    if (dp_mppe_decrypt(c->peer_rx, copy + 4, h.payload_length - 4, &protocol, &info, &info_len) == DP_MPPE_OK && info_len > 28 && info[28] == (uint8_t)(c->n)) c->in_order++;
  }
  c->n++;
  memcpy(c->last, gre, len);
  c->last_len = len;
  c->last_peer = peer;
  return 0;
}

typedef struct { int n; uint32_t tag; uint8_t frame[2048]; size_t len; } drained;
static void collect(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) {
  drained *d = ctx;
  d->n++;
  d->tag = tag;
  d->len = len < sizeof d->frame ? len : sizeof d->frame;
  memcpy(d->frame, packet, d->len);
}

/* An IPv4 UDP packet from `src` to `dst`:`dport`, `len` bytes (at least 28). */
static size_t udp4(uint8_t *p, const char *src, const char *dst, uint16_t dport, size_t len) {
  memset(p, 0, len);
  p[0] = 0x45; p[2] = (uint8_t)(len >> 8); p[3] = (uint8_t)len; p[8] = 64; p[9] = 17;
  inet_pton(AF_INET, src, p + 12);
  inet_pton(AF_INET, dst, p + 16);
  p[22] = (uint8_t)(dport >> 8); p[23] = (uint8_t)dport;
  for (size_t i = 28; i < len; i++) p[i] = (uint8_t)(i * 7);
  return len;
}

/* The raw-socket view of a GRE packet from 192.0.2.2: an IPv4 header, enhanced GRE to call 0x1111
 * with sequence `seq`, then `frame`. */
static size_t from_peer(uint8_t *out, uint32_t seq, const uint8_t *frame, size_t len) {
  memset(out, 0, 20);
  out[0] = 0x45; out[9] = 47;
  inet_pton(AF_INET, "192.0.2.2", out + 12);
  dp_gre_header h = {.version = 1, .protocol = DP_GRE_PROTO_PPP, .call_id = 0x1111, .has_seq = true, .seq = seq};
  size_t hl = dp_gre_header_size(&h), total = 0;
  memcpy(out + 20 + hl, frame, len);
  dp_gre_build(&h, out + 20, 4096, len, &total);
  return 20 + total;
}

/* The peer's MPPE frame around an IP packet: Address/Control, 0x00FD, the MPPE packet. */
static size_t mppe_frame(dp_mppe_state *peer_tx, const uint8_t *ip, size_t len, uint8_t *out) {
  out[0] = 0xff; out[1] = 0x03; out[2] = 0x00; out[3] = 0xfd;
  return 4 + dp_mppe_encrypt(peer_tx, 0x0021, ip, len, out + 4, 4000);
}

/* A TCP segment 10.10.0.5:40000 → 192.168.1.10:5201 (ACK, `payload` bytes at `seq`), checksums valid. */
static size_t tcp4(uint8_t *p, uint32_t seq, size_t payload) {
  size_t total = 40 + payload;
  memset(p, 0, total);
  p[0] = 0x45; p[2] = (uint8_t)(total >> 8); p[3] = (uint8_t)total; p[6] = 0x40; p[8] = 64; p[9] = 6;
  inet_pton(AF_INET, "10.10.0.5", p + 12);
  inet_pton(AF_INET, "192.168.1.10", p + 16);
  p[20] = 0x9c; p[21] = 0x40; p[22] = 0x14; p[23] = 0x51;
  p[24] = (uint8_t)(seq >> 24); p[25] = (uint8_t)(seq >> 16); p[26] = (uint8_t)(seq >> 8); p[27] = (uint8_t)seq;
  p[31] = 9; p[32] = 5 << 4; p[33] = 0x10; p[34] = 0x01; p[35] = 0xf5;
  for (size_t i = 0; i < payload; i++) p[40 + i] = (uint8_t)(seq + i);
  uint16_t c = fold(sum16(p, 20, 0));
  p[10] = (uint8_t)(c >> 8); p[11] = (uint8_t)c;
  fix(p, total);
  return total;
}

/* Into a TUN with offloads: a received batch's TCP run is merged into one write (vnet header with
 * the segment size), as the ESP tunnels do. */
static void gro_into_tun(void) {
  dp_pipe *pipe = dp_pipe_open(64, 1 << 20, wake_nothing, NULL);
  dp_pptp *p = dp_pptp_new(pipe);
  struct sockaddr_in peer = {.sin_family = AF_INET};
  inet_pton(AF_INET, "192.0.2.2", &peer.sin_addr);
  dp_pptp_call_add(p, 0x1111, 0x2222, &peer, 7);
  int tun[2];
  socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun);
  uint8_t key[16] = {9};
  dp_mppe_state tx, rx, peer_tx;
  dp_mppe_init(&tx, key, 128);
  dp_mppe_init(&rx, key, 128);
  dp_mppe_init(&peer_tx, key, 128);
  dp_ppp_config c = {.lower = DP_PPP_LOWER_PPTP, .mtu = 1396};
  dp_prefix_set_add(&c.sources, "10.10.0.5/32");
  dp_pptp_data_start(p, 0x1111, &c, &tx, &rx, NULL, tun[0], true);
  static uint8_t packets[4][4200], frame[4096], got[8192];
  const uint8_t *batch[4];
  size_t lens[4];
  uint8_t seg[1100];
  for (int k = 0; k < 4; k++) {
    size_t n = tcp4(seg, 1000u * (uint32_t)k, k < 3 ? 1000 : 500); /* three full segments, a short one ends the run */
    lens[k] = from_peer(packets[k], (uint32_t)k + 1, frame, mppe_frame(&peer_tx, seg, n, frame));
    batch[k] = packets[k];
  }
  dp_pptp_receive_batch(p, batch, lens, 4);
  ssize_t n = recv(tun[1], got, sizeof got, 0), more = recv(tun[1], got + 4096, sizeof got - 4096, 0);
  unsigned gso_size = n > 6 ? (unsigned)(got[4] | got[5] << 8) : 0;
  CHECK(n == DP_VNET_HDR_LEN + 40 + 3500 && more < 0 && gso_size == 1000 && got[DP_VNET_HDR_LEN] == 0x45 && got[DP_VNET_HDR_LEN + 40] == 0 && got[DP_VNET_HDR_LEN + 40 + 3499] == (uint8_t)(3000 + 499),
        "a TCP run of one batch goes into a TUN with offloads as one merged write (gso_size 1000)");
  dp_pptp_close(p);
  dp_pipe_close(pipe);
  close(tun[0]);
  close(tun[1]);
}

void test_pptp_data(void) {
  gro_into_tun();
  dp_pipe *pipe = dp_pipe_open(64, 1 << 20, wake_nothing, NULL);
  dp_pptp *p = dp_pptp_new(pipe);
  caught out = {0};
  dp_pptp_set_output(p, catch_output, &out);
  struct sockaddr_in peer = {.sin_family = AF_INET};
  inet_pton(AF_INET, "192.0.2.2", &peer.sin_addr);
  dp_pptp_call_add(p, 0x1111, 0x2222, &peer, 7);
  int tun[2];
  socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun);

  uint8_t ours[16], theirs[16];
  for (int i = 0; i < 16; i++) ours[i] = (uint8_t)(i + 1), theirs[i] = (uint8_t)(0xa0 + i);
  dp_mppe_state tx, rx, peer_tx, peer_rx;
  dp_mppe_init(&tx, ours, 128);
  dp_mppe_init(&peer_rx, ours, 128);
  dp_mppe_init(&rx, theirs, 128);
  dp_mppe_init(&peer_tx, theirs, 128);
  dp_ppp_config c = {.lower = DP_PPP_LOWER_PPTP, .mtu = 1396};
  dp_prefix_set_add(&c.sources, "10.10.0.5/32");
  CHECK(dp_pptp_data_start(p, 0x3333, &c, &tx, &rx, NULL, tun[0], false) == -ENOENT, "no data path for a call that does not exist");
  dp_mppe_state bad = tx;
  bad.strength = 64;
  CHECK(dp_pptp_data_start(p, 0x1111, &c, &bad, &rx, NULL, tun[0], false) == -EINVAL, "an MPPE state of unknown strength is refused");
  CHECK(dp_pptp_data_start(p, 0x1111, &c, &tx, &rx, NULL, tun[0], false) == 0, "the data path starts on the call");
  CHECK(dp_pptp_data_start(p, 0x1111, &c, &tx, &rx, NULL, tun[0], false) == -EEXIST, "a second one is refused");
  const dp_pptp_stats *st = dp_pptp_stats_of(p);

  uint8_t ip[1500], frame[4096], packet[4200], got[2048];
  size_t ip_len = udp4(ip, "10.10.0.5", "192.168.1.10", 5001, 1200);
  dp_pptp_receive(p, packet, from_peer(packet, 1, frame, mppe_frame(&peer_tx, ip, ip_len, frame)));
  ssize_t n = recv(tun[1], got, sizeof got, 0);
  dp_ppp_stats ps;
  dp_pptp_data_stats(p, 0x1111, &ps);
  CHECK(n == (ssize_t)ip_len && !memcmp(got, ip, ip_len) && atomic_load(&ps.rx_packets) == 1 && atomic_load(&ps.rx_bytes) == ip_len && atomic_load(&st->mppe_rx) == 1 &&
            atomic_load(&st->frames_up) == 0, "the peer's IP is decrypted into the TUN, counted on the session, nothing up");

  /* Two packets lost in between: the count jumps, the key follows. */
  dp_mppe_state skipped = peer_tx;
  mppe_frame(&peer_tx, ip, ip_len, frame);
  mppe_frame(&peer_tx, ip, ip_len, frame);
  dp_pptp_receive(p, packet, from_peer(packet, 4, frame, mppe_frame(&peer_tx, ip, ip_len, frame)));
  n = recv(tun[1], got, sizeof got, 0);
  CHECK(n == (ssize_t)ip_len && !memcmp(got, ip, ip_len), "after two lost packets the next still decrypts");
  dp_pptp_receive(p, packet, from_peer(packet, 5, frame, mppe_frame(&skipped, ip, ip_len, frame)));
  CHECK(atomic_load(&st->mppe_late) == 1 && recv(tun[1], got, sizeof got, 0) < 0, "a late MPPE packet (an older count in a newer GRE packet) is dropped and counted");
  uint8_t short_mppe[] = {0xff, 0x03, 0x00, 0xfd, 0x10, 0x05, 0xaa};
  dp_pptp_receive(p, packet, from_peer(packet, 6, short_mppe, sizeof short_mppe));
  CHECK(atomic_load(&st->mppe_malformed) == 1, "an MPPE packet not flushed (stateless needs it) is malformed, counted");

  ip_len = udp4(ip, "10.10.0.9", "192.168.1.10", 5001, 100);
  dp_pptp_receive(p, packet, from_peer(packet, 7, frame, mppe_frame(&peer_tx, ip, ip_len, frame)));
  dp_pptp_data_stats(p, 0x1111, &ps);
  CHECK(atomic_load(&ps.drop_source) == 1 && recv(tun[1], got, sizeof got, 0) < 0, "IP from another source is dropped and counted");

  drained d = {0};
  ip_len = udp4(ip, "0.0.0.0", "255.255.255.255", 67, 300);
  dp_pptp_receive(p, packet, from_peer(packet, 8, frame, mppe_frame(&peer_tx, ip, ip_len, frame)));
  dp_pipe_drain(pipe, 8, collect, &d);
  CHECK(d.n == 1 && d.tag == (7 | DP_PPTP_TAG_DECRYPTED) && d.len == ip_len + 4 && d.frame[0] == 0xff && d.frame[3] == 0x21 && !memcmp(d.frame + 4, ip, ip_len),
        "a DHCPINFORM inside MPPE goes up decrypted, as a plain PPP frame, flagged");
  uint8_t lcp[] = {0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 1, 2, 3, 4};
  memset(&d, 0, sizeof d);
  dp_pptp_receive(p, packet, from_peer(packet, 9, lcp, sizeof lcp));
  dp_pipe_drain(pipe, 8, collect, &d);
  CHECK(d.n == 1 && d.tag == 7 && d.len == sizeof lcp && !memcmp(d.frame, lcp, sizeof lcp), "LCP goes up as it came, unflagged");

  /* The way out: clamped, encrypted, sequenced. A TCP SYN with MSS 1460 toward a 1396 MRU. */
  uint8_t syn[44] = {0x45, 0, 0, 44, 0, 0, 0, 0, 64, 6};
  inet_pton(AF_INET, "192.168.1.10", syn + 12);
  inet_pton(AF_INET, "10.10.0.5", syn + 16);
  syn[32] = 0x60; syn[33] = 0x02; /* data offset 6, SYN */
  syn[40] = 2; syn[41] = 4; syn[42] = 0x05; syn[43] = 0xb4;
  out.n = 0;
  dp_pptp_data_tx(p, 0x1111, syn, sizeof syn);
  dp_pptp_data_flush(p, 0x1111);
  dp_gre_header h;
  bool parsed = out.n == 1 && dp_gre_parse(out.last, out.last_len, &h) == DP_GRE_OK && h.call_id == 0x2222 && h.has_seq;
  uint8_t *f = out.last + (parsed ? h.header_len : 0), *info = NULL;
  uint16_t protocol = 0;
  size_t info_len = 0;
  bool opened = parsed && f[0] == 0xff && f[1] == 0x03 && f[2] == 0x00 && f[3] == 0xfd && dp_mppe_decrypt(&peer_rx, f + 4, h.payload_length - 4, &protocol, &info, &info_len) == DP_MPPE_OK;
  unsigned mss = opened && info_len == sizeof syn ? (unsigned)(info[42] << 8 | info[43]) : 0;
  dp_pptp_data_stats(p, 0x1111, &ps);
  CHECK(opened && protocol == 0x0021 && mss == 1396 - 40 && atomic_load(&ps.tx_packets) == 1 && atomic_load(&ps.tx_bytes) == sizeof syn,
        "IP from the hub leaves MPPE-encrypted to the peer's call ID, its SYN's MSS clamped to the MRU, counted");
  uint32_t first_seq = h.seq;
  uint8_t echo[] = {0xff, 0x03, 0xc0, 0x21, 0x09, 0x02, 0x00, 0x08, 1, 2, 3, 4};
  dp_pptp_send(p, 0x1111, echo, sizeof echo);
  bool next = dp_gre_parse(out.last, out.last_len, &h) == DP_GRE_OK && h.seq == first_seq + 1 && !memcmp(out.last + h.header_len, echo, sizeof echo);
  ip_len = udp4(ip, "10.10.0.1", "10.10.0.5", 68, 300);
  CHECK(dp_pptp_send_ip(p, 0x1111, ip, ip_len) > 0, "JavaScript's own IP goes through the call's MPPE");
  opened = dp_gre_parse(out.last, out.last_len, &h) == DP_GRE_OK && h.seq == first_seq + 2 &&
           dp_mppe_decrypt(&peer_rx, out.last + h.header_len + 4, h.payload_length - 4, &protocol, &info, &info_len) == DP_MPPE_OK && info_len == ip_len && !memcmp(info, ip, ip_len);
  CHECK(next && opened, "control frames and encrypted IP share one sequence; the peer decrypts both MPPE packets in turn");

  /* A run from the hub: held until TX_BATCH (32) wait or the run ends, then sent in order. */
  caught run = {.peer_rx = &peer_rx};
  memcpy(run.last, out.last, out.last_len); /* the sequence number before the run */
  run.last_len = out.last_len;
  run.n = 1;
  dp_pptp_set_output(p, catch_output, &run);
  uint64_t tx_before = atomic_load(&st->tx);
  int after_32 = 0, after_39 = 0;
  for (int k = 1; k <= 40; k++) {
    ip_len = udp4(ip, "192.168.1.10", "10.10.0.5", 5001, 600);
    ip[28] = (uint8_t)k;
    dp_pptp_data_tx(p, 0x1111, ip, ip_len);
    if (k == 32) after_32 = run.n - 1;
    if (k == 39) after_39 = run.n - 1;
  }
  dp_pptp_data_flush(p, 0x1111);
  CHECK(after_32 == 32 && after_39 == 32 && run.n - 1 == 40 && atomic_load(&st->tx) - tx_before == 40,
        "a hub run of 40 packets leaves as a batch of 32 and, at the run's end, the other 8");
  CHECK(run.in_order == 40, "every packet of the run follows the previous one's GRE sequence number and decrypts to the next IP packet");
  dp_pptp_set_output(p, catch_output, &out);
  memcpy(out.last, run.last, run.last_len);
  out.last_len = run.last_len;

  dp_mppe_state back_tx, back_rx;
  CHECK(dp_pptp_data_stop(p, 0x1111, &back_tx, &back_rx) == 0 && back_tx.count == peer_rx.count && !memcmp(back_tx.session_key, peer_rx.session_key, 16) &&
            back_rx.count == peer_tx.count && !memcmp(back_rx.session_key, peer_tx.session_key, 16),
        "stopping hands back both directions' MPPE state where the peer's own is");
  CHECK(dp_pptp_send_ip(p, 0x1111, ip, ip_len) == -ENOENT && dp_pptp_data_stop(p, 0x1111, NULL, NULL) == -ENOENT, "no data path after it stopped");
  memset(&d, 0, sizeof d);
  dp_pptp_receive(p, packet, from_peer(packet, 10, frame, mppe_frame(&peer_tx, ip, ip_len, frame)));
  dp_pipe_drain(pipe, 8, collect, &d);
  CHECK(d.n == 1 && d.tag == 7 && d.frame[3] == 0xfd, "without it, MPPE frames go up to JavaScript as before");
  dp_pptp_data_start(p, 0x1111, &c, &back_tx, &back_rx, NULL, tun[0], false);
  dp_pptp_close(p); /* frees the call with its data path */
  dp_pipe_close(pipe);
  close(tun[0]);
  close(tun[1]);
}
