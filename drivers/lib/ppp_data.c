#include "ppp_data.h"

#include <stdlib.h>
#include <string.h>

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

struct dp_ppp_session {
  dp_ppp_config config;
  dp_ppp_stats stats;
  void *lowers[DP_PPP_MAX_LOWERS]; /* JavaScript thread only */
};

#define COUNT(s, field) atomic_fetch_add_explicit(&(s)->stats.field, 1, memory_order_relaxed)

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

dp_ppp_session *dp_ppp_session_new(const dp_ppp_config *c) {
  if (c->sources.count == 0 || c->lower < DP_PPP_LOWER_L2TP || c->lower > DP_PPP_LOWER_SSTP) return NULL;
  dp_ppp_session *s = calloc(1, sizeof *s);
  if (s) s->config = *c;
  return s;
}

void dp_ppp_session_free(dp_ppp_session *s) { free(s); }
const dp_ppp_config *dp_ppp_session_config(const dp_ppp_session *s) { return &s->config; }
const dp_ppp_stats *dp_ppp_session_stats(const dp_ppp_session *s) { return &s->stats; }
dp_ppp_stats *dp_ppp_session_counters(dp_ppp_session *s) { return &s->stats; }

bool dp_ppp_session_link(dp_ppp_session *s, void *lower) {
  for (size_t i = 0; i < DP_PPP_MAX_LOWERS; i++) if (s->lowers[i] == lower) return true;
  for (size_t i = 0; i < DP_PPP_MAX_LOWERS; i++) {
    if (!s->lowers[i]) {
      s->lowers[i] = lower;
      return true;
    }
  }
  return false;
}

void dp_ppp_session_unlink(dp_ppp_session *s, void *lower) {
  for (size_t i = 0; i < DP_PPP_MAX_LOWERS; i++) if (s->lowers[i] == lower) s->lowers[i] = NULL;
}

void *dp_ppp_session_linked(const dp_ppp_session *s, size_t i) { return i < DP_PPP_MAX_LOWERS ? s->lowers[i] : NULL; }

/* IPv4 the gateway answers itself: DHCP to the server port (Windows' DHCPINFORM). */
static bool ipv4_for_js(const uint8_t *ip, size_t len, size_t ihl) {
  return ip[9] == 17 && (get16(ip + 6) & 0x3fff) == 0 && len >= ihl + 4 && get16(ip + ihl + 2) == 67;
}

/* IPv6 the gateway answers itself: link-local or unspecified sources (router solicitations, ND). */
static bool ipv6_for_js(const uint8_t *ip) {
  static const uint8_t zero[16];
  return (ip[8] == 0xfe && (ip[9] & 0xc0) == 0x80) || memcmp(ip + 8, zero, 16) == 0 || ip[24] == 0xff;
}

/* A whole, consistent IP packet (trailing bytes past its length cut off); 0 when malformed. */
static size_t ip_length(uint16_t protocol, const uint8_t *ip, size_t len) {
  if (protocol == PPP_IPV4) {
    if (len < 20 || ip[0] >> 4 != 4) return 0;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = get16(ip + 2);
    return ihl >= 20 && total >= ihl && total <= len ? total : 0;
  }
  if (len < 40 || ip[0] >> 4 != 6) return 0;
  size_t total = 40 + (size_t)get16(ip + 4);
  return total <= len ? total : 0;
}

dp_ppp_rx_verdict dp_ppp_rx_frame(dp_ppp_session *s, const uint8_t *frame, size_t len, const uint8_t **ip, size_t *ip_len) {
  size_t at = len >= 2 && frame[0] == 0xff && frame[1] == 0x03 ? 2 : 0;
  if (at >= len) { COUNT(s, drop_malformed); return DP_PPP_RX_DROP; }
  uint16_t protocol = frame[at];
  if (protocol & 1) at += 1; /* protocol-field compression: one odd byte (RFC 1661 §6.6) */
  else if (at + 2 <= len) { protocol = get16(frame + at); at += 2; }
  else { COUNT(s, drop_malformed); return DP_PPP_RX_DROP; }
  if (protocol != PPP_IPV4 && protocol != PPP_IPV6) { COUNT(s, up); return DP_PPP_RX_UP; }
  const uint8_t *p = frame + at;
  size_t n = ip_length(protocol, p, len - at);
  if (!n) { COUNT(s, drop_malformed); return DP_PPP_RX_DROP; }
  if (protocol == PPP_IPV4 ? ipv4_for_js(p, n, (size_t)(p[0] & 15) * 4) : ipv6_for_js(p)) { COUNT(s, up); return DP_PPP_RX_UP; }
  if (!dp_prefix_set_matches(&s->config.sources, p, n, true)) { COUNT(s, drop_source); return DP_PPP_RX_DROP; }
  *ip = p;
  *ip_len = n;
  COUNT(s, rx_packets);
  atomic_fetch_add_explicit(&s->stats.rx_bytes, n, memory_order_relaxed);
  return DP_PPP_RX_TUN;
}

