#include "tls_keys.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <string.h>

bool dp_tls13_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len, const char *label, uint8_t *out, size_t out_len) {
  size_t hash_len = (size_t)EVP_MD_get_size(md), label_len = strlen(label);
  if (!hash_len || hash_len > EVP_MAX_MD_SIZE || out_len > 255 * hash_len || out_len > UINT16_MAX || label_len > 249) return false;
  /* HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255> = "". */
  uint8_t info[2 + 1 + 255 + 1];
  size_t n = 0;
  info[n++] = (uint8_t)(out_len >> 8);
  info[n++] = (uint8_t)out_len;
  info[n++] = (uint8_t)(6 + label_len);
  memcpy(info + n, "tls13 ", 6);
  memcpy(info + n + 6, label, label_len);
  n += 6 + label_len;
  info[n++] = 0;
  /* HKDF-Expand (RFC 5869 section 2.3): T(i) = HMAC(PRK, T(i-1) | info | i). */
  uint8_t t[EVP_MAX_MD_SIZE], block[EVP_MAX_MD_SIZE + sizeof info + 1];
  size_t t_len = 0, done = 0;
  for (uint8_t i = 1; done < out_len; i++) {
    memcpy(block, t, t_len);
    memcpy(block + t_len, info, n);
    block[t_len + n] = i;
    unsigned md_len = 0;
    if (!HMAC(md, secret, (int)secret_len, block, t_len + n + 1, t, &md_len)) return false;
    t_len = md_len;
    size_t take = out_len - done < t_len ? out_len - done : t_len;
    memcpy(out + done, t, take);
    done += take;
  }
  OPENSSL_cleanse(t, sizeof t);
  OPENSSL_cleanse(block, sizeof block);
  return true;
}

bool dp_tls13_traffic_keys(const EVP_MD *md, const uint8_t *secret, size_t secret_len, uint8_t *key, size_t key_len, uint8_t iv[12]) {
  return dp_tls13_expand_label(md, secret, secret_len, "key", key, key_len) && dp_tls13_expand_label(md, secret, secret_len, "iv", iv, 12);
}

bool dp_tls12_prf(const EVP_MD *md, const uint8_t *secret, size_t secret_len, const char *label, const uint8_t *seed, size_t seed_len, uint8_t *out,
                  size_t out_len) {
  size_t label_len = strlen(label);
  uint8_t s[128];
  if (label_len + seed_len > sizeof s || secret_len > INT32_MAX) return false;
  memcpy(s, label, label_len);
  memcpy(s + label_len, seed, seed_len);
  size_t s_len = label_len + seed_len;
  /* P_hash: A(0) = seed, A(i) = HMAC(secret, A(i-1)); output HMAC(secret, A(i) | seed) for i = 1, 2, ... */
  uint8_t a[EVP_MAX_MD_SIZE], next[EVP_MAX_MD_SIZE], block[EVP_MAX_MD_SIZE + sizeof s], t[EVP_MAX_MD_SIZE];
  unsigned a_len = 0, t_len = 0;
  if (!HMAC(md, secret, (int)secret_len, s, s_len, a, &a_len)) return false;
  for (size_t done = 0; done < out_len;) {
    memcpy(block, a, a_len);
    memcpy(block + a_len, s, s_len);
    if (!HMAC(md, secret, (int)secret_len, block, a_len + s_len, t, &t_len)) return false;
    size_t take = out_len - done < t_len ? out_len - done : t_len;
    memcpy(out + done, t, take);
    done += take;
    if (!HMAC(md, secret, (int)secret_len, a, a_len, next, &a_len)) return false;
    memcpy(a, next, a_len);
  }
  OPENSSL_cleanse(t, sizeof t);
  OPENSSL_cleanse(a, sizeof a);
  OPENSSL_cleanse(next, sizeof next);
  return true;
}

bool dp_tls12_write_keys(const EVP_MD *md, const uint8_t master[48], const uint8_t client_random[32], const uint8_t server_random[32], size_t key_len,
                         size_t iv_len, bool client, uint8_t *key, uint8_t *iv) {
  uint8_t seed[64], block[2 * (DP_TLS_MAX_KEY + DP_TLS_MAX_IV)];
  if (key_len > DP_TLS_MAX_KEY || iv_len > DP_TLS_MAX_IV) return false;
  memcpy(seed, server_random, 32);
  memcpy(seed + 32, client_random, 32);
  size_t need = 2 * (key_len + iv_len);
  if (!dp_tls12_prf(md, master, 48, "key expansion", seed, sizeof seed, block, need)) return false;
  memcpy(key, block + (client ? 0 : key_len), key_len);
  memcpy(iv, block + 2 * key_len + (client ? 0 : iv_len), iv_len);
  OPENSSL_cleanse(block, sizeof block);
  return true;
}
