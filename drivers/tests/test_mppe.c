/* MPPE in C (issue 22): RC4's published vector, RFC 3079 §3.5.3's session key, packets byte for
 * byte as the JavaScript engine (firmware/ppp/mppe/) makes them for every strength, and the
 * stateless receiver's rules: lost packets skipped with one key change per step, late and
 * repeated packets refused, malformed headers refused, the count wrapping. */
#include <openssl/evp.h>
#include <string.h>

#include "mppe.h"
#include "sha1.h"
#include "tap.h"

void test_mppe(void);

static const char *START = "8b7cdc149b993a1ba118cb153f56dccb"; /* RFC 3079 §3.5.3 SendStartKey128 */
static const char *INFO = "45000014000000004011000001020304050607";

/* From the JavaScript engine: MppeEncryptor({startKey: START, strength, stateful: false}) encrypting
 * INFO as IPv4 (packets 0 and 1) and, after two more, as IPv6 (packet 4). */
static const struct { unsigned strength; const char *p0, *p1, *p4; } JS[] = {
    {128, "90007058132be07b58bad366c9347f5494b86af43dd542", "9001353ca429a625ee5c42dd5b868d92f14003b730771a", "90044be6490a1e27dea30bd571872c00a4afadc6f9aabf"},
    {56, "900068dab65ba56f87590f82a504ba8454a7fc6538a8cd", "9001b23cb706b0a3aab569ac1ed2873a654449d6073dc4", "9004212fdbd27bbe66b91506ab8eec8e368cf081581278"},
    {40, "90009edc946694fa408f375e9d545488104714e70016d6", "9001f2031b6c4ded91fabb5e7fe20f357557b863b2a095", "9004e6c0ce42cc028900093c18c10da35b1ccb08328c57"},
};

static bool same_hex(const uint8_t *b, size_t len, const char *hex) {
  uint8_t want[256];
  size_t n = unhex(hex, want);
  return n == len && memcmp(b, want, n) == 0;
}

static void known_answers(void) {
  uint8_t key[16], out[64];
  dp_rc4 r;
  dp_rc4_init(&r, (const uint8_t *)"Key", 3);
  dp_rc4_apply(&r, (const uint8_t *)"Plaintext", out, 9);
  CHECK(same_hex(out, 9, "bbf316e8d940af0ad3"), "RC4: the published Key/Plaintext vector");

  unhex(START, key);
  dp_mppe_state s;
  CHECK(dp_mppe_init(&s, key, 128) && same_hex(s.session_key, 16, "405cb2247a7956e6e211007ae27b22d4") && s.count == 4095,
        "RFC 3079 §3.5.3: SendSessionKey128 from SendStartKey128, count 4095 before the first packet");
  dp_mppe_rekey(&s);
  CHECK(same_hex(s.session_key, 16, "726f10500e2b54135b1b74d7682f0471"), "GetKey: the next session key as JavaScript's changeSessionKey");
  CHECK(dp_mppe_init(&s, key, 40) && same_hex(s.session_key, 8, "d1269ec49fa62e3e"), "40-bit: salted D1 26 9E as RFC 3078 §7.1");
  CHECK(!dp_mppe_init(&s, key, 64), "an unknown strength is refused");

  uint8_t info[64];
  size_t info_len = unhex(INFO, info);
  for (size_t k = 0; k < sizeof JS / sizeof JS[0]; k++) {
    dp_mppe_init(&s, key, JS[k].strength);
    size_t n0 = dp_mppe_encrypt(&s, 0x0021, info, info_len, out, sizeof out);
    bool ok = same_hex(out, n0, JS[k].p0);
    size_t n1 = dp_mppe_encrypt(&s, 0x0021, info, info_len, out, sizeof out);
    ok = ok && same_hex(out, n1, JS[k].p1);
    dp_mppe_encrypt(&s, 0x0021, info, info_len, out, sizeof out);
    dp_mppe_encrypt(&s, 0x0021, info, info_len, out, sizeof out);
    size_t n4 = dp_mppe_encrypt(&s, 0x0057, info, info_len, out, sizeof out);
    ok = ok && same_hex(out, n4, JS[k].p4);
    char name[96];
    snprintf(name, sizeof name, "MPPE-%u stateless: packets 0, 1 and 4 byte for byte as the JavaScript engine's", JS[k].strength);
    CHECK(ok, name);
  }
}

static dp_mppe_verdict open_hex(dp_mppe_state *rx, const char *hex, uint16_t *protocol, uint8_t **info, size_t *info_len, uint8_t *buf) {
  size_t n = unhex(hex, buf);
  return dp_mppe_decrypt(rx, buf, n, protocol, info, info_len);
}

/* MPPE's own SHA-1: FIPS 180-4's examples, and OpenSSL's answer for every length up to four blocks
 * (each padding case: the tail alone, the length in a second block, whole blocks). */
