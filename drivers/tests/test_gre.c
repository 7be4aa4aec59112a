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
  const dp_gre_site keyed = {.has_key = true, .key = 0x1234}, other_key = {.has_key = true, .key = 0x1235}, unkeyed_site = {0};
  CHECK(dp_gre_frame(&keyed, DP_GRE_PROTO_IPV4, 0, inner, sizeof inner, out, sizeof out, &total) == DP_GRE_OK && total == 8 + sizeof inner &&
            memcmp(out, expected, 8) == 0 && memcmp(out + 8, inner, sizeof inner) == 0,
        "site GRE: a payload framed as protocol 0x0800 with the tunnel's key, bytes as Cisco sends them");
  dp_gre_header h;
  CHECK(dp_gre_classify(out, total, &keyed, &h) == DP_GRE_RX_DELIVER && h.header_len == 8, "site GRE: the outer packet is delivered to the TUN at the peer");
  CHECK(dp_gre_classify(inner + 20, 8, &keyed, &h) == DP_GRE_RX_KEEPALIVE, "site GRE: type 0 with our key is a keepalive come back");
  CHECK(dp_gre_classify(inner + 20, 8, &other_key, &h) == DP_GRE_RX_BAD_KEY, "site GRE: a keepalive with another key is dropped");
  CHECK(dp_gre_classify(inner + 20, 8, &unkeyed_site, &h) == DP_GRE_RX_BAD_KEY, "site GRE: a keyed keepalive on an unkeyed tunnel is dropped");
  const uint8_t unkeyed[] = {0, 0, 0, 0};
  CHECK(dp_gre_classify(unkeyed, sizeof unkeyed, &unkeyed_site, &h) == DP_GRE_RX_KEEPALIVE && dp_gre_classify(unkeyed, sizeof unkeyed, &keyed, &h) == DP_GRE_RX_BAD_KEY,
        "site GRE: an unkeyed keepalive only on an unkeyed tunnel");
  const uint8_t mpls[] = {0x20, 0, 0x88, 0x47, 0, 0, 0x12, 0x34, 0, 0x01, 0x01, 0x40};
  CHECK(dp_gre_classify(mpls, sizeof mpls, &keyed, &h) == DP_GRE_RX_DELIVER && h.protocol == 0x8847 && h.header_len == 8,
        "site GRE: non-IP (MPLS) is delivered with its protocol type, for the TUN's EtherType");
  CHECK(dp_gre_frame(&keyed, 0, 0, inner, sizeof inner, out, 20, &total) == DP_GRE_SPACE, "site GRE: a payload too big for the buffer is refused");
}

/* A site with key 42, checksums and sequence numbers (RFC 2784 §2.5, RFC 2890 §2.1-2.2): the bytes
 * it sends for a 28-byte IPv4 packet as number 7, the checksum computed apart with Python's one's-
 * complement sum over header and payload. */
static const uint8_t csum_seq_wire[] = {
    0xb0, 0x00, 0x08, 0x00, 0xb6, 0xde, 0x00, 0x00, /* C K S, 0x0800; checksum 0xb6de, reserved1 */
    0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x07, /* key 42, sequence number 7 */
    0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0xf7, 0xcd, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
    0x08, 0x00, 0xf7, 0xff, 0x00, 0x00, 0x00, 0x00};

