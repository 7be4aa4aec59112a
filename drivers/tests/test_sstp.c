/* SSTP in the driver (issue 23): the stream's deframing cut at every point, and whole calls over a
 * socket pair against an OpenSSL client: handshake (TLS 1.3 and 1.2), HTTP head and control up,
 * IP both ways once the data path starts, a KeyUpdate mid-call, the ends of calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "inet_checksum.h"
#include "sstp_call.h"
#include "sstp_frame.h"
#include "tap.h"

void test_sstp(void);

/* ---- deframing ---- */

typedef struct {
  int kinds[16];
  size_t lens[16], n;
  uint8_t last[64];
} pieces;

static void collect(void *ctx, dp_sstp_piece kind, const uint8_t *piece, size_t len) {
  pieces *p = ctx;
  if (p->n < 16) {
    p->kinds[p->n] = (int)kind;
    p->lens[p->n++] = len;
  }
  memcpy(p->last, piece, len < sizeof p->last ? len : sizeof p->last);
}

static const char head[] = "SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1\r\nHost: gw\r\nContent-Length: 18446744073709551615\r\n\r\n";

/* The head, a control packet (Call Connect Request, 14 bytes), an empty data packet, and a data packet with LCP. */
static const char *head_text(void) { return head; }

static size_t sample_stream(uint8_t *out) {
  size_t n = strlen(head);
  memcpy(out, head, n);
  static const uint8_t rest[] = {0x10, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00, 0x06, 0x00, 0x01,
                                 0x10, 0x00, 0x00, 0x04,
                                 0x10, 0x00, 0x00, 0x0e, 0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04, 0xaa, 0xbb};
  memcpy(out + n, rest, sizeof rest);
  return n + sizeof rest;
}

static void test_deframe(void) {
  uint8_t s[512];
  size_t n = sample_stream(s), heads = strlen(head);
  bool all_same = true;
  /* Every single cut and every pair of cuts gives the same pieces. */
  for (size_t a = 0; a <= n; a++) {
    for (size_t b = a; b <= n; b += 7) {
      dp_sstp_deframer d;
      dp_sstp_deframer_init(&d);
      pieces p = {0};
      dp_sstp_error e = dp_sstp_feed(&d, s, a, collect, &p);
      if (!e) e = dp_sstp_feed(&d, s + a, b - a, collect, &p);
      if (!e) e = dp_sstp_feed(&d, s + b, n - b, collect, &p);
      bool same = e == DP_SSTP_OK && p.n == 4 && p.kinds[0] == DP_SSTP_PIECE_HTTP_HEAD && p.lens[0] == heads && p.kinds[1] == DP_SSTP_PIECE_CONTROL &&
                  p.lens[1] == 14 && p.kinds[2] == DP_SSTP_PIECE_DATA && p.lens[2] == 4 && p.kinds[3] == DP_SSTP_PIECE_DATA && p.lens[3] == 14 &&
                  p.last[13] == 0xbb && d.have == 0 && d.buf == NULL;
      all_same &= same;
      dp_sstp_deframer_free(&d);
    }
  }
  CHECK(all_same, "sstp: the stream cut anywhere (once or twice) gives the head, a control packet and two data packets, and holds no buffer after");

  dp_sstp_deframer d;
  pieces p = {0};
  dp_sstp_deframer_init(&d);
  uint8_t bad[] = {0x20, 0x00, 0x00, 0x08, 0, 0, 0, 0};
  dp_sstp_feed(&d, (const uint8_t *)head, heads, collect, &p);
  CHECK(dp_sstp_feed(&d, bad, sizeof bad, collect, &p) == DP_SSTP_BAD_VERSION && p.n == 1, "sstp: a version other than 1.0 ends the stream");
  CHECK(dp_sstp_feed(&d, s + heads, n - heads, collect, &p) == DP_SSTP_BAD_VERSION && p.n == 1, "sstp: and nothing after it is read");
  dp_sstp_deframer_free(&d);
  dp_sstp_deframer_init(&d);
  dp_sstp_feed(&d, (const uint8_t *)head, heads, collect, &p);
  uint8_t short_len[] = {0x10, 0x00, 0x00, 0x03};
  CHECK(dp_sstp_feed(&d, short_len, 2, collect, &p) == DP_SSTP_OK && dp_sstp_feed(&d, short_len + 2, 2, collect, &p) == DP_SSTP_BAD_LENGTH,
        "sstp: a Length shorter than the header ends the stream, even split");
  dp_sstp_deframer_free(&d);
  dp_sstp_deframer_init(&d);
  uint8_t junk[DP_SSTP_MAX_HTTP_HEAD + 10];
  memset(junk, 'A', sizeof junk);
  CHECK(dp_sstp_feed(&d, junk, 100, collect, &p) == DP_SSTP_OK && dp_sstp_feed(&d, junk, sizeof junk, collect, &p) == DP_SSTP_HEAD_TOO_LONG,
        "sstp: an HTTP head without an end within 4 KiB ends the stream");
  dp_sstp_deframer_free(&d);
  uint8_t h[4];
  CHECK(dp_sstp_data_header(4091, h) && h[0] == 0x10 && h[1] == 0 && h[2] == 0x0f && h[3] == 0xff && !dp_sstp_data_header(4092, h),
        "sstp: a data header holds at most 4091 bytes of frame");
}

/* ---- calls ---- */

