/* IPv6 outer addresses (issue 24) on loopback ::1: the peer address's sequence lock, the shared
 * endpoint handing IKE up with the address it was sent to and answering from a chosen source, and
 * an ESP-in-UDP tunnel on that endpoint both ways (a SOCK_SEQPACKET pair stands in for the TUN),
 * following the peer to a new port on authenticated packets only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "endpoint.h"
#include "esp.h"
#include "net_io.h"
#include "tap.h"
#include "tunnel.h"

void test_v6_outer(void);

static dp_addr v6(const char *text, uint16_t port) {
  dp_addr a;
  memset(&a, 0, sizeof a);
  a.v6.sin6_family = AF_INET6;
  a.v6.sin6_port = htons(port);
  inet_pton(AF_INET6, text, &a.v6.sin6_addr);
  return a;
}

static void peer_lock(void) {
  dp_peer p;
  memset(&p, 0, sizeof p);
  dp_addr a = v6("2001:db8::7", 4500), b;
  memset(&b, 0, sizeof b);
  b.v4.sin_family = AF_INET;
  b.v4.sin_port = htons(4501);
  inet_pton(AF_INET, "192.0.2.9", &b.v4.sin_addr);
  dp_peer_store(&p, &a);
  dp_addr got = dp_peer_load(&p);
  CHECK(dp_addr_equal(&got, &a) && dp_addr_len(&got) == sizeof(struct sockaddr_in6), "v6 peer: an IPv6 address and port stored and loaded whole");
  dp_peer_store(&p, &b);
  got = dp_peer_load(&p);
  CHECK(dp_addr_equal(&got, &b) && !dp_addr_is_v6(&got) && dp_addr_len(&got) == sizeof(struct sockaddr_in), "v6 peer: an IPv4 one after it (a MOBIKE move between families)");
  CHECK(!dp_addr_equal(&a, &b) && (atomic_load(&p.seq) & 1) == 0, "v6 peer: families differ; the lock is released (even count)");
}

static int udp6_socket(dp_addr *bound) {
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  dp_addr any = v6("::1", 0);
  socklen_t l = sizeof *bound;
  if (fd < 0 || bind(fd, &any.sa, dp_addr_len(&any)) < 0 || getsockname(fd, &bound->sa, &l) < 0) return -1;
  return fd;
}

static ssize_t receive_within(int fd, void *buf, size_t cap, dp_addr *from) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, 2000) != 1) return -1;
  socklen_t l = sizeof *from;
  return recvfrom(fd, buf, cap, 0, &from->sa, &l);
}

typedef struct {
  _Atomic int seen;
  uint8_t msg[64];
  size_t len;
  dp_addr from, to;
  bool had_to;
} ike_seen;

static void on_ike(void *ctx, const uint8_t *msg, size_t len, const dp_addr *from, const dp_addr *to) {
  ike_seen *s = ctx;
  if (atomic_load(&s->seen)) return;
  s->len = len < sizeof s->msg ? len : sizeof s->msg;
  memcpy(s->msg, msg, s->len);
  s->from = *from;
  s->had_to = to != NULL;
  if (to) s->to = *to;
  atomic_store(&s->seen, 1);
}

static bool wait_flag(_Atomic int *flag) {
  for (int i = 0; i < 200 && !atomic_load(flag); i++) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  return atomic_load(flag);
}

static const uint8_t KEY[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0xa, 0xb, 0xc, 0xd};

static dp_sa *gcm_sa(uint32_t spi) {
  dp_sa_config c = {.spi = spi, .suite = DP_SUITE_AES_GCM_128, .replay_window = 64, .enc_key = KEY, .enc_key_len = sizeof KEY};
  dp_status st;
  return dp_sa_new(&c, &st);
}

/* A minimal IPv4 packet (the inner one) of `len` bytes: version, length, protocol 253. */
static size_t inner_packet(uint8_t *p, size_t len, uint8_t mark) {
  memset(p, mark, len);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = (uint8_t)(len >> 8);
  p[3] = (uint8_t)len;
  p[8] = 64;
  p[9] = 253;
  return len;
}

