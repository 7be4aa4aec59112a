/* The word-wide Internet checksum against the plain definition: big-endian 16-bit words. */
#include <stdlib.h>

#include "inet_sum.h"
#include "tap.h"

void test_inet_sum(void);

/* RFC 1071 as written: one 16-bit word at a time, an odd last byte padded with zero. */
static uint16_t reference(const uint8_t *d, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(d[i] << 8 | d[i + 1]);
  if (len & 1) sum += (uint32_t)d[len - 1] << 8;
  return dp_fold(sum);
}

void test_inet_sum(void) {
  static uint8_t buf[70000];
  srand(1071);
  int mismatches = 0;
  for (int round = 0; round < 20000; round++) {
    size_t offset = (size_t)rand() % 8, len = round < 64 ? (size_t)round : (size_t)rand() % (round % 50 ? 1600 : 65536);
    uint8_t fill = (uint8_t)(round % 3 == 0 ? 0xff : round % 3 == 1 ? 0x00 : 0x5a); /* all-ones and zeros reach the folds' edges */
    for (size_t i = 0; i < len; i++) buf[offset + i] = round % 4 ? (uint8_t)rand() : fill;
    uint32_t start = round % 5 ? (uint32_t)rand() % 0x40000 : 0;
    if (dp_fold(dp_sum16(buf + offset, len, start)) != reference(buf + offset, len, start)) mismatches++;
  }
  CHECK(mismatches == 0, "checksum: the word-wide sum equals RFC 1071's 16-bit sum (20,000 buffers, every alignment and length, 0 to 64 KB)");
  const uint8_t rfc[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}; /* RFC 1071 §3's example: sum ddf2 */
  CHECK(dp_fold_raw(dp_sum16(rfc, sizeof rfc, 0)) == 0xddf2, "checksum: RFC 1071 §3 example sums to ddf2");
}
