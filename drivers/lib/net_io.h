/* Socket helpers shared by the tunnel threads and the shared UDP endpoint. */
#ifndef POSTERN_NET_IO_H
#define POSTERN_NET_IO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define DP_RX_BATCH 32
#define DP_RX_BUFFER 65536 /* one UDP GRO super-datagram */

/* A bound, non-blocking socket with large buffers, of `local`'s family: UDP (with GRO asked for)
 * when `protocol` is 0, else a raw socket of that protocol (the port is ignored). IPv6 sockets are
 * IPv6 only (one socket per family) and report each datagram's destination (IPV6_PKTINFO), so a
 * wildcard-bound socket can answer from the address the peer used. Returns the fd or -errno. */
int dp_socket_open(int protocol, const dp_addr *local);

/* Called for each datagram (each GRO segment separately). `to` is the address it was sent to where
 * the socket reports it (IPv6), else NULL. Raw IPv4 sockets hand over the outer header, IPv6 never. */
typedef void (*dp_datagram_fn)(void *ctx, const uint8_t *d, size_t len, const dp_addr *from, const dp_addr *to);

/* One recvmmsg of up to DP_RX_BATCH datagrams into `area` (DP_RX_BATCH * DP_RX_BUFFER bytes);
 * returns how many datagrams (before GRO splitting) arrived, 0 or -errno. */
int dp_receive_batch(int fd, uint8_t *area, dp_datagram_fn each, void *ctx);

/* A control message choosing the source address of one IPv6 send (IPV6_PKTINFO); `buf` holds
 * DP_PKTINFO_SPACE bytes. Returns the bytes used (0 for IPv4 or an unspecified source: the kernel's choice). */
#define DP_PKTINFO_SPACE CMSG_SPACE(sizeof(struct in6_pktinfo))
size_t dp_pktinfo_cmsg(const dp_addr *source, void *buf);

#endif
