/*
 * ESP packet format (RFC 4303 §2):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Security Parameters Index (SPI)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Sequence Number                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            IV (8 bytes AEAD and 3DES, 16 AES-CBC)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Data | Padding | Pad Length | Next Header       |  (encrypted)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Integrity Check Value (ICV)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#include "esp.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define ESP_HEADER 8

typedef struct {
  bool aead;
  const EVP_CIPHER *(*cipher)(void);
  size_t key_len;   /* cipher key, without the salt */
  size_t iv_len;    /* on the wire */
  size_t block;     /* padding alignment */
  size_t icv_len;
  const char *digest; /* HMAC digest for the CBC suites */
  size_t integ_key_len;
} suite_info;

static const suite_info *suite_of(dp_suite s) {
  static const suite_info gcm128 = {true, EVP_aes_128_gcm, 16, 8, 4, 16, NULL, 0};
  static const suite_info gcm256 = {true, EVP_aes_256_gcm, 32, 8, 4, 16, NULL, 0};
  static const suite_info chacha = {true, EVP_chacha20_poly1305, 32, 8, 4, 16, NULL, 0};
  static const suite_info cbc128sha1 = {false, EVP_aes_128_cbc, 16, 16, 16, 12, "SHA1", 20};
  static const suite_info cbc256sha1 = {false, EVP_aes_256_cbc, 32, 16, 16, 12, "SHA1", 20};
  static const suite_info cbc128sha256 = {false, EVP_aes_128_cbc, 16, 16, 16, 16, "SHA256", 32};
  static const suite_info cbc256sha256 = {false, EVP_aes_256_cbc, 32, 16, 16, 16, "SHA256", 32};
  /* RFC 2451: DES-EDE3-CBC, a 24-byte key, 8-byte blocks and IV; RFC 4868 truncations for SHA-2. */
  static const suite_info des3sha1 = {false, EVP_des_ede3_cbc, 24, 8, 8, 12, "SHA1", 20};
  static const suite_info des3sha256 = {false, EVP_des_ede3_cbc, 24, 8, 8, 16, "SHA256", 32};
  static const suite_info des3sha384 = {false, EVP_des_ede3_cbc, 24, 8, 8, 24, "SHA384", 48};
  switch (s) {
    case DP_SUITE_AES_GCM_128: return &gcm128;
    case DP_SUITE_AES_GCM_256: return &gcm256;
    case DP_SUITE_CHACHA20_POLY1305: return &chacha;
    case DP_SUITE_AES_CBC_128_HMAC_SHA1_96: return &cbc128sha1;
    case DP_SUITE_AES_CBC_256_HMAC_SHA1_96: return &cbc256sha1;
    case DP_SUITE_AES_CBC_128_HMAC_SHA256_128: return &cbc128sha256;
    case DP_SUITE_AES_CBC_256_HMAC_SHA256_128: return &cbc256sha256;
    case DP_SUITE_3DES_CBC_HMAC_SHA1_96: return &des3sha1;
    case DP_SUITE_3DES_CBC_HMAC_SHA256_128: return &des3sha256;
    case DP_SUITE_3DES_CBC_HMAC_SHA384_192: return &des3sha384;
  }
  return NULL;
}

/* The contexts one thread seals with: OpenSSL contexts carry per-packet state, so threads that
 * encrypt for the same SA at once (a multi-queue TUN's readers) each need their own. */
/* Packets and bytes with a single writer: added with a plain load and store (no locked
 * instruction on the per-packet path), read from any thread. */
typedef struct {
  _Atomic uint64_t packets, bytes;
} tally;

typedef struct {
  EVP_CIPHER_CTX *enc;
  EVP_MAC_CTX *mac; /* CBC suites: HMAC keyed once */
  tally sent;       /* this lane's share of the SA's outbound counts */
} lane_ctx;

/* What an SA opens packets with. */
typedef struct {
  EVP_CIPHER_CTX *dec;
  EVP_MAC_CTX *mac; /* CBC suites */
} opener_ctx;

/* Contexts are made when first used: an SA carries one direction (an inbound SA never seals, an
 * outbound one never opens), so making both at setup doubled the OpenSSL memory of every SA. */
