#include "gro.h"

#include <string.h>
#include "inet_sum.h"

#include "gso.h"

#define VNET 10
#define TCP_FLAGS_OK 0x18 /* ACK and PSH; SYN, FIN, RST, URG, ECE, CWR never merge */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }


/* IP + TCP header length of a mergeable TCP segment with payload, or 0. */
static size_t tcp_headers(const uint8_t *p, size_t len) {
  if (len < 40) return 0;
  size_t ip;
  if (p[0] == 0x45) {
    if (p[9] != 6 || (get16(p + 6) & 0x3fff) != 0) return 0; /* TCP, not a fragment (DF is fine) */
    ip = 20;
  } else if ((p[0] >> 4) == 6) {
    if (p[6] != 6 || len < 60) return 0;
    ip = 40;
  } else {
    return 0;
  }
  size_t h = ip + (size_t)(p[ip + 12] >> 4) * 4;
  if (h < ip + 20 || h >= len || (p[ip + 13] & ~TCP_FLAGS_OK) != 0x00 || !(p[ip + 13] & 0x10)) return 0;
  return h;
}

/* IP + UDP header length of a mergeable datagram with payload (lengths consistent), or 0. */
static size_t udp_headers(const uint8_t *p, size_t len) {
  size_t ip;
  if (len > 28 && p[0] == 0x45) {
    if (p[9] != 17 || (get16(p + 6) & 0x3fff) != 0) return 0;
    ip = 20;
  } else if (len > 48 && (p[0] >> 4) == 6) {
    if (p[6] != 17) return 0;
    ip = 40;
  } else {
    return 0;
  }
  return get16(p + ip + 4) == len - ip ? ip + 8 : 0;
}

/* Same addresses and ports, and the IP fields the merged packet's segments will all be given. */
static bool same_udp_flow(const uint8_t *a, const uint8_t *b) {
  if ((a[0] >> 4) != (b[0] >> 4)) return false;
  if ((a[0] >> 4) == 4) return memcmp(a, b, 2) == 0 && memcmp(a + 6, b + 6, 4) == 0 && memcmp(a + 12, b + 12, 12) == 0;
  return memcmp(a, b, 4) == 0 && a[7] == b[7] && memcmp(a + 8, b + 8, 36) == 0;
}

/* Same addresses, ports, ACK, window and options; the flags may differ only in PSH. */
static bool same_flow(const uint8_t *a, const uint8_t *b, size_t headers) {
  size_t ip = (a[0] >> 4) == 4 ? 20 : 40;
  if ((a[0] >> 4) != (b[0] >> 4)) return false;
  if (ip == 20 ? memcmp(a + 12, b + 12, 8) : memcmp(a + 8, b + 8, 32)) return false;
  if (memcmp(a + ip, b + ip, 4) || memcmp(a + ip + 8, b + ip + 8, 4)) return false; /* ports, ACK */
  if (a[ip + 12] != b[ip + 12] || memcmp(a + ip + 14, b + ip + 14, 2)) return false; /* offset, window */
  return memcmp(a + ip + 20, b + ip + 20, headers - ip - 20) == 0;                     /* options */
}

static void write_plain(const uint8_t *packet, size_t len, dp_gro_write_fn write, void *ctx) {
  static __thread uint8_t one[VNET + DP_GRO_MAX];
  memset(one, 0, VNET); /* no offload: checksums are complete */
  memcpy(one + VNET, packet, len);
  write(ctx, one, VNET + len);
}

void dp_gro_flush(dp_gro *g, dp_gro_write_fn write, void *ctx) {
  if (g->len == 0) return;
  uint8_t *h = g->buf, *p = g->buf + VNET;
  memset(h, 0, VNET);
  if (g->count > 1) {
    int v4 = (p[0] >> 4) == 4;
    size_t ip = v4 ? 20 : 40;
    if (v4) {
      put16(p + 2, (uint16_t)g->len);
      p[10] = p[11] = 0;
      put16(p + 10, (uint16_t)~dp_fold_raw(dp_sum16(p, 20, 0)));
    } else {
      put16(p + 4, (uint16_t)(g->len - 40));
    }
    bool udp = g->proto == 17;
    if (udp) put16(p + ip + 4, (uint16_t)(g->len - ip));
    /* The kernel finishes the L4 checksum of each segment it cuts: leave it the pseudo-header sum. */
    uint32_t pseudo = (v4 ? dp_sum16(p + 12, 8, 0) : dp_sum16(p + 8, 32, 0)) + g->proto + (uint32_t)(g->len - ip);
    put16(p + ip + (udp ? 6 : 16), dp_fold_raw(pseudo));
    h[0] = DP_VNET_F_NEEDS_CSUM;
    h[1] = udp ? DP_GSO_UDP_L4 : v4 ? DP_GSO_TCPV4 : DP_GSO_TCPV6;
    uint16_t hdr_len = (uint16_t)g->headers, gso_size = (uint16_t)g->segment, csum_start = (uint16_t)ip, csum_offset = udp ? 6 : 16;
    memcpy(h + 2, &hdr_len, 2);
    memcpy(h + 4, &gso_size, 2);
    memcpy(h + 6, &csum_start, 2);
    memcpy(h + 8, &csum_offset, 2);
  }
  write(ctx, g->buf, VNET + g->len);
  g->len = 0;
  g->count = 0;
}

void dp_gro_offer(dp_gro *g, const uint8_t *packet, size_t len, dp_gro_write_fn write, void *ctx) {
  size_t headers = tcp_headers(packet, len);
  uint8_t proto = 6;
  if (!headers && g->uso && (headers = udp_headers(packet, len)) != 0) proto = 17;
  if (g->len && headers && !g->closed && proto == g->proto && headers == g->headers) {
    size_t payload = len - headers;
    if (proto == 17 && same_udp_flow(g->buf + VNET, packet)) {
      if (payload <= g->segment && g->count < DP_UDP_MAX_SEGMENTS && g->len + payload <= DP_GRO_MAX) {
        memcpy(g->buf + VNET + g->len, packet + headers, payload);
        g->len += payload;
        g->count++;
        if (payload < g->segment) g->closed = true;
        return;
      }
    } else if (proto == 6 && same_flow(g->buf + VNET, packet, headers)) {
      size_t ip = (packet[0] >> 4) == 4 ? 20 : 40;
      if (get32(packet + ip + 4) == g->next_seq && payload <= g->segment && g->len + payload <= DP_GRO_MAX) {
        memcpy(g->buf + VNET + g->len, packet + headers, payload);
        g->len += payload;
        g->count++;
        g->next_seq += (uint32_t)payload;
        g->buf[VNET + ip + 13] |= packet[ip + 13] & 0x08; /* PSH of any segment carries over */
        if (payload < g->segment) g->closed = true;
        return;
      }
    }
  }
  dp_gro_flush(g, write, ctx);
  if (!headers) {
    write_plain(packet, len, write, ctx);
    return;
  }
  size_t ip = (packet[0] >> 4) == 4 ? 20 : 40;
  memcpy(g->buf + VNET, packet, len);
  g->len = len;
  g->headers = headers;
  g->segment = len - headers;
  g->count = 1;
  g->closed = false;
  g->proto = proto;
  g->next_seq = proto == 6 ? get32(packet + ip + 4) + (uint32_t)(len - headers) : 0;
}
