/* Fuzz target: any bytes as the UDP payload of an L2TP/IPsec datagram for a PPP data session
 * (issue 20): header parse, session match, PPP deframing, source check. It must return a verdict,
 * never crash or read past the input; what it delivers must lie inside the input. libFuzzer style;
 * without libFuzzer (`make fuzz-smoke`) main() below runs random and mutated genuine messages. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ppp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dp_ppp_session *session;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!session) {
    dp_ppp_config c = {.lower = DP_PPP_LOWER_L2TP, .tunnel_id = 0x0101, .session_id = 0x0202, .peer_tunnel_id = 1, .peer_session_id = 2, .mtu = 1400};
    dp_prefix_set_add(&c.sources, "1.1.1.1/32");
    dp_prefix_set_add(&c.sources, "101::/64");
    session = dp_ppp_session_new(&c);
  }
  uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees any read past it */
  memcpy(copy, data, size);
  dp_l2tp_header h;
  if (dp_l2tp_parse(copy, size, &h)) {
    if (h.payload > h.end || h.end > size) __builtin_trap();
    const uint8_t *ip = NULL;
    size_t ip_len = 0;
    if (dp_l2tp_is_session(session, &h) && dp_l2tp_rx(session, &h, copy, &ip, &ip_len) == DP_PPP_RX_TUN &&
        (ip < copy || ip + ip_len > copy + size || ip_len < 20)) __builtin_trap();
  }
  uint8_t out[2048];
  if (size <= sizeof out - DP_L2TP_OVERHEAD && dp_l2tp_frame(session, copy, size, out, sizeof out) > sizeof out) __builtin_trap();
  free(copy);
  return 0;
}

#ifndef DP_LIBFUZZER
#include "fuzz_random.h"

int main(int argc, char **argv) {
  long runs = argc > 1 ? atol(argv[1]) : 100000;
  uint8_t buf[1600];
  for (long r = 0; r < runs; r++) {
    size_t len;
    if (r % 3 == 0) {
      len = next() % 120;
      for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)next();
    } else { /* a genuine data message of the session (random optional fields) around IPv4 or IPv6 from its address, mutated */
      uint64_t x = next();
      size_t at = 0;
      uint16_t flags = 0x0002 | (x & 1 ? 0x4000 : 0) | (x & 2 ? 0x0800 : 0) | (x & 4 ? 0x0200 : 0);
      buf[at++] = (uint8_t)(flags >> 8); buf[at++] = (uint8_t)flags;
      if (flags & 0x4000) at += 2;
      static const uint8_t ids[] = {0x01, 0x01, 0x02, 0x02};
      memcpy(buf + at, ids, 4); at += 4;
      if (flags & 0x0800) { memset(buf + at, 0, 4); at += 4; }
      if (flags & 0x0200) { buf[at++] = 0; buf[at++] = (uint8_t)(x >> 8 & 7); memset(buf + at, 0, x >> 8 & 7); at += x >> 8 & 7; }
      if (x & 8) { buf[at++] = 0xff; buf[at++] = 0x03; }
      bool v6 = x & 16;
      if (!(x & 32)) buf[at++] = 0;
      buf[at++] = v6 ? 0x57 : 0x21;
      size_t ip = (v6 ? 40 : 20) + next() % 200;
      memset(buf + at, 0, ip);
      if (v6) { buf[at] = 0x60; buf[at + 4] = (uint8_t)((ip - 40) >> 8); buf[at + 5] = (uint8_t)(ip - 40); buf[at + 8] = 1; buf[at + 9] = 1; }
      else { buf[at] = 0x45; buf[at + 2] = (uint8_t)(ip >> 8); buf[at + 3] = (uint8_t)ip; memset(buf + at + 12, 1, 4); }
      at += ip;
      if (flags & 0x4000) { buf[2] = (uint8_t)(at >> 8); buf[3] = (uint8_t)at; }
      len = at;
      for (int flips = (int)(next() % 4); flips > 0; flips--) buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
      if (next() % 4 == 0) len = next() % (len + 1);
    }
    LLVMFuzzerTestOneInput(buf, len);
  }
  printf("fuzz_l2tp: %ld inputs, no fault\n", runs);
  return 0;
}
#endif