static void sha1(void) {
  uint8_t d[DP_SHA1_LEN];
  dp_sha1((const uint8_t *)"abc", 3, d);
  bool ok = same_hex(d, sizeof d, "a9993e364706816aba3e25717850c26c9cd0d89d");
  dp_sha1((const uint8_t *)"", 0, d);
  ok = ok && same_hex(d, sizeof d, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  dp_sha1((const uint8_t *)two, strlen(two), d);
  CHECK(ok && same_hex(d, sizeof d, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"), "SHA-1: FIPS 180-4's abc, empty and two-block examples");
  uint8_t data[256], want[EVP_MAX_MD_SIZE];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 131 + 7);
  size_t differ = 0;
  for (size_t len = 0; len <= sizeof data; len++) {
    unsigned want_len = 0;
    EVP_Digest(data, len, want, &want_len, EVP_sha1(), NULL);
    dp_sha1(data, len, d);
    differ += want_len != DP_SHA1_LEN || memcmp(d, want, DP_SHA1_LEN) != 0;
  }
  CHECK(differ == 0, "SHA-1: OpenSSL's digest for every length from 0 to 256 bytes");
}

static void receiver(void) {
  uint8_t key[16], buf[256], want[64], *info = NULL;
  size_t info_len = 0, want_len = unhex(INFO, want);
  uint16_t protocol = 0;
  unhex(START, key);
  dp_mppe_state rx;
  dp_mppe_init(&rx, key, 128);
  CHECK(open_hex(&rx, JS[0].p0, &protocol, &info, &info_len, buf) == DP_MPPE_OK && protocol == 0x0021 && info_len == want_len && !memcmp(info, want, want_len),
        "JavaScript's first packet decrypts to its IPv4");
  CHECK(open_hex(&rx, JS[0].p4, &protocol, &info, &info_len, buf) == DP_MPPE_OK && protocol == 0x0057 && rx.count == 4 && !memcmp(info, want, want_len),
        "three packets lost: packet 4 still decrypts (one key change per count step)");
  dp_mppe_state before = rx;
  CHECK(open_hex(&rx, JS[0].p1, &protocol, &info, &info_len, buf) == DP_MPPE_LATE && !memcmp(&rx, &before, sizeof rx), "a late packet is refused, the state unchanged");
  CHECK(open_hex(&rx, JS[0].p4, &protocol, &info, &info_len, buf) == DP_MPPE_LATE, "a repeated packet is refused");

  /* Headers: not flushed, not encrypted, MPPC bits, too short. */
  const char *bad[] = {"1005aabbcc", "8005aabbcc", "b005aabbcc", "d005aabbcc", "9005", ""};
  bool all = true;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) all = all && open_hex(&rx, bad[i], &protocol, &info, &info_len, buf) == DP_MPPE_MALFORMED;
  CHECK(all && rx.count == 4, "not flushed, not encrypted, MPPC bits and truncated headers are malformed; the state unchanged");

  /* Our own packets: a round trip across the count's wrap, PFC, and a jump past half the space. */
  dp_mppe_state tx;
  dp_mppe_init(&tx, key, 128);
  dp_mppe_init(&rx, key, 128);
  bool round = true;
  for (int n = 0; n < 4100 && round; n++) {
    size_t len = dp_mppe_encrypt(&tx, 0x0021, want, want_len, buf, sizeof buf);
    round = dp_mppe_decrypt(&rx, buf, len, &protocol, &info, &info_len) == DP_MPPE_OK && protocol == 0x0021 && info_len == want_len && !memcmp(info, want, want_len);
  }
  CHECK(round && tx.count == 3 && rx.count == 3 && !memcmp(tx.session_key, rx.session_key, 16), "4100 packets round trip across the count's wrap (4095 → 0)");
  for (int n = 0; n < DP_MPPE_MAX_JUMP; n++) dp_mppe_rekey(&tx), tx.count = (uint16_t)((tx.count + 1) % DP_MPPE_COUNT_SPACE);
  size_t len = dp_mppe_encrypt(&tx, 0x0021, want, want_len, buf, sizeof buf);
  CHECK(dp_mppe_decrypt(&rx, buf, len, &protocol, &info, &info_len) == DP_MPPE_LATE, "more than half the count space ahead counts as late");

  dp_mppe_init(&tx, key, 56);
  dp_mppe_init(&rx, key, 56);
  len = dp_mppe_encrypt(&tx, 0x0021, want, want_len, buf, sizeof buf);
  /* Re-encrypt the same count with a one-byte (compressed) protocol field, as a PFC sender would. */
  dp_mppe_state again;
  dp_mppe_init(&again, key, 56);
  dp_mppe_rekey(&again);
  uint8_t plain[64] = {0x21};
  memcpy(plain + 1, want, want_len);
  dp_rc4 r;
  dp_rc4_init(&r, again.session_key, 8);
  dp_rc4_apply(&r, plain, buf + 2, want_len + 1);
  CHECK(dp_mppe_decrypt(&rx, buf, want_len + 3, &protocol, &info, &info_len) == DP_MPPE_OK && protocol == 0x21 && info_len == want_len && !memcmp(info, want, want_len),
        "a compressed (one odd byte) protocol field is expanded");
  CHECK(dp_mppe_encrypt(&tx, 0x0021, want, want_len, buf, want_len + 3) == 0 && tx.count == 0, "no room: nothing encrypted, the count unchanged");
  (void)len;
}

void test_mppe(void) {
  sha1();
  known_answers();
  receiver();
}
