/* SSTP calls with their whole TLS session in C (issue 23): no JavaScript per data packet.
 *
 * Design. Node's TLSSocket cannot hand over its record state (keys, sequence numbers, buffered
 * plaintext), so a call never starts in it: the listener accepts the TCP connection and hands its
 * fd to the driver before the first byte of TLS is read. The driver runs the TLS server on the
 * OpenSSL that Node ships (the addon resolves SSL_* against the node binary, as ESP does with
 * libcrypto): one SSL_CTX per certificate (PEM chain and key from JavaScript), one SSL per call on
 * memory BIOs. Memory BIOs keep every socket operation ours: reads and writes never block, a full
 * socket never leaves a half-written record inside OpenSSL (a data packet that finds more than
 * DP_SSTP_TX_BACKLOG bytes queued is dropped before sealing, counted: TCP inside backs off), and
 * the same loop serves kTLS later (below). One thread per engine (not per call: thousands of calls
 * must stay cheap) waits on all calls' sockets with epoll, edge-triggered, and for each readable
 * call reads, decrypts (SSL_read: TLS 1.3 and 1.2, every suite OpenSSL negotiates; KeyUpdate is
 * answered by OpenSSL inside SSL_read, so a key change loses nothing) and cuts the plaintext
 * (sstp_frame.h). What goes where:
 *   - the client's HTTP request head, SSTP control packets, and data packets whose PPP frame is not
 *     IP of the call's (LCP, NCPs, authentication, CCP, DHCPINFORM; everything before JavaScript
 *     starts the data path) go up a pipe tagged with the call, whole (the head starts with an ASCII
 *     letter, a packet with 0x10), exactly the bytes the JavaScript engines take today;
 *   - once JavaScript starts the data path (IPCP open: the session's addresses), IP in data packets
 *     goes through the PPP data path (ppp_data.h, lower layer DP_PPP_LOWER_SSTP) into the shared
 *     TUN, and the hub routes the session's addresses to the call (a hub sink): IP is framed (SSTP
 *     data header, PPP header), sealed and sent from the hub's thread;
 *   - JavaScript's own output (the HTTP response, control packets, PPP control frames) goes down
 *     through dp_sstp_call_send, sealed in stream order with the data under the call's lock;
 *   - the end of the call (close_notify, an alert, a reset, a broken SSTP stream) goes up as one
 *     empty message with the call's tag; why is in the call's counters.
 * The SSL object is used by three threads (the engine's reading, the hub's sending, JavaScript's
 * sending), one at a time under the call's mutex.
 *
 * kTLS (where the kernel has the tls module; sstp_ktls.h): after the handshake, the traffic secrets
 * (TLS 1.3: OpenSSL's keylog callback; TLS 1.2: the key block from the master secret) become
 * TLS_RX and TLS_TX crypto_info on the socket at the record sequence numbers OpenSSL is at, on a
 * record boundary; the memory BIOs are bypassed and the same loop reads and writes plaintext on the
 * fd (the write BIO then queues plaintext for a full socket, so the backlog rule holds). TLS 1.3
 * AES-GCM-128/256 and ChaCha20-Poly1305, TLS 1.2 AES-GCM and ChaCha20-Poly1305. Records that are not
 * application data arrive with their type (TLS_GET_RECORD_TYPE): close_notify ends the call as
 * before, tickets are ignored, and a KeyUpdate ends it (DP_SSTP_END_KEY_UPDATE: the kernel here
 * cannot be rekeyed and OpenSSL's state is behind, so a clear end rather than garbage; the client
 * dials again). Where the switch fails (no module, another suite, a KeyUpdate before the switch)
 * the call stays on the memory BIOs, said in its counters (ktls_rx, ktls_tx, ktls_error) and the
 * engine's.
 *
 * MPPE over SSTP is never negotiated in practice (the tunnel is already TLS); a call whose CCP
 * opens simply never starts the C data path and stays in JavaScript. */
#ifndef POSTERN_SSTP_CALL_H
#define POSTERN_SSTP_CALL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "pipe.h"
#include "ppp_data.h"

