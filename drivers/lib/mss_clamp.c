#include "mss_clamp.h"

#define TCP_SYN 0x02
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2

uint16_t dp_mss_for_mtu(int ip_version, unsigned mtu) {
  unsigned headers = ip_version == 6 ? 60 : 40;
  return mtu > headers ? (uint16_t)(mtu - headers) : 0;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word changing from m to m'. */
static void update_checksum(uint8_t *sum, uint16_t old, uint16_t now) {
  uint32_t hc = (uint32_t)(sum[0] << 8 | sum[1]);
  uint32_t x = (~hc & 0xffff) + (~old & 0xffff) + now;
  x = (x & 0xffff) + (x >> 16);
  x = (x & 0xffff) + (x >> 16);
  uint16_t result = (uint16_t)~x;
  sum[0] = (uint8_t)(result >> 8);
  sum[1] = (uint8_t)result;
}

/* Finds the TCP header: returns its offset, or 0 when this is not an unfragmented TCP packet. */
static size_t tcp_offset(const uint8_t *p, size_t len) {
  if (len < 1) return 0;
  int version = p[0] >> 4;
  if (version == 4) {
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl < 20 || len < ihl + 20 || p[9] != 6) return 0;
    if ((p[6] & 0x1f) != 0 || p[7] != 0) return 0; /* a non-first fragment has no TCP header */
    return ihl;
  }
  if (version == 6) {
    if (len < 40 + 20 || p[6] != 6) return 0; /* extension headers: left alone */
    return 40;
  }
  return 0;
}

bool dp_clamp_mss(uint8_t *p, size_t len, unsigned mtu) {
  size_t tcp = tcp_offset(p, len);
  if (!tcp || !(p[tcp + 13] & TCP_SYN)) return false;
  size_t header = (size_t)(p[tcp + 12] >> 4) * 4;
  if (header < 20 || tcp + header > len) return false;
  uint16_t max = dp_mss_for_mtu(p[0] >> 4, mtu);
  for (size_t i = tcp + 20; i < tcp + header;) {
    uint8_t kind = p[i];
    if (kind == TCPOPT_EOL) break;
    if (kind == TCPOPT_NOP) { i++; continue; }
    if (i + 1 >= tcp + header || p[i + 1] < 2 || i + p[i + 1] > tcp + header) break; /* malformed options */
    if (kind == TCPOPT_MSS && p[i + 1] == 4) {
      uint16_t mss = (uint16_t)(p[i + 2] << 8 | p[i + 3]);
      if (mss <= max) return false;
      p[i + 2] = (uint8_t)(max >> 8);
      p[i + 3] = (uint8_t)max;
      /* The option sits at an even offset in a well-formed header only if aligned; handle both. */
      if (((i - tcp) & 1) == 0) update_checksum(p + tcp + 16, mss, max);
      else {
        update_checksum(p + tcp + 16, (uint16_t)(p[i + 1] << 8 | (mss >> 8)), (uint16_t)(p[i + 1] << 8 | (max >> 8)));
        update_checksum(p + tcp + 16, (uint16_t)((mss & 0xff) << 8 | (i + 4 < tcp + header ? p[i + 4] : 0)),
                        (uint16_t)((max & 0xff) << 8 | (i + 4 < tcp + header ? p[i + 4] : 0)));
      }
      return true;
    }
    i += p[i + 1];
  }
  return false;
}
