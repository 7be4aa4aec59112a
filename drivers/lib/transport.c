#include "transport.h"

#include <string.h>
#include "inet_sum.h"

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }


bool dp_transport_payload(const uint8_t *packet, size_t len, size_t *offset, uint8_t *protocol) {
  if (len < 20 || packet[0] >> 4 != 4) return false;
  size_t ihl = (size_t)(packet[0] & 15) * 4;
  if (ihl < 20 || ihl > len || get16(packet + 2) != len || (get16(packet + 6) & 0x3fff) != 0) return false;
  *offset = ihl;
  *protocol = packet[9];
  return true;
}

size_t dp_transport_rebuild(uint8_t *buf, size_t payload_len, uint8_t protocol, uint32_t src, uint32_t dst, uint16_t id, bool fix_l4) {
  size_t total = 20 + payload_len;
  if (total > 0xffff) return 0;
  memset(buf, 0, 20);
  buf[0] = 0x45;
  put16(buf + 2, (uint16_t)total);
  put16(buf + 4, id);
  buf[8] = 64;
  buf[9] = protocol;
  memcpy(buf + 12, &src, 4);
  memcpy(buf + 16, &dst, 4);
  put16(buf + 10, dp_fold(dp_sum16(buf, 20, 0)));
  uint8_t *l4 = buf + 20;
  size_t at = protocol == 6 ? 16 : protocol == 17 ? 6 : 0;
  if (fix_l4 && at && payload_len >= at + 2 && !(protocol == 17 && get16(l4 + 6) == 0)) { /* UDP checksum 0: none sent */
    l4[at] = l4[at + 1] = 0;
    uint16_t c = dp_fold(dp_sum16(l4, payload_len, dp_sum16(buf + 12, 8, 0) + protocol + (uint32_t)payload_len));
    put16(l4 + at, protocol == 17 && c == 0 ? 0xffff : c);
  }
  return total;
}

bool dp_transport_is_udp_to(const uint8_t *packet, size_t len, uint16_t port, size_t *udp) {
  size_t offset = 0;
  uint8_t protocol = 0;
  bool whole = len && packet[0] >> 4 == 6 ? dp_transport_payload6(packet, len, &offset, &protocol) : dp_transport_payload(packet, len, &offset, &protocol);
  if (!whole || protocol != 17 || len - offset < 8) return false;
  *udp = offset;
  uint16_t dport;
  memcpy(&dport, packet + offset + 2, 2);
  return dport == port && get16(packet + offset + 4) == len - offset; /* the UDP length must agree too */
}

size_t dp_transport_udp_build(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                              const uint8_t *payload, size_t len, uint16_t id) {
  if (cap < 28 || len > cap - 28) return 0;
  uint8_t *udp = buf + 20;
  memcpy(udp, &sport, 2);
  memcpy(udp + 2, &dport, 2);
  put16(udp + 4, (uint16_t)(8 + len));
  put16(udp + 6, 1); /* not 0: dp_transport_rebuild then computes the checksum */
  memmove(udp + 8, payload, len);
  return dp_transport_rebuild(buf, 8 + len, 17, src, dst, id, true);
}

/* Issue 24: the same over IPv6 (RFC 4303 §3.1.1). Extension headers are not carried: ESP comes
 * after hop-by-hop, routing and fragment headers, and the datagrams transport mode seals here (L2TP's
 * UDP) have none, so any is refused rather than parsed. */
static bool is_extension_header(uint8_t next) {
  return next == 0 || next == 43 || next == 44 || next == 50 || next == 51 || next == 60 || next == 135 || next == 139 || next == 140 || next == 253 || next == 254;
}

bool dp_transport_payload6(const uint8_t *packet, size_t len, size_t *offset, uint8_t *protocol) {
  if (len < 40 || packet[0] >> 4 != 6 || get16(packet + 4) != len - 40 || is_extension_header(packet[6])) return false;
  *offset = 40;
  *protocol = packet[6];
  return true;
}

size_t dp_transport_rebuild6(uint8_t *buf, size_t payload_len, uint8_t protocol, const uint8_t src[16], const uint8_t dst[16], bool fix_l4) {
  if (payload_len > 0xffff) return 0;
  memset(buf, 0, 8);
  buf[0] = 0x60;
  put16(buf + 4, (uint16_t)payload_len);
  buf[6] = protocol;
  buf[7] = 64;
  memcpy(buf + 8, src, 16);
  memcpy(buf + 24, dst, 16);
  uint8_t *l4 = buf + 40;
  size_t at = protocol == 6 ? 16 : protocol == 17 ? 6 : 0;
  /* A UDP checksum of 0 is not allowed over IPv6 (RFC 8200 §8.1): made here whatever the sender sent. */
  if (fix_l4 && at && payload_len >= at + 2) {
    l4[at] = l4[at + 1] = 0;
    uint16_t c = dp_fold(dp_sum16(l4, payload_len, dp_sum16(buf + 8, 32, 0) + protocol + (uint32_t)payload_len));
    put16(l4 + at, protocol == 17 && c == 0 ? 0xffff : c);
  }
  return 40 + payload_len;
}

size_t dp_transport_udp_build6(uint8_t *buf, size_t cap, const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport,
                               const uint8_t *payload, size_t len) {
  if (cap < 48 || len > cap - 48 || len > 0xffff - 8) return 0;
  uint8_t *udp = buf + 40;
  memcpy(udp, &sport, 2);
  memcpy(udp + 2, &dport, 2);
  put16(udp + 4, (uint16_t)(8 + len));
  memmove(udp + 8, payload, len);
  return dp_transport_rebuild6(buf, 8 + len, 17, src, dst, true);
}

void dp_transport_udp_checksum6(uint8_t *udp, size_t len, const uint8_t src[16], const uint8_t dst[16]) {
  if (len < 8) return;
  udp[6] = udp[7] = 0;
  uint16_t c = dp_fold(dp_sum16(udp, len, dp_sum16(src, 16, 0) + dp_sum16(dst, 16, 0) + 17 + (uint32_t)len));
  put16(udp + 6, c == 0 ? 0xffff : c);
}
