/* A site tunnel: two worker threads move packets TUN → encapsulate → network and network →
 * decapsulate → TUN. Nothing crosses into JavaScript; counters are read from the struct.
 * Three framings: ESP in UDP (RFC 3948, NAT-friendly), raw ESP (IP protocol 50, RFC 4303) and
 * plain GRE (IP protocol 47, RFC 2784/2890, unencrypted). */
#ifndef POSTERN_TUNNEL_H
#define POSTERN_TUNNEL_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "esp.h"
#include "gre.h"
#include "selector.h"

typedef struct {
  _Atomic uint64_t tun_rx, net_tx, net_rx, tun_tx;
  _Atomic uint64_t ike_packets;     /* non-ESP marker (RFC 3948 §2.2): for IKE, not for us */
  _Atomic uint64_t keepalives;      /* one-byte 0xFF NAT keepalives received (RFC 3948 §2.3); GRE: type-0 keepalives come back */
  _Atomic uint64_t keepalives_sent; /* and sent, when the tunnel was idle for a keepalive interval; GRE: dp_tunnel_send_gre */
  _Atomic uint64_t drop_decrypt;    /* dropped by the SA (see its counters for why) */
  _Atomic uint64_t drop_encrypt, drop_io;
  _Atomic uint64_t mss_clamped;     /* SYNs whose MSS was lowered to fit the tunnel */
  _Atomic uint64_t drop_selector;   /* decrypted, but from or to an address outside the SA's selectors */
  _Atomic uint64_t peer_moved;      /* authenticated packets from a new address or port (a NAT rebinding) */
  /* GRE: every raw GRE socket sees all GRE to the box, so drop_source includes other sites' peers.
   * The other four are from the peer and are also in drop_decrypt (resyncs are not drops). */
  _Atomic uint64_t drop_source;      /* GRE from an address that is not the peer's */
  _Atomic uint64_t gre_bad_key;      /* the key missing, unexpected or different */
  _Atomic uint64_t gre_bad_checksum; /* a checksum that did not verify, or none where required */
  _Atomic uint64_t gre_out_of_order; /* sequence number missing, duplicate or not after the last one */
  _Atomic uint64_t gre_seq_resyncs;  /* the peer's numbering restarted: followed (gre.h DP_GRE_SEQ_RESYNC) */
  _Atomic uint64_t udp_up;           /* transport mode: datagrams to the delivered UDP port handed up the hub's pipe */
  _Atomic uint64_t udp_up_dropped;   /* and dropped there: no pipe, or the pipe full */
  _Atomic uint64_t udp_sent;         /* UDP payloads sealed and sent for JavaScript (dp_tunnel_send_udp) */
} dp_tunnel_stats;

typedef struct dp_tunnel dp_tunnel;

/* Takes ownership of neither SA (the caller keeps them alive until dp_tunnel_stop returns). */
typedef enum {
  DP_TUNNEL_ESP_UDP = 1,
  DP_TUNNEL_ESP = 2,
  DP_TUNNEL_GRE = 3,
} dp_tunnel_mode;

/* Slow-path events, called from the worker threads (keep it short: queue and return). */
typedef void (*dp_tunnel_event_fn)(void *ctx, uint32_t spi, unsigned expiry /* DP_EXPIRE_* */);

typedef struct {
  dp_tunnel_mode mode;
  dp_tunnel_event_fn on_event; /* may be NULL */
  void *event_ctx;
  dp_gre_site gre;            /* GRE: key, checksums and sequence numbers, sent and required */
  uint32_t gre_seq_start;     /* GRE: the first sequence number sent (a restarted site continues its numbering) */
  bool offload;               /* the TUN was opened with offloads (vnet header, TSO): see gso.h */
  bool uso;                   /* and takes UDP GSO packets: UDP runs are merged toward it too */
  bool link_protocol;         /* GRE: the TUN puts struct tun_pi before each packet: non-IP crosses with its EtherType as the GRE protocol type */
  bool transport;             /* ESP transport mode: the TUN carries datagrams between the two hosts (IPv4 or IPv6, issue 24) */
  dp_addr transport_local;    /* this host's address (the peer's family; port ignored), for datagrams rebuilt on receipt */
  unsigned keepalive_ms;      /* ESP in UDP behind a NAT: idle interval before a keepalive (0: never) */
  unsigned mtu;               /* the TUN's: TCP SYNs in both directions are clamped to fit it */
  dp_prefix_set remote_ts;    /* inner sources allowed from the peer (empty: any) */
  dp_prefix_set local_ts;     /* inner destinations allowed from the peer (empty: any) */
  dp_addr source;             /* IPv6: the address to send from (IPV6_PKTINFO) when the socket is bound to ::; family 0: the kernel's choice */
} dp_tunnel_options;

/* For GRE the SAs are NULL. The local and remote ports matter only for ESP in UDP. Both addresses
 * of one family, IPv4 or IPv6 (issue 24), and so is transport mode's local address (-EAFNOSUPPORT). */
dp_tunnel *dp_tunnel_start(int tun_fd, const dp_tunnel_options *options, const dp_addr *local,
                           const dp_addr *remote, dp_sa *outbound, dp_sa *inbound, int *error);
/* Rekeying without loss: inbound SAs are chosen by SPI (up to DP_TUNNEL_MAX_INBOUND at once, so
 * old and new overlap), the outbound SA is replaced in one store. Each call returns only when
 * neither thread can still be using what it took out, so the caller may free it. */
