/* PPP data sessions (issue 20): L2TP data headers in every shape RFC 2661 §3.1 allows, the PPP
 * protocol field with and without Address/Control and compression, the source check, what goes up
 * to JavaScript, the frame built toward the peer, and truncations that must never be read past. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ppp_data.h"
#include "tap.h"

void test_ppp_data(void);

static dp_ppp_session *session(void) {
  dp_ppp_config c = {.lower = DP_PPP_LOWER_L2TP, .tunnel_id = 0x1234, .session_id = 0x5678, .peer_tunnel_id = 7, .peer_session_id = 9,
                     .local_port = htons(1701), .peer_port = htons(1701), .mtu = 1380};
  dp_prefix_set_add(&c.sources, "10.10.0.5/32");
  dp_prefix_set_add(&c.sources, "fd00:10::5/128");
  dp_prefix_set_add(&c.sources, "192.168.50.0/24"); /* an answering site's subnet */
  return dp_ppp_session_new(&c);
}

/* An IPv4 UDP packet from `src` to 10.2.0.10 port `dport`, 40 bytes. */
static size_t ipv4(uint8_t *p, const char *src, uint16_t dport) {
  memset(p, 0, 40);
  p[0] = 0x45; p[3] = 40; p[8] = 64; p[9] = 17;
  inet_pton(AF_INET, src, p + 12);
  inet_pton(AF_INET, "10.2.0.10", p + 16);
  p[22] = (uint8_t)(dport >> 8); p[23] = (uint8_t)dport; p[25] = 20;
  return 40;
}

static size_t ipv6(uint8_t *p, const char *src) {
  memset(p, 0, 48);
  p[0] = 0x60; p[5] = 8; p[6] = 17; p[7] = 64;
  inet_pton(AF_INET6, src, p + 8);
  inet_pton(AF_INET6, "fd00:2::10", p + 24);
  return 48;
}

/* An L2TP data message around a PPP frame, with the optional fields asked for. */
static size_t l2tp(uint8_t *out, bool length, bool seq, int offset, const uint8_t *ppp, size_t n) {
  uint16_t flags = 0x0002 | (length ? 0x4000 : 0) | (seq ? 0x0800 : 0) | (offset >= 0 ? 0x0200 : 0);
  size_t at = 0;
  out[at++] = (uint8_t)(flags >> 8); out[at++] = (uint8_t)flags;
  size_t length_at = at;
  if (length) at += 2;
  out[at++] = 0x12; out[at++] = 0x34; out[at++] = 0x56; out[at++] = 0x78;
  if (seq) { out[at++] = 0; out[at++] = 3; out[at++] = 0; out[at++] = 0; }
  if (offset >= 0) { out[at++] = 0; out[at++] = (uint8_t)offset; memset(out + at, 0xee, (size_t)offset); at += (size_t)offset; }
  memcpy(out + at, ppp, n);
  at += n;
  if (length) { out[length_at] = (uint8_t)(at >> 8); out[length_at + 1] = (uint8_t)at; }
  return at;
}

static dp_ppp_rx_verdict rx(dp_ppp_session *s, const uint8_t *d, size_t len, const uint8_t **ip, size_t *ip_len) {
  dp_l2tp_header h;
  if (!dp_l2tp_parse(d, len, &h) || !dp_l2tp_is_session(s, &h)) return (dp_ppp_rx_verdict)-1;
  return dp_l2tp_rx(s, &h, d, ip, ip_len);
}

