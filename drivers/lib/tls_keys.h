/* Record keys from TLS secrets, for handing a session's records to the kernel (kTLS, sstp_ktls.h).
 *
 * TLS 1.3 (RFC 8446 section 7.3): a traffic secret gives its direction's write key and IV,
 *   key = HKDF-Expand-Label(secret, "key", "", key_length)
 *   iv  = HKDF-Expand-Label(secret, "iv",  "", 12)
 * with the suite's hash (SHA-256, or SHA-384 for AES-256-GCM).
 * TLS 1.2 (RFC 5246 section 6.3): the key block
 *   PRF(master_secret, "key expansion", server_random + client_random)
 * is cut into client write key, server write key, client write IV, server write IV (AEAD suites
 * carry no MAC keys; the IV is GCM's 4-byte salt, RFC 5288, or ChaCha20's 12 bytes, RFC 7905).
 * Plain functions over libcrypto's HMAC: no SSL object needed, so they are tested on RFC vectors. */
#ifndef POSTERN_TLS_KEYS_H
#define POSTERN_TLS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define DP_TLS_MAX_SECRET 48 /* SHA-384 */
#define DP_TLS_MAX_KEY 32
#define DP_TLS_MAX_IV 12

/* HKDF-Expand-Label(secret, label, "" , out_len) with `md`; false when out_len is beyond one
 * label's reach (255 hash blocks) or HMAC fails. */
bool dp_tls13_expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len, const char *label, uint8_t *out, size_t out_len);

/* A TLS 1.3 traffic secret's write key (key_len bytes) and 12-byte IV. */
bool dp_tls13_traffic_keys(const EVP_MD *md, const uint8_t *secret, size_t secret_len, uint8_t *key, size_t key_len, uint8_t iv[12]);

/* TLS 1.2's PRF (P_hash with `md`, RFC 5246 section 5): out_len bytes of PRF(secret, label, seed). */
bool dp_tls12_prf(const EVP_MD *md, const uint8_t *secret, size_t secret_len, const char *label, const uint8_t *seed, size_t seed_len, uint8_t *out,
                  size_t out_len);

/* One direction's AEAD keys from TLS 1.2's key block: `client` picks the client's write side. */
bool dp_tls12_write_keys(const EVP_MD *md, const uint8_t master[48], const uint8_t client_random[32], const uint8_t server_random[32], size_t key_len,
                         size_t iv_len, bool client, uint8_t *key, uint8_t *iv);

#endif