/* A throwaway P-256 certificate, as PEM. */
static void make_certificate(char *cert, size_t cert_cap, char *key, size_t key_cap) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, k);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"gw.test", -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_sign(x, k, EVP_sha256());
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  cert[BIO_read(b, cert, (int)cert_cap - 1)] = 0;
  PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
  key[BIO_read(b, key, (int)key_cap - 1)] = 0;
  BIO_free(b);
  X509_free(x);
  EVP_PKEY_free(k);
}

/* A CA (PEM) and a P-256 leaf for gw.test it signed, with its key (PEM). */
static void make_signed(char *ca_pem, size_t ca_cap, char *leaf_pem, size_t leaf_cap, char *key_pem, size_t key_cap) {
  EVP_PKEY *ck = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *lk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *ca = X509_new(), *leaf = X509_new();
  X509 *both[2] = {ca, leaf};
  for (int i = 0; i < 2; i++) {
    ASN1_INTEGER_set(X509_get_serialNumber(both[i]), i + 10);
    X509_gmtime_adj(X509_getm_notBefore(both[i]), 0);
    X509_gmtime_adj(X509_getm_notAfter(both[i]), 3600);
    X509_set_pubkey(both[i], i ? lk : ck);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(both[i]), "CN", MBSTRING_ASC, (const unsigned char *)(i ? "gw.test" : "Test CA"), -1, -1, 0);
    X509_set_issuer_name(both[i], X509_get_subject_name(ca));
  }
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, ca, ca, NULL, NULL, 0);
  X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(ca, bc, -1);
  X509_EXTENSION_free(bc);
  X509_sign(ca, ck, EVP_sha256());
  X509_sign(leaf, ck, EVP_sha256());
  BIO *b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, ca);
  ca_pem[BIO_read(b, ca_pem, (int)ca_cap - 1)] = 0;
  PEM_write_bio_X509(b, leaf);
  leaf_pem[BIO_read(b, leaf_pem, (int)leaf_cap - 1)] = 0;
  PEM_write_bio_PrivateKey(b, lk, NULL, NULL, 0, NULL, NULL);
  key_pem[BIO_read(b, key_pem, (int)key_cap - 1)] = 0;
  BIO_free(b);
  X509_free(ca);
  X509_free(leaf);
  EVP_PKEY_free(ck);
  EVP_PKEY_free(lk);
}

typedef struct {
  uint8_t data[32][256];
  size_t lens[32];
  uint32_t tags[32];
  size_t n;
} ups;

static void take_up(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) {
  ups *u = ctx;
  if (u->n >= 32) return;
  memcpy(u->data[u->n], packet, len < 256 ? len : 256);
  u->lens[u->n] = len;
  u->tags[u->n++] = tag;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Drains the pipe until it has handed over `want` messages in all, for 5 s at most. */
static size_t wait_up(dp_pipe *pipe, ups *u, size_t want) {
  for (double end = now() + 5; u->n < want && now() < end; usleep(1000)) dp_pipe_drain(pipe, 64, take_up, u);
  return u->n;
}

/* One datagram from the TUN's stand-in, for 5 s at most; its length or 0. */
static size_t tun_read(int fd, uint8_t *buf, size_t cap) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, 5000) != 1) return 0;
  ssize_t n = read(fd, buf, cap);
  return n > 0 ? (size_t)n : 0;
}

static size_t ipv4(uint8_t *p, const char *src, const char *dst, size_t total) {
  memset(p, 0, total);
  p[0] = 0x45;
  p[2] = (uint8_t)(total >> 8);
  p[3] = (uint8_t)total;
  p[8] = 64;
  p[9] = 17;
  sscanf(src, "%hhu.%hhu.%hhu.%hhu", &p[12], &p[13], &p[14], &p[15]);
  sscanf(dst, "%hhu.%hhu.%hhu.%hhu", &p[16], &p[17], &p[18], &p[19]);
  return total;
}

/* An SSTP data packet around a PPP frame: `acfc` leaves out Address and Control, as peers may. */
static size_t data_packet(uint8_t *out, const uint8_t *ip, size_t len, bool acfc) {
  size_t at = 4;
  if (!acfc) { out[at++] = 0xff; out[at++] = 0x03; }
  out[at++] = 0x00;
  out[at++] = 0x21;
  memcpy(out + at, ip, len);
  dp_sstp_data_header(at - 4 + len, out);
  return at + len;
}

/* One SSTP packet from the client's TLS session (blocking), 0 on failure. */
static size_t client_read_packet(SSL *ssl, uint8_t *out, size_t cap) {
  size_t have = 0, want = 4, got = 0;
  while (have < want) {
    if (SSL_read_ex(ssl, out + have, want - have, &got) != 1) return 0;
    have += got;
    if (have >= 4) want = (size_t)(out[2] & 0x0f) << 8 | out[3];
    if (want > cap || want < 4) return 0;
  }
  return have;
}

