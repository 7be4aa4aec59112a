/* ESP transport mode (RFC 4303 §3.1.1), IPv4: what ESP protects is the upper-layer payload of a
 * whole datagram between the two hosts; the receiver puts an IP header back around it. */
#ifndef POSTERN_TRANSPORT_H
#define POSTERN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a datagram's payload starts and its protocol; false for what transport mode cannot carry
 * (not IPv4, malformed, a fragment: RFC 4303 §3.3.1 applies it to whole datagrams only). */
bool dp_transport_payload(const uint8_t *packet, size_t len, size_t *offset, uint8_t *protocol);

/* `buf` holds the decrypted payload at buf + 20; writes the IPv4 header in front (addresses in
 * network order) and returns the datagram's length, or 0. With `fix_l4` the TCP or UDP checksum is
 * computed again: behind a NAT the sender's was made with addresses this side never sees
 * (RFC 3948 §3.1.2). */
size_t dp_transport_rebuild(uint8_t *buf, size_t payload_len, uint8_t protocol, uint32_t src, uint32_t dst, uint16_t id, bool fix_l4);

/* L2TP/IPsec (issue 20): does this whole IPv4 or IPv6 datagram (as dp_transport_rebuild or
 * dp_transport_rebuild6 leaves it) carry UDP to `port` (network order)? Its UDP header's offset in `udp`. Such datagrams go up to the L2TP shell tagged with their SA
 * instead of into the TUN, so two clients behind one NAT (both NAT:1701 once decrypted) stay apart. */
bool dp_transport_is_udp_to(const uint8_t *packet, size_t len, uint16_t port, size_t *udp);

/* The way back: one UDP payload in an IPv4 datagram between the two hosts (addresses and ports in
 * network order), IP and UDP checksums made. Its length, or 0 when it does not fit `cap`. */
size_t dp_transport_udp_build(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                              const uint8_t *payload, size_t len, uint16_t id);

/* Issue 24, transport mode over IPv6 (L2TP/IPsec on an IPv6 WAN). RFC 4303 §3.1.1, RFC 8200: the payload of a whole datagram without extension
 * headers (any is refused, as is a payload length that disagrees with `len`). */
bool dp_transport_payload6(const uint8_t *packet, size_t len, size_t *offset, uint8_t *protocol);

/* `buf` holds the decrypted payload at buf + 40; writes the IPv6 header in front and returns the
 * datagram's length, or 0. With `fix_l4` the TCP or UDP checksum is made again with the IPv6
 * pseudo-header (a UDP checksum is never left 0: IPv6 requires one). */
size_t dp_transport_rebuild6(uint8_t *buf, size_t payload_len, uint8_t protocol, const uint8_t src[16], const uint8_t dst[16], bool fix_l4);

/* One UDP payload in an IPv6 datagram between the two hosts (ports in network order), the UDP
 * checksum made. Its length, or 0 when it does not fit `cap`. */
size_t dp_transport_udp_build6(uint8_t *buf, size_t cap, const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport,
                               const uint8_t *payload, size_t len);

/* The UDP checksum of a bare UDP datagram (header and payload, `len` bytes) between two IPv6
 * hosts, written into it (never 0): L2TP data frames are built with none, which IPv6 forbids. */
void dp_transport_udp_checksum6(uint8_t *udp, size_t len, const uint8_t src[16], const uint8_t dst[16]);

#endif