static void framing_variants(dp_ppp_session *s) {
  uint8_t packet[64], ppp[80], d[160];
  size_t n = ipv4(packet, "10.10.0.5", 53);
  int good = 0;
  for (int variant = 0; variant < 16; variant++) {
    bool length = variant & 1, offset = variant & 2, ac = variant & 4, pfc = variant & 8;
    size_t at = 0;
    if (ac) { ppp[at++] = 0xff; ppp[at++] = 0x03; }
    if (!pfc) ppp[at++] = 0x00;
    ppp[at++] = 0x21;
    memcpy(ppp + at, packet, n);
    size_t len = l2tp(d, length, false, offset ? 3 : -1, ppp, at + n);
    const uint8_t *ip = NULL;
    size_t ip_len = 0;
    good += rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_TUN && ip_len == n && memcmp(ip, packet, n) == 0;
  }
  CHECK(good == 16, "l2tp: IPv4 deframed with and without Length, Offset, Address/Control and protocol-field compression");
  CHECK(atomic_load(&dp_ppp_session_stats(s)->rx_packets) == 16 && atomic_load(&dp_ppp_session_stats(s)->rx_bytes) == 16 * n, "l2tp: IP packets and bytes in counted");

  /* Trailing bytes past the Length field (padding) are not part of the frame; an IP packet shorter than its frame is trimmed. */
  static const uint8_t pid[] = {0xff, 0x03, 0x00, 0x21};
  memcpy(ppp, pid, 4);
  memcpy(ppp + 4, packet, n);
  size_t len = l2tp(d, true, false, -1, ppp, 4 + n);
  memset(d + len, 0xab, 8);
  const uint8_t *ip = NULL;
  size_t ip_len = 0;
  CHECK(rx(s, d, len + 8, &ip, &ip_len) == DP_PPP_RX_TUN && ip_len == n, "l2tp: bytes after Length ignored");

  size_t v6 = ipv6(packet, "fd00:10::5");
  ppp[2] = 0x00; ppp[3] = 0x57;
  memcpy(ppp + 4, packet, v6);
  len = l2tp(d, false, false, -1, ppp, 4 + v6);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_TUN && ip_len == v6, "l2tp: IPv6 (0x0057) from the session's address into the TUN");
}

static void up_and_drops(dp_ppp_session *s) {
  uint8_t packet[64], ppp[80], d[160];
  const uint8_t *ip = NULL;
  size_t ip_len = 0, len;
  const dp_ppp_stats *st = dp_ppp_session_stats(s);

  static const uint8_t echo[] = {0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0};
  len = l2tp(d, true, false, -1, echo, sizeof echo);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_UP, "l2tp: LCP Echo-Request goes up to JavaScript");
  static const uint8_t ipcp[] = {0x80, 0x21, 0x01, 0x01, 0x00, 0x04};
  len = l2tp(d, false, false, -1, ipcp, sizeof ipcp);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_UP, "l2tp: IPCP goes up");
  static const uint8_t ccp[] = {0xfd, 0x01, 0x01, 0x00, 0x04}; /* CCP with a compressed protocol field */
  len = l2tp(d, false, false, -1, ccp, sizeof ccp);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_UP, "l2tp: a one-byte protocol other than IP goes up");

  size_t n = ipv4(packet, "10.10.0.5", 67);
  ppp[0] = 0x00; ppp[1] = 0x21;
  memcpy(ppp + 2, packet, n);
  len = l2tp(d, false, false, -1, ppp, 2 + n);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_UP, "l2tp: DHCP to port 67 (DHCPINFORM) goes up to be answered");
  len = l2tp(d, false, true, -1, ppp, 2 + n);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_UP, "l2tp: a sequenced data message goes up (JavaScript numbers its frames then)");
  size_t v6 = ipv6(packet, "fe80::5");
  ppp[1] = 0x57;
  memcpy(ppp + 2, packet, v6);
  len = l2tp(d, false, false, -1, ppp, 2 + v6);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_UP, "l2tp: link-local IPv6 (router solicitation) goes up");
  uint64_t up = atomic_load(&st->up);
  CHECK(up == 6, "l2tp: frames left to JavaScript counted");

  n = ipv4(packet, "10.10.0.6", 53);
  ppp[1] = 0x21;
  memcpy(ppp + 2, packet, n);
  len = l2tp(d, false, false, -1, ppp, 2 + n);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_DROP && atomic_load(&st->drop_source) == 1, "l2tp: IPv4 from another address dropped and counted");
  n = ipv4(packet, "192.168.50.77", 53);
  memcpy(ppp + 2, packet, n);
  len = l2tp(d, false, false, -1, ppp, 2 + n);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_TUN, "l2tp: a site's subnet is an allowed source");
  v6 = ipv6(packet, "fd00:10::6");
  ppp[1] = 0x57;
  memcpy(ppp + 2, packet, v6);
  len = l2tp(d, false, false, -1, ppp, 2 + v6);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_DROP && atomic_load(&st->drop_source) == 2, "l2tp: IPv6 outside the session's prefix dropped");

  n = ipv4(packet, "10.10.0.5", 53);
  packet[3] = 60; /* says 60 bytes, 40 there */
  ppp[1] = 0x21;
  memcpy(ppp + 2, packet, n);
  len = l2tp(d, false, false, -1, ppp, 2 + n);
  CHECK(rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_DROP && atomic_load(&st->drop_malformed) == 1, "l2tp: an IP packet longer than its frame dropped as malformed");

  dp_l2tp_header h;
  static const uint8_t control[] = {0xc8, 0x02, 0x00, 0x0c, 0x12, 0x34, 0x00, 0x00, 0, 0, 0, 0};
  CHECK(dp_l2tp_parse(control, sizeof control, &h) && h.control && !dp_l2tp_is_session(s, &h), "l2tp: a control message is never a data session's");
  static const uint8_t v3[] = {0x00, 0x03, 0x12, 0x34, 0x56, 0x78, 0, 0x21};
  CHECK(!dp_l2tp_parse(v3, sizeof v3, &h), "l2tp: version other than 2 refused");
  static const uint8_t other[] = {0x00, 0x02, 0x12, 0x34, 0x56, 0x79, 0, 0x21};
  CHECK(dp_l2tp_parse(other, sizeof other, &h) && !dp_l2tp_is_session(s, &h), "l2tp: another session ID is not this session's");
  static const uint8_t long_length[] = {0x40, 0x02, 0x00, 0x40, 0x12, 0x34, 0x56, 0x78};
  CHECK(!dp_l2tp_parse(long_length, sizeof long_length, &h), "l2tp: a Length past the datagram refused");
  static const uint8_t long_offset[] = {0x02, 0x02, 0x12, 0x34, 0x56, 0x78, 0x00, 0x09, 0, 0};
  CHECK(!dp_l2tp_parse(long_offset, sizeof long_offset, &h), "l2tp: an Offset Size past the datagram refused");
}

