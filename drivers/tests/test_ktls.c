/* kTLS's inputs for SSTP calls (issue 23, sstp_ktls.h, tls_keys.h), on any kernel: the key schedule
 * against RFC 8448's trace and OpenSSL's own TLS 1.2 PRF, the crypto_info a call would hand the
 * kernel checked by opening the records OpenSSL itself seals (every suite, both roles, sequence
 * numbers past the first record), the record-boundary follower cut everywhere, keylog lines, and what
 * a non-data record means. */
#define _GNU_SOURCE
#include <linux/tls.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "sstp_ktls.h"
#include "tap.h"

void test_ktls(void);

static void rfc8448_keys(void) {
  /* RFC 8448 section 3 (Simple 1-RTT Handshake): the application traffic secrets and the write key
   * and IV each gives (TLS_AES_128_GCM_SHA256). */
  static const struct {
    const char *who, *secret, *key, *iv;
  } v[] = {
      {"server", "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643", "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
      {"client", "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5", "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
  };
  for (size_t i = 0; i < 2; i++) {
    uint8_t secret[32], want_key[16], want_iv[12], key[16], iv[12];
    unhex(v[i].secret, secret);
    unhex(v[i].key, want_key);
    unhex(v[i].iv, want_iv);
    char name[128];
    snprintf(name, sizeof name, "ktls: RFC 8448's %s application traffic secret gives its write key and IV", v[i].who);
    CHECK(dp_tls13_traffic_keys(EVP_sha256(), secret, 32, key, 16, iv) && memcmp(key, want_key, 16) == 0 && memcmp(iv, want_iv, 12) == 0, name);
  }
  uint8_t secret[32] = {0}, out[16];
  CHECK(!dp_tls13_expand_label(EVP_sha256(), secret, 32, "key", out, 256 * 32), "ktls: HKDF-Expand-Label refuses more than 255 blocks");
}

/* TLS 1.2's PRF against OpenSSL's TLS1-PRF KDF, for both hashes the AEAD suites use. */
static void tls12_prf(void) {
  uint8_t secret[48], seed[64], ours[104], theirs[104];
  for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(i * 7 + 1);
  for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)(255 - i);
  const char *digests[] = {"SHA256", "SHA384"};
  for (int d = 0; d < 2; d++) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    char label[] = "key expansion";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digests[d], 0),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, secret, sizeof secret),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, label, strlen(label)),
                           OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof seed), OSSL_PARAM_construct_end()};
    bool theirs_ok = k && EVP_KDF_derive(k, theirs, sizeof theirs, params) == 1;
    bool ours_ok = dp_tls12_prf(EVP_get_digestbyname(digests[d]), secret, sizeof secret, label, seed, sizeof seed, ours, sizeof ours);
    char name[96];
    snprintf(name, sizeof name, "ktls: TLS 1.2's PRF with %s gives OpenSSL's 104 bytes", digests[d]);
    CHECK(theirs_ok && ours_ok && memcmp(ours, theirs, sizeof ours) == 0, name);
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
  }
}

/* Records of 10, 300, 0 and 1 bytes back to back: from any prefix, reading what dp_ktls_to_boundary
 * asks (again and again) ends exactly at the end of the record the prefix cut, and never beyond. */
static void boundary(void) {
  static const size_t bodies[] = {10, 300, 0, 1};
  uint8_t stream[512];
  size_t n = 0, ends[4];
  for (size_t r = 0; r < 4; r++) {
    stream[n] = 23, stream[n + 1] = 3, stream[n + 2] = 3, stream[n + 3] = (uint8_t)(bodies[r] >> 8), stream[n + 4] = (uint8_t)bodies[r];
    memset(stream + n + 5, 0xa5, bodies[r]);
    n += 5 + bodies[r];
    ends[r] = n;
  }
  bool exact = true;
  for (size_t k = 0; k <= n; k++) {
    dp_ktls_pending p = {0};
    dp_ktls_track(&p, stream, k);
    size_t at = k, complete_before = 0;
    for (size_t r = 0; r < 4; r++) complete_before += ends[r] <= k;
    for (size_t want; (want = dp_ktls_to_boundary(&p)) > 0 && at + want <= n;) {
      dp_ktls_track(&p, stream + at, want);
      at += want;
    }
    bool on_end = at == 0;
    for (size_t r = 0; r < 4; r++) on_end |= at == ends[r];
    size_t next_end = 0;
    for (size_t r = 0; r < 4 && !next_end; r++)
      if (ends[r] >= k) next_end = ends[r];
    exact &= on_end && (k == 0 || at == next_end) && p.seen_records == complete_before + (at != k);
  }
  CHECK(exact, "ktls: from every cut of a stream of records, reads of what the follower asks end at that record's end and count it");
  dp_ktls_pending p = {0};
  dp_ktls_track(&p, stream, n);
  CHECK(p.seen_records == 4 && dp_ktls_to_boundary(&p) == 0, "ktls: the whole stream is four records and ends on a boundary");
}

