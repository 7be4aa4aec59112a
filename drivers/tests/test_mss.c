/* MSS clamping: SYNs lowered with a still-valid TCP checksum; everything else untouched. */
#include "mss_clamp.h"
#include "inet_checksum.h"
#include "tap.h"

void test_mss(void);

/* An IPv4 SYN with the given options (padded to 4 bytes) and a correct checksum. */
static size_t syn4(uint8_t *p, const uint8_t *opts, size_t optlen, uint8_t flags) {
  memset(p, 0, 80);
  size_t olen = (optlen + 3) & ~(size_t)3, len = 20 + 20 + olen;
  p[0] = 0x45; p[2] = 0; p[3] = (uint8_t)len; p[8] = 64; p[9] = 6;
  p[12] = 10; p[13] = 1; p[15] = 10; p[16] = 10; p[17] = 2; p[19] = 10;
  p[20] = 0xc0; p[21] = 0x01; p[22] = 0x00; p[23] = 0x50; p[27] = 1;
  p[32] = (uint8_t)((20 + olen) / 4) << 4; p[33] = flags; p[34] = 0xfa; p[35] = 0xf0;
  memcpy(p + 40, opts, optlen);
  fix(p, len);
  return len;
}

void test_mss(void) {
  uint8_t p[128];
  const uint8_t mss1460[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
  size_t len = syn4(p, mss1460, sizeof mss1460, 0x02);
  CHECK(verify(p, len) == 0, "MSS: the test SYN's checksum is right to begin with");
  CHECK(dp_clamp_mss(p, len, 1400) && p[42] == 0x05 && p[43] == 0x50 && verify(p, len) == 0, "MSS: 1460 lowered to 1360 for MTU 1400, checksum still valid");
  CHECK(!dp_clamp_mss(p, len, 1400), "MSS: a second pass changes nothing");
  const uint8_t odd[] = {1, 2, 4, 0x05, 0xb4, 1, 1, 1};
  len = syn4(p, odd, sizeof odd, 0x12); /* SYN-ACK, option at an odd offset */
  CHECK(dp_clamp_mss(p, len, 1400) && p[43] == 0x05 && p[44] == 0x50 && verify(p, len) == 0, "MSS: an option at an odd offset, in a SYN-ACK");
  len = syn4(p, mss1460, sizeof mss1460, 0x10);
  CHECK(!dp_clamp_mss(p, len, 1400) && p[43] == 0xb4, "MSS: not a SYN: untouched");
  const uint8_t small[] = {2, 4, 0x02, 0x18};
  len = syn4(p, small, sizeof small, 0x02);
  CHECK(!dp_clamp_mss(p, len, 1400), "MSS: already small enough: untouched");
  const uint8_t broken[] = {2, 0, 0x05, 0xb4};
  len = syn4(p, broken, sizeof broken, 0x02);
  CHECK(!dp_clamp_mss(p, len, 1400), "MSS: a zero-length option stops the walk");
  len = syn4(p, mss1460, sizeof mss1460, 0x02);
  p[6] = 0x00; p[7] = 0x10; /* a later fragment */
  CHECK(!dp_clamp_mss(p, len, 1400), "MSS: fragments are left alone");
  CHECK(!dp_clamp_mss(p, 30, 1400) && !dp_clamp_mss(p, 0, 1400), "MSS: short packets are left alone");

  uint8_t v6[100];
  memset(v6, 0, sizeof v6);
  v6[0] = 0x60; v6[5] = 24; v6[6] = 6; v6[7] = 64; v6[8] = 0xfd; v6[23] = 1; v6[24] = 0xfd; v6[39] = 2;
  v6[52] = 6 << 4; v6[53] = 0x02; v6[60] = 2; v6[61] = 4; v6[62] = 0x05; v6[63] = 0xa0;
  fix(v6, 64);
  CHECK(dp_clamp_mss(v6, 64, 1400) && v6[62] == 0x05 && v6[63] == 0x3c && verify(v6, 64) == 0, "MSS: IPv6 SYN lowered to 1340");
}
