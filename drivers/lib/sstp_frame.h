/* SSTP's byte stream in C (issue 23), sans I/O: what a call's TLS plaintext carries, cut into its
 * pieces, and the framing of IP toward the peer. The stream starts with the client's HTTP request
 * head ([MS-SSTP] §3.2.4.1: SSTP_DUPLEX_POST ... \r\n\r\n, no body before the SSTP packets), then
 * holds SSTP packets back to back (§2.2.1):
 *
 *   |    Version    |  Reserved   |C|   R   |        Length         |   Data ... (Length - 4 bytes)
 *
 * Version 0x10; Length is 12 bits and counts the header, so a packet is 4 .. 4095 bytes. C = 0: a
 * data packet, one PPP frame (§2.2.3); C = 1: a control packet for the JavaScript engine. A wrong
 * version or a Length below 4 leaves no way to find the next packet: the stream has failed. */
#ifndef POSTERN_SSTP_FRAME_H
#define POSTERN_SSTP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_SSTP_VERSION 0x10
#define DP_SSTP_HEADER 4
#define DP_SSTP_MAX_PACKET 0x0fff
#define DP_SSTP_MAX_HTTP_HEAD 4096 /* a client's request head is a few hundred bytes */

typedef enum {
  DP_SSTP_PIECE_HTTP_HEAD, /* the request head, up to and including its empty line */
  DP_SSTP_PIECE_DATA,      /* a whole data packet, header included */
  DP_SSTP_PIECE_CONTROL,   /* a whole control packet, header included */
} dp_sstp_piece;

typedef enum {
  DP_SSTP_OK = 0,
  DP_SSTP_BAD_VERSION,   /* not 0x10 where a packet starts */
  DP_SSTP_BAD_LENGTH,    /* a Length below the header's 4 bytes */
  DP_SSTP_HEAD_TOO_LONG, /* no end of the HTTP head within DP_SSTP_MAX_HTTP_HEAD bytes */
  DP_SSTP_NO_MEMORY,     /* no room to hold a piece cut by the end of a read */
} dp_sstp_error;

typedef struct {
  bool framed;         /* past the HTTP head */
  dp_sstp_error error; /* once set, the stream is over: nothing more is read */
  size_t have;         /* bytes held in buf: a piece cut by the end of a read */
  uint8_t *buf;        /* DP_SSTP_MAX_HTTP_HEAD bytes while a piece is held, else NULL: thousands of idle
                        * calls hold no buffer (memory per call, issue 23) */
} dp_sstp_deframer;

/* Each whole piece, in stream order; `piece` points into the input or into the deframer. */
typedef void (*dp_sstp_piece_fn)(void *ctx, dp_sstp_piece kind, const uint8_t *piece, size_t len);

void dp_sstp_deframer_init(dp_sstp_deframer *d);
/* What it holds, freed (the deframer may be initialised again). */
void dp_sstp_deframer_free(dp_sstp_deframer *d);
/* Takes the next bytes of the stream; DP_SSTP_OK, or the error that ended it (pieces before the
 * bad one were delivered). */
dp_sstp_error dp_sstp_feed(dp_sstp_deframer *d, const uint8_t *in, size_t len, dp_sstp_piece_fn each, void *ctx);

/* The header of a data packet of `data_len` bytes of PPP frame; false when it cannot fit 4095. */
bool dp_sstp_data_header(size_t data_len, uint8_t out[DP_SSTP_HEADER]);

#endif
