#include "replay.h"
#include "tap.h"

void test_replay(void);

void test_replay(void) {
  dp_replay r;
  uint64_t bits[DP_REPLAY_MAX_BLOCKS];
  CHECK(!dp_replay_init(&r, 16, bits) && !dp_replay_init(&r, 8192, bits), "windows outside 32..4096 refused");
  CHECK(dp_replay_blocks(0) == 0 && dp_replay_blocks(32) == 2 && dp_replay_blocks(64) == 2 && dp_replay_blocks(65) == 4 &&
            dp_replay_blocks(1024) == 32 && dp_replay_blocks(4096) == DP_REPLAY_MAX_BLOCKS && dp_replay_blocks(8192) == 0,
        "the bitmap is sized to the window (a spare block, a power of two)");
  CHECK(dp_replay_init(&r, 1024, bits), "a 1024-packet window");
  CHECK(!dp_replay_check(&r, 0), "sequence number 0 is never valid");
  CHECK(dp_replay_update(&r, 1) && dp_replay_update(&r, 2) && dp_replay_update(&r, 5), "in order and a gap");
  CHECK(!dp_replay_update(&r, 2), "a duplicate is refused");
  CHECK(dp_replay_update(&r, 4) && dp_replay_update(&r, 3), "late but inside the window");
  CHECK(dp_replay_update(&r, 2000), "a jump forward");
  CHECK(!dp_replay_check(&r, 976), "left of the window (2000 - 1024) is too old");
  CHECK(dp_replay_check(&r, 977) && dp_replay_update(&r, 977), "the window's left edge is accepted");
  CHECK(!dp_replay_update(&r, 977), "and only once");
  CHECK(dp_replay_update(&r, 1000000) && !dp_replay_check(&r, 2000), "a huge jump clears old state");
  int ok = 1;
  for (uint64_t s = 1000001; s < 1000001 + 5000; s++) ok &= dp_replay_update(&r, s);
  for (uint64_t s = 1000001 + 5000 - 1024; s < 1000001 + 5000; s++) ok &= !dp_replay_check(&r, s);
  CHECK(ok, "5000 in order, then every one of the last 1024 is a replay");

  dp_replay e;
  uint64_t e_bits[2];
  dp_replay_init(&e, 64, e_bits);
  dp_replay_update(&e, 0xfffffff0ull);
  CHECK(dp_replay_infer(&e, 0xfffffff8u, true) == 0xfffffff8ull, "ESN: ahead in the same subspace");
  CHECK(dp_replay_infer(&e, 0x00000003u, true) == 0x100000003ull, "ESN: wrapped into the next subspace");
  dp_replay_update(&e, 0x100000003ull);
  CHECK(dp_replay_infer(&e, 0xffffffe0u, true) == 0xffffffe0ull, "ESN: late packet from the previous subspace");
  CHECK(dp_replay_infer(&e, 0x00000010u, true) == 0x100000010ull, "ESN: current subspace");
  CHECK(!dp_replay_check(&e, 0xfffffff0ull), "ESN: a replay across the wrap is caught");
  CHECK(dp_replay_infer(&e, 7, false) == 7, "without ESN the number is what was sent");

  dp_replay off;
  dp_replay_init(&off, 0, NULL);
  CHECK(dp_replay_update(&off, 9) && dp_replay_update(&off, 9), "window 0 disables the check");
}
