/* Known answers: draft-mcgrew-gcm-test-01 §4 (AES-GCM in ESP), RFC 3602 §4 case 5 (AES-CBC), and 3DES-CBC
 * (RFC 2451) with HMAC-SHA1/SHA2-256/384 made outside this code (openssl enc -des-ede3-cbc, Python hmac). */
#include "esp.h"
#include "tap.h"

void test_esp_kat(void);

typedef struct {
  const char *name;
  dp_suite suite;
  const char *key_and_salt;
  uint32_t spi;
  uint64_t seq;
  int esn;
  const char *iv;
  const char *plaintext; /* with padding, pad length and next header, as the draft lists it */
  const char *ciphertext_and_tag;
} gcm_case;

static const gcm_case GCM_CASES[] = {
    {"draft-mcgrew-gcm-test-01 case 1 (AES-128, ESN)", DP_SUITE_AES_GCM_128, "4c80cdefbb5d10da906ac73c3613a6342e443b68", 0x00004321,
     0x8765432100000000ull, 1, "4956ed7e3b244cfe",
     "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
     "00000000045f736970045f756470037369700963796265726369747902646b000021000101020201",
     "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d"
     "15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732459018148f6cbe722fd04796562dfdb4"},
    {"draft-mcgrew-gcm-test-01 case 3 (AES-256)", DP_SUITE_AES_GCM_256,
     "abbccddef00112233445566778899aababbccddef00112233445566778899aab11223344", 0x4a2cbfe3, 2, 0, "0102030405060708",
     "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b40101040201020201",
     "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8e"
     "b335f4eecfdbf831824b4c4915956c96"},
    {"draft-mcgrew-gcm-test-01 case 4 (AES-128, zero key)", DP_SUITE_AES_GCM_128, "0000000000000000000000000000000000000000", 0, 1, 0,
     "0000000000000000",
     "4500003c99c500008001cb7a40679318010101010800075c0200440061626364"
     "65666768696a6b6c6d6e6f707172737475767761626364656667686901020201",
     "4688daf2f973a392732909c331d56d60f694abaa414b5e7ff5fdcdfff5e9a284456476492719ffb64de7d9dca1e1d894"
     "bc3bd57873ed4d181d19d4d5c8c18af3f821d496eeb096e98ad2b69e4799c71d"},
    {"draft-mcgrew-gcm-test-01 case 5 (empty payload)", DP_SUITE_AES_GCM_128, "7d773d00c144c525ac619d18c84a3f47d9664267", 0x335467ae,
     0xffffffffull, 0, "43457e9182443bc6", "01020201", "437f866bcb3f699fe9b0822bac961c4504bef270"},
};

static void gcm_case_run(const gcm_case *c) {
  unsigned char key[64], iv[16], pt[256], expect_ct[512], packet[600], out[600], built[600];
  size_t key_len = unhex(c->key_and_salt, key), pt_len = unhex(c->plaintext, pt), ct_len = unhex(c->ciphertext_and_tag, expect_ct);
  unhex(c->iv, iv);
  dp_status st;
  dp_sa_config cfg = {.spi = c->spi, .suite = c->suite, .esn = c->esn, .replay_window = 64, .enc_key = key, .enc_key_len = key_len};
  dp_sa *tx = dp_sa_new(&cfg, &st), *rx = dp_sa_new(&cfg, &st);
  /* The draft's plaintext ends in pad bytes, pad length and next header: strip them to get the payload. */
  uint8_t next_header = pt[pt_len - 1], pad = pt[pt_len - 2];
  size_t payload_len = pt_len - 2 - pad, len = 0, got = 0;
  dp_sa_set_next_seq(tx, c->seq);
  st = dp_esp_encrypt(tx, pt, payload_len, next_header, iv, packet, sizeof packet, &len);
  /* Expected packet: SPI | low 32 bits of the sequence number | IV | ciphertext | tag. */
  built[0] = c->spi >> 24; built[1] = c->spi >> 16; built[2] = c->spi >> 8; built[3] = c->spi;
  built[4] = (uint8_t)(c->seq >> 24); built[5] = (uint8_t)(c->seq >> 16); built[6] = (uint8_t)(c->seq >> 8); built[7] = (uint8_t)c->seq;
  memcpy(built + 8, iv, 8);
  memcpy(built + 16, expect_ct, ct_len);
  char name[160];
  snprintf(name, sizeof name, "%s: encapsulates to the listed bytes", c->name);
  CHECK(st == DP_OK && len == 16 + ct_len && memcmp(packet, built, len) == 0, name);
  uint8_t nh = 0;
  /* The receiver must infer the high half of an ESN: start it just below the vector's number. */
  if (c->esn) dp_sa_set_replay_top(rx, c->seq - 10);
  st = dp_esp_decrypt(rx, built, 16 + ct_len, out, sizeof out, &got, &nh);
  snprintf(name, sizeof name, "%s: decapsulates to the payload", c->name);
  CHECK(st == DP_OK && got == payload_len && memcmp(out, pt, got) == 0 && nh == next_header, name);
  dp_sa_free(tx);
  dp_sa_free(rx);
}

