/* GRE framing: RFC 2784/2890 and PPTP's enhanced GRE (RFC 2637 §4.4), both ways. */
#include "gre.h"
#include "tap.h"

void test_gre(void);

static void pptp_known_bytes(void) {
  /* Hand-assembled from RFC 2637 §4.4: K, S and A set, version 1, protocol 0x880B, payload length 4,
   * call ID 0x1234, sequence 5, acknowledgement 3, then 4 bytes of PPP. */
  const uint8_t wire[] = {0x30, 0x81, 0x88, 0x0b, 0x00, 0x04, 0x12, 0x34, 0, 0, 0, 5, 0, 0, 0, 3, 0xff, 0x03, 0xc0, 0x21};
  dp_gre_header h;
  CHECK(dp_gre_parse(wire, sizeof wire, &h) == DP_GRE_OK && h.version == 1 && h.call_id == 0x1234 && h.payload_length == 4 &&
            h.has_seq && h.seq == 5 && h.has_ack && h.ack == 3 && h.header_len == 16,
        "PPTP GRE: key (length, call ID), sequence and acknowledgement parsed");
  uint8_t out[64];
  size_t total;
  memcpy(out + 16, wire + 16, 4);
  CHECK(dp_gre_build(&h, out, sizeof out, 4, &total) == DP_GRE_OK && total == sizeof wire && memcmp(out, wire, total) == 0,
        "PPTP GRE: built back to the same bytes");
  dp_gre_header ack_only = {.version = 1, .call_id = 7, .has_ack = true, .ack = 9};
  CHECK(dp_gre_build(&ack_only, out, sizeof out, 0, &total) == DP_GRE_OK && total == 12 && out[1] == 0x81 && dp_gre_parse(out, total, &h) == DP_GRE_OK && !h.has_seq && h.ack == 9,
        "PPTP GRE: an acknowledgement without data");
  CHECK(dp_gre_parse(wire, 18, &h) == DP_GRE_SHORT, "PPTP GRE: a payload shorter than declared is refused");
  uint8_t bad[sizeof wire];
  memcpy(bad, wire, sizeof wire);
  bad[0] = 0x10; /* no key */
  CHECK(dp_gre_parse(bad, sizeof bad, &h) == DP_GRE_BAD_PPTP, "PPTP GRE: version 1 without the key field is refused");
  memcpy(bad, wire, sizeof wire);
  bad[3] = 0x0c;
  CHECK(dp_gre_parse(bad, sizeof bad, &h) == DP_GRE_BAD_PPTP, "PPTP GRE: another protocol than PPP is refused");
}

static void plain_gre(void) {
  uint8_t out[64], payload[] = {0x45, 0, 0, 20, 1, 2, 3};
  size_t total;
  dp_gre_header h = {.version = 0, .protocol = DP_GRE_PROTO_IPV4, .has_checksum = true, .has_key = true, .key = 0xdeadbeef, .has_seq = true, .seq = 42};
  size_t hl = dp_gre_header_size(&h);
  memcpy(out + hl, payload, sizeof payload);
  CHECK(hl == 16 && dp_gre_build(&h, out, sizeof out, sizeof payload, &total) == DP_GRE_OK && out[0] == 0xb0 && out[1] == 0,
        "GRE: C, K and S flags, version 0");
  dp_gre_header p;
  CHECK(dp_gre_parse(out, total, &p) == DP_GRE_OK && p.key == 0xdeadbeef && p.seq == 42 && p.protocol == 0x0800 && p.header_len == 16,
        "GRE: key and sequence number read back, checksum verified");
  out[total - 1] ^= 0x40;
  CHECK(dp_gre_parse(out, total, &p) == DP_GRE_BAD_CHECKSUM, "GRE: a corrupted payload fails the checksum");
  const uint8_t minimal[] = {0, 0, 0x86, 0xdd, 0x60};
  CHECK(dp_gre_parse(minimal, sizeof minimal, &p) == DP_GRE_OK && p.header_len == 4 && p.protocol == DP_GRE_PROTO_IPV6, "GRE: the minimal 4-byte header");
  const uint8_t routing[] = {0x40, 0, 0x08, 0};
  CHECK(dp_gre_parse(routing, sizeof routing, &p) == DP_GRE_BAD_VERSION, "GRE: RFC 1701 routing is refused");
  const uint8_t v2[] = {0, 2, 0x08, 0};
  CHECK(dp_gre_parse(v2, sizeof v2, &p) == DP_GRE_BAD_VERSION, "GRE: unknown versions are refused");
  CHECK(dp_gre_parse(out, 3, &p) == DP_GRE_SHORT && dp_gre_parse(out, 10, &p) == DP_GRE_SHORT, "GRE: truncated headers are short");
  CHECK(dp_gre_build(&h, out, 10, sizeof payload, &total) == DP_GRE_SPACE, "GRE: too small a buffer is refused");
}