static void truncations(dp_ppp_session *s) {
  uint8_t packet[64], ppp[80], d[160];
  size_t n = ipv4(packet, "10.10.0.5", 53);
  ppp[0] = 0xff; ppp[1] = 0x03; ppp[2] = 0x00; ppp[3] = 0x21;
  memcpy(ppp + 4, packet, n);
  size_t len = l2tp(d, false, false, 2, ppp, 4 + n); /* no Length: every cut is the datagram's end */
  int safe = 0;
  for (size_t cut = 0; cut < len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1); /* exact size: a read past it trips ASan */
    memcpy(copy, d, cut);
    dp_l2tp_header h;
    const uint8_t *ip = NULL;
    size_t ip_len = 0;
    bool parsed = dp_l2tp_parse(copy, cut, &h);
    dp_ppp_rx_verdict v = parsed && dp_l2tp_is_session(s, &h) ? dp_l2tp_rx(s, &h, copy, &ip, &ip_len) : DP_PPP_RX_DROP;
    safe += v != DP_PPP_RX_TUN && (!parsed || h.payload <= cut);
    free(copy);
  }
  CHECK(safe == (int)len, "l2tp: every truncation is refused or dropped, never delivered or read past");
}

static void framing_out(dp_ppp_session *s) {
  uint8_t packet[64], out[128];
  size_t n = ipv4(packet, "10.2.0.10", 53);
  size_t len = dp_l2tp_frame(s, packet, n, out, sizeof out);
  static const uint8_t head[] = {0x06, 0xa5, 0x06, 0xa5, 0x00, 40 + DP_L2TP_OVERHEAD, 0x00, 0x00, 0x00, 0x02, 0x00, 0x07, 0x00, 0x09, 0xff, 0x03, 0x00, 0x21};
  CHECK(len == n + DP_L2TP_OVERHEAD && memcmp(out, head, sizeof head) == 0 && memcmp(out + DP_L2TP_OVERHEAD, packet, n) == 0,
        "l2tp: UDP 1701 → 1701, data header with the peer's tunnel and session IDs, FF 03 00 21, the packet");
  dp_l2tp_header h;
  CHECK(dp_l2tp_parse(out + 8, len - 8, &h) && !h.control && h.tunnel_id == 7 && h.session_id == 9 && h.payload == 6, "l2tp: what we send parses back");
  CHECK(dp_l2tp_frame(s, packet, n, out, n + DP_L2TP_OVERHEAD - 1) == 0, "l2tp: a frame that does not fit is refused");
  packet[0] = 0x55;
  CHECK(dp_l2tp_frame(s, packet, n, out, sizeof out) == 0, "l2tp: neither IPv4 nor IPv6 is not framed");
  CHECK(dp_ppp_owns(s, (ipv4(packet, "10.2.0.10", 53), packet), n) == false, "ppp: a packet to another address is not the session's");
  inet_pton(AF_INET, "10.10.0.5", packet + 16);
  CHECK(dp_ppp_owns(s, packet, n), "ppp: a packet to the session's address is the session's");
}

