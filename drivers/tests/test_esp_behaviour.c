/* ESP behaviour every suite must show: round trips, and every malformed packet dropped and counted. */
#include <openssl/evp.h>

#include "esp.h"
#include "tap.h"

void test_esp_behaviour(void);

static const dp_suite ALL[] = {
    DP_SUITE_AES_GCM_128, DP_SUITE_AES_GCM_256, DP_SUITE_CHACHA20_POLY1305, DP_SUITE_AES_CBC_128_HMAC_SHA1_96,
    DP_SUITE_AES_CBC_256_HMAC_SHA1_96, DP_SUITE_AES_CBC_128_HMAC_SHA256_128, DP_SUITE_AES_CBC_256_HMAC_SHA256_128,
    DP_SUITE_3DES_CBC_HMAC_SHA1_96, DP_SUITE_3DES_CBC_HMAC_SHA256_128, DP_SUITE_3DES_CBC_HMAC_SHA384_192,
};
static const char *NAMES[] = {"aes-gcm-128", "aes-gcm-256", "chacha20-poly1305", "aes-cbc-128-sha1", "aes-cbc-256-sha1", "aes-cbc-128-sha256", "aes-cbc-256-sha256",
                              "3des-cbc-sha1", "3des-cbc-sha256", "3des-cbc-sha384"};
static unsigned char KEY[36] = "0123456789abcdef0123456789abcdefSALT";
static unsigned char INTEG[48] = "integrity-key-integrity-key-0123integrity-key-45";

static dp_sa_config config_for(dp_suite s, int esn) {
  int aead = s == DP_SUITE_AES_GCM_128 || s == DP_SUITE_AES_GCM_256 || s == DP_SUITE_CHACHA20_POLY1305;
  int des3 = s == DP_SUITE_3DES_CBC_HMAC_SHA1_96 || s == DP_SUITE_3DES_CBC_HMAC_SHA256_128 || s == DP_SUITE_3DES_CBC_HMAC_SHA384_192;
  size_t key = des3 ? 24 : (s == DP_SUITE_AES_GCM_128 || s == DP_SUITE_AES_CBC_128_HMAC_SHA1_96 || s == DP_SUITE_AES_CBC_128_HMAC_SHA256_128) ? 16 : 32;
  size_t integ = (s == DP_SUITE_AES_CBC_128_HMAC_SHA1_96 || s == DP_SUITE_AES_CBC_256_HMAC_SHA1_96 || s == DP_SUITE_3DES_CBC_HMAC_SHA1_96) ? 20
                 : s == DP_SUITE_3DES_CBC_HMAC_SHA384_192 ? 48 : 32;
  dp_sa_config c = {.spi = 0xc0ffee01, .suite = s, .esn = esn, .replay_window = 1024, .enc_key = KEY, .enc_key_len = key + (aead ? 4 : 0)};
  if (!aead) { c.integ_key = INTEG; c.integ_key_len = integ; }
  return c;
}

static void round_trips(dp_suite s, const char *name) {
  char label[128];
  for (int esn = 0; esn <= 1; esn++) {
    dp_status st;
    dp_sa_config c = config_for(s, esn);
    dp_sa *tx = dp_sa_new(&c, &st), *rx = dp_sa_new(&c, &st);
    unsigned char payload[1500], packet[1600], out[1600];
    int ok = tx && rx;
    for (size_t len = 0; ok && len <= 1400; len += 97) {
      for (size_t i = 0; i < len; i++) payload[i] = (unsigned char)(i * 7 + len);
      size_t plen = 0, olen = 0;
      uint8_t nh = 0;
      ok &= dp_esp_encrypt(tx, payload, len, 4, NULL, packet, sizeof packet, &plen) == DP_OK;
      ok &= plen == len + dp_esp_overhead(tx, len) && (plen - 8) % 4 == 0;
      ok &= dp_esp_decrypt(rx, packet, plen, out, sizeof out, &olen, &nh) == DP_OK && olen == len && nh == 4 && memcmp(out, payload, len) == 0;
    }
    snprintf(label, sizeof label, "%s%s: round trips from 0 to 1400 bytes", name, esn ? " with ESN" : "");
    CHECK(ok && dp_sa_counters_of(rx).packets == 15, label);
    dp_sa_free(tx);
    dp_sa_free(rx);
  }
}

