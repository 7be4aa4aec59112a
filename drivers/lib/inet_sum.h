/* The Internet checksum (RFC 1071) pieces the packet code shares: a running 16-bit sum, folded. */
#ifndef POSTERN_INET_SUM_H
#define POSTERN_INET_SUM_H

#include <stddef.h>
#include <stdint.h>

/* Adds `len` bytes as big-endian 16-bit words (an odd last byte padded with zero) to `sum`. */
static inline uint32_t dp_sum16(const uint8_t *d, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(d[i] << 8 | d[i + 1]);
  if (len & 1) sum += (uint32_t)d[len - 1] << 8;
  return sum;
}

/* The sum folded to 16 bits, not complemented (a pseudo-header sum left for offload). */
static inline uint16_t dp_fold_raw(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* The checksum to write: the folded sum, complemented. */
static inline uint16_t dp_fold(uint32_t sum) { return (uint16_t)~dp_fold_raw(sum); }

#endif
