/* PPTP's data channel (RFC 2637 §4.4): one raw GRE socket (IP protocol 47) carries the PPP frames
 * of every call in enhanced GRE. The receiving thread takes each packet to its call by the call ID
 * in the key field (the ID this side gave the peer), refuses it from any other address, drops
 * duplicates and late packets (a sequence number not after the highest seen), notes what to
 * acknowledge, and hands the PPP frame up through a pipe tagged with the call: PPP, its
 * authentication and MPPE run in JavaScript, as for SSTP. Frames from JavaScript leave with the
 * call's next sequence number and the acknowledgement piggybacked; a call that received in a
 * batch and has not acknowledged since gets an acknowledgement-only packet at the batch's end, so
 * the peer's send window keeps moving while this side has nothing to say.
 *
 * A call's PPP data path in C (issue 22): once IPCP is open with stateless MPPE, JavaScript hands
 * the call its MPPE state and a PPP data session (ppp_data.h, lower DP_PPP_LOWER_PPTP). From then
 * on the receiving thread decrypts every Compressed Datagram (0x00FD) of the call: IP of the
 * session's goes into the shared TUN, whatever else PPP carried inside MPPE (DHCPINFORM, router
 * solicitations) goes up decrypted, tagged DP_PPTP_TAG_DECRYPTED. The session's prefixes lead from
 * the hub to the call (a hub sink), whose IP is encrypted and framed here. Every other frame (LCP,
 * CCP with its Reset-Requests, IPCP, authentication) goes up exactly as before. A call's sending
 * (sequence numbers, the MPPE count) is serialized by its lock: the hub's threads, and JavaScript's
 * control frames, take turns. JavaScript takes the MPPE state back when it stops the data path. */
#ifndef POSTERN_PPTP_GRE_H
#define POSTERN_PPTP_GRE_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "mppe.h"
#include "pipe.h"
#include "ppp_data.h"

typedef struct dp_pptp dp_pptp;

typedef struct {
  _Atomic uint64_t rx, frames_up, acks_received, tx, acks_sent, send_errors;
  _Atomic uint64_t malformed;   /* not enhanced GRE, or cut short */
  _Atomic uint64_t unknown_call, wrong_peer, out_of_order;
  _Atomic uint64_t not_pptp;    /* GRE version 0 (site tunnels' plain GRE shares the protocol) */
  _Atomic uint64_t mppe_rx, mppe_tx;  /* packets decrypted and encrypted in C (issue 22) */
  _Atomic uint64_t mppe_late;         /* stateless MPPE: repeated, or more than half the count space ahead */
  _Atomic uint64_t mppe_malformed;    /* not a usable MPPE packet (header bits, truncated) */
  _Atomic uint64_t tun_errors;        /* IP the TUN refused */
} dp_pptp_stats;

#define DP_PPTP_TAG_DECRYPTED 0x80000000u /* with the call's tag: a frame MPPE carried, decrypted in C */

/* Opens the socket on `local` and starts the receiving thread; frames go into `pipe`. */
dp_pptp *dp_pptp_open(const struct sockaddr_in *local, dp_pipe *pipe, int *error);
/* Stops the thread, closes the socket, frees every call. */
void dp_pptp_close(dp_pptp *p);

/* JavaScript thread. A call: our call ID (what arrives in the key field), the peer's (what we
 * send), the peer's address, and the pipe tag of its frames. 0, -EEXIST or -ENOMEM. */
int dp_pptp_call_add(dp_pptp *p, uint16_t call_id, uint16_t peer_call_id, const struct sockaddr_in *peer, uint32_t tag);
/* Returns once the receiving thread can no longer hand up a frame of the call; -ENOENT if none. */
int dp_pptp_call_remove(dp_pptp *p, uint16_t call_id);
/* One PPP frame (address/control and protocol fields as the peer expects them) to the call's
 * peer. Bytes sent, or -errno (-ENOENT: no such call, -EMSGSIZE: too long). */
int dp_pptp_send(dp_pptp *p, uint16_t call_id, const uint8_t *frame, size_t len);

const dp_pptp_stats *dp_pptp_stats_of(const dp_pptp *p);

/* Issue 22, JavaScript thread. The call's data path: a PPP data session from `config` (lower
 * DP_PPP_LOWER_PPTP), the MPPE state of each direction (tx: ours, rx: the peer's), IP into `tun_fd`
 * (after a blank vnet header when `offload`), the session's prefixes routed from `hub` to the call
 * (NULL: none, for tests). 0, -ENOENT (no call), -EEXIST, -EINVAL (configuration or state), -ENOMEM. */
int dp_pptp_data_start(dp_pptp *p, uint16_t call_id, const dp_ppp_config *config, const dp_mppe_state *tx, const dp_mppe_state *rx, dp_hub *hub, int tun_fd, bool offload);
/* Routes gone, then the MPPE states where they are now (JavaScript resumes from them; either may be
 * NULL); returns once no thread can still use the data path. 0 or -ENOENT. */
int dp_pptp_data_stop(dp_pptp *p, uint16_t call_id, dp_mppe_state *tx, dp_mppe_state *rx);
/* The data path's counters, copied; -ENOENT without one. */
int dp_pptp_data_stats(dp_pptp *p, uint16_t call_id, dp_ppp_stats *out);
/* One IP packet of JavaScript's (a DHCPINFORM answer, a router advertisement) to the peer through
 * the call's MPPE. Bytes sent, or -errno (-ENOENT: no data path, -EMSGSIZE). */
int dp_pptp_send_ip(dp_pptp *p, uint16_t call_id, const uint8_t *ip, size_t len);

/* For the fuzzer: an endpoint without socket or thread, and one packet as the raw socket hands it
 * over (IPv4 header first), handled as a batch of one (acknowledgements fail to send, counted). */
dp_pptp *dp_pptp_new(dp_pipe *pipe);
void dp_pptp_receive(dp_pptp *p, const uint8_t *packet, size_t len);
/* For the tests: packets handled as one received batch (GRO merges within a batch). */
void dp_pptp_receive_batch(dp_pptp *p, const uint8_t *const *packets, const size_t *lens, size_t count);
/* For the tests: where packets go instead of the socket (the GRE packet and the peer's address). */
typedef int (*dp_pptp_output_fn)(void *ctx, const uint8_t *gre, size_t len, uint32_t peer_addr);
void dp_pptp_set_output(dp_pptp *p, dp_pptp_output_fn output, void *ctx);
/* For the tests: what the hub does with a packet routed to the call (sealed and held; sent once
 * TX_BATCH wait), and at the end of its run (what waits is sent, the call's send lock let go). */
void dp_pptp_data_tx(dp_pptp *p, uint16_t call_id, const uint8_t *ip, size_t len);
void dp_pptp_data_flush(dp_pptp *p, uint16_t call_id);

#endif