static void keylog_lines(void) {
  dp_ktls_pending p = {0};
  char line[256];
  snprintf(line, sizeof line, "SERVER_TRAFFIC_SECRET_0 %064d %s", 0, "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643");
  dp_ktls_keylog(&p, line);
  dp_ktls_keylog(&p, "CLIENT_HANDSHAKE_TRAFFIC_SECRET 00 0102");
  dp_ktls_keylog(&p, "CLIENT_TRAFFIC_SECRET_0 00 zz");
  CHECK(p.server_len == 32 && p.server_secret[0] == 0xa1 && p.server_secret[31] == 0x43 && p.client_len == 0,
        "ktls: the server's application secret is taken from its keylog line; handshake secrets and malformed hex are not");
}

static void control_records(void) {
  static const uint8_t close_notify[] = {1, 0}, bad_mac[] = {2, 20}, ticket[] = {4, 0, 0, 2, 0xaa, 0xbb}, update[] = {24, 0, 0, 1, 1},
                       ticket_then_update[] = {4, 0, 0, 1, 0xaa, 24, 0, 0, 1, 0}, hello[] = {1, 0, 0, 0};
  CHECK(dp_ktls_control(21, close_notify, 2) == DP_KTLS_RECORD_CLOSED && dp_ktls_control(21, bad_mac, 2) == DP_KTLS_RECORD_FATAL,
        "ktls: close_notify ends a call as closed, any other alert as an error");
  CHECK(dp_ktls_control(22, ticket, sizeof ticket) == DP_KTLS_RECORD_IGNORE && dp_ktls_control(22, update, sizeof update) == DP_KTLS_RECORD_KEY_UPDATE &&
            dp_ktls_control(22, ticket_then_update, sizeof ticket_then_update) == DP_KTLS_RECORD_KEY_UPDATE,
        "ktls: a ticket is ignored, a KeyUpdate (alone or after a ticket) is said");
  CHECK(dp_ktls_control(22, hello, sizeof hello) == DP_KTLS_RECORD_FATAL && dp_ktls_control(20, close_notify, 1) == DP_KTLS_RECORD_FATAL,
        "ktls: another handshake message or record type breaks the call");
}

/* ---- crypto_info against OpenSSL's own records ---- */

static void on_keylog(const SSL *ssl, const char *line) { dp_ktls_keylog(SSL_get_app_data(ssl), line); }

static void shuttle(BIO *from, BIO *to) {
  char *p = NULL;
  long n = BIO_get_mem_data(from, &p);
  if (n > 0) {
    BIO_write(to, p, (int)n);
    (void)BIO_reset(from);
  }
}

/* One record out of `bio` (header and body), or 0. */
static size_t take_record(BIO *bio, uint8_t *out, size_t cap) {
  uint8_t *p = NULL;
  long n = BIO_get_mem_data(bio, (char **)&p);
  if (n < 5) return 0;
  size_t len = 5 + ((size_t)p[3] << 8 | p[4]);
  if (len > (size_t)n || len > cap) return 0;
  memcpy(out, p, len);
  uint8_t sink[20000];
  BIO_read(bio, sink, (int)len);
  return len;
}

static void put64(uint8_t *o, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) o[i] = (uint8_t)v;
}

/* Opens a record with nothing but what the kernel would get (`info`) and the sequence number it
 * says: the kernel's view, independent of OpenSSL's state. The plaintext's length, or -1. */
