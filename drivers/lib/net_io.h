/* Socket helpers shared by the tunnel threads and the shared UDP endpoint. */
#ifndef POSTERN_NET_IO_H
#define POSTERN_NET_IO_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define DP_RX_BATCH 32
#define DP_RX_BUFFER 65536 /* one UDP GRO super-datagram */

/* A bound, non-blocking socket with large buffers: UDP (with GRO asked for) when `protocol` is 0,
 * else a raw IPv4 socket of that protocol (the port is ignored). Returns the fd or -errno. */
int dp_socket_open(int protocol, const struct sockaddr_in *local);

/* Called for each datagram (each GRO segment separately). */
typedef void (*dp_datagram_fn)(void *ctx, const uint8_t *d, size_t len, const struct sockaddr_in *from);

/* One recvmmsg of up to DP_RX_BATCH datagrams into `area` (DP_RX_BATCH * DP_RX_BUFFER bytes);
 * returns how many datagrams (before GRO splitting) arrived, 0 or -errno. */
int dp_receive_batch(int fd, uint8_t *area, dp_datagram_fn each, void *ctx);

#endif