struct dp_sa {
  dp_sa_config config;
  const suite_info *suite;
  uint8_t salt[4];
  size_t size;                             /* of this allocation, wiped when freed */
  _Atomic(lane_ctx *) lanes[DP_ESP_LANES]; /* lane 0: every thread outside a multi-queue hub; lanes 1..: their own thread */
  _Atomic(opener_ctx *) opener;
  /* Contexts made later need the keys; they are wiped with the SA. */
  uint8_t enc_key[36], integ_key[48];
  _Atomic uint64_t next_seq; /* taken with one atomic add: concurrent senders never share a number */
  dp_replay replay;
  tally received;            /* decryption stays with one thread */
  dp_sa_counters counters;   /* drops (atomic adds: rare) and the expiry flags; packets and bytes are the tallies' */
  _Atomic unsigned reported; /* DP_EXPIRE_* already handed to the slow path */
  uint64_t replay_bits[];    /* the window's blocks only (none outbound) */
};

static __thread unsigned current_lane;
void dp_esp_set_lane(unsigned lane) { current_lane = lane < DP_ESP_LANES ? lane : 0; }

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool init_cipher(EVP_CIPHER_CTX *ctx, const suite_info *s, const uint8_t *key, int encrypt) {
  if (EVP_CipherInit_ex(ctx, s->cipher(), NULL, NULL, NULL, encrypt) != 1) return false;
  if (s->aead && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) != 1) return false;
  if (EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, encrypt) != 1) return false;
  if (!s->aead) EVP_CIPHER_CTX_set_padding(ctx, 0); /* ESP pads itself */
  return true;
}

static EVP_MAC_CTX *new_mac(const dp_sa *sa) {
  EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!hmac) return NULL;
  EVP_MAC_CTX *mac = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);
  if (!mac) return NULL;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)sa->suite->digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(mac, sa->integ_key, sa->config.integ_key_len, params) == 1) return mac;
  EVP_MAC_CTX_free(mac);
  return NULL;
}

static bool init_lane(const dp_sa *sa, lane_ctx *lane) {
  lane->enc = EVP_CIPHER_CTX_new();
  if (!lane->enc || !init_cipher(lane->enc, sa->suite, sa->enc_key, 1)) return false;
  return sa->suite->aead || (lane->mac = new_mac(sa)) != NULL;
}

static void free_lane(lane_ctx *lane) {
  EVP_CIPHER_CTX_free(lane->enc);
  EVP_MAC_CTX_free(lane->mac);
}

/* The calling thread's contexts; NULL when a new lane cannot be made (out of memory, or the
 * crypto library refused the key). Lane 0 may be shared by threads that take turns, so a lane is
 * published with a compare-and-swap: a loser frees its own and takes the winner's. */
static lane_ctx *lane_of(dp_sa *sa) {
  unsigned i = current_lane;
  lane_ctx *lane = atomic_load_explicit(&sa->lanes[i], memory_order_acquire);
  if (lane) return lane;
  lane = calloc(1, sizeof *lane);
  lane_ctx *none = NULL;
  if (lane && init_lane(sa, lane) &&
      atomic_compare_exchange_strong_explicit(&sa->lanes[i], &none, lane, memory_order_acq_rel, memory_order_acquire))
    return lane;
  if (lane) free_lane(lane);
  free(lane);
  return none; /* the winner's lane, or NULL */
}

static void free_opener(opener_ctx *o) {
  if (!o) return;
  EVP_CIPHER_CTX_free(o->dec);
  EVP_MAC_CTX_free(o->mac);
  free(o);
}

/* The SA's decryption contexts, made on its first packet in. */
static opener_ctx *opener_of(dp_sa *sa) {
  opener_ctx *o = atomic_load_explicit(&sa->opener, memory_order_acquire);
  if (o) return o;
  o = calloc(1, sizeof *o);
  opener_ctx *none = NULL;
  if (o && (o->dec = EVP_CIPHER_CTX_new()) && init_cipher(o->dec, sa->suite, sa->enc_key, 0) &&
      (sa->suite->aead || (o->mac = new_mac(sa))) &&
      atomic_compare_exchange_strong_explicit(&sa->opener, &none, o, memory_order_acq_rel, memory_order_acquire))
    return o;
  free_opener(o);
  return none;
}