static void endpoint_and_tunnel(void) {
  dp_addr local = v6("::1", 0);
  ike_seen seen = {0};
  int err = 0;
  dp_endpoint *e = dp_endpoint_open(&local, on_ike, &seen, &err);
  CHECK(e && err == 0 && dp_endpoint_is_v6(e), "v6 endpoint: UDP opened on ::1");
  if (!e) return;
  dp_addr ep;
  socklen_t l = sizeof ep;
  getsockname(dp_endpoint_fd(e), &ep.sa, &l);
  dp_addr peer_addr;
  int peer = udp6_socket(&peer_addr);

  /* IKE: the non-ESP marker, then the message; it comes up with where it was sent to. */
  uint8_t ike[12] = {0, 0, 0, 0, 'I', 'K', 'E', 'v', '2', '-', 'v', '6'};
  sendto(peer, ike, sizeof ike, 0, &ep.sa, dp_addr_len(&ep));
  CHECK(wait_flag(&seen.seen) && seen.len == 8 && memcmp(seen.msg, "IKEv2-v6", 8) == 0, "v6 endpoint: IKE up with the marker removed");
  dp_addr loop = v6("::1", 0);
  CHECK(dp_addr_equal(&seen.from, &peer_addr) && seen.had_to && memcmp(&seen.to.v6.sin6_addr, &loop.v6.sin6_addr, 16) == 0,
        "v6 endpoint: the sender and the address it wrote to (IPV6_PKTINFO) reported");
  CHECK(dp_endpoint_send_ike(e, (const uint8_t *)"answer", 6, &peer_addr, &seen.to) == 0, "v6 endpoint: IKE answered from the chosen source");
  uint8_t buf[2048];
  dp_addr from;
  ssize_t n = receive_within(peer, buf, sizeof buf, &from);
  CHECK(n == 10 && memcmp(buf, "\0\0\0\0answer", 10) == 0 && dp_addr_port(&from) == dp_addr_port(&ep), "v6 endpoint: the answer arrives with the marker, from UDP 4500's port");
  dp_addr v4peer;
  memset(&v4peer, 0, sizeof v4peer);
  v4peer.v4.sin_family = AF_INET;
  CHECK(dp_endpoint_send_ike(e, ike, 4, &v4peer, NULL) == -EAFNOSUPPORT, "v6 endpoint: an IPv4 destination refused (one endpoint per family)");

  /* ESP in UDP: tunnel out SPI 0x1001, in SPI 0x2002; the peer holds the mirror SAs. */
  int tun[2];
  socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tun);
  dp_sa *out = gcm_sa(0x1001), *in = gcm_sa(0x2002), *peer_rx = gcm_sa(0x1001), *peer_tx = gcm_sa(0x2002);
  dp_tunnel_options o = {.mode = DP_TUNNEL_ESP_UDP, .mtu = 1400, .source = v6("::1", 0)};
  dp_tunnel_options transport = o;
  transport.transport = true;
  transport.transport_local.v4.sin_family = AF_INET;
  CHECK(!dp_tunnel_start_shared(tun[0], &transport, e, &peer_addr, out, in, &err) && err == -EAFNOSUPPORT, "v6 tunnel: transport mode with an IPv4 local address refused (one family per tunnel)");
  dp_tunnel *t = dp_tunnel_start_shared(tun[0], &o, e, &peer_addr, out, in, &err);
  CHECK(t && err == 0, "v6 tunnel: ESP in UDP started on the IPv6 endpoint");
  if (!t) return;
  uint8_t packet[600], plain[2048];
  size_t len = inner_packet(packet, 300, 0x5a);
  (void)!write(tun[1], packet, len);
  n = receive_within(peer, buf, sizeof buf, &from);
  size_t plen = 0;
  uint8_t nh = 0;
  CHECK(n > 0 && dp_esp_decrypt(peer_rx, buf, (size_t)n, plain, sizeof plain, &plen, &nh) == DP_OK && plen == len && nh == 4 && memcmp(plain, packet, len) == 0,
        "v6 tunnel: a packet from the TUN leaves sealed to the IPv6 peer");
  CHECK(dp_addr_port(&from) == dp_addr_port(&ep), "v6 tunnel: sent from the endpoint's socket (UDP 4500)");

  len = inner_packet(packet, 200, 0xa5);
  size_t slen = 0;
  dp_esp_encrypt(peer_tx, packet, len, 4, NULL, buf, sizeof buf, &slen);
  sendto(peer, buf, slen, 0, &ep.sa, dp_addr_len(&ep));
  struct pollfd p = {.fd = tun[1], .events = POLLIN};
  n = poll(&p, 1, 2000) == 1 ? read(tun[1], plain, sizeof plain) : -1;
  CHECK(n == (ssize_t)len && memcmp(plain, packet, len) == 0, "v6 tunnel: ESP from the IPv6 peer reaches the TUN");

  /* The peer's NAT66 mapping moves: authenticated packets from a new port are followed. */
  dp_addr moved_addr;
  int moved = udp6_socket(&moved_addr);
  dp_esp_encrypt(peer_tx, packet, len, 4, NULL, buf, sizeof buf, &slen);
  sendto(moved, buf, slen, 0, &ep.sa, dp_addr_len(&ep));
  n = poll(&p, 1, 2000) == 1 ? read(tun[1], plain, sizeof plain) : -1;
  const dp_tunnel_stats *s = dp_tunnel_stats_of(t);
  CHECK(n == (ssize_t)len && atomic_load(&s->peer_moved) == 1, "v6 tunnel: an authenticated packet from a new port moves the peer");
  uint8_t forged[64] = {0, 0, 0x20, 0x02, 0, 0, 0, 99};
  sendto(peer, forged, sizeof forged, 0, &ep.sa, dp_addr_len(&ep));
  len = inner_packet(packet, 120, 0x33);
  (void)!write(tun[1], packet, len);
  n = receive_within(moved, buf, sizeof buf, &from);
  CHECK(n > 0 && dp_esp_decrypt(peer_rx, buf, (size_t)n, plain, sizeof plain, &plen, &nh) == DP_OK && plen == len && atomic_load(&s->peer_moved) == 1,
        "v6 tunnel: replies go to the new port; a forged packet from the old one moves nothing");

  dp_tunnel_stop(t);
  close(tun[1]);
  dp_endpoint_close(e);
  close(peer);
  close(moved);
  dp_sa_free(out);
  dp_sa_free(in);
  dp_sa_free(peer_rx);
  dp_sa_free(peer_tx);
}

