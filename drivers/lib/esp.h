/* ESP (RFC 4303) security associations: encapsulate and decapsulate one packet at a time, with
 * cipher contexts made once per SA and direction, on the first packet that needs them (an SA
 * carries one direction, so it holds one set). Tunnel and transport mode differ only in the next-header
 * value and what the caller puts around the result, so both go through the same two calls. */
#ifndef POSTERN_ESP_H
#define POSTERN_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "replay.h"

typedef enum {
  DP_SUITE_AES_GCM_128 = 1,
  DP_SUITE_AES_GCM_256,
  DP_SUITE_AES_CBC_128_HMAC_SHA1_96,
  DP_SUITE_AES_CBC_256_HMAC_SHA1_96,
  DP_SUITE_AES_CBC_128_HMAC_SHA256_128,
  DP_SUITE_AES_CBC_256_HMAC_SHA256_128,
  DP_SUITE_CHACHA20_POLY1305,
  /* 3DES (RFC 2451): weak (64-bit blocks), kept for the IKEv1 peers that offer nothing else. */
  DP_SUITE_3DES_CBC_HMAC_SHA1_96,
  DP_SUITE_3DES_CBC_HMAC_SHA256_128,
  DP_SUITE_3DES_CBC_HMAC_SHA384_192,
} dp_suite;

typedef enum {
  DP_OK = 0,
  DP_ERR_SHORT = -1,       /* shorter than header + IV + ICV (+ one block) */
  DP_ERR_REPLAY = -2,      /* replayed or too old */
  DP_ERR_AUTH = -3,        /* ICV mismatch */
  DP_ERR_PADDING = -4,     /* pad length or pad bytes wrong (RFC 4303 §2.4) */
  DP_ERR_SPI = -5,         /* not this SA's SPI */
  DP_ERR_EXPIRED = -6,     /* hard lifetime reached */
  DP_ERR_SPACE = -7,       /* output buffer too small */
  DP_ERR_SEQ_EXHAUSTED = -8,/* the sequence number would cycle (RFC 4303 §3.3.3) */
  DP_ERR_CONFIG = -9,      /* bad SA parameters */
  DP_ERR_CRYPTO = -10,     /* the crypto library failed */
  DP_ERR_ALIGN = -11,      /* CBC ciphertext not a whole number of blocks */
} dp_status;

typedef struct {
  uint32_t spi;
  dp_suite suite;
  bool esn;
  uint32_t replay_window;  /* inbound; 0 disables */
  /* Key material as IKE cuts KEYMAT: for AEAD suites the key then the 4-byte salt. */
  const uint8_t *enc_key;
  size_t enc_key_len;
  const uint8_t *integ_key;
  size_t integ_key_len;
  uint64_t soft_bytes, hard_bytes, soft_packets, hard_packets; /* 0: no limit */
} dp_sa_config;

typedef struct {
  uint64_t packets, bytes;
  uint64_t drop_short, drop_replay, drop_auth, drop_padding, drop_spi, drop_expired, drop_other;
  bool soft_expired, hard_expired;
} dp_sa_counters;

typedef struct dp_sa dp_sa;

dp_sa *dp_sa_new(const dp_sa_config *config, dp_status *error);
void dp_sa_free(dp_sa *sa);
/* A snapshot, from any thread: packets and bytes summed over the lanes that sealed for the SA. */
dp_sa_counters dp_sa_counters_of(const dp_sa *sa);
uint32_t dp_sa_spi(const dp_sa *sa);

/* Lifetime events not yet reported, each returned once (thread-safe): DP_EXPIRE_SOFT | DP_EXPIRE_HARD. */
#define DP_EXPIRE_SOFT 1
#define DP_EXPIRE_HARD 2
unsigned dp_sa_take_expiry(dp_sa *sa);

/* Outbound: the next sequence number to send (starts at 1; tests set it for known answers). */
void dp_sa_set_next_seq(dp_sa *sa, uint64_t seq);

/* Inbound: the highest number seen so far, for known-answer tests and for taking over an SA's state. */
void dp_sa_set_replay_top(dp_sa *sa, uint64_t top);

/* Bytes needed to encapsulate `payload_len` bytes (header, IV, padding, trailer, ICV). */
size_t dp_esp_overhead(const dp_sa *sa, size_t payload_len);

/* Threads that may encrypt for the same SA at once (a multi-queue TUN's readers) each call this
 * once with their own lane, 1 .. DP_ESP_LANES-1; every other thread stays on lane 0. A lane's
 * cipher contexts are made on its first packet for an SA. Sequence numbers and counters are
 * shared atomically, so packets of one SA may leave slightly out of order (the peer's replay
 * window takes that). Decryption of an SA stays with one thread. The last lane is the JavaScript
 * thread's, for the few packets it seals itself (L2TP's control and PPP frames, tunnel.h). */
#define DP_ESP_LANES 9
#define DP_ESP_LANE_CALLER (DP_ESP_LANES - 1)
void dp_esp_set_lane(unsigned lane);

/* Builds SPI | seq | IV | ciphertext | ICV, encrypting the payload from where it lies: it must not
 * overlap `out`. `iv` may be NULL: a fresh IV is made (the sequence
 * number for the counter-mode AEADs, random bytes for CBC); known-answer tests pass their own. */
dp_status dp_esp_encrypt(dp_sa *sa, const uint8_t *payload, size_t payload_len, uint8_t next_header,
                         const uint8_t *iv, uint8_t *out, size_t out_cap, size_t *out_len);

/* Checks and opens a packet; the payload (without padding and trailer) is written to `out`. */
dp_status dp_esp_decrypt(dp_sa *sa, const uint8_t *packet, size_t len, uint8_t *out, size_t out_cap,
                         size_t *out_len, uint8_t *next_header);

const char *dp_status_name(dp_status status);

#endif
