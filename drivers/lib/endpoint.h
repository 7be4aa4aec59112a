/* One UDP 4500 socket shared by IKE and every ESP-in-UDP tunnel (RFC 3948): the receiving thread
 * hands IKE messages (after the non-ESP marker) up to the control plane, drops NAT keepalives,
 * and gives ESP packets to the tunnel whose inbound SA has that SPI. Tunnels send on its socket. */
#ifndef POSTERN_ENDPOINT_H
#define POSTERN_ENDPOINT_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "epoch.h"

typedef struct dp_tunnel dp_tunnel;
typedef struct dp_endpoint dp_endpoint;

typedef struct {
  _Atomic uint64_t rx, ike, keepalives, short_packets, unknown_spi, ike_sent, ike_send_errors;
} dp_endpoint_stats;

/* Called on the receiving thread with the IKE message (marker removed): copy and return. `to` is
 * the address the peer sent it to where the socket reports it (IPv6), else NULL. */
typedef void (*dp_endpoint_ike_fn)(void *ctx, const uint8_t *msg, size_t len, const dp_addr *from, const dp_addr *to);

/* IPv4 or IPv6 by `local`'s family: one endpoint per family (issue 24). */
dp_endpoint *dp_endpoint_open(const dp_addr *local, dp_endpoint_ike_fn on_ike, void *ctx, int *error);
/* The same for raw ESP (IP protocol 50, no NAT): shared by every tunnel without UDP encapsulation. */
dp_endpoint *dp_endpoint_open_raw(const dp_addr *local, int *error);
bool dp_endpoint_is_raw(const dp_endpoint *e);
bool dp_endpoint_is_v6(const dp_endpoint *e);
/* Sends an IKE message to `to` with the non-ESP marker in front, from `source` when given (an IPv6
 * endpoint bound to :: answers from the address the peer used). Returns 0 or -errno. */
int dp_endpoint_send_ike(dp_endpoint *e, const uint8_t *msg, size_t len, const dp_addr *to, const dp_addr *source);
/* Stops the thread and closes the socket; every tunnel must have been stopped first. */
void dp_endpoint_close(dp_endpoint *e);
const dp_endpoint_stats *dp_endpoint_stats_of(const dp_endpoint *e);

/* For tunnel.c (JavaScript thread only): the socket; the inbound SPIs that lead to a tunnel (add:
 * 0, -EEXIST or -ENOMEM; remove one SPI, or all of the tunnel's with spi 0, returning once the
 * receiving thread can no longer deliver to them); the epoch that tells when it is between batches. */
int dp_endpoint_fd(const dp_endpoint *e);
int dp_endpoint_spi_add(dp_endpoint *e, uint32_t spi, dp_tunnel *t);
void dp_endpoint_spi_remove(dp_endpoint *e, uint32_t spi, dp_tunnel *t);
dp_epoch *dp_endpoint_epoch(dp_endpoint *e);

#endif
