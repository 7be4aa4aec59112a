/* GRE framing: plain GRE (RFC 2784 with RFC 2890 key and sequence number) for site links, and
 * PPTP's enhanced GRE (RFC 2637 §4.4: version 1, protocol 0x880B, payload length and call ID in
 * the key field, optional sequence and acknowledgement numbers) for PPP sessions. */
#ifndef POSTERN_GRE_H
#define POSTERN_GRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_GRE_PROTO_IPV4 0x0800
#define DP_GRE_PROTO_IPV6 0x86dd
#define DP_GRE_PROTO_PPP 0x880b
#define DP_GRE_PROTO_KEEPALIVE 0x0000 /* what a Cisco keepalive comes back as */

typedef struct {
  uint8_t version;          /* 0: RFC 2784/2890; 1: PPTP enhanced GRE */
  uint16_t protocol;
  bool has_checksum, has_key, has_seq, has_ack;
  uint32_t key;             /* version 0 */
  uint16_t payload_length;  /* version 1: the key field's high half */
  uint16_t call_id;         /* version 1: the key field's low half */
  uint32_t seq, ack;
  size_t header_len;        /* where the payload starts */
} dp_gre_header;

typedef enum {
  DP_GRE_OK = 0,
  DP_GRE_SHORT = -1,
  DP_GRE_BAD_VERSION = -2,   /* neither 0 nor 1, or reserved bits set */
  DP_GRE_BAD_CHECKSUM = -3,
  DP_GRE_BAD_PPTP = -4,      /* version 1 without the key, or not protocol 0x880B */
  DP_GRE_SPACE = -5,
} dp_gre_status;

/* Parses the header; checks the checksum when present (it covers header and payload). */
dp_gre_status dp_gre_parse(const uint8_t *packet, size_t len, dp_gre_header *out);

/* Writes the header described by `h` (its has_* flags choose the optional fields) in front of a
 * payload already at out + dp_gre_header_size(h); fills in the checksum when asked. */
size_t dp_gre_header_size(const dp_gre_header *h);
dp_gre_status dp_gre_build(const dp_gre_header *h, uint8_t *out, size_t cap, size_t payload_len, size_t *total);

/* What a GRE site sends and requires (version 0). */
typedef struct {
  bool has_key;   /* send and require this key (RFC 2890 §2.1) */
  uint32_t key;
  bool checksum;  /* send checksums (RFC 2784 §2.5), and require them on what arrives */
  bool sequence;  /* number packets (RFC 2890 §2.2), and require numbers in order on what arrives */
} dp_gre_site;

/* A site's GRE header (key, checksum and sequence number as `site` says; `seq` used only when it
 * numbers) around a payload of the given protocol type: the payload copied behind the header. */
dp_gre_status dp_gre_frame(const dp_gre_site *site, uint16_t protocol, uint32_t seq, const uint8_t *payload, size_t len, uint8_t *out, size_t cap, size_t *total);

/* What a site tunnel does with a received GRE payload (after the outer IP header). */
typedef enum {
  DP_GRE_RX_DELIVER,      /* an inner packet for the TUN, IP or not: its protocol type is its EtherType (sequence number still to check) */
  DP_GRE_RX_KEEPALIVE,    /* protocol type 0 with the right key: a Cisco keepalive come back */
  DP_GRE_RX_MALFORMED,    /* short, reserved bits or routing, not version 0 */
  DP_GRE_RX_BAD_KEY,      /* a key missing, unexpected or different */
  DP_GRE_RX_BAD_CHECKSUM, /* a checksum that does not verify, or none where the site requires one */
  DP_GRE_RX_NO_SEQUENCE,  /* no sequence number where the site requires one */
} dp_gre_rx;
/* A keepalive come back is accepted without checksum or sequence number: it is our own inner packet,
 * built with the key alone, that the peer routed back. */
dp_gre_rx dp_gre_classify(const uint8_t *packet, size_t len, const dp_gre_site *site, dp_gre_header *out);

/* RFC 2890 §2.2 on receipt: a packet whose number is not after the last one accepted (serial
 * arithmetic, 2^32 wrap) is out of order or a duplicate, and dropped. After DP_GRE_SEQ_RESYNC such
 * packets in a row, with none in order between them, the peer is taken to have restarted its
 * numbering (a reboot, its tunnel recreated): that one is accepted and numbering follows it,
 * instead of dropping everything until its counter catches up (what Linux's ip_gre does). Reordering
 * that late packets four in a row is rare, and costs only their being delivered late. */
#define DP_GRE_SEQ_RESYNC 4
typedef struct {
  bool started;
  uint32_t next;       /* the lowest number accepted next */
  unsigned rejected;   /* refused in a row */
} dp_gre_seq_rx;
typedef enum { DP_GRE_SEQ_ACCEPT, DP_GRE_SEQ_RESYNCED, DP_GRE_SEQ_DROP } dp_gre_seq_verdict;
dp_gre_seq_verdict dp_gre_seq_check(dp_gre_seq_rx *state, uint32_t seq);

#endif
