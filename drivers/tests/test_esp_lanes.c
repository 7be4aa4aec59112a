/* Several threads sealing for one SA at once (a multi-queue TUN's readers, each on its lane):
 * every sequence number used exactly once, every packet opens, and the counters add up. */
#include <pthread.h>
#include <stdlib.h>

#include "esp.h"
#include "tap.h"

void test_esp_lanes(void);

#define SENDERS 4
#define PER_SENDER 20000
#define PAYLOAD 200
#define SEALED 300

typedef struct {
  dp_sa *sa;
  unsigned lane;
  uint8_t (*out)[SEALED]; /* PER_SENDER packets */
  size_t *len;
  int failures;
} sender;

static void *send_all(void *arg) {
  sender *s = arg;
  dp_esp_set_lane(s->lane);
  uint8_t payload[PAYLOAD];
  for (int i = 0; i < PER_SENDER; i++) {
    memset(payload, (int)(s->lane * 31 + (unsigned)i), sizeof payload);
    if (dp_esp_encrypt(s->sa, payload, sizeof payload, 4, NULL, s->out[i], SEALED, &s->len[i]) != DP_OK) s->failures++;
  }
  return NULL;
}

static uint32_t seq_of(const uint8_t *p) { return (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7]; }

static void concurrent_senders(dp_suite suite, const char *name) {
  static const unsigned char key[36] = "0123456789abcdef0123456789abcdefSALT", integ[32] = "integrity-key-integrity-key-0123";
  bool aead = suite == DP_SUITE_AES_GCM_128 || suite == DP_SUITE_CHACHA20_POLY1305;
  dp_sa_config c = {.spi = 0x1a2e0001, .suite = suite, .replay_window = 4096, .enc_key = key, .enc_key_len = (suite == DP_SUITE_CHACHA20_POLY1305 ? 32 : 16) + (aead ? 4 : 0)};
  if (!aead) { c.integ_key = integ; c.integ_key_len = 32; }
  dp_status st;
  dp_sa *tx = dp_sa_new(&c, &st), *rx = dp_sa_new(&c, &st);
  sender s[SENDERS];
  pthread_t threads[SENDERS];
  for (unsigned i = 0; i < SENDERS; i++) {
    s[i] = (sender){.sa = tx, .lane = i, .out = malloc((size_t)PER_SENDER * SEALED), .len = calloc(PER_SENDER, sizeof(size_t))};
    pthread_create(&threads[i], NULL, send_all, &s[i]);
  }
  int failures = 0;
  for (unsigned i = 0; i < SENDERS; i++) {
    pthread_join(threads[i], NULL);
    failures += s[i].failures;
  }
  /* Put the packets in sequence-number order, as if the network had reordered nothing. */
  const size_t total = (size_t)SENDERS * PER_SENDER;
  const uint8_t **by_seq = calloc(total + 1, sizeof *by_seq);
  size_t *len_by_seq = calloc(total + 1, sizeof *len_by_seq);
  int duplicates = 0, out_of_range = 0;
  for (unsigned i = 0; i < SENDERS; i++) {
    for (int j = 0; j < PER_SENDER; j++) {
      uint32_t seq = seq_of(s[i].out[j]);
      if (seq == 0 || seq > total) { out_of_range++; continue; }
      if (by_seq[seq]) duplicates++;
      by_seq[seq] = s[i].out[j];
      len_by_seq[seq] = s[i].len[j];
    }
  }
  int opened = 0;
  uint8_t plain[SEALED];
  for (size_t seq = 1; seq <= total; seq++) {
    size_t n = 0;
    uint8_t nh = 0;
    if (by_seq[seq] && dp_esp_decrypt(rx, by_seq[seq], len_by_seq[seq], plain, sizeof plain, &n, &nh) == DP_OK && n == PAYLOAD) opened++;
  }
  char label[160];
  snprintf(label, sizeof label, "%s: %d threads sealing one SA: every sequence number once, all %zu packets open", name, SENDERS, total);
  CHECK(failures == 0 && duplicates == 0 && out_of_range == 0 && (size_t)opened == total, label);
  snprintf(label, sizeof label, "%s: the shared packet and byte counters add up", name);
  CHECK(dp_sa_counters_of(tx).packets == total && dp_sa_counters_of(tx).bytes == total * PAYLOAD, label);
  for (unsigned i = 0; i < SENDERS; i++) {
    free(s[i].out);
    free(s[i].len);
  }
  free(by_seq);
  free(len_by_seq);
  dp_sa_free(tx);
  dp_sa_free(rx);
}

void test_esp_lanes(void) {
  concurrent_senders(DP_SUITE_AES_GCM_128, "aes-gcm-128");
  concurrent_senders(DP_SUITE_CHACHA20_POLY1305, "chacha20-poly1305");
  concurrent_senders(DP_SUITE_AES_CBC_128_HMAC_SHA256_128, "aes-cbc-128-sha256");
  dp_esp_set_lane(0);
}
