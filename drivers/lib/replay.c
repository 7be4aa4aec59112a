#include "replay.h"

#include <string.h>

static bool window_ok(uint32_t window) { return window == 0 || (window >= 32 && window <= DP_REPLAY_MAX_WINDOW); }

uint32_t dp_replay_blocks(uint32_t window) {
  if (window == 0 || !window_ok(window)) return 0;
  uint32_t blocks = 1;
  while (blocks * 64 < window + 64) blocks <<= 1; /* one spare block so the window never straddles a cleared one */
  return blocks;
}

bool dp_replay_init(dp_replay *r, uint32_t window, uint64_t *bitmap) {
  memset(r, 0, sizeof *r);
  if (!window_ok(window)) return false;
  r->window = window;
  r->nblocks = dp_replay_blocks(window);
  r->bitmap = bitmap;
  if (r->nblocks) memset(bitmap, 0, r->nblocks * sizeof *bitmap);
  return true;
}

uint64_t dp_replay_infer(const dp_replay *r, uint32_t seq_lo, bool esn) {
  if (!esn) return seq_lo;
  uint32_t tl = (uint32_t)r->top;
  uint32_t th = (uint32_t)(r->top >> 32);
  uint32_t w = r->window ? r->window : 1;
  uint32_t seqh;
  if (tl >= w - 1) {
    /* Window within one 2^32 subspace: below its bottom means the next subspace. */
    seqh = seq_lo >= tl - w + 1 ? th : th + 1;
  } else {
    /* Window spans two subspaces: high numbers belong to the previous one. */
    seqh = seq_lo >= tl - w + 1 ? th - 1 : th;
    if (th == 0 && seqh == UINT32_MAX) seqh = 0;
  }
  return ((uint64_t)seqh << 32) | seq_lo;
}

static bool bit_is_set(const dp_replay *r, uint64_t seq) {
  uint64_t block = (seq >> 6) & (r->nblocks - 1);
  return (r->bitmap[block] >> (seq & 63)) & 1;
}

bool dp_replay_check(const dp_replay *r, uint64_t seq) {
  if (r->window == 0) return true;
  if (seq == 0 && r->top == 0) return false; /* numbering starts at 1 */
  if (seq > r->top) return true;
  if (seq + r->window <= r->top) return false; /* left of the window: too old */
  return !bit_is_set(r, seq);
}

bool dp_replay_update(dp_replay *r, uint64_t seq) {
  if (r->window == 0) {
    if (seq > r->top) r->top = seq;
    return true;
  }
  if (!dp_replay_check(r, seq)) return false;
  if (seq > r->top) {
    uint64_t from = r->top >> 6;
    uint64_t to = seq >> 6;
    uint64_t clear = to - from;
    if (clear > r->nblocks) clear = r->nblocks;
    for (uint64_t i = 1; i <= clear; i++) r->bitmap[(from + i) & (r->nblocks - 1)] = 0;
    r->top = seq;
  }
  r->bitmap[(seq >> 6) & (r->nblocks - 1)] |= 1ull << (seq & 63);
  return true;
}
