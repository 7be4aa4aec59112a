/* Cutting TUN super-segments: every segment a valid, in-sequence TCP/IP packet. */
#include "gso.h"
#include "inet_checksum.h"
#include "tap.h"

void test_gso(void);

typedef struct {
  int n;
  uint8_t data[8192];
  size_t data_len;
  int ok;
  uint32_t first_seq;
  int version;
} collected;

/* Checks each segment as it comes and gathers the payloads. */
static int collect(void *ctx, const uint8_t *seg, size_t len) {
  collected *c = ctx;
  int v4 = seg[0] >> 4 == 4;
  size_t ip = v4 ? 20 : 40, hdrs = ip + 20;
  if (v4) {
    c->ok &= (size_t)(seg[2] << 8 | seg[3]) == len;
    c->ok &= fold(sum16(seg, 20, 0)) == 0;
    c->ok &= (seg[4] << 8 | seg[5]) == 0x1000 + c->n;
  } else {
    c->ok &= (size_t)(seg[4] << 8 | seg[5]) == len - 40;
  }
  uint32_t seq = (uint32_t)seg[ip + 4] << 24 | (uint32_t)seg[ip + 5] << 16 | (uint32_t)seg[ip + 6] << 8 | seg[ip + 7];
  c->ok &= seq == c->first_seq + (uint32_t)c->data_len;
  c->ok &= verify(seg, len) == 0;
  memcpy(c->data + c->data_len, seg + hdrs, len - hdrs);
  c->data_len += len - hdrs;
  c->n++;
  return 0;
}

/* A TCP super-segment as the TUN hands it over: vnet header, IP, TCP (PSH|ACK|FIN), payload. */
static size_t super_segment(uint8_t *buf, int version, size_t payload, uint16_t mss) {
  memset(buf, 0, 80);
  buf[0] = DP_VNET_F_NEEDS_CSUM;
  buf[1] = version == 4 ? DP_GSO_TCPV4 : DP_GSO_TCPV6;
  buf[4] = (uint8_t)mss; buf[5] = (uint8_t)(mss >> 8); /* little-endian, as on every target board */
  uint8_t *p = buf + DP_VNET_HDR_LEN;
  size_t ip = version == 4 ? 20 : 40;
  if (version == 4) {
    p[0] = 0x45; p[4] = 0x10; p[5] = 0x00; p[8] = 64; p[9] = 6; p[12] = 10; p[13] = 1; p[15] = 10; p[16] = 10; p[17] = 2; p[19] = 10;
  } else {
    p[0] = 0x60; p[6] = 6; p[7] = 64; p[8] = 0xfd; p[23] = 1; p[24] = 0xfd; p[39] = 2;
  }
  p[ip + 4] = 0x11; p[ip + 5] = 0x22; p[ip + 6] = 0x33; p[ip + 7] = 0x44;
  p[ip + 12] = 5 << 4;
  p[ip + 13] = 0x19; /* FIN|PSH|ACK */
  for (size_t i = 0; i < payload; i++) p[ip + 20 + i] = (uint8_t)(i * 31 + 7);
  size_t total = ip + 20 + payload; /* as the kernel sets them (a super-segment's may exceed 16 bits: not here) */
  if (version == 4) {
    p[2] = (uint8_t)(total >> 8); p[3] = (uint8_t)total;
    uint16_t c = fold(sum16(p, 20, 0));
    p[10] = (uint8_t)(c >> 8); p[11] = (uint8_t)c;
  }
  else { p[4] = (uint8_t)((total - 40) >> 8); p[5] = (uint8_t)(total - 40); }
  return DP_VNET_HDR_LEN + total;
}

static void split_case(int version) {
  static uint8_t buf[70000], scratch[2048];
  size_t len = super_segment(buf, version, 3000, 1300);
  collected c = {.ok = 1, .first_seq = 0x11223344, .version = version};
  int n = dp_gso_split(buf, len, scratch, sizeof scratch, collect, &c);
  int same = c.data_len == 3000;
  for (size_t i = 0; same && i < 3000; i++) same = c.data[i] == (uint8_t)(i * 31 + 7);
  char name[96];
  snprintf(name, sizeof name, "GSO: an IPv%d TCP super-segment of 3000 bytes becomes 3 valid segments", version);
  CHECK(n == 3 && c.n == 3 && c.ok && same, name);
}

static int keep_flags(void *ctx, const uint8_t *seg, size_t len) {
  (void)len;
  uint8_t *flags = ctx;
  flags[flags[0] + 1] = seg[20 + 13];
  flags[0]++;
  return 0;
}

void test_gso(void) {
  split_case(4);
  split_case(6);
  static uint8_t buf[70000], scratch[2048];
  uint8_t flags[8] = {0};
  size_t len = super_segment(buf, 4, 2600, 1300);
  dp_gso_split(buf, len, scratch, sizeof scratch, keep_flags, flags);
  CHECK(flags[0] == 2 && flags[1] == 0x10 && flags[2] == 0x19, "GSO: FIN and PSH only on the last segment");
  len = super_segment(buf, 4, 100, 1300);
  buf[1] = DP_GSO_NONE;
  buf[6] = 20; buf[8] = 16; /* csum_start 20 (TCP), csum_offset 16 */
  uint8_t *p = buf + DP_VNET_HDR_LEN;
  /* The kernel leaves the pseudo-header sum in the field for us to finish. */
  uint32_t pseudo = sum16(p + 12, 8, 0) + 6 + 120;
  uint16_t partial = (uint16_t)~fold(pseudo);
  p[36] = (uint8_t)(partial >> 8); p[37] = (uint8_t)partial;
  collected c = {.ok = 1, .first_seq = 0x11223344};
  int n = dp_gso_split(buf, len, scratch, sizeof scratch, collect, &c);
  CHECK(n == 1 && c.ok, "GSO: a single packet with a partial checksum is finished");
  buf[1] = 3; /* UDP fragmentation offload: not handled */
  CHECK(dp_gso_split(buf, len, scratch, sizeof scratch, collect, &c) == -1, "GSO: unknown offload kinds are refused");
  CHECK(dp_gso_split(buf, 12, scratch, sizeof scratch, collect, &c) == -1, "GSO: short reads are refused");
  len = super_segment(buf, 4, 3000, 3000);
  CHECK(dp_gso_split(buf, len, scratch, sizeof scratch, collect, &c) == -1, "GSO: a segment larger than the scratch buffer is refused");
}