static void rfc3602_case5(void) {
  unsigned char key[16], iv[16], payload[64], expect[200], packet[300], integ[20] = {0};
  unhex("90d382b410eeba7ad938c46cec1a82bf", key);
  unhex("e96e8c08ab465763fd098d45dd3ff893", iv);
  size_t payload_len = unhex("08000ebda70a00008e9c083db95b070008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                             "202122232425262728292a2b2c2d2e2f3031323334353637", payload);
  size_t expect_len = unhex("0000432100000001e96e8c08ab465763fd098d45dd3ff893f663c25d325c18c6a9453e194e120849"
                            "a4870b66cc6b9965330013b4898dc856a4699e523a55db080b59ec3a8e4b7e52775b07d1db34ed9c"
                            "538ab50c551b874aa269add047ad2d5913ac19b7cfbad4a6", expect);
  dp_status st;
  dp_sa_config cfg = {.spi = 0x4321, .suite = DP_SUITE_AES_CBC_128_HMAC_SHA1_96, .enc_key = key, .enc_key_len = 16, .integ_key = integ, .integ_key_len = 20};
  dp_sa *sa = dp_sa_new(&cfg, &st);
  size_t len = 0;
  st = dp_esp_encrypt(sa, payload, payload_len, 1, iv, packet, sizeof packet, &len);
  /* RFC 3602's cases carry no ICV: everything up to it must match, then our 12-byte HMAC-SHA1-96. */
  CHECK(st == DP_OK && len == expect_len + 12 && memcmp(packet, expect, expect_len) == 0,
        "RFC 3602 case 5: AES-CBC header, IV, padding and ciphertext match");
  dp_sa_free(sa);
}

/* One 3DES packet (SPI 0xabcd, sequence 1, 37 bytes, one pad byte) under each integrity algorithm:
 * the ciphertext is shared, the ICV is the HMAC over header, IV and ciphertext, truncated (RFC 4868). */
static void des3_cases(void) {
  static const struct { const char *name; dp_suite suite; size_t integ_len; const char *icv; } cases[] = {
      {"3DES-CBC HMAC-SHA1-96", DP_SUITE_3DES_CBC_HMAC_SHA1_96, 20, "095fece60ce92170c3d510cd"},
      {"3DES-CBC HMAC-SHA2-256-128", DP_SUITE_3DES_CBC_HMAC_SHA256_128, 32, "f116fe8e536d28829a7441def29d5095"},
      {"3DES-CBC HMAC-SHA2-384-192", DP_SUITE_3DES_CBC_HMAC_SHA384_192, 48, "2325537159f44c80ef4132f59fa5273141a32aca2a82effa"},
  };
  unsigned char key[24], iv[8], integ[48], payload[64], body[128], icv[32], packet[200], out[200];
  unhex("0123456789abcdeffedcba9876543210f0e1d2c3b4a59687", key);
  unhex("1f2e3d4c5b6a7988", iv);
  unhex("00112233445566778899aabbccddeeff001122334455667700112233445566778899aabbccddeeff0011223344556677", integ);
  size_t payload_len = unhex("45464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60616263646566676869", payload);
  size_t body_len = unhex("0000abcd000000011f2e3d4c5b6a798848e49099aab02d77c16410bb3ea2881e12aa3af59284b452d4"
                          "28897f8326ed8a065ef1f4c05ba278", body);
  char name[160];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t icv_len = unhex(cases[i].icv, icv), len = 0, got = 0;
    dp_status st;
    dp_sa_config cfg = {.spi = 0xabcd, .suite = cases[i].suite, .replay_window = 64, .enc_key = key, .enc_key_len = 24, .integ_key = integ, .integ_key_len = cases[i].integ_len};
    dp_sa *tx = dp_sa_new(&cfg, &st), *rx = dp_sa_new(&cfg, &st);
    st = tx ? dp_esp_encrypt(tx, payload, payload_len, 4, iv, packet, sizeof packet, &len) : DP_ERR_CONFIG;
    snprintf(name, sizeof name, "%s: header, 8-byte IV, 8-byte aligned ciphertext and ICV match", cases[i].name);
    CHECK(st == DP_OK && len == body_len + icv_len && memcmp(packet, body, body_len) == 0 && memcmp(packet + body_len, icv, icv_len) == 0, name);
    uint8_t nh = 0;
    st = rx ? dp_esp_decrypt(rx, packet, len, out, sizeof out, &got, &nh) : DP_ERR_CONFIG;
    snprintf(name, sizeof name, "%s: decapsulates to the payload", cases[i].name);
    CHECK(st == DP_OK && got == payload_len && memcmp(out, payload, got) == 0 && nh == 4, name);
    dp_sa_free(tx);
    dp_sa_free(rx);
  }
  dp_status st;
  dp_sa_config wrong = {.spi = 1, .suite = DP_SUITE_3DES_CBC_HMAC_SHA1_96, .enc_key = key, .enc_key_len = 16, .integ_key = integ, .integ_key_len = 20};
  CHECK(dp_sa_new(&wrong, &st) == NULL && st == DP_ERR_CONFIG, "3DES refuses a 16-byte (two-key) key");
}

void test_esp_kat(void) {
  for (size_t i = 0; i < sizeof GCM_CASES / sizeof GCM_CASES[0]; i++) gcm_case_run(&GCM_CASES[i]);
  rfc3602_case5();
  des3_cases();
}
