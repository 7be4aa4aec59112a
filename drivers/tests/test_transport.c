/* ESP transport mode: the payload taken out of a datagram, and the datagram rebuilt around it. */
#include <arpa/inet.h>
#include <string.h>

#include "inet_checksum.h"
#include "tap.h"
#include "transport.h"

void test_transport(void);

void test_transport(void) {
  /* A TCP segment 192.0.2.1 → 192.0.2.2 with 100 bytes of payload and a valid checksum. */
  uint8_t p[160] = {0x45, 0, 0, 140, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2};
  p[20] = 0x13; p[21] = 0x88; p[22] = 0x14; p[23] = 0x51; p[32] = 5 << 4; p[33] = 0x18;
  for (int i = 0; i < 100; i++) p[40 + i] = (uint8_t)(i * 3);
  uint16_t ipc = fold(sum16(p, 20, 0));
  p[10] = (uint8_t)(ipc >> 8); p[11] = (uint8_t)ipc;
  fix(p, 140);
  size_t offset = 0;
  uint8_t protocol = 0;
  CHECK(dp_transport_payload(p, 140, &offset, &protocol) && offset == 20 && protocol == 6, "transport: the TCP payload of a whole datagram");
  uint8_t frag[140];
  memcpy(frag, p, 140);
  frag[6] = 0x20; /* more fragments */
  CHECK(!dp_transport_payload(frag, 140, &offset, &protocol), "transport: a fragment is refused (RFC 4303 §3.3.1)");
  CHECK(!dp_transport_payload(p, 139, &offset, &protocol), "transport: a length that disagrees with the header is refused");

  uint8_t buf[200];
  memcpy(buf + 20, p + 20, 120);
  uint32_t src, dst;
  inet_pton(AF_INET, "192.0.2.1", &src);
  inet_pton(AF_INET, "192.0.2.2", &dst);
  size_t n = dp_transport_rebuild(buf, 120, 6, src, dst, 7, false);
  CHECK(n == 140 && fold(sum16(buf, 20, 0)) == 0 && buf[9] == 6 && memcmp(buf + 12, p + 12, 8) == 0 && verify(buf, n) == 0,
        "transport: the rebuilt datagram has a valid IP header and the sender's TCP checksum still holds");
  /* Behind a NAT the outer source differs: the TCP checksum is made again for the addresses seen. */
  uint32_t natted;
  inet_pton(AF_INET, "198.51.100.7", &natted);
  memcpy(buf + 20, p + 20, 120);
  n = dp_transport_rebuild(buf, 120, 6, natted, dst, 8, true);
  CHECK(n == 140 && verify(buf, n) == 0 && buf[12] == 198, "transport behind a NAT: TCP checksum fixed for the address seen (RFC 3948 §3.1.2)");
  memcpy(buf + 20, p + 20, 120);
  n = dp_transport_rebuild(buf, 120, 6, natted, dst, 8, false);
  CHECK(verify(buf, n) != 0, "and without the fix it would not hold");

  /* L2TP's way back (issue 20): one UDP payload, 203.0.113.1:1701 → 198.51.100.7:1701, both checksums right. */
  const uint8_t l2tp[] = {0xc8, 0x02, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7};
  uint32_t ours;
  inet_pton(AF_INET, "203.0.113.1", &ours);
  uint16_t port = htons(1701), other = htons(1702);
  n = dp_transport_udp_build(buf, sizeof buf, ours, natted, port, port, l2tp, sizeof l2tp, 9);
  uint32_t pseudo = sum16(buf + 12, 8, 0) + 17 + (uint32_t)(n - 20);
  CHECK(n == 20 + 8 + sizeof l2tp && fold(sum16(buf, 20, 0)) == 0 && buf[9] == 17 && fold(sum16(buf + 20, n - 20, pseudo)) == 0 &&
            memcmp(buf + 28, l2tp, sizeof l2tp) == 0 && buf[24] == 0 && buf[25] == 8 + sizeof l2tp,
        "transport: a UDP payload built into a datagram with valid IP and UDP checksums");
  size_t offset2 = 0;
  uint8_t proto2 = 0;
  CHECK(dp_transport_payload(buf, n, &offset2, &proto2) && proto2 == 17 && offset2 == 20, "and transport mode takes its UDP payload out again");
  size_t udp_at = 0;
  CHECK(dp_transport_is_udp_to(buf, n, port, &udp_at) && udp_at == 20, "transport: UDP to port 1701 recognised (goes up to L2TP), its header at 20");
  CHECK(!dp_transport_is_udp_to(buf, n, other, &udp_at), "transport: UDP to another port is not");
  buf[25] = (uint8_t)(buf[25] + 1);
  CHECK(!dp_transport_is_udp_to(buf, n, port, &udp_at), "transport: a UDP length that disagrees with the datagram is not");
  buf[25] = (uint8_t)(buf[25] - 1);
  CHECK(!dp_transport_is_udp_to(buf, 27, port, &udp_at) && !dp_transport_is_udp_to(p, 140, port, &udp_at), "transport: a short datagram or TCP is not");
  CHECK(dp_transport_udp_build(buf, 30, ours, natted, port, port, l2tp, sizeof l2tp, 9) == 0, "transport: a payload that does not fit is refused");

  /* Issue 24, IPv6: a TCP segment 2001:db8:10::2 → 2001:db8:1::2, 100 bytes of payload, checksum right. */
  uint8_t q[200] = {0x60, 0, 0, 0, 0, 120, 6, 64};
  inet_pton(AF_INET6, "2001:db8:10::2", q + 8);
  inet_pton(AF_INET6, "2001:db8:1::2", q + 24);
  q[40] = 0x13; q[41] = 0x88; q[42] = 0x14; q[43] = 0x51; q[52] = 5 << 4; q[53] = 0x18;
  for (int i = 0; i < 100; i++) q[60 + i] = (uint8_t)(i * 7);
  fix(q, 160);
  CHECK(dp_transport_payload6(q, 160, &offset, &protocol) && offset == 40 && protocol == 6, "transport6: the TCP payload of a whole IPv6 datagram");
  CHECK(!dp_transport_payload6(q, 159, &offset, &protocol), "transport6: a payload length that disagrees is refused");
  CHECK(!dp_transport_payload(q, 160, &offset, &protocol) && !dp_transport_payload6(p, 140, &offset, &protocol), "transport6: each family's parser refuses the other");
  uint8_t ext[160];
  memcpy(ext, q, 160);
  for (int i = 0; i < 4; i++) {
    const uint8_t next[] = {0, 43, 44, 60};
    ext[6] = next[i];
    CHECK(!dp_transport_payload6(ext, 160, &offset, &protocol), "transport6: an extension header (hop-by-hop, routing, fragment, destination options) is refused");
  }
  uint8_t a6[16], b6[16], nat6[16];
  memcpy(a6, q + 8, 16);
  memcpy(b6, q + 24, 16);
  inet_pton(AF_INET6, "2001:db8:99::7", nat6);
  uint8_t buf6[260];
  memcpy(buf6 + 40, q + 40, 120);
  n = dp_transport_rebuild6(buf6, 120, 6, a6, b6, false);
  CHECK(n == 160 && buf6[0] == 0x60 && buf6[4] == 0 && buf6[5] == 120 && buf6[6] == 6 && buf6[7] == 64 && memcmp(buf6 + 8, q + 8, 32) == 0 && verify(buf6, n) == 0,
        "transport6: the rebuilt IPv6 datagram carries the sender's TCP checksum, which still holds");
  memcpy(buf6 + 40, q + 40, 120);
  n = dp_transport_rebuild6(buf6, 120, 6, nat6, b6, true);
  CHECK(n == 160 && verify(buf6, n) == 0 && memcmp(buf6 + 8, nat6, 16) == 0, "transport6 behind NAT66: TCP checksum made again with the IPv6 pseudo-header");
  memcpy(buf6 + 40, q + 40, 120);
  n = dp_transport_rebuild6(buf6, 120, 6, nat6, b6, false);
  CHECK(verify(buf6, n) != 0, "and without the fix it would not hold");

  /* L2TP over IPv6: one UDP payload, then a UDP checksum of 0 as received is made again (RFC 8200 §8.1). */
  n = dp_transport_udp_build6(buf6, sizeof buf6, b6, a6, port, port, l2tp, sizeof l2tp);
  uint32_t pseudo6 = sum16(buf6 + 8, 32, 0) + 17 + (uint32_t)(n - 40);
  uint16_t udp_sum = (uint16_t)(buf6[46] << 8 | buf6[47]);
  CHECK(n == 40 + 8 + sizeof l2tp && buf6[6] == 17 && buf6[5] == 8 + sizeof l2tp && fold(sum16(buf6 + 40, n - 40, pseudo6)) == 0 && udp_sum != 0 &&
            memcmp(buf6 + 48, l2tp, sizeof l2tp) == 0 && buf6[44] == 0 && buf6[45] == 8 + sizeof l2tp,
        "transport6: a UDP payload built into an IPv6 datagram with a valid, non-zero UDP checksum");
  CHECK(dp_transport_payload6(buf6, n, &offset2, &proto2) && proto2 == 17 && offset2 == 40, "and transport mode takes its UDP payload out again");
  CHECK(dp_transport_is_udp_to(buf6, n, port, &udp_at) && udp_at == 40 && !dp_transport_is_udp_to(buf6, n, other, &udp_at) && !dp_transport_is_udp_to(buf6, n - 1, port, &udp_at),
        "transport6: UDP to port 1701 recognised in an IPv6 datagram (header at 40), not another port nor a short one");
  /* An L2TP data frame is built with UDP checksum 0 (dp_l2tp_frame); over IPv6 it is made before sealing. */
  uint8_t frame[8 + sizeof l2tp] = {0x06, 0xa5, 0x06, 0xa5, 0, 8 + sizeof l2tp, 0, 0};
  memcpy(frame + 8, l2tp, sizeof l2tp);
  dp_transport_udp_checksum6(frame, sizeof frame, a6, b6);
  uint32_t pseudo_ab = sum16(a6, 16, 0) + sum16(b6, 16, 0) + 17 + (uint32_t)sizeof frame;
  CHECK((frame[6] | frame[7]) != 0 && fold(sum16(frame, sizeof frame, pseudo_ab)) == 0 && memcmp(frame + 8, l2tp, sizeof l2tp) == 0,
        "transport6: a bare UDP datagram's checksum made with the IPv6 pseudo-header, non-zero, the payload untouched");
  buf6[46] = buf6[47] = 0;
  size_t m = dp_transport_rebuild6(buf6, n - 40, 17, b6, a6, true);
  CHECK(m == n && fold(sum16(buf6 + 40, n - 40, pseudo6)) == 0 && (buf6[46] | buf6[47]) != 0, "transport6: a received UDP checksum of 0 is made, never left 0");
  CHECK(dp_transport_udp_build6(buf6, 50, b6, a6, port, port, l2tp, sizeof l2tp) == 0, "transport6: a payload that does not fit is refused");
  CHECK(dp_transport_rebuild6(buf6, 0x10000, 17, b6, a6, false) == 0, "transport6: a payload over 65535 bytes is refused (no jumbograms)");
}