static void drops(dp_suite s, const char *name) {
  char label[128];
  dp_status st;
  dp_sa_config c = config_for(s, 0);
  dp_sa *tx = dp_sa_new(&c, &st), *rx = dp_sa_new(&c, &st);
  unsigned char payload[100] = {0}, packet[300], copy[300], out[300];
  size_t plen = 0, olen = 0;
  uint8_t nh;
  dp_esp_encrypt(tx, payload, sizeof payload, 4, NULL, packet, sizeof packet, &plen);
  memcpy(copy, packet, plen);
  copy[plen - 20] ^= 1;
  snprintf(label, sizeof label, "%s: a flipped bit fails authentication", name);
  CHECK(dp_esp_decrypt(rx, copy, plen, out, sizeof out, &olen, &nh) == DP_ERR_AUTH && dp_sa_counters_of(rx).drop_auth == 1, label);
  snprintf(label, sizeof label, "%s: truncated packets are short", name);
  CHECK(dp_esp_decrypt(rx, packet, 20, out, sizeof out, &olen, &nh) == DP_ERR_SHORT && dp_esp_decrypt(rx, packet, 0, out, sizeof out, &olen, &nh) == DP_ERR_SHORT, label);
  memcpy(copy, packet, plen);
  copy[3] ^= 0xff;
  snprintf(label, sizeof label, "%s: another SPI is refused", name);
  CHECK(dp_esp_decrypt(rx, copy, plen, out, sizeof out, &olen, &nh) == DP_ERR_SPI, label);
  snprintf(label, sizeof label, "%s: the genuine packet opens once, then is a replay", name);
  CHECK(dp_esp_decrypt(rx, packet, plen, out, sizeof out, &olen, &nh) == DP_OK &&
        dp_esp_decrypt(rx, packet, plen, out, sizeof out, &olen, &nh) == DP_ERR_REPLAY && dp_sa_counters_of(rx).drop_replay == 1, label);
  dp_sa_free(tx);
  dp_sa_free(rx);
}

/* Bad padding needs a packet whose trailer is wrong yet authentic: seal one by hand (AES-GCM-128). */
static void bad_padding(void) {
  dp_status st;
  dp_sa_config c = config_for(DP_SUITE_AES_GCM_128, 0);
  dp_sa *rx = dp_sa_new(&c, &st);
  unsigned char pkt[64] = {0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, out[64], nonce[12];
  unsigned char plain[8] = {'d', 'a', 't', 'a', 9, 9, /*pad length*/ 2, /*next header*/ 4}; /* pad bytes should be 1, 2 */
  unsigned char aad[8] = {0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 1};
  memcpy(nonce, KEY + 16, 4);
  memcpy(nonce + 4, pkt + 8, 8);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int n;
  EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, KEY, nonce);
  EVP_EncryptUpdate(ctx, NULL, &n, aad, 8);
  EVP_EncryptUpdate(ctx, pkt + 16, &n, plain, 8);
  EVP_EncryptFinal_ex(ctx, pkt + 24, &n);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, pkt + 24);
  EVP_CIPHER_CTX_free(ctx);
  size_t olen;
  uint8_t nh;
  CHECK(dp_esp_decrypt(rx, pkt, 40, out, sizeof out, &olen, &nh) == DP_ERR_PADDING && dp_sa_counters_of(rx).drop_padding == 1,
        "authentic packet with pad bytes not 1, 2, ... is dropped as bad padding");
  dp_sa_free(rx);
}

static void lifetimes_and_sequence(void) {
  dp_status st;
  dp_sa_config c = config_for(DP_SUITE_AES_GCM_128, 0);
  c.soft_packets = 2;
  c.hard_packets = 3;
  dp_sa *tx = dp_sa_new(&c, &st);
  unsigned char p[10] = {0}, out[100];
  size_t len;
  int ok = dp_esp_encrypt(tx, p, 10, 4, NULL, out, sizeof out, &len) == DP_OK && !dp_sa_counters_of(tx).soft_expired;
  ok &= dp_esp_encrypt(tx, p, 10, 4, NULL, out, sizeof out, &len) == DP_OK && dp_sa_counters_of(tx).soft_expired;
  ok &= dp_esp_encrypt(tx, p, 10, 4, NULL, out, sizeof out, &len) == DP_OK && dp_sa_counters_of(tx).hard_expired;
  CHECK(ok && dp_esp_encrypt(tx, p, 10, 4, NULL, out, sizeof out, &len) == DP_ERR_EXPIRED, "soft, then hard packet lifetimes");
  dp_sa_free(tx);

  dp_sa_config n = config_for(DP_SUITE_AES_GCM_128, 0);
  tx = dp_sa_new(&n, &st);
  dp_sa_set_next_seq(tx, 0xffffffffull);
  CHECK(dp_esp_encrypt(tx, p, 10, 4, NULL, out, sizeof out, &len) == DP_OK &&
            dp_esp_encrypt(tx, p, 10, 4, NULL, out, sizeof out, &len) == DP_ERR_SEQ_EXHAUSTED,
        "without ESN the 32-bit counter never cycles");
  CHECK(dp_esp_encrypt(tx, p, 10, 4, NULL, out, 20, &len) == DP_ERR_SEQ_EXHAUSTED, "and stays exhausted");
  dp_sa_free(tx);

  dp_sa_config bad = config_for(DP_SUITE_AES_GCM_256, 0);
  bad.enc_key_len = 32; /* missing salt */
  CHECK(dp_sa_new(&bad, &st) == NULL && st == DP_ERR_CONFIG, "a key without its salt is refused");
  bad = config_for(DP_SUITE_AES_GCM_128, 0);
  bad.replay_window = 10;
  CHECK(dp_sa_new(&bad, &st) == NULL && st == DP_ERR_CONFIG, "a replay window below 32 is refused");
}

