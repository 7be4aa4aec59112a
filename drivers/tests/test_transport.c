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
}
