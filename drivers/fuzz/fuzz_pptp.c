/* Fuzz target: any bytes as what PPTP's raw GRE socket hands over (IPv4 header first) for a call
 * whose PPP data path is in C (issue 22): GRE parse, call match, MPPE deframing and decryption
 * (stateless, with count jumps), PPP deframing, the source check, the TUN write, the pipe. It must
 * never crash or read past the input; the counters must account for every packet of the call.
 * libFuzzer style; without libFuzzer (`make fuzz-smoke`) main() below runs random bytes and
 * mutated genuine MPPE packets from the call's peer. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gre.h"
#include "mppe.h"
#include "pptp_gre.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dp_pipe *pipe_up;
static dp_pptp *pptp;
static int tun[2];
static dp_mppe_state peer_tx; /* the genuine sender, for the standalone run */

/* Built without the hub (its calls into the tunnels would pull in the whole core): the data path
 * here has no hub, so these are never called; the linker needs them. */
int dp_hub_sink_route_add(dp_hub *h, const dp_prefix *p, dp_hub_sink *s) { (void)h; (void)p; (void)s; abort(); }
void dp_hub_sink_routes_remove(dp_hub *h, dp_hub_sink *s) { (void)h; (void)s; abort(); }

static void wake_nothing(void *ctx) { (void)ctx; }
static void drop_frame(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) { (void)ctx; (void)tag; (void)packet; (void)len; }

static void setup(void) {
  uint8_t key[16];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)(0x30 + i);
  pipe_up = dp_pipe_open(1024, 1 << 20, wake_nothing, NULL);
  pptp = dp_pptp_new(pipe_up);
  struct sockaddr_in ones = {.sin_family = AF_INET, .sin_addr = {.s_addr = 0x01010101}};
  dp_pptp_call_add(pptp, 0x0101, 2, &ones, 2);
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, tun) < 0) abort();
  dp_mppe_state tx, rx;
  dp_mppe_init(&tx, key, 128);
  dp_mppe_init(&rx, key, 128);
  peer_tx = rx;
  dp_ppp_config c = {.lower = DP_PPP_LOWER_PPTP, .mtu = 1396};
  dp_prefix_set_add(&c.sources, "1.1.1.1/32");
  dp_prefix_set_add(&c.sources, "101::/64");
  if (dp_pptp_data_start(pptp, 0x0101, &c, &tx, &rx, NULL, tun[0], false) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!pptp) setup();
  uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees any read past it */
  memcpy(copy, data, size);
  const dp_pptp_stats *s = dp_pptp_stats_of(pptp);
  uint64_t before = atomic_load(&s->mppe_rx) + atomic_load(&s->mppe_late) + atomic_load(&s->mppe_malformed);
  dp_pptp_receive(pptp, copy, size);
  uint64_t after = atomic_load(&s->mppe_rx) + atomic_load(&s->mppe_late) + atomic_load(&s->mppe_malformed);
  if (after < before || after > before + 1) __builtin_trap(); /* one packet, at most one MPPE verdict */
  uint8_t drain[2048];
  while (recv(tun[1], drain, sizeof drain, 0) > 0) {}
  dp_pipe_drain(pipe_up, 1024, drop_frame, NULL);
  free(copy);
  return 0;
}

#ifndef DP_LIBFUZZER
#include "fuzz_random.h"

int main(int argc, char **argv) {
  long runs = argc > 1 ? atol(argv[1]) : 100000;
  uint8_t buf[2200] = {0}, ip[1600];
  uint32_t seq = 1;
  LLVMFuzzerTestOneInput(buf, 0);
  for (long r = 0; r < runs; r++) {
    size_t len;
    if (r % 3 == 0) {
      len = next() % 160;
      for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)next();
    } else { /* a genuine packet of the call: IPv4 header, enhanced GRE, PPP 0x00FD, MPPE around IP from its address; mutated */
      uint64_t x = next();
      memset(buf, 0, 20);
      buf[0] = 0x45; buf[9] = 47;
      memset(buf + 12, 1, 4);
      size_t n = (x & 1 ? 40 : 20) + next() % 300;
      memset(ip, 0, n);
      if (x & 1) { ip[0] = 0x60; ip[4] = (uint8_t)((n - 40) >> 8); ip[5] = (uint8_t)(n - 40); ip[8] = 1; ip[9] = 1; }
      else { ip[0] = 0x45; ip[2] = (uint8_t)(n >> 8); ip[3] = (uint8_t)n; memset(ip + 12, 1, 4); ip[9] = x & 2 ? 17 : 6; }
      uint8_t frame[1700] = {0xff, 0x03, 0x00, 0xfd};
      for (uint64_t k = (x & 0x3f0) == 0 ? next() % 2200 : (x & 0x70) == 0 ? next() % 8 : 0; k > 0; k--) peer_tx.count = (uint16_t)((peer_tx.count + 1) % DP_MPPE_COUNT_SPACE), dp_mppe_rekey(&peer_tx);
      size_t f = 4 + dp_mppe_encrypt(&peer_tx, x & 1 ? 0x0057 : 0x0021, ip, n, frame + 4, sizeof frame - 4);
      dp_gre_header h = {.version = 1, .protocol = DP_GRE_PROTO_PPP, .call_id = 0x0101, .has_seq = true, .seq = seq++, .has_ack = x & 8};
      size_t hl = dp_gre_header_size(&h), total = 0;
      memcpy(buf + 20 + hl, frame, f);
      dp_gre_build(&h, buf + 20, sizeof buf - 20, f, &total);
      len = 20 + total;
      /* Past the GRE header, or in the IPv4 header and GRE's first 8 bytes: never the sequence number,
       * whose flip would hold back every genuine packet after it. */
      bool inner = next() % 4;
      size_t from = inner ? 20 + hl : 0, span = inner ? len - from : 28;
      for (int flips = (int)(next() % 4); flips > 0; flips--) buf[from + next() % span] ^= (uint8_t)(1u << (next() % 8));
      if (next() % 4 == 0) len = next() % (len + 1);
    }
    LLVMFuzzerTestOneInput(buf, len);
  }
  const dp_pptp_stats *s = dp_pptp_stats_of(pptp);
  printf("fuzz_pptp: %ld inputs, %llu MPPE packets decrypted, %llu late, %llu malformed, no fault\n", runs, (unsigned long long)atomic_load(&s->mppe_rx),
         (unsigned long long)atomic_load(&s->mppe_late), (unsigned long long)atomic_load(&s->mppe_malformed));
  return 0;
}
#endif