#define DP_SSTP_TX_BACKLOG (256 * 1024) /* sealed bytes waiting for the socket before data is dropped */

typedef struct dp_sstp_tls dp_sstp_tls;
typedef struct dp_sstp dp_sstp;
typedef struct dp_sstp_call dp_sstp_call;

typedef struct {
  _Atomic uint64_t bytes_in, bytes_out;       /* TLS bytes on the socket */
  _Atomic uint64_t pieces_up;                 /* HTTP head, control and non-data-path packets handed up */
  _Atomic uint64_t up_dropped;                /* and lost: the pipe full */
  _Atomic uint64_t data_in, data_out;         /* SSTP data packets of the data path: IP into the TUN, IP out */
  _Atomic uint64_t drop_backlog;              /* IP dropped: too much waiting for the socket */
  _Atomic uint64_t drop_tun;                  /* IP the TUN refused */
  _Atomic uint64_t sent;                      /* JavaScript's writes */
  _Atomic uint64_t ended;                     /* 0 while up; else one of DP_SSTP_END_* */
  _Atomic uint64_t ktls_rx, ktls_tx;          /* 1: the kernel decrypts / seals the call's records (sstp_ktls.h) */
  _Atomic uint64_t ktls_error;                /* why not (an errno: ENOENT no tls module, EOPNOTSUPP the suite, ...); 0 */
  _Atomic uint64_t bio_renewed;               /* drained memory BIOs swapped for empty ones (their buffers freed) */
  _Atomic uint64_t key_updates_in, key_updates_out; /* TLS 1.3 KeyUpdate messages read from the peer / sent */
} dp_sstp_call_stats;

enum { DP_SSTP_END_PEER_CLOSED = 1, DP_SSTP_END_TLS_ERROR, DP_SSTP_END_SOCKET_ERROR, DP_SSTP_END_BAD_STREAM, DP_SSTP_END_BACKLOG, DP_SSTP_END_KEY_UPDATE };

/* The engine's calls past their handshake: on kTLS both ways, on kernel RX only, or in userspace
 * (and the last reason, an errno). */
typedef struct {
  _Atomic uint64_t ktls_calls, ktls_rx_only, ktls_fallbacks;
  _Atomic uint64_t ktls_last_error;
  _Atomic uint64_t memory_trims; /* malloc_trim runs once handshakes went quiet for 1 s (their freed memory back to the kernel) */
} dp_sstp_stats;

/* A server certificate: the PEM chain (leaf first) and its private key. NULL with *error set
 * (-EINVAL: unreadable or not matching). TLS 1.2 and 1.3 only. */
dp_sstp_tls *dp_sstp_tls_new(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, int *error);
/* A dialer's context (Postern as the SSTP client): the server's chain must reach one of the CA
 * certificates in `ca_pem` (PEM, any number; the name is checked per call). Without a CA (ca_len 0)
 * nothing is verified here: the caller pins the certificate the call hands up. NULL with *error set
 * (-EINVAL: a CA given but no certificate readable in it). */
dp_sstp_tls *dp_sstp_tls_client_new(const char *ca_pem, size_t ca_len, int *error);
/* Only once no call uses it. */
void dp_sstp_tls_free(dp_sstp_tls *t);

/* The engine: its thread and where calls' pieces go up. */
dp_sstp *dp_sstp_open(dp_pipe *pipe, int *error);
/* Every call must have been removed first. */
void dp_sstp_close(dp_sstp *e);
/* kTLS for the calls whose handshake completes from now on (on by default; where the kernel has no
 * tls module it is tried and counted as a fallback). Off: every record stays on OpenSSL, for boards
 * whose kernel cannot take a TLS 1.3 KeyUpdate (before Linux 6.14) when clients send them. */
void dp_sstp_set_ktls(dp_sstp *e, bool on);
/* TLS 1.3 records a call seals on one key before it updates that key and asks the peer to update
 * its own (RFC 8446 §5.5: AES-GCM's limit is 2^24.5 full records per key); 0 restores the default.
 * Calls whose records the kernel seals (kTLS) are not rekeyed, and a call whose records the kernel
 * opens does not ask the peer: kernels before 6.14 cannot follow a new key. */