static void one_call(dp_sstp *e, dp_sstp_tls *tls, dp_pipe *pipe, int max_version, const char *label) {
  char name[160];
  int sp[2], tun[2];
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
  socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, tun); /* the TUN's stand-in keeps packet boundaries */
  int error = 0;
  dp_sstp_call *c = dp_sstp_call_add(e, tls, sp[0], NULL, 0, tun[0], false, 77, &error);
  snprintf(name, sizeof name, "sstp %s: a call is added on a fresh socket", label);
  CHECK(c && error == 0, name);
  if (!c) return;

  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(cctx, max_version);
  if (max_version == TLS1_2_VERSION) SSL_CTX_set_cipher_list(cctx, "ECDHE-ECDSA-AES256-GCM-SHA384");
  SSL *ssl = SSL_new(cctx);
  struct timeval five = {.tv_sec = 5};
  setsockopt(sp[1], SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five); /* a failing driver fails the test, never hangs it */
  SSL_set_fd(ssl, sp[1]);
  snprintf(name, sizeof name, "sstp %s: the client's handshake completes against the driver", label);
  CHECK(SSL_connect(ssl) == 1, name);
  char version[16], cipher[64];
  /* The server's side may finish a moment after the client's (TLS 1.3: the client Finished). */
  for (double end = now() + 5; now() < end; usleep(1000)) {
    dp_sstp_call_tls_info(c, version, cipher);
    if (version[0]) break;
  }
  snprintf(name, sizeof name, "sstp %s: the call reports %s %s", label, version, cipher);
  CHECK(strcmp(version, max_version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2") == 0 && cipher[0], name);

  /* Head, control packet, LCP: all three up, in order, whole, tagged. */
  uint8_t s[512];
  size_t n = sample_stream(s);
  SSL_write(ssl, s, (int)n);
  ups u = {0};
  snprintf(name, sizeof name, "sstp %s: the HTTP head, a control packet and the data packets before the data path go up in order", label);
  CHECK(wait_up(pipe, &u, 4) == 4 && u.tags[0] == 77 && u.lens[0] == strlen(head) && memcmp(u.data[0], "SSTP_DUPLEX_POST", 16) == 0 && u.lens[1] == 14 &&
            u.data[1][1] == 1 && u.lens[2] == 4 && u.lens[3] == 14 && u.data[3][6] == 0xc0,
        name);

  static const char response[] = "HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n";
  char got[sizeof response] = "";
  snprintf(name, sizeof name, "sstp %s: JavaScript's answer reaches the client", label);
  size_t read_n = 0;
  CHECK(dp_sstp_call_send(c, (const uint8_t *)response, strlen(response)) == (int)strlen(response) &&
            SSL_read_ex(ssl, got, strlen(response), &read_n) == 1 && read_n == strlen(response) && memcmp(got, response, read_n) == 0,
        name);

  dp_ppp_config first = {.mtu = 1400}, config = {.mtu = 1400};
  dp_prefix_set_add(&first.sources, "10.9.0.99");
  dp_prefix_set_add(&config.sources, "10.9.0.2");
  /* Started again with other sources (IPV6CP after IPCP): the new session replaces the first, whose
   * address is no longer allowed (checked below: 10.9.0.2 reaches the TUN, 10.9.0.99 does not). */
  CHECK(dp_sstp_call_start_data(c, &first, NULL) == 0 && dp_sstp_call_start_data(c, &config, NULL) == 0 && dp_sstp_call_ppp_stats(c) != NULL,
        "sstp: the data path starts again with new sources");

  uint8_t ip[1500], pkt[1600], out[2048];
  size_t ip_len = ipv4(ip, "10.9.0.2", "192.0.2.9", 1200);
  size_t k = data_packet(pkt, ip, ip_len, false);
  SSL_write(ssl, pkt, (int)k);
  size_t t = tun_read(tun[1], out, sizeof out);
  snprintf(name, sizeof name, "sstp %s: IP from the session's address goes into the TUN, bare", label);
  CHECK(t == ip_len && memcmp(out, ip, ip_len) == 0, name);
  k = data_packet(pkt, ip, ip_len, true);
  SSL_write(ssl, pkt, (int)k);
  snprintf(name, sizeof name, "sstp %s: and without Address and Control too", label);
  CHECK(tun_read(tun[1], out, sizeof out) == ip_len, name);
  ipv4(ip, "10.9.0.99", "192.0.2.9", 100);
  k = data_packet(pkt, ip, 100, false);
  SSL_write(ssl, pkt, (int)k);
  uint8_t lcp[] = {0x10, 0x00, 0x00, 0x0c, 0xff, 0x03, 0xc0, 0x21, 0x09, 0x07, 0x00, 0x04};
  SSL_write(ssl, lcp, sizeof lcp);
  snprintf(name, sizeof name, "sstp %s: LCP still goes up once the data path runs; IP from another address does not", label);
  CHECK(wait_up(pipe, &u, 5) == 5 && u.lens[4] == sizeof lcp && u.data[4][8] == 0x09 && dp_sstp_call_ppp_stats(c)->drop_source == 1 &&
            dp_sstp_call_ppp_stats(c)->rx_packets == 2,
        name);

  /* The way out: framed, sealed, and read by the client as one SSTP data packet. */
  ip_len = ipv4(ip, "192.0.2.9", "10.9.0.2", 1000);
  dp_sstp_call_tx_ip(c, ip, ip_len);
  size_t p = client_read_packet(ssl, out, sizeof out);
  snprintf(name, sizeof name, "sstp %s: IP toward the session reaches the client in a data packet with its PPP header", label);
  CHECK(p == 8 + ip_len && out[0] == 0x10 && out[1] == 0 && out[4] == 0xff && out[5] == 0x03 && out[6] == 0 && out[7] == 0x21 && memcmp(out + 8, ip, ip_len) == 0,
        name);

  if (max_version == TLS1_3_VERSION) {
    /* A KeyUpdate asking the driver to update too: both directions keep working on new keys. */
    SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED);
    ip_len = ipv4(ip, "10.9.0.2", "192.0.2.9", 300);
    k = data_packet(pkt, ip, ip_len, false);
    SSL_write(ssl, pkt, (int)k);
    bool in = tun_read(tun[1], out, sizeof out) == ip_len;
    ip_len = ipv4(ip, "192.0.2.9", "10.9.0.2", 500);
    dp_sstp_call_tx_ip(c, ip, ip_len);
    bool back = client_read_packet(ssl, out, sizeof out) == 8 + ip_len && memcmp(out + 8, ip, ip_len) == 0;
    CHECK(in && back, "sstp TLS 1.3: after a KeyUpdate (update requested), IP passes both ways");
    const dp_sstp_call_stats *cs = dp_sstp_call_stats_of(c);
    CHECK(atomic_load(&cs->key_updates_in) == 1 && atomic_load(&cs->key_updates_out) == 1, "sstp TLS 1.3: the client's KeyUpdate is counted, and the driver's answer");

    /* The driver's own KeyUpdates at its record limit (RFC 8446 §5.5), lowered to 4 records: each asks
     * the client to update too; packets both ways, interleaved, all arrive in order on the new keys. */
    dp_sstp_set_key_update_records(e, 4);
    bool both = true;
    for (int i = 0; i < 40; i++) {
      ip_len = ipv4(ip, "192.0.2.9", "10.9.0.2", 600);
      ip[4] = (uint8_t)i;
      dp_sstp_call_tx_ip(c, ip, ip_len);
      both &= client_read_packet(ssl, out, sizeof out) == 8 + ip_len && out[8 + 4] == (uint8_t)i;
      ip_len = ipv4(ip, "10.9.0.2", "192.0.2.9", 600);
      ip[4] = (uint8_t)i;
      k = data_packet(pkt, ip, ip_len, false);
      SSL_write(ssl, pkt, (int)k);
      both &= tun_read(tun[1], out, sizeof out) == ip_len && out[4] == (uint8_t)i;
    }
    dp_sstp_set_key_update_records(e, 0);
    uint64_t sent_updates = atomic_load(&cs->key_updates_out) - 1, answered = atomic_load(&cs->key_updates_in) - 1;
    snprintf(name, sizeof name, "sstp TLS 1.3: at a 4-record limit the driver updated its key %llu times over 40 records and the client answered %llu; 80 packets in order",
             (unsigned long long)sent_updates, (unsigned long long)answered);
    CHECK(both && sent_updates >= 8 && sent_updates <= 11 && answered >= 8, name);
  }

  /* A burst out: every packet arrives, in order. */
  bool in_order = true;
  for (int i = 0; i < 200; i++) {
    ip_len = ipv4(ip, "192.0.2.9", "10.9.0.2", 1400);
    ip[4] = (uint8_t)i;
    dp_sstp_call_tx_ip(c, ip, ip_len);
    in_order &= client_read_packet(ssl, out, sizeof out) == 8 + ip_len && out[8 + 4] == (uint8_t)i;
  }
  snprintf(name, sizeof name, "sstp %s: 200 packets out arrive whole and in order", label);
  CHECK(in_order, name);

  /* The hub's run (tx ... tx, flush): held until the flush, then framed back to back in as few
   * records as 16 KB of plaintext allow (SSL_read hands over one record at a time). */
  dp_hub_sink *sink = dp_sstp_call_sink(c);
  ip_len = ipv4(ip, "192.0.2.9", "10.9.0.2", 1400);
  for (int i = 0; i < 11; i++) {
    ip[4] = (uint8_t)i;
    sink->tx(sink, ip, ip_len);
  }
  struct pollfd held = {.fd = sp[1], .events = POLLIN};
  bool nothing_yet = poll(&held, 1, 50) == 0;
  ip[4] = 11;
  sink->tx(sink, ip, ip_len); /* no room left in the record: the first eleven leave */
  sink->flush(sink);
  static uint8_t record[16384];
  size_t got_first = 0, second = 0;
  bool read_both = SSL_read_ex(ssl, record, sizeof record, &got_first) == 1;
  bool whole = got_first == 11 * (8 + ip_len);
  for (size_t i = 0; whole && i < 11; i++) whole = record[i * (8 + ip_len)] == 0x10 && record[i * (8 + ip_len) + 8 + 4] == (uint8_t)i;
  read_both = read_both && SSL_read_ex(ssl, record, sizeof record, &second) == 1;
  snprintf(name, sizeof name, "sstp %s: a hub run of 12 packets is held until the record is full or flushed, and leaves as two records (11 + 1), in order", label);
  CHECK(nothing_yet && read_both && whole && second == 8 + ip_len && record[8 + 4] == 11, name);

  /* The handshake's flight or the first records left the memory BIOs large: drained, each was swapped
   * once for an empty one (an idle call keeps no such buffer); after that only a burst above 32 KB is,
   * so the 200 single records above cost no allocation each. IP still passes both ways. */
  uint64_t renewed = dp_sstp_call_stats_of(c)->bio_renewed;
  ip_len = ipv4(ip, "10.9.0.2", "192.0.2.9", 1300);
  k = data_packet(pkt, ip, ip_len, false);
  SSL_write(ssl, pkt, (int)k);
  bool in_after = tun_read(tun[1], out, sizeof out) == ip_len && memcmp(out, ip, ip_len) == 0;
  ip_len = ipv4(ip, "192.0.2.9", "10.9.0.2", 1300);
  dp_sstp_call_tx_ip(c, ip, ip_len);
  bool out_after = client_read_packet(ssl, out, sizeof out) == 8 + ip_len && memcmp(out + 8, ip, ip_len) == 0;
  snprintf(name, sizeof name, "sstp %s: drained TLS buffers are given back (%llu renewed), and IP passes both ways after", label, (unsigned long long)renewed);
  CHECK(renewed >= 2 && renewed <= 4 && in_after && out_after, name);

  SSL_shutdown(ssl); /* close_notify */
  snprintf(name, sizeof name, "sstp %s: the client's close_notify ends the call: an empty message up", label);
  CHECK(wait_up(pipe, &u, 6) == 6 && u.lens[5] == 0 && u.tags[5] == 77 && dp_sstp_call_stats_of(c)->ended == DP_SSTP_END_PEER_CLOSED, name);
  CHECK(dp_sstp_call_send(c, (const uint8_t *)"x", 1) == -EPIPE, "sstp: an ended call refuses JavaScript's bytes");

  dp_sstp_call_remove(e, c);
  SSL_free(ssl);
  SSL_CTX_free(cctx);
  close(sp[1]);
  close(tun[0]);
  close(tun[1]);
}

