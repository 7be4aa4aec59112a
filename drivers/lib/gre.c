/*
 * RFC 2784 / 2890 (version 0)                    RFC 2637 §4.4 (version 1, PPTP)
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |C| |K|S| Reserved0       | Ver |         Protocol Type         |   C=0 R=0 K=1 S s=0 Recur=0 A Flags=0 Ver=1
 * |      Checksum (optional)      |       Reserved1 (optional)    |   (no checksum in version 1)
 * |                         Key (optional)                        |   Payload Length | Call ID
 * |                 Sequence Number (optional)                    |   Sequence Number (optional)
 *                                                                     Acknowledgment Number (optional)
 */
#include "gre.h"

#include <string.h>

#include "inet_sum.h"

#define F_C 0x8000
#define F_R 0x4000
#define F_K 0x2000
#define F_S 0x1000
#define F_STRICT 0x0800
#define F_RECUR 0x0700
#define F_A 0x0080
#define RESERVED0_V0 0x0ff8 /* RFC 2784: bits 1-12 after C must be zero (K and S are RFC 2890's) */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

/* The Internet checksum (RFC 1071) over header and payload. */
static uint16_t checksum(const uint8_t *data, size_t len) { return dp_fold(dp_sum16(data, len, 0)); }

dp_gre_status dp_gre_parse(const uint8_t *p, size_t len, dp_gre_header *h) {
  memset(h, 0, sizeof *h);
  if (len < 4) return DP_GRE_SHORT;
  uint16_t flags = get16(p);
  h->version = flags & 7;
  h->protocol = get16(p + 2);
  size_t off = 4;
  if (h->version == 0) {
    if (flags & (F_R | RESERVED0_V0)) return DP_GRE_BAD_VERSION; /* routing (RFC 1701) and reserved bits */
    h->has_checksum = flags & F_C;
    h->has_key = flags & F_K;
    h->has_seq = flags & F_S;
    /* Whole header present first: a truncated packet is short, not a checksum failure. */
    if (len < dp_gre_header_size(h)) return DP_GRE_SHORT;
    if (h->has_checksum) {
      if (checksum(p, len) != 0) return DP_GRE_BAD_CHECKSUM;
      off += 4;
    }
    if (h->has_key) { h->key = get32(p + off); off += 4; }
    if (h->has_seq) { h->seq = get32(p + off); off += 4; }
  } else if (h->version == 1) {
    if ((flags & (F_C | F_R | F_STRICT | F_RECUR)) || !(flags & F_K) || (flags & 0x0078)) return DP_GRE_BAD_PPTP;
    if (h->protocol != DP_GRE_PROTO_PPP) return DP_GRE_BAD_PPTP;
    h->has_key = true;
    h->has_seq = flags & F_S;
    h->has_ack = flags & F_A;
    if (len < off + 4) return DP_GRE_SHORT;
    h->payload_length = get16(p + off);
    h->call_id = get16(p + off + 2);
    off += 4;
    if (h->has_seq) { if (len < off + 4) return DP_GRE_SHORT; h->seq = get32(p + off); off += 4; }
    if (h->has_ack) { if (len < off + 4) return DP_GRE_SHORT; h->ack = get32(p + off); off += 4; }
    if (h->payload_length > len - off) return DP_GRE_SHORT; /* the declared PPP payload must be there */
  } else {
    return DP_GRE_BAD_VERSION;
  }
  h->header_len = off;
  return DP_GRE_OK;
}

size_t dp_gre_header_size(const dp_gre_header *h) {
  if (h->version == 1) return 8 + (h->has_seq ? 4 : 0) + (h->has_ack ? 4 : 0);
  return 4 + (h->has_checksum ? 4 : 0) + (h->has_key ? 4 : 0) + (h->has_seq ? 4 : 0);
}

dp_gre_status dp_gre_build(const dp_gre_header *h, uint8_t *out, size_t cap, size_t payload_len, size_t *total) {
  size_t hl = dp_gre_header_size(h);
  if (hl + payload_len > cap) return DP_GRE_SPACE;
  uint16_t flags = h->version & 7;
  size_t off = 4;
  if (h->version == 1) {
    flags |= F_K | (h->has_seq ? F_S : 0) | (h->has_ack ? F_A : 0);
    put16(out + 2, DP_GRE_PROTO_PPP);
    put16(out + 4, (uint16_t)payload_len);
    put16(out + 6, h->call_id);
    off = 8;
    if (h->has_seq) { put32(out + off, h->seq); off += 4; }
    if (h->has_ack) { put32(out + off, h->ack); off += 4; }
  } else {
    flags |= (h->has_checksum ? F_C : 0) | (h->has_key ? F_K : 0) | (h->has_seq ? F_S : 0);
    put16(out + 2, h->protocol);
    if (h->has_checksum) { put32(out + off, 0); off += 4; }
    if (h->has_key) { put32(out + off, h->key); off += 4; }
    if (h->has_seq) { put32(out + off, h->seq); off += 4; }
  }
  put16(out, flags);
  if (h->version == 0 && h->has_checksum) put16(out + 4, checksum(out, hl + payload_len));
  *total = hl + payload_len;
  return DP_GRE_OK;
}

dp_gre_status dp_gre_frame(const dp_gre_site *site, uint16_t protocol, uint32_t seq, const uint8_t *payload, size_t len, uint8_t *out, size_t cap, size_t *total) {
  dp_gre_header h = {.version = 0, .protocol = protocol, .has_key = site->has_key, .key = site->key,
                     .has_checksum = site->checksum, .has_seq = site->sequence, .seq = seq};
  size_t hl = dp_gre_header_size(&h);
  if (hl + len > cap) return DP_GRE_SPACE;
  memmove(out + hl, payload, len);
  return dp_gre_build(&h, out, cap, len, total);
}

dp_gre_rx dp_gre_classify(const uint8_t *p, size_t len, const dp_gre_site *site, dp_gre_header *h) {
  dp_gre_status st = dp_gre_parse(p, len, h);
  if (st == DP_GRE_BAD_CHECKSUM) return DP_GRE_RX_BAD_CHECKSUM;
  if (st != DP_GRE_OK || h->version != 0) return DP_GRE_RX_MALFORMED;
  if (h->has_key != site->has_key || (site->has_key && h->key != site->key)) return DP_GRE_RX_BAD_KEY;
  if (h->protocol == DP_GRE_PROTO_KEEPALIVE) return DP_GRE_RX_KEEPALIVE;
  if (site->checksum && !h->has_checksum) return DP_GRE_RX_BAD_CHECKSUM;
  if (site->sequence && !h->has_seq) return DP_GRE_RX_NO_SEQUENCE;
  return DP_GRE_RX_DELIVER;
}

dp_gre_seq_verdict dp_gre_seq_check(dp_gre_seq_rx *s, uint32_t seq) {
  bool after = !s->started || (int32_t)(seq - s->next) >= 0;
  if (!after && ++s->rejected < DP_GRE_SEQ_RESYNC) return DP_GRE_SEQ_DROP;
  s->started = true;
  s->next = seq + 1;
  s->rejected = 0;
  return after ? DP_GRE_SEQ_ACCEPT : DP_GRE_SEQ_RESYNCED;
}
