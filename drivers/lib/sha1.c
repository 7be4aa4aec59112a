#include "sha1.h"

#include <string.h>

static uint32_t rotl(uint32_t x, unsigned n) { return x << n | x >> (32 - n); }

/* One 64-byte block into the state (FIPS 180-4 §6.1.2), with a 16-word rolling schedule. */
static void compress(uint32_t h[5], const uint8_t *block) {
  uint32_t w[16];
  for (int t = 0; t < 16; t++) w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 | (uint32_t)block[4 * t + 2] << 8 | block[4 * t + 3];
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int t = 0; t < 80; t++) {
    if (t >= 16) w[t & 15] = rotl(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15], 1);
    uint32_t f, k;
    if (t < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
    else if (t < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
    else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
    else { f = b ^ c ^ d; k = 0xca62c1d6; }
    uint32_t temp = rotl(a, 5) + f + e + k + w[t & 15];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = temp;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
}

void dp_sha1(const uint8_t *data, size_t len, uint8_t out[DP_SHA1_LEN]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  size_t whole = len & ~(size_t)63;
  for (size_t at = 0; at < whole; at += 64) compress(h, data + at);
  /* The tail, 0x80, zeros and the length in bits (big-endian) fill one block or two. */
  uint8_t last[128] = {0};
  size_t rest = len - whole, blocks = rest < 56 ? 1 : 2;
  memcpy(last, data + whole, rest);
  last[rest] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) last[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t b = 0; b < blocks; b++) compress(h, last + 64 * b);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (uint8_t)(h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(h[i] >> 8);
    out[4 * i + 3] = (uint8_t)h[i];
  }
}
