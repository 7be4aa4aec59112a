/* Runs the fuzz target without libFuzzer: N inputs that are random bytes, or genuine packets (ESP,
 * and PPTP's enhanced GRE behind an IPv4 header) with random mutations (bit flips, truncation,
 * extension). Bounded by the count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esp.h"
#include "gre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_random.h"

int main(int argc, char **argv) {
  long runs = argc > 1 ? atol(argv[1]) : 100000;
  static const uint8_t key[36] = "fuzz-key-fuzz-key-fuzz-key-fuzz-sal";
  dp_status st;
  dp_sa_config c = {.spi = 0x01020304, .suite = DP_SUITE_AES_GCM_128, .replay_window = 64, .enc_key = key, .enc_key_len = 20};
  dp_sa *tx = dp_sa_new(&c, &st);
  uint8_t buf[2048], payload[1500];
  for (long r = 0; r < runs; r++) {
    size_t len;
    if (r % 3 == 0) {
      len = next() % 300;
      for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)next();
    } else {
      size_t plen = next() % 1400;
      memset(payload, (int)r, plen);
      if (r % 3 == 1) {
        if (dp_esp_encrypt(tx, payload, plen, 4, NULL, buf, sizeof buf, &len) != DP_OK) return 2;
      } else { /* a PPTP frame from 1.1.1.1 for call 0x0101 (fuzz_esp.c's), sequence and ack random */
        static const uint8_t ipv4[20] = {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 47, 0, 0, 1, 1, 1, 1, 10, 0, 0, 1};
        dp_gre_header h = {.version = 1, .protocol = DP_GRE_PROTO_PPP, .call_id = 0x0101, .has_seq = next() % 4 != 0, .seq = (uint32_t)next(), .has_ack = next() & 1, .ack = (uint32_t)next()};
        memcpy(buf, ipv4, sizeof ipv4);
        memcpy(buf + 20 + dp_gre_header_size(&h), payload, plen);
        if (dp_gre_build(&h, buf + 20, sizeof buf - 20, plen, &len) != DP_GRE_OK) return 2;
        len += 20;
      }
      for (int flips = (int)(next() % 4); flips > 0; flips--) buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
      if (next() % 4 == 0) len = next() % (len + 1);
      else if (next() % 8 == 0) { size_t extra = next() % 64; memset(buf + len, 0xa5, extra); len += extra; }
    }
    LLVMFuzzerTestOneInput(buf, len);
  }
  printf("fuzz-smoke: %ld inputs through every suite's SAs (with and without ESN), no crash\n", runs);
  dp_sa_free(tx);
  return 0;
}
