/* GRO toward the TUN: merged super-segments split back into exactly the original segments. */
#include "gro.h"
#include "gso.h"
#include "inet_checksum.h"
#include "tap.h"

void test_gro(void);

typedef struct {
  int writes;
  uint8_t last[10 + 65535];
  size_t last_len;
} sink;

static int capture(void *ctx, const uint8_t *buf, size_t len) {
  sink *s = ctx;
  s->writes++;
  memcpy(s->last, buf, len);
  s->last_len = len;
  return 0;
}

/* An IPv4 TCP segment of one flow: seq, payload size, flags; checksums valid. */
static size_t segment(uint8_t *p, uint32_t seq, size_t payload, uint8_t flags, uint16_t sport, uint16_t id) {
  size_t total = 20 + 32 + payload;
  memset(p, 0, total);
  p[0] = 0x45; p[2] = (uint8_t)(total >> 8); p[3] = (uint8_t)total; p[4] = (uint8_t)(id >> 8); p[5] = (uint8_t)id; p[6] = 0x40; p[8] = 64; p[9] = 6;
  p[12] = 10; p[13] = 1; p[15] = 10; p[16] = 10; p[17] = 2; p[19] = 10;
  p[20] = (uint8_t)(sport >> 8); p[21] = (uint8_t)sport; p[22] = 0x14; p[23] = 0x51;
  p[24] = (uint8_t)(seq >> 24); p[25] = (uint8_t)(seq >> 16); p[26] = (uint8_t)(seq >> 8); p[27] = (uint8_t)seq;
  p[31] = 7; p[32] = 8 << 4; p[33] = flags; p[34] = 0x01; p[35] = 0xf5;
  p[40] = 1; p[41] = 1; p[42] = 8; p[43] = 10; p[47] = 0x2a; p[51] = 0x2b; /* NOP NOP timestamp */
  for (size_t i = 0; i < payload; i++) p[52 + i] = (uint8_t)(seq + i);
  uint16_t c = fold(sum16(p, 20, 0));
  p[10] = (uint8_t)(c >> 8); p[11] = (uint8_t)c;
  fix(p, total);
  return total;
}

/* A UDP datagram of one flow (IPv4, or IPv6 with `v6`): payload bytes from `seed`; checksums valid. */
static size_t datagram(uint8_t *p, int v6, size_t payload, uint16_t sport, uint16_t id, uint8_t seed) {
  size_t ip = v6 ? 40 : 20, total = ip + 8 + payload;
  memset(p, 0, total);
  if (v6) {
    p[0] = 0x60; p[4] = (uint8_t)((total - 40) >> 8); p[5] = (uint8_t)(total - 40); p[6] = 17; p[7] = 64;
    p[8] = 0xfd; p[23] = 1; p[24] = 0xfd; p[39] = 2;
  } else {
    p[0] = 0x45; p[2] = (uint8_t)(total >> 8); p[3] = (uint8_t)total; p[4] = (uint8_t)(id >> 8); p[5] = (uint8_t)id; p[8] = 64; p[9] = 17;
    p[12] = 10; p[13] = 1; p[15] = 10; p[16] = 10; p[17] = 2; p[19] = 10;
  }
  p[ip] = (uint8_t)(sport >> 8); p[ip + 1] = (uint8_t)sport; p[ip + 2] = 0x14; p[ip + 3] = 0x51;
  p[ip + 4] = (uint8_t)((8 + payload) >> 8); p[ip + 5] = (uint8_t)(8 + payload);
  for (size_t i = 0; i < payload; i++) p[ip + 8 + i] = (uint8_t)(seed + i * 7);
  if (!v6) {
    uint16_t c = fold(sum16(p, 20, 0));
    p[10] = (uint8_t)(c >> 8); p[11] = (uint8_t)c;
  }
  uint32_t ps = (v6 ? sum16(p + 8, 32, 0) : sum16(p + 12, 8, 0)) + 17 + (uint32_t)(8 + payload);
  uint16_t c = fold(sum16(p + ip, 8 + payload, ps));
  if (!c) c = 0xffff;
  p[ip + 6] = (uint8_t)(c >> 8); p[ip + 7] = (uint8_t)c;
  return total;
}

typedef struct { int n; int same; uint8_t (*want)[1200]; size_t *want_len; } compare;
static int compare_segment(void *ctx, const uint8_t *seg, size_t len) {
  compare *c = ctx;
  c->same &= len == c->want_len[c->n] && memcmp(seg, c->want[c->n], len) == 0;
  c->n++;
  return 0;
}