/* An SA keeps only the replay blocks its window needs: the largest window is checked at its left
 * edge (under ASan a short bitmap shows), and one SA opens and seals, each direction's contexts made
 * when first needed. */
static void window_edges_and_both_directions(dp_suite s, const char *name) {
  char label[128];
  dp_status st;
  dp_sa_config c = config_for(s, 0); /* with ESN a number left of the window is read as the next 2^32 */
  c.replay_window = DP_REPLAY_MAX_WINDOW;
  dp_sa *tx = dp_sa_new(&c, &st), *rx = dp_sa_new(&c, &st);
  unsigned char payload[64] = {1, 2, 3}, packets[3][200], out[200];
  size_t plen[3] = {0}, olen = 0;
  uint8_t nh;
  int ok = tx && rx;
  uint64_t seqs[3] = {1, 5000, 5000 - DP_REPLAY_MAX_WINDOW + 1}; /* the oldest one still inside */
  for (int i = 0; ok && i < 3; i++) {
    dp_sa_set_next_seq(tx, seqs[i]);
    ok &= dp_esp_encrypt(tx, payload, sizeof payload, 4, NULL, packets[i], sizeof packets[i], &plen[i]) == DP_OK;
  }
  ok &= dp_esp_decrypt(rx, packets[1], plen[1], out, sizeof out, &olen, &nh) == DP_OK;
  ok &= dp_esp_decrypt(rx, packets[0], plen[0], out, sizeof out, &olen, &nh) == DP_ERR_REPLAY;
  ok &= dp_esp_decrypt(rx, packets[2], plen[2], out, sizeof out, &olen, &nh) == DP_OK;
  ok &= dp_esp_decrypt(rx, packets[2], plen[2], out, sizeof out, &olen, &nh) == DP_ERR_REPLAY;
  snprintf(label, sizeof label, "%s: a %u-packet window's left edge accepted once, older refused", name, DP_REPLAY_MAX_WINDOW);
  CHECK(ok && dp_sa_counters_of(rx).drop_replay == 2, label);
  /* rx now seals too, and tx opens what it sealed: both SAs end with both sets of contexts. */
  size_t back = 0;
  ok = dp_esp_encrypt(rx, payload, 10, 4, NULL, packets[0], sizeof packets[0], &back) == DP_OK;
  dp_sa_set_next_seq(rx, 1);
  ok &= dp_esp_decrypt(tx, packets[0], back, out, sizeof out, &olen, &nh) == DP_OK && olen == 10 && memcmp(out, payload, 10) == 0;
  snprintf(label, sizeof label, "%s: one SA opens and then seals (each direction's contexts on demand)", name);
  CHECK(ok && dp_sa_counters_of(rx).packets == 3 && dp_sa_counters_of(tx).packets == 4, label);
  dp_sa_free(tx);
  dp_sa_free(rx);
}

void test_esp_behaviour(void) {
  window_edges_and_both_directions(DP_SUITE_AES_GCM_128, "aes-gcm-128");
  window_edges_and_both_directions(DP_SUITE_AES_CBC_256_HMAC_SHA256_128, "aes-cbc-256-sha256");
  for (size_t i = 0; i < sizeof ALL / sizeof ALL[0]; i++) {
    round_trips(ALL[i], NAMES[i]);
    drops(ALL[i], NAMES[i]);
  }
  bad_padding();
  lifetimes_and_sequence();
}