/* An IPv4 TCP segment 10.1.0.10:4000 -> 10.2.0.10:5201 with `payload` bytes at `seq`; checksums valid. */
static size_t tcp_segment(uint8_t *p, uint32_t seq, size_t payload) {
  size_t total = 40 + payload;
  memset(p, 0, total);
  p[0] = 0x45; p[2] = (uint8_t)(total >> 8); p[3] = (uint8_t)total; p[6] = 0x40; p[8] = 64; p[9] = 6;
  p[12] = 10; p[13] = 1; p[15] = 10; p[16] = 10; p[17] = 2; p[19] = 10;
  p[20] = 0x0f; p[21] = 0xa0; p[22] = 0x14; p[23] = 0x51;
  p[24] = (uint8_t)(seq >> 24); p[25] = (uint8_t)(seq >> 16); p[26] = (uint8_t)(seq >> 8); p[27] = (uint8_t)seq;
  p[31] = 1; p[32] = 5 << 4; p[33] = 0x10; p[34] = 0x01; p[35] = 0xf5;
  for (size_t i = 0; i < payload; i++) p[40 + i] = (uint8_t)(seq + i);
  uint16_t c = fold(sum16(p, 20, 0));
  p[10] = (uint8_t)(c >> 8); p[11] = (uint8_t)c;
  fix(p, total);
  return total;
}