dp_sa *dp_sa_new(const dp_sa_config *config, dp_status *error) {
  const suite_info *s = suite_of(config->suite);
  *error = DP_ERR_CONFIG;
  if (!s || config->enc_key_len != s->key_len + (s->aead ? 4 : 0)) return NULL;
  if (!s->aead && config->integ_key_len != s->integ_key_len) return NULL;
  uint32_t blocks = dp_replay_blocks(config->replay_window);
  size_t size = sizeof(dp_sa) + blocks * sizeof(uint64_t);
  dp_sa *sa = calloc(1, size);
  if (!sa) return NULL;
  sa->size = size;
  sa->config = *config;
  sa->config.enc_key = NULL; /* the caller's buffers are not ours to keep */
  sa->config.integ_key = NULL;
  memcpy(sa->enc_key, config->enc_key, config->enc_key_len);
  if (!s->aead) memcpy(sa->integ_key, config->integ_key, config->integ_key_len);
  sa->suite = s;
  atomic_init(&sa->next_seq, 1);
  if (!dp_replay_init(&sa->replay, config->replay_window, sa->replay_bits)) goto fail;
  if (s->aead) memcpy(sa->salt, config->enc_key + s->key_len, 4);
  *error = DP_OK;
  return sa;
fail:
  dp_sa_free(sa);
  return NULL;
}

void dp_sa_free(dp_sa *sa) {
  if (!sa) return;
  for (int i = 0; i < DP_ESP_LANES; i++) {
    lane_ctx *lane = atomic_load(&sa->lanes[i]);
    if (lane) free_lane(lane);
    free(lane);
  }
  free_opener(atomic_load(&sa->opener));
  OPENSSL_cleanse(sa, sa->size);
  free(sa);
}

static uint64_t read_tally(const _Atomic uint64_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }

static void tally_add(tally *t, uint64_t bytes) {
  atomic_store_explicit(&t->packets, read_tally(&t->packets) + 1, memory_order_relaxed);
  atomic_store_explicit(&t->bytes, read_tally(&t->bytes) + bytes, memory_order_relaxed);
}

/* Everything the SA carried: what it opened, or what its lanes sealed. */
static void totals(const dp_sa *sa, uint64_t *packets, uint64_t *bytes) {
  *packets = read_tally(&sa->received.packets);
  *bytes = read_tally(&sa->received.bytes);
  for (int i = 0; i < DP_ESP_LANES; i++) {
    const lane_ctx *lane = atomic_load_explicit(&sa->lanes[i], memory_order_acquire);
    if (!lane) continue;
    *packets += read_tally(&lane->sent.packets);
    *bytes += read_tally(&lane->sent.bytes);
  }
}

dp_sa_counters dp_sa_counters_of(const dp_sa *sa) {
  dp_sa_counters c;
  const dp_sa_counters *d = &sa->counters;
  totals(sa, &c.packets, &c.bytes);
  c.drop_short = __atomic_load_n(&d->drop_short, __ATOMIC_RELAXED);
  c.drop_replay = __atomic_load_n(&d->drop_replay, __ATOMIC_RELAXED);
  c.drop_auth = __atomic_load_n(&d->drop_auth, __ATOMIC_RELAXED);
  c.drop_padding = __atomic_load_n(&d->drop_padding, __ATOMIC_RELAXED);
  c.drop_spi = __atomic_load_n(&d->drop_spi, __ATOMIC_RELAXED);
  c.drop_expired = __atomic_load_n(&d->drop_expired, __ATOMIC_RELAXED);
  c.drop_other = __atomic_load_n(&d->drop_other, __ATOMIC_RELAXED);
  c.soft_expired = __atomic_load_n(&d->soft_expired, __ATOMIC_RELAXED);
  c.hard_expired = __atomic_load_n(&d->hard_expired, __ATOMIC_RELAXED);
  return c;
}
uint32_t dp_sa_spi(const dp_sa *sa) { return sa->config.spi; }

unsigned dp_sa_take_expiry(dp_sa *sa) {
  unsigned now = (__atomic_load_n(&sa->counters.soft_expired, __ATOMIC_RELAXED) ? DP_EXPIRE_SOFT : 0) |
                 (__atomic_load_n(&sa->counters.hard_expired, __ATOMIC_RELAXED) ? DP_EXPIRE_HARD : 0);
  unsigned before = atomic_fetch_or(&sa->reported, now);
  return now & ~before;
}
void dp_sa_set_next_seq(dp_sa *sa, uint64_t seq) { atomic_store(&sa->next_seq, seq); }
void dp_sa_set_replay_top(dp_sa *sa, uint64_t top) { sa->replay.top = top; }

static size_t pad_len(const suite_info *s, size_t payload_len) {
  return (s->block - ((payload_len + 2) % s->block)) % s->block;
}

