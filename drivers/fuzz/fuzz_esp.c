/* Fuzz target: any bytes, as an inbound ESP packet and as a GRE packet, through every suite's decapsulation (with and
 * without ESN). It must return a status, never crash, read out of bounds or leak. libFuzzer style. */
#include <stddef.h>
#include <stdint.h>

#include "esp.h"
#include "gre.h"
#include "pptp_gre.h"
#include "gro.h"
#include "transport.h"
#include "gso.h"
#include "mss_clamp.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SUITES 9
static dp_sa *sas[2 * SUITES]; /* each suite without and with ESN */
static dp_pipe *pptp_pipe;
static dp_pptp *pptp;

static void wake_nothing(void *ctx) { (void)ctx; }
static void drop_frame(void *ctx, uint32_t tag, const uint8_t *frame, size_t len) { (void)ctx; (void)tag; (void)frame; (void)len; }

static int discard(void *ctx, const uint8_t *buf, size_t len) {
  (void)ctx;
  if (buf == NULL || len > 10 + DP_GRO_MAX) __builtin_trap();
  return 0;
}

static int count_segment(void *ctx, const uint8_t *segment, size_t len) {
  (void)ctx;
  if (len > 2048 || segment == NULL) __builtin_trap();
  return 0;
}

static void setup(void) {
  static const uint8_t key[36] = "fuzz-key-fuzz-key-fuzz-key-fuzz-sal";
  static const uint8_t integ[48] = "fuzz-integrity-fuzz-integrity-00fuzz-integrity-";
  static const struct { dp_suite s; size_t key, integ; } suites[] = {
      {DP_SUITE_AES_GCM_128, 20, 0}, {DP_SUITE_AES_GCM_256, 36, 0}, {DP_SUITE_CHACHA20_POLY1305, 36, 0},
      {DP_SUITE_AES_CBC_128_HMAC_SHA1_96, 16, 20}, {DP_SUITE_AES_CBC_256_HMAC_SHA1_96, 32, 20},
      {DP_SUITE_AES_CBC_128_HMAC_SHA256_128, 16, 32}, {DP_SUITE_AES_CBC_256_HMAC_SHA256_128, 32, 32},
      {DP_SUITE_3DES_CBC_HMAC_SHA1_96, 24, 20}, {DP_SUITE_3DES_CBC_HMAC_SHA384_192, 24, 48},
  };
  for (int i = 0; i < 2 * SUITES; i++) {
    dp_status st;
    dp_sa_config c = {.spi = 0x01020304, .suite = suites[i % SUITES].s, .esn = i >= SUITES, .replay_window = 64,
                      .enc_key = key, .enc_key_len = suites[i % SUITES].key, .integ_key = integ, .integ_key_len = suites[i % SUITES].integ};
    sas[i] = dp_sa_new(&c, &st);
  }
  /* PPTP calls 0 and 0x0101 (IDs fuzzed inputs hit often), their peer 0.0.0.0 and 1.1.1.1. */
  pptp_pipe = dp_pipe_open(1024, 1 << 20, wake_nothing, NULL);
  pptp = dp_pptp_new(pptp_pipe);
  struct sockaddr_in any = {.sin_family = AF_INET}, ones = {.sin_family = AF_INET, .sin_addr = {.s_addr = 0x01010101}};
  dp_pptp_call_add(pptp, 0, 1, &any, 1);
  dp_pptp_call_add(pptp, 0x0101, 2, &ones, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!sas[0]) setup();
  uint8_t out[2048];
  size_t len;
  uint8_t nh;
  for (int i = 0; i < 2 * SUITES; i++) {
    dp_status st = dp_esp_decrypt(sas[i], data, size, out, sizeof out, &len, &nh);
    if (st == DP_OK && len > size) __builtin_trap(); /* a payload larger than its packet is a bug */
  }
  /* The same bytes as GRE: a parsed header never claims more than the packet holds. */
  dp_gre_header g;
  if (dp_gre_parse(data, size, &g) == DP_GRE_OK && (g.header_len > size || (g.version == 1 && g.header_len + g.payload_length > size))) __builtin_trap();
  /* A GRE site's receive path: classification, then its sequence window. */
  static const dp_gre_site site = {.has_key = true, .key = 0x01010101, .checksum = true, .sequence = true};
  static dp_gre_seq_rx seq_rx;
  dp_gre_rx kind = dp_gre_classify(data, size, &site, &g);
  if (kind == DP_GRE_RX_DELIVER && (g.header_len > size || !g.has_seq || !g.has_checksum)) __builtin_trap();
  if (kind == DP_GRE_RX_DELIVER) (void)dp_gre_seq_check(&seq_rx, g.seq);
  /* As what PPTP's raw GRE socket hands over (IPv4 header first); frames up are drained. */
  dp_pptp_receive(pptp, data, size);
  dp_pipe_drain(pptp_pipe, 1024, drop_frame, NULL);
  /* As a datagram for transport mode: a payload offset never lies outside it. */
  size_t offset = 0;
  uint8_t protocol = 0;
  if (dp_transport_payload(data, size, &offset, &protocol) && offset > size) __builtin_trap();
  /* IPv6 (issue 24): the payload starts after the fixed header, never beyond, and never at an extension header. */
  if (dp_transport_payload6(data, size, &offset, &protocol) && (offset != 40 || offset > size || protocol == 0 || protocol == 43 || protocol == 44 || protocol == 60)) __builtin_trap();
  /* L2TP's hand-up check (issue 20): UDP to 1701 only in a whole datagram with room for its header. */
  size_t udp = 0;
  if (dp_transport_is_udp_to(data, size, 0xa506 /* htons(1701) */, &udp) &&
      (!(dp_transport_payload(data, size, &offset, &protocol) || dp_transport_payload6(data, size, &offset, &protocol)) || protocol != 17 || offset != udp || udp + 8 > size)) __builtin_trap();
  /* As what a TUN with offloads hands over: segmenting must never overrun or crash. */
  static uint8_t scratch[2048];
  dp_gso_split(data, size, scratch, sizeof scratch, count_segment, NULL);
  /* As decrypted packets offered to GRO: twice (so runs form), then flushed. */
  static dp_gro gro;
  gro.uso = size & 1; /* TCP runs, and UDP runs where the TUN takes USO */
  dp_gro_offer(&gro, data, size, discard, NULL);
  dp_gro_offer(&gro, data, size, discard, NULL);
  dp_gro_flush(&gro, discard, NULL);
  /* And as an IP packet for MSS clamping, on a copy (it rewrites in place). */
  if (size <= sizeof out) {
    memcpy(out, data, size);
    dp_clamp_mss(out, size, 1400);
  }
  return 0;
}