bool dp_ppp_owns(const dp_ppp_session *s, const uint8_t *packet, size_t len) {
  return dp_prefix_set_matches(&s->config.sources, packet, len, false);
}

size_t dp_ppp_header(const uint8_t *ip, size_t len, uint8_t out[4]) {
  unsigned version = len ? ip[0] >> 4 : 0;
  if (version != 4 && version != 6) return 0;
  out[0] = 0xff;
  out[1] = 0x03;
  put16(out + 2, version == 4 ? PPP_IPV4 : PPP_IPV6);
  return 4;
}

/*  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length (opt)         |
 * |           Tunnel ID           |           Session ID          |
 * |             Ns (opt)          |             Nr (opt)          |
 * |      Offset Size (opt)        |    Offset pad... (opt)        |   RFC 2661 §3.1 */
bool dp_l2tp_parse(const uint8_t *d, size_t len, dp_l2tp_header *h) {
  if (len < 6) return false;
  uint16_t flags = get16(d);
  if ((flags & 0x000f) != 2) return false;
  memset(h, 0, sizeof *h);
  h->control = (flags & 0x8000) != 0;
  h->sequenced = (flags & 0x0800) != 0;
  bool has_length = (flags & 0x4000) != 0, has_offset = (flags & 0x0200) != 0;
  size_t at = 2;
  h->end = len;
  if (has_length) {
    size_t length = get16(d + at);
    if (length > len || length < 6) return false;
    h->end = length;
    at += 2;
  }
  if (at + 4 > h->end) return false;
  h->tunnel_id = get16(d + at);
  h->session_id = get16(d + at + 2);
  at += 4;
  if (h->sequenced) {
    if (at + 4 > h->end) return false;
    h->ns = get16(d + at);
    h->nr = get16(d + at + 2);
    at += 4;
  }
  if (has_offset) {
    if (at + 2 > h->end) return false;
    size_t pad = get16(d + at);
    at += 2;
    if (pad > h->end - at) return false;
    at += pad;
  }
  h->payload = at;
  return true;
}

bool dp_l2tp_is_session(const dp_ppp_session *s, const dp_l2tp_header *h) {
  return s->config.lower == DP_PPP_LOWER_L2TP && !h->control && h->tunnel_id == s->config.tunnel_id && h->session_id == s->config.session_id;
}

dp_ppp_rx_verdict dp_l2tp_rx(dp_ppp_session *s, const dp_l2tp_header *h, const uint8_t *d, const uint8_t **ip, size_t *ip_len) {
  if (h->sequenced) { COUNT(s, up); return DP_PPP_RX_UP; }
  return dp_ppp_rx_frame(s, d + h->payload, h->end - h->payload, ip, ip_len);
}

size_t dp_l2tp_frame(const dp_ppp_session *s, const uint8_t *ip, size_t len, uint8_t *out, size_t cap) {
  if (cap < DP_L2TP_OVERHEAD || len > cap - DP_L2TP_OVERHEAD || DP_L2TP_OVERHEAD + len > 0xffff) return 0;
  if (!dp_ppp_header(ip, len, out + 14)) return 0;
  const dp_ppp_config *c = &s->config;
  memcpy(out, &c->local_port, 2);
  memcpy(out + 2, &c->peer_port, 2);
  put16(out + 4, (uint16_t)(DP_L2TP_OVERHEAD + len));
  put16(out + 6, 0); /* no checksum (RFC 768): ESP's integrity check covers it */
  put16(out + 8, 0x0002); /* a data message, version 2, no optional fields */
  put16(out + 10, c->peer_tunnel_id);
  put16(out + 12, c->peer_session_id);
  memcpy(out + DP_L2TP_OVERHEAD, ip, len);
  return DP_L2TP_OVERHEAD + len;
}
