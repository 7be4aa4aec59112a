/* The Internet checksum (RFC 1071) pieces the packet code shares: a running 16-bit sum, folded. */
#ifndef POSTERN_INET_SUM_H
#define POSTERN_INET_SUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds `len` bytes as big-endian 16-bit words (an odd last byte padded with zero) to `sum`.
 * Every TCP segment cut or merged is summed whole, so this runs over most bytes forwarded: it adds
 * 32-bit words in host order into 64 bits (RFC 1071 §2: the one's-complement sum does not depend
 * on byte order), folds, and swaps the 16-bit result to big-endian order only at the end. */
static inline uint32_t dp_sum16(const uint8_t *d, size_t len, uint32_t sum) {
  uint64_t wide = 0;
  size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    uint32_t w[4];
    memcpy(w, d + i, sizeof w);
    wide += (uint64_t)w[0] + w[1] + w[2] + w[3];
  }
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    memcpy(&w, d + i, sizeof w);
    wide += w;
  }
  uint8_t tail[4] = {0, 0, 0, 0}; /* the last 0–3 bytes, zero-padded: a big-endian odd byte is a high byte */
  memcpy(tail, d + i, len - i);
  uint32_t w;
  memcpy(&w, tail, sizeof w);
  wide += w;
  while (wide >> 16) wide = (wide & 0xffff) + (wide >> 16);
  uint16_t folded = (uint16_t)wide;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  folded = (uint16_t)(folded << 8 | folded >> 8);
#endif
  return sum + folded;
}

/* The sum folded to 16 bits, not complemented (a pseudo-header sum left for offload). */
static inline uint16_t dp_fold_raw(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* The checksum to write: the folded sum, complemented. */
static inline uint16_t dp_fold(uint32_t sum) { return (uint16_t)~dp_fold_raw(sum); }

#endif
