/* TCP MSS clamping for tunneled flows: a SYN that offers more than the tunnel can carry is
 * rewritten (RFC 879's MSS option, checksum updated per RFC 1624), so no PMTU black hole forms. */
#ifndef POSTERN_MSS_CLAMP_H
#define POSTERN_MSS_CLAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest MSS that fits `mtu` for an IPv4 (40 bytes of headers) or IPv6 (60) packet. */
uint16_t dp_mss_for_mtu(int ip_version, unsigned mtu);

/* Lowers the MSS option of an IPv4 or IPv6 TCP SYN in place; true when it changed something.
 * Anything else (not TCP, not SYN, fragments, extension headers, malformed) is left untouched. */
bool dp_clamp_mss(uint8_t *packet, size_t len, unsigned mtu);

#endif
