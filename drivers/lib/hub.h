/* One TUN device shared by many tunnels (remote-access clients, sites): one thread per queue of a
 * multi-queue TUN reads it, finds each packet's tunnel by destination (a host table for /32 and
 * /128 virtual addresses, longest prefix first for subnets) and encrypts it for that tunnel's
 * peer. Inbound packets come from the shared endpoint and are written to the same TUN, into the
 * queue given to their tunnel: the kernel learns each flow's queue from those writes and sends
 * the flow's outbound packets to it. So tunnels spread over the readers while each SA is sealed
 * by one thread: its sequence numbers leave in order, which peers with small replay windows
 * (strongSwan's default is 32) need. A flow seen only outbound may land on another queue; the
 * ESP lanes keep that correct, at the cost of a little reordering. */
#ifndef POSTERN_HUB_H
#define POSTERN_HUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "epoch.h"
#include "selector.h"

#define DP_HUB_MAX_QUEUES 8 /* at most DP_ESP_LANES - 1: the last lane is DP_ESP_LANE_CALLER's */

typedef struct dp_tunnel dp_tunnel;
typedef struct dp_hub dp_hub;
typedef struct dp_pipe dp_pipe;

typedef struct {
  _Atomic uint64_t tun_rx, no_route, routes;
  _Atomic uint64_t multicast; /* the kernel's own multicast (MLD, router solicitations): never for a tunnel */
  /* For diagnosis: the IP version and first destination bytes of the last unroutable packet. */
  _Atomic uint64_t last_no_route;
  unsigned queues;
  _Atomic uint64_t queue_rx[DP_HUB_MAX_QUEUES]; /* packets read from each queue */
} dp_hub_stats;

/* Takes the TUN's queue fds (closed by dp_hub_close), 1 .. DP_HUB_MAX_QUEUES of them.
 * `offload`: the TUN was opened with a vnet header. */
dp_hub *dp_hub_open(const int *tun_fds, unsigned queues, bool offload, bool uso, unsigned mtu, int *error);
/* Every tunnel on it must have been stopped first. */
void dp_hub_close(dp_hub *h);
const dp_hub_stats *dp_hub_stats_of(const dp_hub *h);

/* Routes (JavaScript thread only): a prefix to a tunnel, replacing an older tunnel's; 0 or -ENOMEM.
 * Removal takes out every route still pointing at the tunnel and returns once the hub's thread can
 * no longer be sending for it. */
int dp_hub_route_add(dp_hub *h, const dp_prefix *p, dp_tunnel *t);
void dp_hub_routes_remove(dp_hub *h, dp_tunnel *t);
/* One prefix's route, if it still leads to the tunnel (a PPP data session leaving it, issue 20). */
void dp_hub_route_remove(dp_hub *h, const dp_prefix *p, dp_tunnel *t);

/* Targets in C other than tunnels (an SSTP call whose TLS runs in the driver, issue 23): `tx` is
 * called from the hub's reading threads with each packet routed to it. Same replacement rules as
 * tunnels; removal returns once no reading thread can still be calling it. */
typedef struct dp_hub_sink dp_hub_sink;
struct dp_hub_sink {
  void (*tx)(dp_hub_sink *self, const uint8_t *packet, size_t len);
  /* Optional: a reading thread calls it after a run of `tx` calls to this sink, before its next
   * packet for any other target and at its batch's end, so a sink may hold what it has sealed (and
   * a lock) across the run and send it in one system call. */
  void (*flush)(dp_hub_sink *self);
};
int dp_hub_sink_route_add(dp_hub *h, const dp_prefix *p, dp_hub_sink *s);
void dp_hub_sink_routes_remove(dp_hub *h, dp_hub_sink *s);

/* Sessions served in JavaScript (PPP over TLS): their prefixes lead to the pipe, tagged with the
 * session; the same replacement and removal rules as tunnels. The pipe is attached once, before any
 * pipe route, and detached (NULL) before it is closed. */
int dp_hub_pipe_route_add(dp_hub *h, const dp_prefix *p, uint32_t tag);
void dp_hub_pipe_routes_remove(dp_hub *h, uint32_t tag);
void dp_hub_set_pipe(dp_hub *h, dp_pipe *p);
/* The pipe attached (or NULL): transport tunnels hand L2TP's datagrams up it (tunnel.h). Tunnels are
 * stopped before the pipe is detached, so a tunnel's receiving thread never holds a closed one. */
dp_pipe *dp_hub_pipe(dp_hub *h);

/* For tunnel.c: the first queue's fd; a queue for a new tunnel (in turn) and that queue's fd;
 * the epochs of the reading threads. */
int dp_hub_tun_fd(const dp_hub *h);
unsigned dp_hub_assign_queue(dp_hub *h);
int dp_hub_queue_fd(const dp_hub *h, unsigned queue);
bool dp_hub_offload(const dp_hub *h);
/* The shared TUN takes UDP GSO packets (USO): tunnels on it merge UDP runs too. */
bool dp_hub_uso(const dp_hub *h);
dp_epoch *dp_hub_epochs(dp_hub *h, size_t *count);

#endif
