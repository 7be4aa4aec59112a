/* Fuzz target: kTLS's parsers (issue 23, sstp_ktls.h) on any bytes. The record-boundary follower,
 * given a stream cut where the input says, must count exactly the records a plain walk of the whole
 * stream finds and never ask for more than the current record still needs; a non-data record's
 * meaning is one of four whatever its bytes; a keylog line of any shape never yields more than 48
 * bytes of secret. libFuzzer style; `make fuzz-smoke` runs main() below on random and mutated
 * genuine streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sstp_ktls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long records, parsed;

/* Complete records in d[0..n), walked whole. */
static uint64_t walk(const uint8_t *d, size_t n) {
  uint64_t count = 0;
  for (size_t at = 0; at + 5 <= n;) {
    size_t end = at + 5 + ((size_t)d[at + 3] << 8 | d[at + 4]);
    if (end > n) break;
    count++;
    at = end;
  }
  return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  /* The first byte picks the cuts' stride; the stream is the rest. */
  size_t stride = 1 + data[0] % 97;
  const uint8_t *s = data + 1;
  size_t n = size - 1;
  dp_ktls_pending p = {0};
  for (size_t at = 0; at < n; at += stride) {
    size_t take = n - at < stride ? n - at : stride;
    dp_ktls_track(&p, s + at, take);
    size_t want = dp_ktls_to_boundary(&p);
    if (want > 0xffff || (p.hdr_have > 0 && p.hdr_have < 5 && want > 5)) __builtin_trap();
  }
  if (p.seen_records != walk(s, n)) __builtin_trap();
  records += p.seen_records;
  dp_ktls_record r = dp_ktls_control(data[0], s, n);
  if (r != DP_KTLS_RECORD_IGNORE && r != DP_KTLS_RECORD_CLOSED && r != DP_KTLS_RECORD_KEY_UPDATE && r != DP_KTLS_RECORD_FATAL) __builtin_trap();
  char line[600];
  size_t len = n < sizeof line - 1 ? n : sizeof line - 1;
  memcpy(line, s, len);
  line[len] = 0;
  dp_ktls_keylog(&p, line);
  if (p.client_len > DP_TLS_MAX_SECRET || p.server_len > DP_TLS_MAX_SECRET) __builtin_trap();
  parsed++;
  return 0;
}

#ifndef FUZZ_NO_MAIN
#include "fuzz_random.h"

int main(int argc, char **argv) {
  long runs = argc > 1 ? atol(argv[1]) : 100000;
  static uint8_t buf[4096];
  static const char hex[] = "0123456789abcdef";
  for (long r = 0; r < runs; r++) {
    size_t len = 0;
    buf[len++] = (uint8_t)next();
    if (r % 3 == 0) { /* random bytes */
      size_t n = next() % 1500;
      for (size_t i = 0; i < n; i++) buf[len++] = (uint8_t)next();
    } else if (r % 3 == 1) { /* records of random lengths, a few bits flipped */
      for (int k = (int)(next() % 8); k >= 0; k--) {
        size_t body = next() % 400;
        if (len + 5 + body > sizeof buf) break;
        buf[len] = 23, buf[len + 1] = 3, buf[len + 2] = 3, buf[len + 3] = (uint8_t)(body >> 8), buf[len + 4] = (uint8_t)body;
        for (size_t i = 0; i < body; i++) buf[len + 5 + i] = (uint8_t)next();
        len += 5 + body;
      }
      for (int m = (int)(next() % 3); m > 0; m--) buf[1 + next() % (len - 1)] ^= (uint8_t)(1u << (next() % 8));
    } else { /* a keylog line, its hex of any length and sometimes not hex */
      const char *label = next() % 2 ? "CLIENT_TRAFFIC_SECRET_0 " : "SERVER_TRAFFIC_SECRET_0 ";
      memcpy(buf + len, label, strlen(label));
      len += strlen(label);
      for (size_t i = 0, n = next() % 200; i < n; i++) buf[len++] = next() % 50 ? (uint8_t)hex[next() % 16] : (uint8_t)next();
    }
    LLVMFuzzerTestOneInput(buf, len);
  }
  printf("fuzz_ktls: %ld runs, %lu parsed, %lu records, no crash\n", runs, parsed, records);
  return 0;
}
#endif
