/* PPP data sessions in the driver (issue 20): once a session's IPCP (or IPV6CP) is open, JavaScript
 * installs it here and IP packets cross between the shared TUN and the peer without JavaScript.
 * Only IPv4 and IPv6 from the session's own addresses are handled; everything else PPP carries
 * (LCP and its echoes, the NCPs, CCP, authentication, unknown protocols) and the few IP packets the
 * gateway answers itself (DHCPINFORM, router solicitations, link-local IPv6) go up to JavaScript
 * exactly as before. IP from any other source is dropped and counted.
 *
 * Layers: this file is PPP alone (the protocol field, RFC 1661 §2; the source check; counters),
 * below it a lower layer frames PPP for the wire. L2TP (RFC 2661 §3.1 data messages over UDP 1701
 * in an ESP transport SA) is the first: `dp_l2tp_parse` and `dp_l2tp_frame`, driven by tunnel.c,
 * whose transport tunnels carry the session (dp_tunnel_ppp_attach). PPTP's enhanced GRE
 * (pptp_gre.c) is the next lower layer: its call hands the PPP frame to `dp_ppp_rx_frame` and
 * frames what `dp_ppp_header` starts (with MPPE between the two, `lower` = DP_PPP_LOWER_PPTP). */
#ifndef POSTERN_PPP_DATA_H
#define POSTERN_PPP_DATA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "selector.h"

typedef struct {
  _Atomic uint64_t rx_packets, rx_bytes; /* IP from the peer written into the TUN (IP bytes) */
  _Atomic uint64_t tx_packets, tx_bytes; /* IP from the TUN framed and sent to the peer (IP bytes) */
  _Atomic uint64_t up;                   /* the session's frames left to JavaScript (LCP, NCPs, DHCPINFORM, ...) */
  _Atomic uint64_t drop_source;          /* IP from an address that is not the session's */
  _Atomic uint64_t drop_malformed;       /* a PPP frame or IP packet cut short or inconsistent */
  _Atomic uint64_t drop_tx;              /* could not be framed or sealed toward the peer */
} dp_ppp_stats;

/* SSTP (issue 23, sstp_call.h): data packets of a call whose TLS runs in the driver. */
typedef enum { DP_PPP_LOWER_L2TP = 1, DP_PPP_LOWER_PPTP = 2, DP_PPP_LOWER_SSTP = 3 } dp_ppp_lower;

typedef struct {
  dp_ppp_lower lower;
  uint16_t tunnel_id, session_id;           /* L2TP: ours, what the peer's data messages carry */
  uint16_t peer_tunnel_id, peer_session_id; /* L2TP: the peer's, what ours carry */
  uint16_t local_port, peer_port;           /* L2TP: UDP ports, network order */
  unsigned mtu;                             /* the peer's MRU: TCP SYNs toward it are clamped to fit */
  dp_prefix_set sources;                    /* the session's addresses (and a site's subnets): allowed from the peer, routed to it */
} dp_ppp_config;

typedef struct dp_ppp_session dp_ppp_session;

/* NULL when the configuration is unusable (no addresses: an empty set would allow any source). */
dp_ppp_session *dp_ppp_session_new(const dp_ppp_config *c);
/* Only once no lower layer can hand it a packet (see dp_tunnel_ppp_release). */
void dp_ppp_session_free(dp_ppp_session *s);
const dp_ppp_config *dp_ppp_session_config(const dp_ppp_session *s);
const dp_ppp_stats *dp_ppp_session_stats(const dp_ppp_session *s);
dp_ppp_stats *dp_ppp_session_counters(dp_ppp_session *s);

/* The lower layers a session is attached to (JavaScript thread only): opaque to this file. */
#define DP_PPP_MAX_LOWERS 8
bool dp_ppp_session_link(dp_ppp_session *s, void *lower);   /* false when full */
void dp_ppp_session_unlink(dp_ppp_session *s, void *lower);
void *dp_ppp_session_linked(const dp_ppp_session *s, size_t i); /* NULL past the end */

typedef enum {
  DP_PPP_RX_TUN,  /* IP of the session's: *ip / *ip_len (inside the frame) go into the TUN */
  DP_PPP_RX_UP,   /* for JavaScript: hand the whole lower-layer packet up as before */
  DP_PPP_RX_DROP, /* counted */
} dp_ppp_rx_verdict;

/* One PPP frame from the peer: Address/Control optional, the protocol field in one byte or two
 * (RFC 1661 §6.5, 6.6). Counts what it decides. */
dp_ppp_rx_verdict dp_ppp_rx_frame(dp_ppp_session *s, const uint8_t *frame, size_t len, const uint8_t **ip, size_t *ip_len);

/* Is the packet's destination one of the session's addresses (the TUN's side)? */
bool dp_ppp_owns(const dp_ppp_session *s, const uint8_t *packet, size_t len);

/* The PPP header in front of an IP packet: Address, Control (always sent: every peer takes them,
 * whatever ACFC said) and the two-byte protocol. 4, or 0 when it is not IPv4 or IPv6. */
size_t dp_ppp_header(const uint8_t *ip, size_t len, uint8_t out[4]);

/* L2TP's header (RFC 2661 §3.1). */
typedef struct {
  bool control;         /* T: a control message, never ours */
  bool sequenced;       /* S: Ns and Nr present */
  uint16_t tunnel_id, session_id, ns, nr;
  size_t payload;       /* where the PPP frame starts */
  size_t end;           /* where the message ends (Length when present, else the datagram's end) */
} dp_l2tp_header;

/* Validates and reads the header of a UDP payload; false for anything malformed or not version 2. */
bool dp_l2tp_parse(const uint8_t *d, size_t len, dp_l2tp_header *h);
/* Is this data message the session's (our tunnel and session IDs)? */
bool dp_l2tp_is_session(const dp_ppp_session *s, const dp_l2tp_header *h);

/* What an L2TP/IPsec session's data message from the peer (a UDP payload) becomes. Sequenced data
 * messages go up: JavaScript numbers the session's frames once the peer does (§5.4). */
dp_ppp_rx_verdict dp_l2tp_rx(dp_ppp_session *s, const dp_l2tp_header *h, const uint8_t *d, const uint8_t **ip, size_t *ip_len);

/* The way out: UDP header (checksum 0, RFC 768) + L2TP data header (no Length, no sequence) + PPP
 * header + the IP packet, into `out`: what ESP transport mode seals as next header 17. Its length,
 * or 0 when it does not fit `cap`. */
#define DP_L2TP_OVERHEAD (8 + 6 + 4)
size_t dp_l2tp_frame(const dp_ppp_session *s, const uint8_t *ip, size_t len, uint8_t *out, size_t cap);

#endif