size_t dp_esp_overhead(const dp_sa *sa, size_t payload_len) {
  const suite_info *s = sa->suite;
  return ESP_HEADER + s->iv_len + pad_len(s, payload_len) + 2 + s->icv_len;
}

/* RFC 4106 §5 / RFC 7634 §2.1: SPI, then the 64-bit ESN or the 32-bit sequence number. */
static size_t build_aad(const dp_sa *sa, uint64_t seq, uint8_t aad[12]) {
  put32(aad, sa->config.spi);
  if (!sa->config.esn) {
    put32(aad + 4, (uint32_t)seq);
    return 8;
  }
  put32(aad + 4, (uint32_t)(seq >> 32));
  put32(aad + 8, (uint32_t)seq);
  return 12;
}

/* RFC 4106 §4 / RFC 7634 §2: the 12-byte nonce is the SA's salt then the packet's 8-byte IV. */
static void aead_nonce(const dp_sa *sa, const uint8_t *iv, uint8_t nonce[12]) {
  memcpy(nonce, sa->salt, 4);
  memcpy(nonce + 4, iv, 8);
}

/* RFC 4303 §2.2.1: with ESN the high half is appended to what the ICV covers, not sent. */
static bool hmac(const dp_sa *sa, EVP_MAC_CTX *mac, const uint8_t *data, size_t len, uint64_t seq, uint8_t *icv) {
  uint8_t full[64];
  size_t out = 0;
  if (EVP_MAC_init(mac, NULL, 0, NULL) != 1 || EVP_MAC_update(mac, data, len) != 1) return false;
  if (sa->config.esn) {
    uint8_t hi[4];
    put32(hi, (uint32_t)(seq >> 32));
    if (EVP_MAC_update(mac, hi, 4) != 1) return false;
  }
  if (EVP_MAC_final(mac, full, &out, sizeof full) != 1) return false;
  memcpy(icv, full, sa->suite->icv_len);
  return true;
}

/* Counters are bumped with relaxed atomic adds: several threads may send on one SA. */
#define BUMP(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)

static dp_status check_lifetime_before(dp_sa *sa) {
  if (!__atomic_load_n(&sa->counters.hard_expired, __ATOMIC_RELAXED)) return DP_OK;
  BUMP(sa->counters.drop_expired, 1);
  return DP_ERR_EXPIRED;
}

/* Counts a packet on the caller's tally; lifetimes, when the SA has any, are checked against the
 * whole SA's totals. */
static void count(dp_sa *sa, tally *t, size_t bytes) {
  tally_add(t, bytes);
  const dp_sa_config *l = &sa->config;
  if (!l->soft_bytes && !l->soft_packets && !l->hard_bytes && !l->hard_packets) return;
  uint64_t packets, total;
  totals(sa, &packets, &total);
  dp_sa_counters *c = &sa->counters;
  if ((l->soft_bytes && total >= l->soft_bytes) || (l->soft_packets && packets >= l->soft_packets)) __atomic_store_n(&c->soft_expired, true, __ATOMIC_RELAXED);
  if ((l->hard_bytes && total >= l->hard_bytes) || (l->hard_packets && packets >= l->hard_packets)) __atomic_store_n(&c->hard_expired, true, __ATOMIC_RELAXED);
}


/* Encrypts the payload straight from where it lies, then the padding and trailer, into the packet
 * after its header and IV (no copy of the payload first), and writes the tag/ICV after them. */