#define DP_TUNNEL_MAX_INBOUND 4
int dp_tunnel_add_inbound(dp_tunnel *t, dp_sa *sa);          /* 0, or -ENOSPC / -EEXIST */
dp_sa *dp_tunnel_remove_inbound(dp_tunnel *t, uint32_t spi); /* the SA taken out, or NULL */
dp_sa *dp_tunnel_set_outbound(dp_tunnel *t, dp_sa *sa);      /* the previous outbound SA */

typedef struct dp_endpoint dp_endpoint;
/* ESP in UDP on a shared endpoint (endpoint.h): no socket or receiving thread of its own; the
 * endpoint's thread hands it the packets for its inbound SPIs. */
dp_tunnel *dp_tunnel_start_shared(int tun_fd, const dp_tunnel_options *options, dp_endpoint *endpoint,
                                  const dp_addr *remote, dp_sa *outbound, dp_sa *inbound, int *error);

typedef struct dp_hub dp_hub;
/* On a shared TUN (hub.h) and the shared endpoint: no thread of its own at all. Routes to it are
 * added with dp_tunnel_route (JavaScript thread) and all removed when it stops. */
dp_tunnel *dp_tunnel_start_hub(const dp_tunnel_options *options, dp_hub *hub, dp_endpoint *endpoint,
                               const dp_addr *remote, dp_sa *outbound, dp_sa *inbound, int *error);
int dp_tunnel_route(dp_tunnel *t, const dp_prefix *p);
/* GRE: one payload of JavaScript's (e.g. a Cisco keepalive's inner packet, protocol 0x0800) out of
 * the tunnel with its key, checksum and next sequence number, from the calling thread; counted in
 * keepalives_sent. 0 or a negative errno. */
int dp_tunnel_send_gre(dp_tunnel *t, uint16_t protocol, const uint8_t *payload, size_t len);
/* GRE: the sequence number the next packet will carry. */
uint32_t dp_tunnel_gre_next_seq(const dp_tunnel *t);
/* L2TP/IPsec (issue 20), transport mode on a hub: decrypted UDP to `port` (network order; 0: none)
 * goes up the hub's pipe under `tag`, as the rebuilt IPv4 or IPv6 datagram, instead of into the TUN. The L2TP
 * shell so learns which SA each datagram came in on: two clients behind one NAT both look like
 * NAT:1701 once decrypted, but each has its own SA. JavaScript thread. */
void dp_tunnel_deliver_udp(dp_tunnel *t, uint16_t port, uint32_t tag);
/* And the way back: one UDP payload from this host's `sport` to the peer's `dport` (network order),
 * sealed in the tunnel's outbound SA (transport mode) and sent to the peer's address and NAT-T port.
 * JavaScript thread (its own ESP lane). Bytes sent, or -errno (-EINVAL: not transport mode,
 * -EMSGSIZE: too long). */
int dp_tunnel_send_udp(dp_tunnel *t, uint16_t sport, uint16_t dport, const uint8_t *payload, size_t len);
/* PPP data sessions (issue 20, ppp_data.h) on a transport tunnel of a hub: the session's L2TP data
 * messages that came in on this tunnel's SAs are deframed here and their IP written into the TUN;
 * its addresses are routed to this tunnel, whose sending framed them (PPP, L2TP, UDP) and seals
 * them. A session follows its client's path: JavaScript attaches it to each transport tunnel of the
 * path (a new phase 1 brings a new one), the newest taking its routes. JavaScript thread.
 * Attach: 0, -EINVAL (not an L2TP session, not transport mode on a hub), -ENOSPC, -ENOMEM.
 * Detach returns once neither the hub's nor the endpoint's threads can still use it for the tunnel.
 * A stopped tunnel lets go of its sessions; release detaches a session from every tunnel and frees it. */
#define DP_TUNNEL_MAX_PPP 4
typedef struct dp_ppp_session dp_ppp_session;
int dp_tunnel_ppp_attach(dp_tunnel *t, dp_ppp_session *s);
void dp_tunnel_ppp_detach(dp_tunnel *t, dp_ppp_session *s);
void dp_tunnel_ppp_release(dp_ppp_session *s);

/* The peer moved (MOBIKE, RFC 4555): send to this address and port from the next batch on. */
void dp_tunnel_set_peer(dp_tunnel *t, const dp_addr *peer);

/* For the hub's sending thread: one packet for this tunnel, and the end of a batch. */
void dp_tunnel_tx_packet(dp_tunnel *t, const uint8_t *packet, size_t len);
void dp_tunnel_tx_flush(void);

/* For the endpoint's receiving thread: does an inbound SA have this SPI; one datagram (plain is a
 * scratch buffer of 64 KiB); the end of a batch. */
bool dp_tunnel_owns_spi(dp_tunnel *t, uint32_t spi);
void dp_tunnel_receive(dp_tunnel *t, const uint8_t *d, size_t len, const dp_addr *from, uint8_t *plain);
void dp_tunnel_receive_done(dp_tunnel *t);

/* Stops and joins both threads, closes the socket and the TUN fd, frees the tunnel. */
void dp_tunnel_stop(dp_tunnel *t);
const dp_tunnel_stats *dp_tunnel_stats_of(const dp_tunnel *t);

#endif
