/* TUN offloads (IFF_VNET_HDR): the kernel hands over TCP super-segments (and, with USO, UDP ones) of
 * up to 64 KB with a virtio_net_hdr in front; we cut them into segments ourselves before encrypting. One
 * read then replaces dozens, and the kernel's forwarding path handles one packet instead of dozens. */
#ifndef POSTERN_GSO_H
#define POSTERN_GSO_H

#include <stddef.h>
#include <stdint.h>

/* struct virtio_net_hdr (linux/virtio_net.h), host byte order. */
typedef struct {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
} dp_vnet_hdr;

#define DP_VNET_HDR_LEN 10
#define DP_VNET_F_NEEDS_CSUM 1
#define DP_GSO_NONE 0
#define DP_GSO_TCPV4 1
#define DP_GSO_TCPV6 4
#define DP_GSO_UDP_L4 5 /* UDP segmentation offload (USO), IPv4 and IPv6 */
/* The kernel's cap on the segments of one UDP GSO packet (UDP_MAX_SEGMENTS). */
#define DP_UDP_MAX_SEGMENTS 64
#define DP_GSO_ECN 0x80

typedef int (*dp_segment_fn)(void *ctx, const uint8_t *segment, size_t len);

/* Splits (or, for a single packet, finishes the checksum of) what a TUN read returned: the 10-byte
 * header then the packet. Calls `emit` once per resulting IP packet; returns how many, or -1 when
 * the input is malformed or of a kind it does not handle (nothing emitted), or when `emit` failed. */
int dp_gso_split(const uint8_t *buf, size_t len, uint8_t *scratch, size_t scratch_len, dp_segment_fn emit, void *ctx);

#endif