static int open_record(const uint8_t *info, size_t info_len, const uint8_t *rec, size_t rec_len, uint64_t seq, uint8_t *out) {
  struct tls_crypto_info h;
  memcpy(&h, info, sizeof h);
  const EVP_CIPHER *cipher;
  size_t key_len, salt_len, iv_len;
  switch (h.cipher_type) {
  case TLS_CIPHER_AES_GCM_128: cipher = EVP_aes_128_gcm(), key_len = 16, salt_len = 4, iv_len = 8; break;
  case TLS_CIPHER_AES_GCM_256: cipher = EVP_aes_256_gcm(), key_len = 32, salt_len = 4, iv_len = 8; break;
  case TLS_CIPHER_CHACHA20_POLY1305: cipher = EVP_chacha20_poly1305(), key_len = 32, salt_len = 0, iv_len = 12; break;
  default: return -1;
  }
  if (info_len != sizeof h + iv_len + key_len + salt_len + 8) return -1;
  const uint8_t *iv = info + sizeof h, *key = iv + iv_len, *salt = key + key_len, *rec_seq = salt + salt_len;
  uint8_t seq_be[8], nonce[12], aad[13];
  put64(seq_be, seq);
  if (memcmp(rec_seq, seq_be, 8) != 0 || rec_len < 5 + 16) return -1;
  bool tls13 = h.version == TLS_1_3_VERSION, explicit_nonce = !tls13 && salt_len;
  const uint8_t *body = rec + 5;
  size_t body_len = rec_len - 5;
  if (explicit_nonce) { /* TLS 1.2 GCM: salt | the record's 8-byte explicit nonce */
    memcpy(nonce, salt, 4);
    memcpy(nonce + 4, body, 8);
    body += 8, body_len -= 8;
  } else { /* the 12-byte IV with the sequence number XORed into its end */
    memcpy(nonce, salt, salt_len);
    memcpy(nonce + salt_len, iv, iv_len);
    for (int i = 0; i < 8; i++) nonce[4 + i] ^= seq_be[i];
  }
  size_t ct_len = body_len - 16, aad_len;
  if (tls13) {
    memcpy(aad, rec, 5), aad_len = 5;
  } else {
    memcpy(aad, seq_be, 8), memcpy(aad + 8, rec, 3), aad[11] = (uint8_t)(ct_len >> 8), aad[12] = (uint8_t)ct_len, aad_len = 13;
  }
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int n = 0, f = 0;
  bool ok = EVP_DecryptInit_ex(ctx, cipher, NULL, NULL, NULL) == 1 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, NULL) == 1 &&
            EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1 &&
            EVP_DecryptUpdate(ctx, out, &n, body, (int)ct_len) == 1 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(body + ct_len)) == 1 &&
            EVP_DecryptFinal_ex(ctx, out + n, &f) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return -1;
  int len = n + f;
  if (tls13) { /* TLSInnerPlaintext: content, the real type, zero padding */
    while (len > 0 && out[len - 1] == 0) len--;
    if (len == 0 || out[--len] != 23) return -1;
  }
  return len;
}

static SSL_CTX *server_context(void) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, k);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"gw.test", -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, k, EVP_sha256());
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, x);
  SSL_CTX_use_PrivateKey(ctx, k);
  SSL_CTX_set_num_tickets(ctx, 0); /* as the driver's */
  X509_free(x);
  EVP_PKEY_free(k);
  return ctx;
}

/* A handshake on memory BIOs for one suite; then, for each role and direction, the crypto_info the
 * call would install opens OpenSSL's next two records (sequence numbers base and base + 1). */
