/* MPPE in the driver (RFC 3078, RFC 3079; issue 22): one direction of stateless MPPE, the packet
 * under PPP protocol 0x00FD. Sans-I/O: no socket, no thread; the PPTP call holds one per direction.
 *
 *   |A|B|C|D| Coherency Count (12) | RC4(Protocol (2, or 1 when odd) | Information) ...
 *   A: flushed, D: encrypted; B and C are MPPC's (refused).
 *
 * Stateless mode (§8.1): the key changes before every packet and RC4 restarts, so a lost packet
 * costs nothing: a receiver changes key once per count step it skipped. Stateful mode stays in
 * JavaScript (firmware/ppp/mppe/), whose rules this follows to the byte (first packet count 0, the
 * initial key GetNewKeyFromSHA(Start, Start) without the RC4 step, as Linux ppp_mppe.c and Windows):
 * the JavaScript engine hands its state over (and takes it back) as dp_mppe_state. RC4 is here
 * because OpenSSL 3 keeps it in the legacy provider; SHA-1 is sha1.h (no allocation per packet). */
#ifndef POSTERN_MPPE_H
#define POSTERN_MPPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_MPPE_COUNT_SPACE 4096
#define DP_MPPE_MAX_JUMP (DP_MPPE_COUNT_SPACE / 2) /* further ahead is late (Linux and the JS engine) */
#define DP_MPPE_OVERHEAD 4                         /* the header and the two-byte protocol inside */

typedef struct {
  uint32_t state[256]; /* words: byte loads and stores into one array cost more on x86 and arm64 */
  uint8_t i, j;
} dp_rc4;

void dp_rc4_init(dp_rc4 *r, const uint8_t *key, size_t len);
void dp_rc4_apply(dp_rc4 *r, const uint8_t *in, uint8_t *out, size_t len); /* in == out allowed */

/* One direction: what JavaScript's KeySchedule holds. `count` is the last count used (4095 before
 * the first packet); `session_key` the key of that packet. Strength 40, 56 or 128. */
typedef struct {
  uint8_t start_key[16];
  uint8_t session_key[16];
  unsigned strength;
  uint16_t count;
} dp_mppe_state;

/* RFC 3078 §7.3 GetNewKeyFromSHA: the first `len` octets of SHA1(start | pad1 | session | pad2). */
void dp_mppe_new_key_from_sha(const uint8_t *start, const uint8_t *session, size_t len, uint8_t *out);
/* A fresh direction from its start key (RFC 3079 §3.4): false for an unknown strength. */
bool dp_mppe_init(dp_mppe_state *s, const uint8_t start_key[16], unsigned strength);
/* Is a handed-over state usable (strength known, count in range)? */
bool dp_mppe_valid(const dp_mppe_state *s);
/* The next session key (GetKey: SHA, then RC4 of the interim key with itself, then the salt). */
void dp_mppe_rekey(dp_mppe_state *s);

/* Encrypts protocol + information as the next stateless packet into out: its length, or 0 when it
 * does not fit `cap` (the state is then unchanged). */
size_t dp_mppe_encrypt(dp_mppe_state *s, uint16_t protocol, const uint8_t *info, size_t len, uint8_t *out, size_t cap);

typedef enum {
  DP_MPPE_OK,
  DP_MPPE_MALFORMED, /* too short, not encrypted, MPPC bits, or not flushed (stateless needs it) */
  DP_MPPE_LATE,      /* repeated, or behind (more than half the count space ahead) */
} dp_mppe_verdict;

/* Decrypts one MPPE packet (the information of a 0x00FD frame) in place. On DP_MPPE_OK, *protocol
 * is the inner protocol (a compressed one-byte field expanded) and *info / *info_len its
 * information, inside `packet`. Malformed headers and late packets leave the state unchanged. */
dp_mppe_verdict dp_mppe_decrypt(dp_mppe_state *s, uint8_t *packet, size_t len, uint16_t *protocol, uint8_t **info, size_t *info_len);

#endif
