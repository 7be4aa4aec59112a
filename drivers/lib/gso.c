#include "gso.h"

#include <string.h>
#include "inet_sum.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }


static void ipv4_header_checksum(uint8_t *ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  put16(ip + 10, dp_fold(dp_sum16(ip, ihl, 0)));
}

/* One segment of a super-packet: its headers, `chunk` bytes of payload, the IP length (and for
 * IPv4 the ID and header checksum) set; the L4 header is the caller's. Returns its length. */
static size_t cut_segment(uint8_t *out, const uint8_t *pkt, size_t hdrs, size_t ip_len, const uint8_t *chunk_start, size_t chunk, uint16_t id) {
  memcpy(out, pkt, hdrs);
  memcpy(out + hdrs, chunk_start, chunk);
  size_t total = hdrs + chunk;
  if ((pkt[0] >> 4) == 4) {
    put16(out + 2, (uint16_t)total);
    put16(out + 4, id);
    ipv4_header_checksum(out, ip_len);
  } else {
    put16(out + 4, (uint16_t)(total - 40));
  }
  return total;
}

/* The TCP checksum from scratch: pseudo-header (RFC 793 / RFC 8200 §8.1), header and data. */
static void tcp_checksum(uint8_t *pkt, size_t ip_len, size_t total) {
  uint8_t *tcp = pkt + ip_len;
  size_t seg = total - ip_len;
  uint32_t s = (pkt[0] >> 4) == 4 ? dp_sum16(pkt + 12, 8, 0) : dp_sum16(pkt + 8, 32, 0);
  s += 6 + (uint32_t)seg;
  tcp[16] = tcp[17] = 0;
  put16(tcp + 16, dp_fold(dp_sum16(tcp, seg, s)));
}

/* The UDP checksum from scratch (RFC 768; never 0 on the wire, RFC 8200 §8.1 for IPv6). */
static void udp_checksum(uint8_t *pkt, size_t ip_len, size_t total) {
  uint8_t *udp = pkt + ip_len;
  size_t seg = total - ip_len;
  uint32_t s = (pkt[0] >> 4) == 4 ? dp_sum16(pkt + 12, 8, 0) : dp_sum16(pkt + 8, 32, 0);
  s += 17 + (uint32_t)seg;
  udp[6] = udp[7] = 0;
  uint16_t c = dp_fold(dp_sum16(udp, seg, s));
  put16(udp + 6, c ? c : 0xffff);
}

/* A lone packet whose L4 checksum the kernel left to us (NEEDS_CSUM): the field holds the
 * pseudo-header sum; the checksum covers csum_start to the end (virtio 1.x §5.1.6.2). */
static int finish_checksum(const dp_vnet_hdr *h, uint8_t *pkt, size_t len) {
  if (!(h->flags & DP_VNET_F_NEEDS_CSUM)) return 0;
  if ((size_t)h->csum_start + h->csum_offset + 2 > len) return -1;
  put16(pkt + h->csum_start + h->csum_offset, dp_fold(dp_sum16(pkt + h->csum_start, len - h->csum_start, 0)));
  return 0;
}

static int split_tcp(const dp_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap, dp_segment_fn emit, void *ctx) {
  int v4 = (pkt[0] >> 4) == 4;
  size_t ip_len = v4 ? (size_t)(pkt[0] & 15) * 4 : 40;
  if ((v4 && (ip_len < 20 || pkt[9] != 6)) || (!v4 && pkt[6] != 6) || len < ip_len + 20) return -1;
  size_t hdrs = ip_len + (size_t)(pkt[ip_len + 12] >> 4) * 4;
  size_t mss = h->gso_size;
  if (hdrs > len || mss == 0 || hdrs + mss > cap) return -1;
  const uint8_t *payload = pkt + hdrs;
  size_t remaining = len - hdrs;
  uint32_t seq = get32(pkt + ip_len + 4);
  uint16_t id = v4 ? get16(pkt + 4) : 0;
  uint8_t flags = pkt[ip_len + 13];
  int count = 0;
  for (size_t off = 0; off < remaining; off += mss, count++) {
    size_t chunk = remaining - off < mss ? remaining - off : mss;
    int last = off + chunk == remaining;
    size_t total = cut_segment(out, pkt, hdrs, ip_len, payload + off, chunk, (uint16_t)(id + count));
    put32(out + ip_len + 4, seq + (uint32_t)off);
    /* FIN and PSH belong to the last segment only, CWR to the first (RFC 3168 §6.1.2). */
    uint8_t f = flags;
    if (!last) f &= (uint8_t)~0x09;
    if (count > 0) f &= (uint8_t)~0x80;
    out[ip_len + 13] = f;
    tcp_checksum(out, ip_len, total);
    if (emit(ctx, out, total) != 0) return -1;
  }
  return count;
}

/* USO: every segment is a datagram of its own, with the same ports and gso_size bytes of payload
 * (the last may be shorter); lengths, IPv4 IDs and both checksums written per segment. */
static int split_udp(const dp_vnet_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap, dp_segment_fn emit, void *ctx) {
  int v4 = (pkt[0] >> 4) == 4;
  size_t ip_len = v4 ? (size_t)(pkt[0] & 15) * 4 : 40;
  if ((v4 && (ip_len < 20 || pkt[9] != 17)) || (!v4 && pkt[6] != 17) || len < ip_len + 8) return -1;
  size_t hdrs = ip_len + 8;
  size_t size = h->gso_size;
  if (size == 0 || hdrs + size > cap || len <= hdrs) return -1;
  const uint8_t *payload = pkt + hdrs;
  size_t remaining = len - hdrs;
  uint16_t id = v4 ? get16(pkt + 4) : 0;
  int count = 0;
  for (size_t off = 0; off < remaining; off += size, count++) {
    size_t chunk = remaining - off < size ? remaining - off : size;
    size_t total = cut_segment(out, pkt, hdrs, ip_len, payload + off, chunk, (uint16_t)(id + count));
    put16(out + ip_len + 4, (uint16_t)(8 + chunk));
    udp_checksum(out, ip_len, total);
    if (emit(ctx, out, total) != 0) return -1;
  }
  return count;
}

int dp_gso_split(const uint8_t *buf, size_t len, uint8_t *scratch, size_t scratch_len, dp_segment_fn emit, void *ctx) {
  if (len < DP_VNET_HDR_LEN + 20) return -1;
  dp_vnet_hdr h;
  h.flags = buf[0];
  h.gso_type = buf[1];
  memcpy(&h.hdr_len, buf + 2, 2);
  memcpy(&h.gso_size, buf + 4, 2);
  memcpy(&h.csum_start, buf + 6, 2);
  memcpy(&h.csum_offset, buf + 8, 2);
  const uint8_t *pkt = buf + DP_VNET_HDR_LEN;
  size_t plen = len - DP_VNET_HDR_LEN;
  uint8_t type = h.gso_type & (uint8_t)~DP_GSO_ECN;
  if (type == DP_GSO_NONE) {
    if (plen > scratch_len) return -1;
    memcpy(scratch, pkt, plen);
    if (finish_checksum(&h, scratch, plen) != 0) return -1;
    return emit(ctx, scratch, plen) == 0 ? 1 : -1;
  }
  if (type == DP_GSO_UDP_L4) return split_udp(&h, pkt, plen, scratch, scratch_len, emit, ctx);
  if (type != DP_GSO_TCPV4 && type != DP_GSO_TCPV6) return -1;
  return split_tcp(&h, pkt, plen, scratch, scratch_len, emit, ctx);
}