static void raw_v6(void) {
  dp_addr local = v6("::1", 0);
  int err = 0;
  dp_endpoint *e = dp_endpoint_open_raw(&local, &err);
  if (!e) {
    CHECK(err == -EPERM || err == -EACCES, "v6 raw ESP: refused only for want of privileges");
    return;
  }
  int tun[2];
  socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tun);
  dp_sa *out = gcm_sa(0x3003), *in = gcm_sa(0x4004), *peer_tx = gcm_sa(0x4004);
  dp_tunnel_options o = {.mode = DP_TUNNEL_ESP, .mtu = 1400};
  dp_addr peer = v6("::1", 0);
  dp_tunnel *t = dp_tunnel_start_shared(tun[0], &o, e, &peer, out, in, &err);
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
  uint8_t packet[300], buf[600], plain[2048];
  size_t len = inner_packet(packet, 160, 0x77), slen = 0;
  dp_esp_encrypt(peer_tx, packet, len, 4, NULL, buf, sizeof buf, &slen);
  sendto(fd, buf, slen, 0, &peer.sa, dp_addr_len(&peer));
  struct pollfd p = {.fd = tun[1], .events = POLLIN};
  ssize_t n = poll(&p, 1, 2000) == 1 ? read(tun[1], plain, sizeof plain) : -1;
  CHECK(t && n == (ssize_t)len && memcmp(plain, packet, len) == 0, "v6 raw ESP: protocol 50 over IPv6 (no outer header handed over) reaches the TUN");
  close(fd);
  dp_tunnel_stop(t);
  close(tun[1]);
  dp_endpoint_close(e);
  dp_sa_free(out);
  dp_sa_free(in);
  dp_sa_free(peer_tx);
}