static dp_status seal(const dp_sa *sa, lane_ctx *lane, uint8_t *packet, size_t ct_off, const uint8_t *payload, size_t payload_len,
                      const uint8_t *tail, size_t tail_len, uint64_t seq) {
  const suite_info *s = sa->suite;
  const uint8_t *iv = packet + ESP_HEADER;
  uint8_t *ct = packet + ct_off, *icv = ct + payload_len + tail_len;
  int n1 = 0, n2 = 0, n3 = 0;
  if (s->aead) {
    uint8_t nonce[12], aad[12];
    aead_nonce(sa, iv, nonce);
    size_t aad_len = build_aad(sa, seq, aad);
    if (EVP_EncryptInit_ex(lane->enc, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate(lane->enc, NULL, &n1, aad, (int)aad_len) != 1 ||
        EVP_EncryptUpdate(lane->enc, ct, &n1, payload, (int)payload_len) != 1 ||
        EVP_EncryptUpdate(lane->enc, ct + n1, &n2, tail, (int)tail_len) != 1 ||
        EVP_EncryptFinal_ex(lane->enc, ct + n1 + n2, &n3) != 1 ||
        EVP_CIPHER_CTX_ctrl(lane->enc, EVP_CTRL_AEAD_GET_TAG, (int)s->icv_len, icv) != 1)
      return DP_ERR_CRYPTO;
    return DP_OK;
  }
  /* CBC: the cipher holds a partial block back between the two updates; the total is whole blocks. */
  if (EVP_EncryptInit_ex(lane->enc, NULL, NULL, NULL, iv) != 1 ||
      EVP_EncryptUpdate(lane->enc, ct, &n1, payload, (int)payload_len) != 1 ||
      EVP_EncryptUpdate(lane->enc, ct + n1, &n2, tail, (int)tail_len) != 1 ||
      (size_t)(n1 + n2) != payload_len + tail_len ||
      !hmac(sa, lane->mac, packet, ct_off + payload_len + tail_len, seq, icv))
    return DP_ERR_CRYPTO;
  return DP_OK;
}

/* RFC 4303 §3.3.3: the counter never cycles; the SA must be rekeyed first. A number taken past
 * the end is never sent, so the shared counter may run on without wrapping back into use. */
static bool exhausted(const dp_sa *sa, uint64_t seq) { return (!sa->config.esn && seq > UINT32_MAX) || seq == 0; }

dp_status dp_esp_encrypt(dp_sa *sa, const uint8_t *payload, size_t payload_len, uint8_t next_header,
                         const uint8_t *iv, uint8_t *out, size_t out_cap, size_t *out_len) {
  const suite_info *s = sa->suite;
  dp_status status = check_lifetime_before(sa);
  if (status != DP_OK) return status;
  if (exhausted(sa, atomic_load_explicit(&sa->next_seq, memory_order_relaxed))) return DP_ERR_SEQ_EXHAUSTED;
  size_t pad = pad_len(s, payload_len);
  size_t ct_off = ESP_HEADER + s->iv_len;
  size_t ct_len = payload_len + pad + 2;
  size_t total = ct_off + ct_len + s->icv_len;
  if (total > out_cap) return DP_ERR_SPACE;
  lane_ctx *lane = lane_of(sa);
  if (!lane) return DP_ERR_CRYPTO;
  uint64_t seq = atomic_fetch_add_explicit(&sa->next_seq, 1, memory_order_relaxed);
  if (exhausted(sa, seq)) return DP_ERR_SEQ_EXHAUSTED;

  put32(out, sa->config.spi);
  put32(out + 4, (uint32_t)seq);
  if (iv) memcpy(out + ESP_HEADER, iv, s->iv_len);
  else if (s->aead) { put32(out + 8, (uint32_t)(seq >> 32)); put32(out + 12, (uint32_t)seq); } /* unique per key */
  else if (RAND_bytes(out + ESP_HEADER, (int)s->iv_len) != 1) return DP_ERR_CRYPTO; /* CBC: unpredictable */
  uint8_t tail[255 + 2]; /* padding 1, 2, 3, ... (RFC 4303 §2.4), pad length, next header */
  for (size_t i = 0; i < pad; i++) tail[i] = (uint8_t)(i + 1);
  tail[pad] = (uint8_t)pad;
  tail[pad + 1] = next_header;

  status = seal(sa, lane, out, ct_off, payload, payload_len, tail, pad + 2, seq);
  if (status != DP_OK) return status; /* the number is spent: a gap is harmless, a reuse is not */
  count(sa, &lane->sent, payload_len);
  *out_len = total;
  return DP_OK;
}

/* Verifies and decrypts packet[ct_off, +ct_len) into out. */
static dp_status open_payload(dp_sa *sa, const uint8_t *packet, size_t ct_off, size_t ct_len, uint64_t seq, uint8_t *out) {
  const suite_info *s = sa->suite;
  const uint8_t *iv = packet + ESP_HEADER;
  const uint8_t *icv = packet + ct_off + ct_len;
  opener_ctx *o = opener_of(sa);
  if (!o) return DP_ERR_CRYPTO;
  EVP_CIPHER_CTX *dec = o->dec;
  int n = 0;
  if (s->aead) {
    uint8_t nonce[12], aad[12];
    aead_nonce(sa, iv, nonce);
    size_t aad_len = build_aad(sa, seq, aad);
    if (EVP_DecryptInit_ex(dec, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate(dec, NULL, &n, aad, (int)aad_len) != 1 ||
        EVP_DecryptUpdate(dec, out, &n, packet + ct_off, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, (int)s->icv_len, (void *)icv) != 1)
      return DP_ERR_CRYPTO;
    return EVP_DecryptFinal_ex(dec, out + n, &n) == 1 ? DP_OK : DP_ERR_AUTH;
  }
  uint8_t expected[64];
  if (!hmac(sa, o->mac, packet, ct_off + ct_len, seq, expected)) return DP_ERR_CRYPTO;
  if (CRYPTO_memcmp(expected, icv, s->icv_len) != 0) return DP_ERR_AUTH; /* before decrypting anything */
  if (EVP_DecryptInit_ex(dec, NULL, NULL, NULL, iv) != 1 ||
      EVP_DecryptUpdate(dec, out, &n, packet + ct_off, (int)ct_len) != 1)
    return DP_ERR_CRYPTO;
  return DP_OK;
}

static dp_status drop(dp_sa *sa, dp_status why) {
  dp_sa_counters *c = &sa->counters;
  switch (why) {
    case DP_ERR_SHORT: case DP_ERR_ALIGN: BUMP(c->drop_short, 1); break;
    case DP_ERR_REPLAY: BUMP(c->drop_replay, 1); break;
    case DP_ERR_AUTH: BUMP(c->drop_auth, 1); break;
    case DP_ERR_PADDING: BUMP(c->drop_padding, 1); break;
    case DP_ERR_SPI: BUMP(c->drop_spi, 1); break;
    default: BUMP(c->drop_other, 1); break;
  }
  return why;
}

dp_status dp_esp_decrypt(dp_sa *sa, const uint8_t *packet, size_t len, uint8_t *out, size_t out_cap,
                         size_t *out_len, uint8_t *next_header) {
  const suite_info *s = sa->suite;
  dp_status status = check_lifetime_before(sa);
  if (status != DP_OK) return status;
  size_t ct_off = ESP_HEADER + s->iv_len;
  if (len < ct_off + s->block + s->icv_len) return drop(sa, DP_ERR_SHORT);
  size_t ct_len = len - ct_off - s->icv_len;
  if (ct_len % s->block != 0) return drop(sa, DP_ERR_ALIGN);
  if (get32(packet) != sa->config.spi) return drop(sa, DP_ERR_SPI);
  if (ct_len > out_cap) return DP_ERR_SPACE;
  uint64_t seq = dp_replay_infer(&sa->replay, get32(packet + 4), sa->config.esn);
  if (!dp_replay_check(&sa->replay, seq)) return drop(sa, DP_ERR_REPLAY); /* cheap, before crypto */

  status = open_payload(sa, packet, ct_off, ct_len, seq, out);
  if (status != DP_OK) return drop(sa, status);
  /* RFC 4303 §2.4 and §2.5: the pad length must fit, and the pad bytes must be 1, 2, 3, ... */
  uint8_t pad = out[ct_len - 2];
  if ((size_t)pad + 2 > ct_len) return drop(sa, DP_ERR_PADDING);
  size_t payload_len = ct_len - 2 - pad;
  for (size_t i = 0; i < pad; i++) {
    if (out[payload_len + i] != (uint8_t)(i + 1)) return drop(sa, DP_ERR_PADDING);
  }
  if (!dp_replay_update(&sa->replay, seq)) return drop(sa, DP_ERR_REPLAY);
  *next_header = out[ct_len - 1];
  *out_len = payload_len;
  count(sa, &sa->received, payload_len);
  return DP_OK;
}

const char *dp_status_name(dp_status status) {
  switch (status) {
    case DP_OK: return "ok";
    case DP_ERR_SHORT: return "short";
    case DP_ERR_REPLAY: return "replay";
    case DP_ERR_AUTH: return "auth";
    case DP_ERR_PADDING: return "padding";
    case DP_ERR_SPI: return "spi";
    case DP_ERR_EXPIRED: return "expired";
    case DP_ERR_SPACE: return "space";
    case DP_ERR_SEQ_EXHAUSTED: return "seq-exhausted";
    case DP_ERR_CONFIG: return "config";
    case DP_ERR_CRYPTO: return "crypto";
    case DP_ERR_ALIGN: return "align";
  }
  return "unknown";
}
