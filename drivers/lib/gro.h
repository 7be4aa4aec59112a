/* GRO toward a TUN with offloads: consecutive segments of one TCP flow are merged into one
 * super-segment written with a GSO virtio_net_hdr, so the kernel (and the host behind it) handles
 * one packet instead of dozens. Merging follows the rules the kernel's own TCP GRO keeps: same
 * flow, next in sequence, same ACK, flags and options, equal segment sizes (a shorter one ends it).
 * Where the TUN takes USO (`uso`), consecutive datagrams of one UDP flow with equal payload sizes
 * are merged the same way (up to 64, the kernel's limit), as the kernel's UDP GRO does. */
#ifndef POSTERN_GRO_H
#define POSTERN_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_GRO_MAX 65535

typedef struct {
  uint8_t buf[10 + DP_GRO_MAX]; /* virtio_net_hdr, then the merged packet */
  size_t len;                   /* of the packet (without the header); 0: nothing pending */
  size_t headers;               /* IP + TCP (or UDP) header length */
  size_t segment;               /* payload bytes per segment (gso_size) */
  unsigned count;               /* segments merged */
  bool closed;                  /* a shorter segment ended the run */
  uint32_t next_seq;
  uint8_t proto;                /* 6 (TCP) or 17 (UDP) of the pending run */
  bool uso;                     /* set by the owner: the TUN accepted TUN_F_USO4/6 */
} dp_gro;

/* Writes one buffer (vnet header + packet) to the TUN. */
typedef int (*dp_gro_write_fn)(void *ctx, const uint8_t *buf, size_t len);

/* Offers a complete IP packet (checksums valid). It is merged with what is pending, or the pending
 * packet is written first and this one kept (if it may start a run) or written straight away. */
void dp_gro_offer(dp_gro *g, const uint8_t *packet, size_t len, dp_gro_write_fn write, void *ctx);

/* Writes what is pending (at the end of each receive batch). */
void dp_gro_flush(dp_gro *g, dp_gro_write_fn write, void *ctx);

#endif