/* A TUN with offloads: a TCP run that came in one record goes into the TUN as one merged write. */
static void merged_into_tun(dp_sstp *e, dp_sstp_tls *tls, dp_pipe *pipe) {
  int sp[2], tun[2], error = 0;
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
  socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, tun);
  dp_sstp_call *c = dp_sstp_call_add(e, tls, sp[0], NULL, 0, tun[0], true, 12, &error);
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(cctx);
  struct timeval five = {.tv_sec = 5};
  setsockopt(sp[1], SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
  SSL_set_fd(ssl, sp[1]);
  dp_ppp_config config = {.mtu = 1400};
  dp_prefix_set_add(&config.sources, "10.1.0.10");
  bool ready = c && SSL_connect(ssl) == 1 && SSL_write(ssl, head, (int)strlen(head)) > 0 && dp_sstp_call_start_data(c, &config, NULL) == 0;
  static uint8_t run[4 * 1100];
  size_t at = 0;
  uint8_t seg[1100];
  for (uint32_t i = 0; i < 4; i++) at += data_packet(run + at, seg, tcp_segment(seg, 1000 + i * 1000, 1000), false);
  ready = ready && SSL_write(ssl, run, (int)at) == (int)at; /* one record */
  static uint8_t got[10 + 65535];
  size_t n = ready ? tun_read(tun[1], got, sizeof got) : 0;
  /* virtio_net_hdr: flags, gso_type (1: TCPv4), hdr_len, gso_size (host order), csum_start, csum_offset. */
  uint16_t gso_size = 0;
  if (n >= 10) memcpy(&gso_size, got + 4, 2);
  CHECK(n == 10 + 40 + 4000 && got[1] == 1 && gso_size == 1000 && dp_sstp_call_stats_of(c)->data_in == 4 && dp_sstp_call_stats_of(c)->drop_tun == 0,
        "sstp: with offloads, four TCP segments of one record reach the TUN as one merged write (gso_size 1000)");
  ups u = {0};
  wait_up(pipe, &u, 1); /* the head, not needed here */
  if (c) dp_sstp_call_remove(e, c);
  SSL_free(ssl);
  SSL_CTX_free(cctx);
  close(sp[1]);
  close(tun[0]);
  close(tun[1]);
}

/* The listener read the ClientHello itself (server name, ACME, sstpc's held first flight) and hands
 * the call over with it: the handshake goes on from those bytes. */
