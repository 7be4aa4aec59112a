/* Internet checksums for the C tests: verify and set TCP checksums with their pseudo-headers. */
#ifndef POSTERN_TEST_INET_CHECKSUM_H
#define POSTERN_TEST_INET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "inet_sum.h"

/* The tests' short names for the library's own helpers. */
static inline uint32_t sum16(const uint8_t *d, size_t len, uint32_t sum) { return dp_sum16(d, len, sum); }
static inline uint16_t fold(uint32_t sum) { return dp_fold(sum); }

/* 0 when the packet's TCP checksum (with the IPv4 or IPv6 pseudo-header) is right. */
static inline uint16_t verify(const uint8_t *p, size_t len) {
  int v6 = p[0] >> 4 == 6;
  size_t tcp = v6 ? 40 : (size_t)(p[0] & 15) * 4, seg = len - tcp;
  uint32_t s = v6 ? sum16(p + 8, 32, 0) : sum16(p + 12, 8, 0);
  s += 6 + (uint32_t)seg;
  return fold(sum16(p + tcp, seg, s));
}
static inline void fix(uint8_t *p, size_t len) {
  size_t tcp = p[0] >> 4 == 6 ? 40 : (size_t)(p[0] & 15) * 4;
  p[tcp + 16] = p[tcp + 17] = 0;
  uint16_t c = verify(p, len);
  p[tcp + 16] = (uint8_t)(c >> 8);
  p[tcp + 17] = (uint8_t)c;
}

#endif
