/* PPTP's data channel (RFC 2637 §4.4): one raw GRE socket (IP protocol 47) carries the PPP frames
 * of every call in enhanced GRE. The receiving thread takes each packet to its call by the call ID
 * in the key field (the ID this side gave the peer), refuses it from any other address, drops
 * duplicates and late packets (a sequence number not after the highest seen), notes what to
 * acknowledge, and hands the PPP frame up through a pipe tagged with the call: PPP, its
 * authentication and MPPE run in JavaScript, as for SSTP. Frames from JavaScript leave with the
 * call's next sequence number and the acknowledgement piggybacked; a call that received in a
 * batch and has not acknowledged since gets an acknowledgement-only packet at the batch's end, so
 * the peer's send window keeps moving while this side has nothing to say. */
#ifndef POSTERN_PPTP_GRE_H
#define POSTERN_PPTP_GRE_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pipe.h"

typedef struct dp_pptp dp_pptp;

typedef struct {
  _Atomic uint64_t rx, frames_up, acks_received, tx, acks_sent, send_errors;
  _Atomic uint64_t malformed;   /* not enhanced GRE, or cut short */
  _Atomic uint64_t unknown_call, wrong_peer, out_of_order;
  _Atomic uint64_t not_pptp;    /* GRE version 0 (site tunnels' plain GRE shares the protocol) */
} dp_pptp_stats;

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

/* For the fuzzer: an endpoint without socket or thread, and one packet as the raw socket hands it
 * over (IPv4 header first), handled as a batch of one (acknowledgements fail to send, counted). */
dp_pptp *dp_pptp_new(dp_pipe *pipe);
void dp_pptp_receive(dp_pptp *p, const uint8_t *packet, size_t len);

#endif
