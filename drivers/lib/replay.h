/* Anti-replay window, RFC 4303 §3.4.3 and Appendix A (ESN), kept as RFC 6479's bitmap of 64-bit
 * blocks: sliding the window clears whole blocks instead of shifting bits. */
#ifndef POSTERN_REPLAY_H
#define POSTERN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define DP_REPLAY_MAX_WINDOW 4096u

typedef struct {
  uint64_t top;          /* highest sequence number authenticated so far (0: none yet) */
  uint32_t window;       /* packets; 0 disables the check */
  uint32_t nblocks;      /* power of two, > window / 64; 0 with the check off */
  uint64_t *bitmap;      /* nblocks blocks, the caller's storage (an SA keeps only what its window needs) */
} dp_replay;

/* Blocks the largest window needs: room for any window on the stack. */
#define DP_REPLAY_MAX_BLOCKS (DP_REPLAY_MAX_WINDOW / 64 * 2)

/* Blocks of bitmap a window needs (0 for window 0 or one out of range). */
uint32_t dp_replay_blocks(uint32_t window);

/* window 0 (off) or 32..DP_REPLAY_MAX_WINDOW; false when out of range. `bitmap` holds
 * dp_replay_blocks(window) blocks (cleared here); it may be NULL for window 0. */
bool dp_replay_init(dp_replay *r, uint32_t window, uint64_t *bitmap);

/* The full 64-bit number for a received low half (RFC 4303 Appendix A); with esn false, just seq_lo. */
uint64_t dp_replay_infer(const dp_replay *r, uint32_t seq_lo, bool esn);

/* Before authentication: may this number be new? (cheap, no state change) */
bool dp_replay_check(const dp_replay *r, uint64_t seq);

/* After authentication: record it; false if it was a replay after all. */
bool dp_replay_update(dp_replay *r, uint64_t seq);

#endif