/* A Cisco keepalive as a site tunnel A (192.0.2.1, key 0x1234) sends it to B (198.51.100.2):
 * outer GRE 0x0800 with the key around an inner IPv4 packet B → A, proto 47, carrying GRE type 0
 * with the key; B forwards the inner packet back, and A classifies it as the keepalive come back. */
static void cisco_keepalive(void) {
  const uint8_t inner[] = {0x45, 0, 0, 28, 0, 1, 0, 0, 255, 47, 0, 0, 198, 51, 100, 2, 192, 0, 2, 1, /* IPv4 B → A */
                           0x20, 0x00, 0x00, 0x00, 0, 0, 0x12, 0x34};                                /* GRE K, type 0, key */
  const uint8_t expected[] = {0x20, 0x00, 0x08, 0x00, 0, 0, 0x12, 0x34};
  uint8_t out[64];
  size_t total = 0;
  CHECK(dp_gre_frame(DP_GRE_PROTO_IPV4, true, 0x1234, inner, sizeof inner, out, sizeof out, &total) == DP_GRE_OK && total == 8 + sizeof inner &&
            memcmp(out, expected, 8) == 0 && memcmp(out + 8, inner, sizeof inner) == 0,
        "site GRE: a payload framed as protocol 0x0800 with the tunnel's key, bytes as Cisco sends them");
  dp_gre_header h;
  CHECK(dp_gre_classify(out, total, true, 0x1234, &h) == DP_GRE_RX_DELIVER && h.header_len == 8, "site GRE: the outer packet is delivered to the TUN at the peer");
  CHECK(dp_gre_classify(inner + 20, 8, true, 0x1234, &h) == DP_GRE_RX_KEEPALIVE, "site GRE: type 0 with our key is a keepalive come back");
  CHECK(dp_gre_classify(inner + 20, 8, true, 0x1235, &h) == DP_GRE_RX_DROP, "site GRE: a keepalive with another key is dropped");
  CHECK(dp_gre_classify(inner + 20, 8, false, 0, &h) == DP_GRE_RX_DROP, "site GRE: a keyed keepalive on an unkeyed tunnel is dropped");
  const uint8_t unkeyed[] = {0, 0, 0, 0};
  CHECK(dp_gre_classify(unkeyed, sizeof unkeyed, false, 0, &h) == DP_GRE_RX_KEEPALIVE && dp_gre_classify(unkeyed, sizeof unkeyed, true, 0, &h) == DP_GRE_RX_DROP,
        "site GRE: an unkeyed keepalive only on an unkeyed tunnel");
  const uint8_t ppp[] = {0x20, 0, 0x88, 0x0b, 0, 0, 0x12, 0x34};
  CHECK(dp_gre_classify(ppp, sizeof ppp, true, 0x1234, &h) == DP_GRE_RX_DROP, "site GRE: other protocol types are dropped");
  CHECK(dp_gre_frame(0, true, 1, inner, sizeof inner, out, 20, &total) == DP_GRE_SPACE, "site GRE: a payload too big for the buffer is refused");
}

void test_gre(void) {
  pptp_known_bytes();
  plain_gre();
  cisco_keepalive();
}