static void suite_records(SSL_CTX *sctx, int version, const char *suite) {
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(cctx, version);
  SSL_CTX_set_max_proto_version(cctx, version);
  if (version == TLS1_3_VERSION) SSL_CTX_set_ciphersuites(cctx, suite);
  else SSL_CTX_set_cipher_list(cctx, suite);
  SSL_CTX_set_keylog_callback(cctx, on_keylog);
  SSL_CTX_set_keylog_callback(sctx, on_keylog);
  dp_ktls_pending sp = {0}, cp = {0};
  SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
  BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem()), *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(s_in, -1);
  BIO_set_mem_eof_return(c_in, -1);
  SSL_set_bio(s, s_in, s_out);
  SSL_set_bio(c, c_in, c_out);
  SSL_set_app_data(s, &sp);
  SSL_set_app_data(c, &cp);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  for (int i = 0; i < 10 && !(SSL_is_init_finished(s) && SSL_is_init_finished(c)); i++) {
    SSL_do_handshake(c);
    shuttle(c_out, s_in);
    SSL_do_handshake(s);
    shuttle(s_out, c_in);
  }
  ERR_clear_error();
  char name[160];
  const char *got = SSL_get_cipher_name(s);
  snprintf(name, sizeof name, "ktls %s: the handshake completes with %s", suite, got);
  CHECK(SSL_is_init_finished(s) && SSL_is_init_finished(c), name);
  uint64_t base = version == TLS1_3_VERSION ? 0 : 1;
  SSL *roles[2] = {s, c};
  dp_ktls_pending *secrets[2] = {&sp, &cp};
  BIO *outs[2] = {s_out, c_out};
  for (int r = 0; r < 2; r++) {
    uint8_t tx[DP_KTLS_INFO_MAX], rx[DP_KTLS_INFO_MAX];
    size_t tx_len = 0, rx_len = 0;
    bool made = dp_ktls_crypto_info(roles[r], secrets[r], true, base, tx, &tx_len) == 0 &&
                dp_ktls_crypto_info(roles[1 - r], secrets[1 - r], false, base, rx, &rx_len) == 0;
    bool opened = made;
    for (uint64_t k = 0; opened && k < 2; k++) {
      char text[32];
      int text_len = snprintf(text, sizeof text, "record %d from the %s", (int)k, r ? "client" : "server");
      uint8_t rec[2048], plain[2048];
      SSL_write(roles[r], text, text_len);
      size_t rec_len = take_record(outs[r], rec, sizeof rec);
      /* The writer's TX info, advanced to this record, and the reader's RX info, open it alike. */
      uint8_t tx_k[DP_KTLS_INFO_MAX], rx_k[DP_KTLS_INFO_MAX];
      size_t a = 0, b = 0;
      dp_ktls_crypto_info(roles[r], secrets[r], true, base + k, tx_k, &a);
      dp_ktls_crypto_info(roles[1 - r], secrets[1 - r], false, base + k, rx_k, &b);
      int n1 = open_record(tx_k, a, rec, rec_len, base + k, plain);
      opened = n1 == text_len && memcmp(plain, text, (size_t)text_len) == 0;
      int n2 = open_record(rx_k, b, rec, rec_len, base + k, plain);
      opened = opened && n2 == text_len && memcmp(plain, text, (size_t)text_len) == 0;
    }
    snprintf(name, sizeof name, "ktls %s: the %s's TX and the %s's RX crypto_info open its records %llu and %llu", suite, r ? "client" : "server",
             r ? "server" : "client", (unsigned long long)base, (unsigned long long)base + 1);
    CHECK(opened, name);
  }
  SSL_free(s);
  SSL_free(c);
  SSL_CTX_free(cctx);
}

static void unsupported_suite(SSL_CTX *sctx) {
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES128-SHA256");
  SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
  BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem()), *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(s_in, -1);
  BIO_set_mem_eof_return(c_in, -1);
  SSL_set_bio(s, s_in, s_out);
  SSL_set_bio(c, c_in, c_out);
  dp_ktls_pending p = {0};
  SSL_set_app_data(s, &p);
  SSL_set_app_data(c, &p);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  for (int i = 0; i < 10 && !(SSL_is_init_finished(s) && SSL_is_init_finished(c)); i++) {
    SSL_do_handshake(c);
    shuttle(c_out, s_in);
    SSL_do_handshake(s);
    shuttle(s_out, c_in);
  }
  ERR_clear_error();
  uint8_t info[DP_KTLS_INFO_MAX];
  size_t len = 0;
  CHECK(SSL_is_init_finished(s) && dp_ktls_crypto_info(s, &p, true, 1, info, &len) == -EOPNOTSUPP,
        "ktls: a CBC suite (TLS 1.2) is not handed to the kernel: -EOPNOTSUPP, the call stays in userspace");
  SSL_free(s);
  SSL_free(c);
  SSL_CTX_free(cctx);
}

void test_ktls(void) {
  rfc8448_keys();
  tls12_prf();
  boundary();
  keylog_lines();
  control_records();
  SSL_CTX *sctx = server_context();
  suite_records(sctx, TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256");
  suite_records(sctx, TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384");
  suite_records(sctx, TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256");
  suite_records(sctx, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256");
  suite_records(sctx, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384");
  suite_records(sctx, TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305");
  unsupported_suite(sctx);
  SSL_CTX_free(sctx);
}