/* The UDP checksum of an IPv6 datagram's UDP (header at 40) verifies with the pseudo-header. */
static bool udp6_checksum_holds(const uint8_t *d, size_t len) {
  uint32_t sum = 17 + (uint32_t)(len - 40);
  for (size_t i = 8; i < 40; i += 2) sum += (uint32_t)(d[i] << 8 | d[i + 1]);
  for (size_t i = 40; i < len; i += 2) sum += (uint32_t)(d[i] << 8 | (i + 1 < len ? d[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff && (d[46] | d[47]) != 0;
}

/* Issue 24, L2TP/IPsec over IPv6: ESP transport mode in UDP on an IPv6 endpoint. A UDP datagram
 * from the TUN leaves as its payload alone (next header 17); the peer's sealed UDP (checksum 0, as
 * L2TP data frames have) comes back rebuilt as an IPv6 datagram between the two hosts with a real
 * checksum; JavaScript's way back (dp_tunnel_send_udp) seals a UDP payload over IPv6 too. */
static void transport_v6(void) {
  dp_addr local = v6("::1", 0);
  ike_seen seen = {0};
  int err = 0;
  dp_endpoint *e = dp_endpoint_open(&local, on_ike, &seen, &err);
  if (!e) { CHECK(false, "v6 transport: endpoint opened"); return; }
  dp_addr ep, peer_addr;
  socklen_t l = sizeof ep;
  getsockname(dp_endpoint_fd(e), &ep.sa, &l);
  int peer = udp6_socket(&peer_addr);
  int tun[2];
  socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tun);
  dp_sa *out = gcm_sa(0x5005), *in = gcm_sa(0x6006), *peer_rx = gcm_sa(0x5005), *peer_tx = gcm_sa(0x6006);
  dp_tunnel_options o = {.mode = DP_TUNNEL_ESP_UDP, .mtu = 1400, .source = v6("::1", 0), .transport = true, .transport_local = v6("::1", 0)};
  dp_tunnel *t = dp_tunnel_start_shared(tun[0], &o, e, &peer_addr, out, in, &err);
  CHECK(t && err == 0, "v6 transport: ESP transport mode in UDP started on the IPv6 endpoint");
  if (!t) return;
  /* ::1:1701 → ::1:1701, 20 bytes of L2TP-like payload, checksum left for the check below. */
  uint8_t d[68] = {0x60, 0, 0, 0, 0, 28, 17, 64};
  inet_pton(AF_INET6, "::1", d + 8);
  inet_pton(AF_INET6, "::1", d + 24);
  d[40] = 0x06; d[41] = 0xa5; d[42] = 0x06; d[43] = 0xa5; d[45] = 28;
  for (int i = 48; i < 68; i++) d[i] = (uint8_t)i;
  (void)!write(tun[1], d, sizeof d);
  uint8_t buf[2048], plain[2048];
  dp_addr from;
  ssize_t n = receive_within(peer, buf, sizeof buf, &from);
  size_t plen = 0;
  uint8_t nh = 0;
  CHECK(n > 0 && dp_esp_decrypt(peer_rx, buf, (size_t)n, plain, sizeof plain, &plen, &nh) == DP_OK && nh == 17 && plen == 28 && memcmp(plain, d + 40, 28) == 0,
        "v6 transport: a UDP datagram from the TUN leaves as its UDP payload (next header 17), no IPv6 header inside");

  uint8_t udp[28];
  memcpy(udp, d + 40, 28);
  udp[6] = udp[7] = 0; /* as dp_l2tp_frame builds them */
  size_t slen = 0;
  dp_esp_encrypt(peer_tx, udp, sizeof udp, 17, NULL, buf, sizeof buf, &slen);
  sendto(peer, buf, slen, 0, &ep.sa, dp_addr_len(&ep));
  struct pollfd p = {.fd = tun[1], .events = POLLIN};
  n = poll(&p, 1, 2000) == 1 ? read(tun[1], plain, sizeof plain) : -1;
  CHECK(n == 68 && plain[0] == 0x60 && plain[6] == 17 && plain[5] == 28 && memcmp(plain + 8, d + 8, 32) == 0 && memcmp(plain + 48, d + 48, 20) == 0 && udp6_checksum_holds(plain, 68),
        "v6 transport: sealed UDP from the IPv6 peer reaches the TUN as a whole IPv6 datagram, its zero UDP checksum made");

  /* An IPv4 datagram routed here by mistake is not sealed: the peer would rebuild it as IPv6. */
  uint64_t refused = atomic_load(&dp_tunnel_stats_of(t)->drop_encrypt);
  uint8_t v4[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17};
  (void)!write(tun[1], v4, sizeof v4);
  for (int i = 0; i < 200 && atomic_load(&dp_tunnel_stats_of(t)->drop_encrypt) == refused; i++) nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
  struct pollfd quiet = {.fd = peer, .events = POLLIN};
  CHECK(atomic_load(&dp_tunnel_stats_of(t)->drop_encrypt) == refused + 1 && poll(&quiet, 1, 100) == 0, "v6 transport: an IPv4 datagram from the TUN is dropped and counted, nothing sent");
  const uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
  int sent = dp_tunnel_send_udp(t, htons(1701), htons(1702), hello, sizeof hello);
  n = receive_within(peer, buf, sizeof buf, &from);
  uint8_t rebuilt[2048];
  plen = 0;
  bool opened = n > 0 && dp_esp_decrypt(peer_rx, buf, (size_t)n, rebuilt + 40, sizeof rebuilt - 40, &plen, &nh) == DP_OK && nh == 17 && plen == 13;
  if (opened) {
    memcpy(rebuilt, d, 40);
    rebuilt[5] = 13;
  }
  CHECK(sent > 0 && opened && rebuilt[40] == 0x06 && rebuilt[41] == 0xa5 && rebuilt[43] == 0xa6 && memcmp(rebuilt + 48, hello, 5) == 0 && udp6_checksum_holds(rebuilt, 53),
        "v6 transport: JavaScript's UDP payload sealed to the IPv6 peer with a UDP checksum made over the IPv6 pseudo-header");
  dp_tunnel_stop(t);
  close(tun[1]);
  dp_endpoint_close(e);
  close(peer);
  dp_sa_free(out);
  dp_sa_free(in);
  dp_sa_free(peer_rx);
  dp_sa_free(peer_tx);
}

void test_v6_outer(void) {
  peer_lock();
  endpoint_and_tunnel();
  raw_v6();
  transport_v6();
}