#define DP_SSTP_KEY_UPDATE_RECORDS (1ull << 24)
void dp_sstp_set_key_update_records(dp_sstp *e, uint64_t records);
const dp_sstp_stats *dp_sstp_stats_of(const dp_sstp *e);

/* JavaScript thread. A freshly accepted TCP socket (ownership taken, even on failure) and the bytes
 * JavaScript already read from it (`already`, may be empty): the listener may read the ClientHello
 * itself (server name, ACME's tls-alpn-01, and the held first flight sstpc needs) and hand the call
 * over after. `tun_fd` is where its IP goes (`offload`: that TUN takes a vnet header first). The
 * handshake starts at once. NULL with *error set. */
dp_sstp_call *dp_sstp_call_add(dp_sstp *e, dp_sstp_tls *tls, int fd, const uint8_t *already, size_t already_len, int tun_fd, bool offload, uint32_t tag,
                               int *error);
/* JavaScript thread. Postern as the client: a connected TCP socket (ownership taken, even on
 * failure) on which the driver starts the handshake at once with a client context. `server_name` (a
 * DNS name, sent as SNI, or an IP address; NULL: none) is what the certificate must name. Once the
 * handshake is done the server's certificate goes up as the call's first piece (DER, first byte
 * 0x30); then the stream as for a server's call (the response head, packets). A failed
 * verification ends the call (DP_SSTP_END_TLS_ERROR) and dp_sstp_call_verify_error says why. The
 * TUN comes with dp_sstp_call_start_data's hub. */
dp_sstp_call *dp_sstp_call_dial(dp_sstp *e, dp_sstp_tls *tls, int fd, const char *server_name, uint32_t tag, int *error);
/* A dialed call's server certificate's issuer in the verified chain (DER, valid while the call is),
 * once the certificate went up; 0 without one (no CA in the context, or a self-signed leaf). */
size_t dp_sstp_call_peer_issuer(dp_sstp_call *c, const uint8_t **der);
/* OpenSSL's reason a dialed call's certificate was refused, or NULL. */
const char *dp_sstp_call_verify_error(dp_sstp_call *c);

/* Stops the call (its routes, its socket) and returns once no thread can still use it. */
void dp_sstp_call_remove(dp_sstp *e, dp_sstp_call *c);

/* JavaScript's bytes for the peer (HTTP response, whole SSTP packets), sealed in order. Bytes
 * taken or -errno (-EPIPE: the call has ended). */
int dp_sstp_call_send(dp_sstp_call *c, const uint8_t *d, size_t len);

/* The data path (JavaScript thread, once IPCP or IPV6CP is open): IP from the session's sources
 * goes into the TUN; with a hub, its sources are routed to the call. Called again (the other NCP
 * opened, more prefixes), a new session with fresh counters replaces the old one and its routes.
 * 0 or -EINVAL / -ENOMEM. */
int dp_sstp_call_start_data(dp_sstp_call *c, const dp_ppp_config *config, dp_hub *hub);

/* The data path stopped (JavaScript thread): routes off the hub, IP no longer taken or sent in C
 * (data packets go up again), the TUN no longer written. The hub may close after it. */
void dp_sstp_call_stop_data(dp_sstp_call *c);

/* For tests: the call as the hub sees it (tx holds a run of packets, flush seals them as records). */
dp_hub_sink *dp_sstp_call_sink(dp_sstp_call *c);

/* For tests: one IP packet to the peer at once (the hub batches through the sink); counted when dropped. */
void dp_sstp_call_tx_ip(dp_sstp_call *c, const uint8_t *ip, size_t len);

const dp_sstp_call_stats *dp_sstp_call_stats_of(const dp_sstp_call *c);
/* The session's counters once the data path started, else NULL. */
const dp_ppp_stats *dp_sstp_call_ppp_stats(const dp_sstp_call *c);
/* "TLSv1.3" and the suite's name once the handshake is done, else empty strings. */
void dp_sstp_call_tls_info(dp_sstp_call *c, char version[16], char cipher[64]);

#endif