void test_gro(void) {
  static dp_gro g;
  static sink s;
  static uint8_t segs[4][1200], scratch[2048];
  size_t lens[4];
  memset(&g, 0, sizeof g);
  /* As a sender's TSO cuts them: IP IDs counting up, PSH on the last segment only. */
  for (int i = 0; i < 3; i++) lens[i] = segment(segs[i], 1000 + 1000u * (uint32_t)i, 1000, 0x10, 5000, (uint16_t)(77 + i));
  lens[3] = segment(segs[3], 4000, 400, 0x18, 5000, 80);
  for (int i = 0; i < 4; i++) dp_gro_offer(&g, segs[i], lens[i], capture, &s);
  CHECK(s.writes == 0, "GRO: consecutive segments of one flow are held");
  dp_gro_flush(&g, capture, &s);
  uint16_t gso_size;
  memcpy(&gso_size, s.last + 4, 2);
  CHECK(s.writes == 1 && s.last[1] == DP_GSO_TCPV4 && gso_size == 1000 && s.last_len == 10 + 52 + 3400 &&
            fold(sum16(s.last + 10, 20, 0)) == 0 && (s.last[12] << 8 | s.last[13]) == 52 + 3400,
        "GRO: one write, TCPv4 GSO of 1000-byte segments, IP header right");
  compare c = {.same = 1, .want = segs, .want_len = lens};
  int n = dp_gso_split(s.last, s.last_len, scratch, sizeof scratch, compare_segment, &c);
  CHECK(n == 4 && c.same, "GRO then GSO gives back the original four segments byte for byte");

  memset(&g, 0, sizeof g);
  s.writes = 0;
  dp_gro_offer(&g, segs[0], lens[0], capture, &s);
  dp_gro_offer(&g, segs[2], lens[2], capture, &s); /* a gap in the sequence */
  dp_gro_flush(&g, capture, &s);
  CHECK(s.writes == 2, "GRO: a sequence gap starts a new run");
  s.writes = 0;
  uint8_t other[1200];
  size_t ol = segment(other, 2000, 1000, 0x10, 6000, 1);
  dp_gro_offer(&g, segs[0], lens[0], capture, &s);
  dp_gro_offer(&g, other, ol, capture, &s);
  dp_gro_flush(&g, capture, &s);
  CHECK(s.writes == 2 && s.last[0] == 0 && s.last[1] == 0, "GRO: another flow is not merged; a lone segment goes out plain");
  s.writes = 0;
  size_t sl = segment(other, 2000, 1000, 0x12, 5000, 1); /* SYN|ACK */
  dp_gro_offer(&g, segs[0], lens[0], capture, &s);
  dp_gro_offer(&g, other, sl, capture, &s);
  CHECK(s.writes == 2 && g.len == 0, "GRO: a SYN is never merged and is written at once");
  uint8_t udp[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17};
  s.writes = 0;
  dp_gro_offer(&g, udp, sizeof udp, capture, &s);
  CHECK(s.writes == 1 && s.last_len == 38, "GRO: non-TCP packets pass straight through");
  memset(&g, 0, sizeof g);
  s.writes = 0;
  dp_gro_offer(&g, segs[3], lens[3], capture, &s); /* 400 bytes: a shorter segment */
  uint8_t after[1200];
  size_t al = segment(after, 4400, 400, 0x10, 5000, 81);
  dp_gro_offer(&g, after, al, capture, &s);
  dp_gro_flush(&g, capture, &s);
  CHECK(s.writes == 1, "GRO: equal sizes merge");
  /* UDP (USO): only where the TUN takes it; equal sizes merge, a shorter datagram ends the run. */
  for (int v6 = 0; v6 <= 1; v6++) {
    memset(&g, 0, sizeof g);
    s.writes = 0;
    for (int i = 0; i < 3; i++) lens[i] = datagram(segs[i], v6, 1000, 7000, (uint16_t)(300 + i), (uint8_t)i);
    lens[3] = datagram(segs[3], v6, 300, 7000, 303, 3);
    for (int i = 0; i < 4; i++) dp_gro_offer(&g, segs[i], lens[i], capture, &s);
    CHECK(s.writes == 4 && s.last[1] == DP_GSO_NONE, v6 ? "GRO: without USO, IPv6 UDP goes out datagram by datagram" : "GRO: without USO, UDP goes out datagram by datagram");
    memset(&g, 0, sizeof g);
    g.uso = true;
    s.writes = 0;
    for (int i = 0; i < 4; i++) dp_gro_offer(&g, segs[i], lens[i], capture, &s);
    dp_gro_flush(&g, capture, &s);
    memcpy(&gso_size, s.last + 4, 2);
    size_t ip = v6 ? 40 : 20;
    CHECK(s.writes == 1 && s.last[1] == DP_GSO_UDP_L4 && gso_size == 1000 && s.last_len == 10 + ip + 8 + 3300 &&
              (s.last[10 + ip + 4] << 8 | s.last[10 + ip + 5]) == 8 + 3300,
          v6 ? "GRO: with USO, four IPv6 datagrams become one UDP GSO write" : "GRO: with USO, four IPv4 datagrams become one UDP GSO write of 1000-byte segments");
    compare u = {.same = 1, .want = segs, .want_len = lens};
    n = dp_gso_split(s.last, s.last_len, scratch, sizeof scratch, compare_segment, &u);
    CHECK(n == 4 && u.same, v6 ? "USO split gives back the IPv6 datagrams byte for byte" : "USO split gives back the four datagrams byte for byte, checksums and IP IDs included");
  }
  memset(&g, 0, sizeof g);
  g.uso = true;
  s.writes = 0;
  lens[0] = datagram(segs[0], 0, 1000, 7000, 1, 0);
  lens[1] = datagram(segs[1], 0, 1000, 7001, 2, 0); /* another source port */
  dp_gro_offer(&g, segs[0], lens[0], capture, &s);
  dp_gro_offer(&g, segs[1], lens[1], capture, &s);
  dp_gro_flush(&g, capture, &s);
  CHECK(s.writes == 2 && s.last[1] == DP_GSO_NONE, "GRO: another UDP flow is not merged");
  memset(&g, 0, sizeof g);
  g.uso = true;
  s.writes = 0;
  lens[0] = datagram(segs[0], 0, 100, 7000, 1, 0);
  for (int i = 0; i < DP_UDP_MAX_SEGMENTS + 1; i++) dp_gro_offer(&g, segs[0], lens[0], capture, &s);
  dp_gro_flush(&g, capture, &s);
  memcpy(&gso_size, s.last + 4, 2);
  CHECK(s.writes == 2 && s.last[1] == DP_GSO_NONE, "GRO: at most 64 datagrams in one UDP GSO packet (the kernel's limit)");
}
