#include "sstp_frame.h"

#include <stdlib.h>
#include <string.h>

void dp_sstp_deframer_init(dp_sstp_deframer *d) {
  d->framed = false;
  d->error = DP_SSTP_OK;
  d->have = 0;
  d->buf = NULL;
}

void dp_sstp_deframer_free(dp_sstp_deframer *d) {
  free(d->buf);
  d->buf = NULL;
  d->have = 0;
}

/* The buffer before bytes are held in it; false (the error set) without memory. */
static bool hold(dp_sstp_deframer *d) {
  if (!d->buf && !(d->buf = malloc(DP_SSTP_MAX_HTTP_HEAD))) d->error = DP_SSTP_NO_MEMORY;
  return d->buf != NULL;
}

/* The end of the head (past "\r\n\r\n") in buf[0 .. have), searched from `from`; 0 when absent. */
static size_t head_end(const uint8_t *b, size_t have, size_t from) {
  for (size_t i = from >= 3 ? from - 3 : 0; i + 4 <= have; i++)
    if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') return i + 4;
  return 0;
}

/* A packet's length from its first 4 bytes, or 0 with the error set. */
static size_t packet_length(dp_sstp_deframer *d, const uint8_t *h) {
  if (h[0] != DP_SSTP_VERSION) { d->error = DP_SSTP_BAD_VERSION; return 0; }
  size_t n = (size_t)(h[2] & 0x0f) << 8 | h[3];
  if (n < DP_SSTP_HEADER) { d->error = DP_SSTP_BAD_LENGTH; return 0; }
  return n;
}

static void deliver(dp_sstp_piece_fn each, void *ctx, const uint8_t *p, size_t n) {
  each(ctx, (p[1] & 1) ? DP_SSTP_PIECE_CONTROL : DP_SSTP_PIECE_DATA, p, n);
}

/* The HTTP head, collected in buf: how many input bytes it used. */
static size_t feed_head(dp_sstp_deframer *d, const uint8_t *in, size_t len, dp_sstp_piece_fn each, void *ctx) {
  if (!hold(d)) return 0;
  size_t room = DP_SSTP_MAX_HTTP_HEAD - d->have, take = len < room ? len : room, from = d->have;
  memcpy(d->buf + d->have, in, take);
  d->have += take;
  size_t end = head_end(d->buf, d->have, from);
  if (!end) {
    if (d->have == DP_SSTP_MAX_HTTP_HEAD) d->error = DP_SSTP_HEAD_TOO_LONG;
    return take;
  }
  each(ctx, DP_SSTP_PIECE_HTTP_HEAD, d->buf, end);
  d->framed = true;
  size_t used = end - from; /* the head's bytes of this input; the rest are packets */
  d->have = 0;
  return used;
}

dp_sstp_error dp_sstp_feed(dp_sstp_deframer *d, const uint8_t *in, size_t len, dp_sstp_piece_fn each, void *ctx) {
  while (len > 0 && !d->error) {
    if (!d->framed) {
      size_t used = feed_head(d, in, len, each, ctx);
      in += used;
      len -= used;
      continue;
    }
    if (d->have == 0) {
      /* Whole packets straight from the input: no copy on the common path. */
      if (len < DP_SSTP_HEADER) break;
      size_t n = packet_length(d, in);
      if (!n) break;
      if (n > len) break;
      deliver(each, ctx, in, n);
      in += n;
      len -= n;
      continue;
    }
    /* Completing a packet cut by the previous read: first its header, then the rest. */
    size_t want = DP_SSTP_HEADER;
    if (d->have >= DP_SSTP_HEADER) want = packet_length(d, d->buf);
    size_t take = want - d->have < len ? want - d->have : len;
    memcpy(d->buf + d->have, in, take);
    d->have += take;
    in += take;
    len -= take;
    if (d->have == DP_SSTP_HEADER && packet_length(d, d->buf) == 0) break;
    if (d->have >= DP_SSTP_HEADER && d->have == packet_length(d, d->buf)) {
      deliver(each, ctx, d->buf, d->have);
      d->have = 0;
    }
  }
  if (d->framed && !d->error && len > 0 && hold(d)) {
    /* The start of a packet the input cut short. Its header is checked once it is whole. */
    memcpy(d->buf, in, len);
    d->have = len;
    if (len >= DP_SSTP_HEADER) packet_length(d, d->buf);
  }
  if (d->have == 0 && d->framed) { /* nothing held: the buffer goes until a read cuts a packet again */
    free(d->buf);
    d->buf = NULL;
  }
  return d->error;
}

bool dp_sstp_data_header(size_t data_len, uint8_t out[DP_SSTP_HEADER]) {
  size_t n = data_len + DP_SSTP_HEADER;
  if (n > DP_SSTP_MAX_PACKET) return false;
  out[0] = DP_SSTP_VERSION;
  out[1] = 0;
  out[2] = (uint8_t)(n >> 8);
  out[3] = (uint8_t)n;
  return true;
}