static void call_after_client_hello(dp_sstp *e, dp_sstp_tls *tls, dp_pipe *pipe) {
  int sp[2], error = 0;
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(cctx);
  fcntl(sp[1], F_SETFL, O_NONBLOCK);
  SSL_set_fd(ssl, sp[1]);
  int first = SSL_connect(ssl); /* sends the ClientHello, then wants the answer */
  uint8_t hello[4096];
  ssize_t n = recv(sp[0], hello, sizeof hello, MSG_DONTWAIT);
  dp_sstp_call *c = n > 0 ? dp_sstp_call_add(e, tls, sp[0], hello, (size_t)n, -1, false, 9, &error) : NULL;
  fcntl(sp[1], F_SETFL, 0);
  struct timeval five = {.tv_sec = 5};
  setsockopt(sp[1], SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
  bool done = first == -1 && SSL_get_error(ssl, first) == SSL_ERROR_WANT_READ && c && SSL_connect(ssl) == 1;
  SSL_write(ssl, head, (int)strlen(head));
  ups u = {0};
  CHECK(done && wait_up(pipe, &u, 1) == 1 && u.tags[0] == 9 && u.lens[0] == strlen(head), "sstp: a call handed over after JavaScript read its ClientHello completes the handshake from it");
  if (c) dp_sstp_call_remove(e, c);
  SSL_free(ssl);
  SSL_CTX_free(cctx);
  close(sp[1]);
}

static void bad_calls(dp_sstp *e, dp_sstp_tls *tls, dp_pipe *pipe) {
  int sp[2], error = 0;
  /* Not a TLS handshake: it fails, the call ends. */
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
  dp_sstp_call *c = dp_sstp_call_add(e, tls, sp[0], NULL, 0, -1, false, 5, &error);
  static const uint8_t not_hello[] = {0x16, 0x03, 0x01, 0x00, 0x04, 0x63, 0x00, 0x00, 0x00}; /* a handshake record, but no ClientHello */
  ssize_t w = write(sp[1], not_hello, sizeof not_hello);
  ups u = {0};
  CHECK(w > 0 && wait_up(pipe, &u, 1) == 1 && u.lens[0] == 0 && dp_sstp_call_stats_of(c)->ended == DP_SSTP_END_TLS_ERROR, "sstp: a handshake that is not TLS's ends the call as a TLS error");
  uint8_t alert[16] = {0};
  struct pollfd readable = {.fd = sp[1], .events = POLLIN};
  CHECK(poll(&readable, 1, 5000) == 1 && read(sp[1], alert, sizeof alert) >= 7 && alert[0] == 0x15, "sstp: and the client is told so with a TLS alert");
  dp_sstp_call_remove(e, c);
  close(sp[1]);

  /* A broken SSTP stream after the head. */
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
  c = dp_sstp_call_add(e, tls, sp[0], NULL, 0, -1, false, 6, &error);
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(cctx);
  SSL_set_fd(ssl, sp[1]);
  SSL_connect(ssl);
  SSL_write(ssl, head, (int)strlen(head));
  uint8_t bad[] = {0x20, 0x00, 0x00, 0x08, 0, 0, 0, 0};
  SSL_write(ssl, bad, sizeof bad);
  ups v = {0};
  CHECK(wait_up(pipe, &v, 2) == 2 && v.lens[1] == 0 && v.tags[1] == 6 && dp_sstp_call_stats_of(c)->ended == DP_SSTP_END_BAD_STREAM,
        "sstp: a packet of another version ends the call as a broken stream");
  /* The peer's socket gone: nothing more happens, the call is removed cleanly. */
  SSL_free(ssl);
  SSL_CTX_free(cctx);
  close(sp[1]);
  dp_sstp_call_remove(e, c);
}

/* Postern dialing: a dialed call against the driver's own server call on a socket pair. */
static void dialed_calls(dp_sstp *e, dp_sstp_tls *server, dp_pipe *pipe, const char *cert, const char *other_ca) {
  int error = 0;
  CHECK(!dp_sstp_tls_client_new("junk", 4, &error) && error == -EINVAL, "sstp dial: a CA with no certificate in it is refused");
  dp_sstp_tls *trusting = dp_sstp_tls_client_new(cert, strlen(cert), &error);
  dp_sstp_tls *stranger = dp_sstp_tls_client_new(other_ca, strlen(other_ca), &error);
  dp_sstp_tls *pinning = dp_sstp_tls_client_new(NULL, 0, &error);
  CHECK(trusting && stranger && pinning, "sstp dial: client contexts with a CA and without");
  if (!trusting || !stranger || !pinning) return;
  CHECK(!dp_sstp_call_add(e, trusting, socket(AF_UNIX, SOCK_STREAM, 0), NULL, 0, -1, false, 1, &error) && error == -EINVAL,
        "sstp dial: a client context cannot serve a call");
  struct {
    dp_sstp_tls *tls;
    const char *name;
    bool ok;
    const char *label;
  } cases[] = {
      {trusting, "gw.test", true, "the CA and the name match: the handshake completes"},
      {pinning, NULL, true, "no CA (a pin): the handshake completes, the certificate still goes up"},
      {trusting, "other.test", false, "a certificate for another name is refused"},
      {trusting, "192.0.2.2", false, "an address the certificate does not carry is refused"},
      {stranger, "gw.test", false, "a chain to another CA is refused"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int sp[2];
    char name[200];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
    dp_sstp_call *srv = dp_sstp_call_add(e, server, sp[0], NULL, 0, -1, false, 100, &error);
    dp_sstp_call *cli = dp_sstp_call_dial(e, cases[i].tls, sp[1], cases[i].name, 200, &error);
    ups u = {0};
    if (cases[i].ok) {
      /* The client's first piece is the server's certificate; its head then reaches the server, the answer the client. */
      bool cert_up = wait_up(pipe, &u, 1) >= 1 && u.tags[0] == 200 && u.data[0][0] == 0x30 && u.lens[0] > 100;
      static const char response[] = "HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n";
      bool head = cli && dp_sstp_call_send(cli, (const uint8_t *)head_text(), strlen(head_text())) > 0 && wait_up(pipe, &u, 2) == 2 && u.tags[1] == 100 &&
                  u.lens[1] == strlen(head_text());
      bool answer = srv && dp_sstp_call_send(srv, (const uint8_t *)response, strlen(response)) > 0 && wait_up(pipe, &u, 3) == 3 && u.tags[2] == 200 &&
                    u.lens[2] == strlen(response) && memcmp(u.data[2], "HTTP/1.1 200", 12) == 0;
      snprintf(name, sizeof name, "sstp dial: %s; the HTTP exchange crosses both ways", cases[i].label);
      const uint8_t *issuer = NULL;
      CHECK(cli && cert_up && head && answer && !dp_sstp_call_verify_error(cli) && dp_sstp_call_peer_issuer(cli, &issuer) == 0, name);
    } else {
      bool ended_up = false;
      for (double end = now() + 5; !ended_up && now() < end; usleep(1000)) {
        dp_pipe_drain(pipe, 64, take_up, &u);
        for (size_t k = 0; k < u.n; k++) ended_up |= u.tags[k] == 200 && u.lens[k] == 0;
      }
      bool no_cert = true;
      for (size_t k = 0; k < u.n; k++) no_cert &= !(u.tags[k] == 200 && u.lens[k] > 0);
      const char *why = cli ? dp_sstp_call_verify_error(cli) : NULL;
      snprintf(name, sizeof name, "sstp dial: %s (%s), nothing goes up but the end", cases[i].label, why ? why : "no reason");
      CHECK(cli && ended_up && no_cert && why && dp_sstp_call_stats_of(cli)->ended == DP_SSTP_END_TLS_ERROR, name);
    }
    if (cli) dp_sstp_call_remove(e, cli);
    if (srv) dp_sstp_call_remove(e, srv);
    dp_pipe_drain(pipe, 64, take_up, &u);
  }
  dp_sstp_tls_free(trusting);
  dp_sstp_tls_free(stranger);
  dp_sstp_tls_free(pinning);

  /* A leaf a CA signed: the verified chain's issuer is handed over with the certificate (the
   * revocation check asks it); a self-signed one has none (checked in the cases above). */
  static char ca[4096], leaf[4096], key[4096];
  make_signed(ca, sizeof ca, leaf, sizeof leaf, key, sizeof key);
  dp_sstp_tls *signed_server = dp_sstp_tls_new(leaf, strlen(leaf), key, strlen(key), &error);
  dp_sstp_tls *trusting_ca = dp_sstp_tls_client_new(ca, strlen(ca), &error);
  int sp[2];
  socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
  dp_sstp_call *srv = signed_server ? dp_sstp_call_add(e, signed_server, sp[0], NULL, 0, -1, false, 101, &error) : NULL;
  dp_sstp_call *cli = trusting_ca ? dp_sstp_call_dial(e, trusting_ca, sp[1], "gw.test", 201, &error) : NULL;
  ups u = {0};
  const uint8_t *der = NULL;
  bool up_first = cli && wait_up(pipe, &u, 1) >= 1 && u.tags[0] == 201 && u.lens[0] > 0;
  size_t n = cli ? dp_sstp_call_peer_issuer(cli, &der) : 0;
  const unsigned char *p = der;
  X509 *issuer = n ? d2i_X509(NULL, &p, (long)n) : NULL;
  char subject[64] = "";
  if (issuer) X509_NAME_get_text_by_NID(X509_get_subject_name(issuer), NID_commonName, subject, sizeof subject);
  CHECK(signed_server && srv && up_first && issuer && strcmp(subject, "Test CA") == 0, "sstp dial: a CA-signed server certificate comes with its issuer from the verified chain");
  X509_free(issuer);
  if (cli) dp_sstp_call_remove(e, cli);
  if (srv) dp_sstp_call_remove(e, srv);
  dp_pipe_drain(pipe, 64, take_up, &u);
  dp_sstp_tls_free(signed_server);
  dp_sstp_tls_free(trusting_ca);
}

/* kTLS where this kernel has it (sstp_ktls.h): a call over loopback TCP, whose head goes up and whose
 * answer comes back; the call's counters and the engine's say which path it took, and why not. On a
 * kernel without the tls module (this CI's) the switch fails with ENOENT and the call stays on
 * OpenSSL's records; with it, both directions are the kernel's. Either way the bytes pass. */
static bool kernel_has_tls(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  /* Unconnected: the module answers ENOTCONN once it is loaded (or loadable); ENOENT when absent. */
  bool has = setsockopt(fd, IPPROTO_TCP, 31 /* TCP_ULP */, "tls", sizeof "tls") < 0 && errno == ENOTCONN;
  close(fd);
  return has;
}

static void tcp_call_ktls(dp_sstp *e, dp_sstp_tls *tls, dp_pipe *pipe, bool ktls_on) {
  dp_sstp_set_ktls(e, ktls_on);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool up = bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0 && getsockname(l, (struct sockaddr *)&a, &alen) == 0 &&
            connect(cl, (struct sockaddr *)&a, sizeof a) == 0;
  int sv = up ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : -1;
  close(l);
  int error = 0;
  const dp_sstp_stats *es = dp_sstp_stats_of(e);
  uint64_t calls_before = es->ktls_calls, fallbacks_before = es->ktls_fallbacks;
  dp_sstp_call *c = sv >= 0 ? dp_sstp_call_add(e, tls, sv, NULL, 0, -1, false, 91, &error) : NULL;
  CHECK(c != NULL, "sstp kTLS: a call over loopback TCP is added");
  if (!c) {
    close(cl);
    return;
  }
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(cctx);
  struct timeval five = {.tv_sec = 5};
  setsockopt(cl, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
  SSL_set_fd(ssl, cl);
  bool connected = SSL_connect(ssl) == 1;
  uint8_t s[512];
  size_t n = sample_stream(s);
  SSL_write(ssl, s, (int)n);
  ups u = {0};
  bool head_up = wait_up(pipe, &u, 4) == 4 && u.tags[0] == 91 && u.lens[0] == strlen(head_text());
  static const char response[] = "HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\n\r\n";
  char got[sizeof response] = "";
  size_t read_n = 0;
  bool answered = dp_sstp_call_send(c, (const uint8_t *)response, strlen(response)) == (int)strlen(response) &&
                  SSL_read_ex(ssl, got, strlen(response), &read_n) == 1 && read_n == strlen(response) && memcmp(got, response, read_n) == 0;
  const dp_sstp_call_stats *st = dp_sstp_call_stats_of(c);
  bool expect = ktls_on && kernel_has_tls();
  char name[200];
  snprintf(name, sizeof name, "sstp kTLS: over TCP the head goes up and the answer comes back (%s: rx %llu tx %llu, errno %llu)",
           expect ? "kernel TLS" : "no tls module, userspace records", (unsigned long long)st->ktls_rx, (unsigned long long)st->ktls_tx,
           (unsigned long long)st->ktls_error);
  CHECK(connected && head_up && answered, name);
  if (!ktls_on)
    CHECK(st->ktls_rx == 0 && st->ktls_tx == 0 && st->ktls_error == 0 && es->ktls_calls == calls_before && es->ktls_fallbacks == fallbacks_before,
          "sstp kTLS: turned off, the call stays on OpenSSL without trying (nothing counted)");
  else if (expect)
    CHECK(st->ktls_rx == 1 && st->ktls_tx == 1 && st->ktls_error == 0 && es->ktls_calls == calls_before + 1,
          "sstp kTLS: the call's records are the kernel's both ways, counted by the engine");
  else
    CHECK(st->ktls_rx == 0 && st->ktls_tx == 0 && st->ktls_error == ENOENT && es->ktls_fallbacks == fallbacks_before + 1 && es->ktls_last_error == ENOENT,
          "sstp kTLS: without the tls module the call stays in userspace, ENOENT in its counters and the engine's");
  SSL_shutdown(ssl);
  CHECK(wait_up(pipe, &u, 5) == 5 && u.lens[4] == 0 && st->ended == DP_SSTP_END_PEER_CLOSED, "sstp kTLS: close_notify still ends the call as closed");
  dp_sstp_call_remove(e, c);
  SSL_free(ssl);
  SSL_CTX_free(cctx);
  close(cl);
}

void test_sstp(void) {
  test_deframe();
  static char cert[4096], key[4096];
  make_certificate(cert, sizeof cert, key, sizeof key);
  int error = 0;
  CHECK(!dp_sstp_tls_new(cert, strlen(cert), "junk", 4, &error) && error == -EINVAL, "sstp: a key that is not PEM is refused");
  dp_sstp_tls *tls = dp_sstp_tls_new(cert, strlen(cert), key, strlen(key), &error);
  CHECK(tls && error == 0, "sstp: a certificate and key in PEM make a TLS context");
  dp_pipe *pipe = dp_pipe_open(1024, 1 << 20, NULL, NULL);
  dp_sstp *e = dp_sstp_open(pipe, &error);
  CHECK(e && error == 0, "sstp: the engine starts");
  if (!tls || !e) return;
  one_call(e, tls, pipe, TLS1_3_VERSION, "TLS 1.3");
  one_call(e, tls, pipe, TLS1_2_VERSION, "TLS 1.2");
  call_after_client_hello(e, tls, pipe);
  merged_into_tun(e, tls, pipe);
  bad_calls(e, tls, pipe);
  static char other[4096], other_key[4096];
  make_certificate(other, sizeof other, other_key, sizeof other_key);
  dialed_calls(e, tls, pipe, cert, other);
  tcp_call_ktls(e, tls, pipe, false);
  tcp_call_ktls(e, tls, pipe, true);
  /* A second after the last handshake the engine gives the burst's freed memory back; with nothing
   * happening, never again. */
  for (double end = now() + 5; now() < end && dp_sstp_stats_of(e)->memory_trims == 0; usleep(10000)) {}
  bool trimmed = dp_sstp_stats_of(e)->memory_trims > 0;
  usleep(1500000); /* the last handshake's trim is done by now */
  uint64_t settled = dp_sstp_stats_of(e)->memory_trims;
  usleep(1500000);
  CHECK(trimmed && dp_sstp_stats_of(e)->memory_trims == settled, "sstp: once handshakes go quiet the engine trims its memory (malloc_trim), and not again while nothing happens");
  dp_sstp_close(e);
  dp_pipe_close(pipe);
  dp_sstp_tls_free(tls);
}
