/* Fuzz target: any bytes as a call's TLS plaintext (issue 23), cut at points the input chooses:
 * the deframer must hand over pieces that lie inside what it was given or held, each a whole
 * packet by its own Length (or the head, ending in its empty line), stop for good at the first
 * error, and never read past its input. A data piece then goes through the PPP data path as the
 * call would take it. libFuzzer style; `make fuzz-smoke` runs main() below: random streams and
 * mutated genuine ones (a head, then control and data packets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ppp_data.h"
#include "sstp_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dp_ppp_session *session;
static unsigned long pieces;

static void check(void *ctx, dp_sstp_piece kind, const uint8_t *p, size_t len) {
  (void)ctx;
  pieces++;
  if (kind == DP_SSTP_PIECE_HTTP_HEAD) {
    if (len < 4 || memcmp(p + len - 4, "\r\n\r\n", 4) != 0 || len > DP_SSTP_MAX_HTTP_HEAD) __builtin_trap();
    return;
  }
  if (len < DP_SSTP_HEADER || p[0] != DP_SSTP_VERSION || ((size_t)(p[2] & 0x0f) << 8 | p[3]) != len) __builtin_trap();
  if ((kind == DP_SSTP_PIECE_CONTROL) != ((p[1] & 1) != 0)) __builtin_trap();
  if (kind != DP_SSTP_PIECE_DATA) return;
  const uint8_t *ip = NULL;
  size_t ip_len = 0;
  if (dp_ppp_rx_frame(session, p + DP_SSTP_HEADER, len - DP_SSTP_HEADER, &ip, &ip_len) == DP_PPP_RX_TUN &&
      (ip < p + DP_SSTP_HEADER || ip + ip_len > p + len || ip_len < 20)) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!session) {
    dp_ppp_config c = {.lower = DP_PPP_LOWER_SSTP, .mtu = 1400};
    dp_prefix_set_add(&c.sources, "1.1.1.1/32");
    dp_prefix_set_add(&c.sources, "101::/64");
    session = dp_ppp_session_new(&c);
  }
  if (size < 1) return 0;
  /* The first byte chooses the cut size: 1 .. 256 bytes per feed, each copied to its exact size. */
  size_t step = (size_t)data[0] + 1;
  dp_sstp_deframer d;
  dp_sstp_deframer_init(&d);
  dp_sstp_error first = DP_SSTP_OK;
  for (size_t at = 1; at < size; at += step) {
    size_t n = size - at < step ? size - at : step;
    uint8_t *copy = malloc(n);
    memcpy(copy, data + at, n);
    unsigned long before = pieces;
    dp_sstp_error e = dp_sstp_feed(&d, copy, n, check, NULL);
    if (first && (e != first || pieces != before)) __builtin_trap(); /* an ended stream stays ended, silent */
    if (!first) first = e;
    if (d.have > DP_SSTP_MAX_HTTP_HEAD || (d.have > 0) != (d.buf != NULL) || (d.framed && d.have >= DP_SSTP_MAX_PACKET)) __builtin_trap();
    free(copy);
  }
  dp_sstp_deframer_free(&d);
  return 0;
}

#ifndef DP_LIBFUZZER
#include "fuzz_random.h"

int main(int argc, char **argv) {
  long runs = argc > 1 ? atol(argv[1]) : 100000;
  static uint8_t buf[9000];
  static const char head[] = "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n";
  for (long r = 0; r < runs; r++) {
    size_t len = 0;
    buf[len++] = (uint8_t)next();
    if (r % 4 == 0) {
      size_t n = next() % 600;
      for (size_t i = 0; i < n; i++) buf[len++] = (uint8_t)next();
    } else {
      memcpy(buf + len, head, sizeof head - 1);
      len += sizeof head - 1;
      for (int k = (int)(next() % 6); k >= 0; k--) { /* packets: IPv4 from the session, LCP, control, empty */
        uint64_t x = next();
        size_t data = x % 4 == 0 ? 0 : x % 4 == 1 ? 24 : 20 + next() % 1400;
        if (len + 4 + 4 + data > sizeof buf) break;
        uint8_t *p = buf + len;
        p[0] = DP_SSTP_VERSION;
        p[1] = x % 4 == 2 ? 1 : 0;
        size_t at = 4;
        if (data) {
          static const uint8_t ppp[] = {0xff, 0x03, 0x00, 0x21};
          memcpy(p + at, ppp, 4);
          at += 4;
          for (size_t i = 0; i < data; i++) p[at + i] = (uint8_t)next();
          p[at] = 0x45;
          p[at + 2] = (uint8_t)(data >> 8);
          p[at + 3] = (uint8_t)data;
          memcpy(p + at + 12, (const uint8_t[]){1, 1, 1, 1}, 4);
          at += data;
        }
        p[2] = (uint8_t)(at >> 8);
        p[3] = (uint8_t)at;
        len += at;
      }
      for (int m = (int)(next() % 3); m > 0; m--) buf[1 + next() % (len - 1)] ^= (uint8_t)(1u << (next() % 8)); /* a few bit flips */
    }
    LLVMFuzzerTestOneInput(buf, len);
  }
  printf("fuzz_sstp: %ld runs, %lu pieces, no crash\n", runs, pieces);
  return 0;
}
#endif
