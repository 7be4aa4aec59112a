/* The standalone fuzz drivers' random numbers: xorshift64* from a fixed seed, so a run that finds
 * something can be repeated exactly. */
#ifndef POSTERN_FUZZ_RANDOM_H
#define POSTERN_FUZZ_RANDOM_H

#include <stdint.h>

static uint64_t fuzz_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t next(void) {
  fuzz_state ^= fuzz_state >> 12;
  fuzz_state ^= fuzz_state << 25;
  fuzz_state ^= fuzz_state >> 27;
  return fuzz_state * 0x2545f4914f6cdd1dull;
}

#endif