static void checksum_and_sequence(void) {
  const dp_gre_site full = {.has_key = true, .key = 42, .checksum = true, .sequence = true};
  const dp_gre_site key_only = {.has_key = true, .key = 42};
  uint8_t out[64];
  size_t total = 0;
  CHECK(dp_gre_frame(&full, DP_GRE_PROTO_IPV4, 7, csum_seq_wire + 16, sizeof csum_seq_wire - 16, out, sizeof out, &total) == DP_GRE_OK &&
            total == sizeof csum_seq_wire && memcmp(out, csum_seq_wire, total) == 0,
        "site GRE: checksum and sequence number framed to the known bytes");
  dp_gre_header h;
  CHECK(dp_gre_classify(csum_seq_wire, sizeof csum_seq_wire, &full, &h) == DP_GRE_RX_DELIVER && h.seq == 7 && h.header_len == 16,
        "site GRE: the known bytes are delivered, number 7");
  CHECK(dp_gre_classify(csum_seq_wire, sizeof csum_seq_wire, &key_only, &h) == DP_GRE_RX_DELIVER,
        "site GRE: a site without them still takes (and verifies) a checksummed, numbered packet");
  uint8_t bad[sizeof csum_seq_wire];
  memcpy(bad, csum_seq_wire, sizeof bad);
  bad[sizeof bad - 1] ^= 1;
  CHECK(dp_gre_classify(bad, sizeof bad, &full, &h) == DP_GRE_RX_BAD_CHECKSUM && dp_gre_classify(bad, sizeof bad, &key_only, &h) == DP_GRE_RX_BAD_CHECKSUM,
        "site GRE: a payload bit flipped fails the checksum, whatever the site asks");
  CHECK(dp_gre_frame(&key_only, DP_GRE_PROTO_IPV4, 0, csum_seq_wire + 16, 28, out, sizeof out, &total) == DP_GRE_OK &&
            dp_gre_classify(out, total, &full, &h) == DP_GRE_RX_BAD_CHECKSUM,
        "site GRE: a site that requires checksums drops a packet without one");
  const dp_gre_site key_csum = {.has_key = true, .key = 42, .checksum = true};
  CHECK(dp_gre_frame(&key_csum, DP_GRE_PROTO_IPV4, 0, csum_seq_wire + 16, 28, out, sizeof out, &total) == DP_GRE_OK &&
            dp_gre_classify(out, total, &full, &h) == DP_GRE_RX_NO_SEQUENCE,
        "site GRE: a site that requires sequence numbers drops a packet without one");
  const uint8_t keepalive[] = {0x20, 0, 0, 0, 0, 0, 0, 42};
  CHECK(dp_gre_classify(keepalive, sizeof keepalive, &full, &h) == DP_GRE_RX_KEEPALIVE,
        "site GRE: our keepalive comes back without checksum or number and is still taken");

  dp_gre_seq_rx rx = {0};
  CHECK(dp_gre_seq_check(&rx, 1000) == DP_GRE_SEQ_ACCEPT && dp_gre_seq_check(&rx, 1001) == DP_GRE_SEQ_ACCEPT && dp_gre_seq_check(&rx, 1005) == DP_GRE_SEQ_ACCEPT,
        "sequence: the first number taken as it comes, then any later one (a gap is loss, not a fault)");
  CHECK(dp_gre_seq_check(&rx, 1005) == DP_GRE_SEQ_DROP && dp_gre_seq_check(&rx, 1003) == DP_GRE_SEQ_DROP && dp_gre_seq_check(&rx, 1006) == DP_GRE_SEQ_ACCEPT,
        "sequence: a duplicate and a late packet are dropped, the next one taken");
  dp_gre_seq_rx wrap = {.started = true, .next = 0xfffffffe};
  CHECK(dp_gre_seq_check(&wrap, 0xfffffffe) == DP_GRE_SEQ_ACCEPT && dp_gre_seq_check(&wrap, 0xffffffff) == DP_GRE_SEQ_ACCEPT && dp_gre_seq_check(&wrap, 0) == DP_GRE_SEQ_ACCEPT &&
            dp_gre_seq_check(&wrap, 0xffffffff) == DP_GRE_SEQ_DROP,
        "sequence: serial arithmetic across the 2^32 wrap");
  dp_gre_seq_rx restart = {.started = true, .next = 50000};
  int drops = 0;
  dp_gre_seq_verdict v = DP_GRE_SEQ_DROP;
  for (uint32_t n = 0; n < 40 && v == DP_GRE_SEQ_DROP; n++) {
    v = dp_gre_seq_check(&restart, n);
    if (v == DP_GRE_SEQ_DROP) drops++;
  }
  CHECK(drops == DP_GRE_SEQ_RESYNC - 1 && v == DP_GRE_SEQ_RESYNCED && dp_gre_seq_check(&restart, DP_GRE_SEQ_RESYNC) == DP_GRE_SEQ_ACCEPT,
        "sequence: a peer that restarted from 0 is followed at the DP_GRE_SEQ_RESYNC-th old number in a row");
  dp_gre_seq_rx late = {.started = true, .next = 100};
  bool held = true;
  for (int i = 0; i < 3 * DP_GRE_SEQ_RESYNC; i++) {
    held = held && dp_gre_seq_check(&late, 50) == DP_GRE_SEQ_DROP;
    if (i % (DP_GRE_SEQ_RESYNC - 1) == DP_GRE_SEQ_RESYNC - 2) held = held && dp_gre_seq_check(&late, late.next) == DP_GRE_SEQ_ACCEPT;
  }
  CHECK(held, "sequence: late packets with in-order ones between them never move the numbering back");
}

void test_gre(void) {
  checksum_and_sequence();
  pptp_known_bytes();
  plain_gre();
  cisco_keepalive();
}