/* Issue 20: a session's own /64 as its IPv6 source prefix: any address in it (a temporary address,
 * RFC 8981) passes into the TUN, one a bit outside is dropped and counted; packets to the /64 are its. */
static void slash64_sources(void) {
  dp_ppp_config c = {.lower = DP_PPP_LOWER_L2TP, .tunnel_id = 0x1234, .session_id = 0x5678, .peer_tunnel_id = 7, .peer_session_id = 9,
                     .local_port = htons(1701), .peer_port = htons(1701), .mtu = 1380};
  dp_prefix_set_add(&c.sources, "10.10.0.5/32");
  dp_prefix_set_add(&c.sources, "fd00:10:0:5::/64");
  dp_ppp_session *s = dp_ppp_session_new(&c);
  uint8_t packet[64], ppp[80], d[160];
  const uint8_t *ip = NULL;
  size_t ip_len = 0;
  static const char *inside[] = {"fd00:10:0:5::5", "fd00:10:0:5::1234", "fd00:10:0:5:d1e5:77a0:3b1:9c2f", "fd00:10:0:5:ffff:ffff:ffff:ffff"};
  static const char *outside[] = {"fd00:10:0:4:ffff:ffff:ffff:ffff", "fd00:10:0:6::", "fd00:10::5", "fd00:10:1:5::5"};
  int passed = 0, dropped = 0;
  ppp[0] = 0x00; ppp[1] = 0x57;
  for (size_t i = 0; i < 4; i++) {
    size_t n = ipv6(packet, inside[i]);
    memcpy(ppp + 2, packet, n);
    size_t len = l2tp(d, false, false, -1, ppp, 2 + n);
    passed += rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_TUN && ip_len == n;
    n = ipv6(packet, outside[i]);
    memcpy(ppp + 2, packet, n);
    len = l2tp(d, false, false, -1, ppp, 2 + n);
    dropped += rx(s, d, len, &ip, &ip_len) == DP_PPP_RX_DROP;
  }
  CHECK(passed == 4, "ppp /64: every source in the session's /64 goes into the TUN (temporary addresses too)");
  CHECK(dropped == 4 && atomic_load(&dp_ppp_session_stats(s)->drop_source) == 4, "ppp /64: sources just outside it (either side, the pool's 0th /64, another /48's) dropped and counted");
  size_t n = ipv6(packet, "fd00:2::10");
  inet_pton(AF_INET6, "fd00:10:0:5::beef", packet + 24);
  bool to_inside = dp_ppp_owns(s, packet, n);
  inet_pton(AF_INET6, "fd00:10:0:6::beef", packet + 24);
  CHECK(to_inside && !dp_ppp_owns(s, packet, n), "ppp /64: packets to any address in the /64 are the session's, to the next /64 not");
  dp_ppp_session_free(s);
}

void test_ppp_data(void) {
  dp_ppp_config empty = {.lower = DP_PPP_LOWER_L2TP};
  CHECK(dp_ppp_session_new(&empty) == NULL, "ppp: a session without addresses is refused (an empty set would allow any source)");
  dp_ppp_session *s = session();
  framing_variants(s);
  up_and_drops(s);
  truncations(s);
  framing_out(s);
  int a = 1, b = 2;
  bool linked = dp_ppp_session_link(s, &a) && dp_ppp_session_link(s, &b) && dp_ppp_session_link(s, &a);
  dp_ppp_session_unlink(s, &a);
  CHECK(linked && dp_ppp_session_linked(s, 0) == NULL && dp_ppp_session_linked(s, 1) == &b, "ppp: lower layers linked once each, unlinked");
  dp_ppp_session_free(s);
  slash64_sources();
}
