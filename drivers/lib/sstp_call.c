#define _GNU_SOURCE
#include "sstp_call.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "epoch.h"
#include "gro.h"
#include "gso.h"
#include "mss_clamp.h"
#include "sstp_frame.h"
#include "sstp_ktls.h"

#define EVENTS 64
#define READ_CHUNK 65536
#define PLAIN_CHUNK 16384 /* a TLS record's plaintext at most */
#define READS_PER_TURN 16 /* 1 MiB of one call's records before the next call's turn */
/* A memory BIO keeps the largest buffer it ever held (BUF_MEM only grows). An established call's BIO,
 * once drained, is swapped for an empty one the first time it held more than BIO_KEEP (the handshake's
 * flight, about 3 KB with an RSA chain), later only after a burst above BIO_BURST (a 64 KB read, runs of
 * 16 KB records): an idle call holds neither, and a flow of single records costs no allocation each. */
#define BIO_KEEP 1024
#define BIO_BURST 32768
/* Handshakes leave freed memory in the engine thread's malloc arena (OpenSSL's handshake state,
 * certificates, key shares): once none completed for this long, it goes back to the kernel. */
#define TRIM_QUIET_MS 1000

struct dp_sstp_tls {
  SSL_CTX *ctx;
  bool client; /* a dialer's: its calls connect, and hand up the server's certificate */
};

struct dp_sstp_call {
  dp_hub_sink sink; /* the hub hands it the packets routed to the call */
  dp_sstp *engine;
  int fd, tun_fd;
  bool offload;
  uint32_t tag;
  pthread_mutex_t lock; /* the SSL object and its BIOs, whichever thread */
  SSL *ssl;
  BIO *rbio, *wbio;     /* memory BIOs: records from the socket, records for it */
  size_t rbio_peak, wbio_peak; /* the most each held since it was new (what its buffer grew to) */
  bool rbio_renewed, wbio_renewed; /* once: from then on only a burst's buffer is given back */
  _Atomic bool established;
  bool client;
  long verify; /* a dialed call's certificate check (X509_V_OK or why it failed), under the lock */
  uint8_t *issuer_der; /* a dialed call's: the certificate that signed the server's in the verified chain (DER), or NULL */
  size_t issuer_len;
  dp_sstp_deframer deframer; /* engine thread only (under the lock) */
  _Atomic(dp_ppp_session *) ppp;
  dp_hub *hub;               /* routes to the call live there once the data path started */
  dp_ktls_pending *ktls;     /* from the first secret to the switch (under the lock), then NULL */
  bool rx_kernel, tx_kernel; /* the socket decrypts / seals (under the lock) */
  uint64_t records_on_key;   /* records OpenSSL sealed since our sending key last changed (under the lock) */
  dp_sstp_call_stats stats;
};

struct dp_sstp {
  int epoll_fd, stop_fd;
  dp_pipe *pipe;
  dp_gro *gro;             /* engine thread: a call's TCP runs merged toward a TUN with offloads (from the first such packet) */
  dp_sstp_call *gro_owner; /* whose packets it holds: written at the end of that call's turn */
  dp_epoch epoch; /* odd while the thread handles a batch of events */
  uint64_t trim_at_ms;     /* engine thread: when to give the handshakes' freed memory back (0: nothing to give) */
  pthread_t thread;
  bool running;
  _Atomic bool ktls_off; /* the operator turned kTLS off: calls set up from now on stay on OpenSSL */
  _Atomic uint64_t key_update_records; /* see dp_sstp_set_key_update_records */
  dp_sstp_stats stats;
};

#define COUNT(c, field) atomic_fetch_add_explicit(&(c)->stats.field, 1, memory_order_relaxed)
#define ADD(c, field, n) atomic_fetch_add_explicit(&(c)->stats.field, (uint64_t)(n), memory_order_relaxed)

/* ---- kTLS's inputs (sstp_ktls.h) ---- */

/* TLS 1.3's traffic secrets, kept until the switch (inside the handshake: under the call's lock). */
static void on_keylog(const SSL *ssl, const char *line) {
  dp_sstp_call *c = SSL_get_app_data(ssl);
  if (!c) return;
  if (!c->ktls && !(c->ktls = calloc(1, sizeof *c->ktls))) return; /* no switch: counted then */
  dp_ktls_keylog(c->ktls, line);
}

/* After the handshake, until the switch: every record OpenSSL reads or writes moves a sequence
 * number, and a KeyUpdate moves its keys away from the secrets. For the call's whole life:
 * KeyUpdates counted, and ours restart the sending key's record allowance. */
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg) {
  (void)version;
  (void)ssl;
  dp_sstp_call *c = arg;
  if (content_type == SSL3_RT_HANDSHAKE && len > 0 && ((const uint8_t *)buf)[0] == SSL3_MT_KEY_UPDATE && atomic_load_explicit(&c->established, memory_order_relaxed)) {
    if (write_p) {
      c->records_on_key = 0; /* ours, or the answer to the peer's request: our sending key is new */
      atomic_fetch_add_explicit(&c->stats.key_updates_out, 1, memory_order_relaxed);
    } else {
      atomic_fetch_add_explicit(&c->stats.key_updates_in, 1, memory_order_relaxed);
    }
  }
  if (!c->ktls || !c->ktls->counting) return;
  if (content_type == SSL3_RT_HEADER) {
    if (write_p) c->ktls->tx_records++;
    else c->ktls->rx_records++;
  } else if (content_type == SSL3_RT_HANDSHAKE && len > 0 && ((const uint8_t *)buf)[0] == SSL3_MT_KEY_UPDATE) {
    c->ktls->key_update = true;
  }
}

/* ---- certificates ---- */

dp_sstp_tls *dp_sstp_tls_new(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, int *error) {
  *error = -EINVAL;
  if (cert_len > INT32_MAX || key_len > INT32_MAX) return NULL;
  dp_sstp_tls *t = calloc(1, sizeof *t);
  if (!t) { *error = -ENOMEM; return NULL; }
  t->ctx = SSL_CTX_new(TLS_server_method());
  BIO *certs = BIO_new_mem_buf(cert_pem, (int)cert_len), *key = BIO_new_mem_buf(key_pem, (int)key_len);
  X509 *leaf = certs ? PEM_read_bio_X509(certs, NULL, NULL, NULL) : NULL;
  EVP_PKEY *pkey = key ? PEM_read_bio_PrivateKey(key, NULL, NULL, NULL) : NULL;
  bool ok = t->ctx && leaf && pkey && SSL_CTX_use_certificate(t->ctx, leaf) == 1 && SSL_CTX_use_PrivateKey(t->ctx, pkey) == 1 &&
            SSL_CTX_check_private_key(t->ctx) == 1 && SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) == 1;
  /* The rest of the chain, as a client needs it to reach its trust anchor. */
  for (X509 *extra; ok && (extra = PEM_read_bio_X509(certs, NULL, NULL, NULL));)
    if (SSL_CTX_add_extra_chain_cert(t->ctx, extra) != 1) { X509_free(extra); ok = false; }
  if (ok) {
    /* Idle calls keep no record buffers (memory per call, issue 23); no session tickets to keep. */
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_num_tickets(t->ctx, 0);
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF); /* no resumption: a TLS 1.2 call's session would stay cached after it */
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION); /* TLS 1.2: a client's renegotiations cost us handshakes for nothing */
    SSL_CTX_set_keylog_callback(t->ctx, on_keylog);
  }
  ERR_clear_error();
  X509_free(leaf);
  EVP_PKEY_free(pkey);
  BIO_free(certs);
  BIO_free(key);
  if (ok) { *error = 0; return t; }
  SSL_CTX_free(t->ctx);
  free(t);
  return NULL;
}

dp_sstp_tls *dp_sstp_tls_client_new(const char *ca_pem, size_t ca_len, int *error) {
  *error = -EINVAL;
  if (ca_len > INT32_MAX) return NULL;
  dp_sstp_tls *t = calloc(1, sizeof *t);
  if (!t) { *error = -ENOMEM; return NULL; }
  t->client = true;
  t->ctx = SSL_CTX_new(TLS_client_method());
  bool ok = t->ctx && SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) == 1;
  unsigned anchors = 0;
  if (ok && ca_len > 0) {
    BIO *b = BIO_new_mem_buf(ca_pem, (int)ca_len);
    X509_STORE *store = SSL_CTX_get_cert_store(t->ctx);
    for (X509 *x; b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)); X509_free(x))
      if (X509_STORE_add_cert(store, x) == 1) anchors++;
    BIO_free(b);
    ok = anchors > 0; /* a CA given but none readable would otherwise trust nothing, silently */
  }
  if (ok) {
    /* No CA: the caller pins the certificate itself (its fingerprint) from what the call hands up. */
    SSL_CTX_set_verify(t->ctx, anchors ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_keylog_callback(t->ctx, on_keylog);
  }
  ERR_clear_error();
  if (ok) { *error = 0; return t; }
  SSL_CTX_free(t->ctx);
  free(t);
  return NULL;
}

void dp_sstp_tls_free(dp_sstp_tls *t) {
  if (!t) return;
  SSL_CTX_free(t->ctx);
  free(t);
}

static uint64_t monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- the call's stream (under its lock) ---- */

/* The call is over: said once, up the pipe as an empty message. */
static void end_call(dp_sstp_call *c, unsigned why) {
  uint64_t none = 0;
  if (atomic_compare_exchange_strong(&c->stats.ended, &none, why)) dp_pipe_push(c->engine->pipe, c->tag, (const uint8_t *)"", 0);
}

static bool ended(dp_sstp_call *c) { return atomic_load_explicit(&c->stats.ended, memory_order_acquire) != 0; }

/* An empty memory BIO for a drained one that grew past its limit (the first time past BIO_KEEP, then past
 * BIO_BURST), or NULL to keep it; the caller hands it to SSL_set0_*, which frees the old one. */
static BIO *fresh_bio(dp_sstp_call *c, size_t *peak, bool *renewed) {
  if (*peak <= (*renewed ? BIO_BURST : BIO_KEEP) || !atomic_load_explicit(&c->established, memory_order_relaxed)) return NULL;
  BIO *fresh = BIO_new(BIO_s_mem());
  if (!fresh) return NULL; /* the old one stays: only memory is lost */
  *peak = 0;
  *renewed = true;
  COUNT(c, bio_renewed);
  return fresh;
}

static void renew_rbio(dp_sstp_call *c) {
  BIO *fresh = BIO_ctrl_pending(c->rbio) > 0 ? NULL : fresh_bio(c, &c->rbio_peak, &c->rbio_renewed);
  if (!fresh) return;
  BIO_set_mem_eof_return(fresh, -1);
  SSL_set0_rbio(c->ssl, fresh);
  c->rbio = fresh;
}

static void renew_wbio(dp_sstp_call *c) {
  BIO *fresh = fresh_bio(c, &c->wbio_peak, &c->wbio_renewed);
  if (!fresh) return;
  SSL_set0_wbio(c->ssl, fresh);
  c->wbio = fresh;
}

/* Sealed records to the socket, as far as it takes them; the rest waits for EPOLLOUT. */
static void flush(dp_sstp_call *c) {
  static __thread uint8_t scratch[16384];
  for (;;) {
    char *p = NULL;
    long n = BIO_get_mem_data(c->wbio, &p);
    if (n <= 0) return renew_wbio(c);
    if ((size_t)n > c->wbio_peak) c->wbio_peak = (size_t)n;
    ssize_t w = write(c->fd, p, (size_t)n);
    if (w < 0) {
      if (errno != EAGAIN && errno != EINTR) end_call(c, DP_SSTP_END_SOCKET_ERROR);
      return;
    }
    ADD(c, bytes_out, w);
    for (ssize_t left = w; left > 0;) { /* consumed: a memory BIO moves past what is read */
      int r = BIO_read(c->wbio, scratch, left < (ssize_t)sizeof scratch ? (int)left : (int)sizeof scratch);
      if (r <= 0) return;
      left -= r;
    }
    if (w < n) return;
  }
}

static void up(dp_sstp_call *c, const uint8_t *piece, size_t len) {
  if (dp_pipe_push(c->engine->pipe, c->tag, piece, len)) COUNT(c, pieces_up);
  else COUNT(c, up_dropped);
}

/* What GRO hands over: a vnet header and the (merged) packet, into the owning call's TUN queue. */
static int write_merged(void *ctx, const uint8_t *buf, size_t len) {
  dp_sstp_call *c = ((dp_sstp *)ctx)->gro_owner;
  if (write(c->tun_fd, buf, len) < 0) COUNT(c, drop_tun);
  return 0;
}

/* GRO's pending packet out: at the end of the owner's turn (it may be removed before the next). */
static void flush_gro(dp_sstp *e) {
  if (!e->gro_owner) return;
  dp_gro_flush(e->gro, write_merged, e);
  e->gro_owner = NULL;
}

/* A record holds up to eleven full-size packets: with offloads a TCP run among them costs the
 * kernel one write and one trip through its stack (the 64 KB buffer comes with the first such
 * packet: an engine whose calls never carry IP in C never pays for it). */
static void to_tun(dp_sstp_call *c, const uint8_t *ip, size_t len) {
  dp_sstp *e = c->engine;
  COUNT(c, data_in);
  if (!c->offload) {
    if (write(c->tun_fd, ip, len) < 0) COUNT(c, drop_tun);
    return;
  }
  if (!e->gro && !(e->gro = calloc(1, sizeof *e->gro))) { COUNT(c, drop_tun); return; }
  if (e->gro_owner != c) flush_gro(e);
  e->gro_owner = c;
  dp_gro_offer(e->gro, ip, len, write_merged, e);
}

static void on_piece(void *ctx, dp_sstp_piece kind, const uint8_t *piece, size_t len) {
  dp_sstp_call *c = ctx;
  dp_ppp_session *s = atomic_load_explicit(&c->ppp, memory_order_acquire);
  if (kind != DP_SSTP_PIECE_DATA || !s) { up(c, piece, len); return; }
  const uint8_t *ip = NULL;
  size_t ip_len = 0;
  switch (dp_ppp_rx_frame(s, piece + DP_SSTP_HEADER, len - DP_SSTP_HEADER, &ip, &ip_len)) {
  case DP_PPP_RX_TUN: to_tun(c, ip, ip_len); break;
  case DP_PPP_RX_UP: up(c, piece, len); break;
  case DP_PPP_RX_DROP: break; /* counted by the session */
  }
}

/* A dialed call's handshake is done (the chain and name checked when the context has a CA): the
 * server's certificate goes up as the first piece, DER (it starts with 0x30, a SEQUENCE, where a
 * head starts with a letter and a packet with 0x10): JavaScript pins it, asks for its revocation and
 * hashes it for the crypto binding before it sends anything. */
static bool hand_up_certificate(dp_sstp_call *c) {
  /* Its issuer as the verified chain has it (an intermediate the server sent, or the anchor): the
   * revocation check asks it, as it asks Node's TLS for the peer's issuerCertificate. */
  STACK_OF(X509) *chain = SSL_get0_verified_chain(c->ssl);
  if (chain && sk_X509_num(chain) > 1) {
    unsigned char *der = NULL;
    int n = i2d_X509(sk_X509_value(chain, 1), &der);
    if (n > 0 && (c->issuer_der = malloc((size_t)n))) {
      memcpy(c->issuer_der, der, (size_t)n);
      c->issuer_len = (size_t)n;
    }
    OPENSSL_free(der);
  }
  X509 *leaf = SSL_get1_peer_certificate(c->ssl);
  unsigned char *der = NULL;
  int n = leaf ? i2d_X509(leaf, &der) : -1;
  X509_free(leaf);
  if (n <= 0) return false;
  up(c, der, (size_t)n);
  OPENSSL_free(der);
  return true;
}

/* ---- kTLS: the switch (sstp_ktls.h) ---- */

static void ktls_done(dp_sstp_call *c) {
  /* The message callback stays: it counts KeyUpdates and restarts the record allowance (a call, one branch per record). */
  if (c->ktls) OPENSSL_cleanse(c->ktls, sizeof *c->ktls);
  free(c->ktls);
  c->ktls = NULL;
}

/* The handshake just completed: from here OpenSSL's records are counted, and the bytes already
 * read past it are followed to their record boundary. */
static void ktls_begin(dp_sstp_call *c) {
  if (!c->ktls && !(c->ktls = calloc(1, sizeof *c->ktls))) {
    atomic_store(&c->stats.ktls_error, ENOMEM);
    atomic_fetch_add(&c->engine->stats.ktls_fallbacks, 1);
    return;
  }
  c->ktls->counting = true;
  char *p = NULL;
  long n = BIO_get_mem_data(c->rbio, &p);
  if (n > 0) dp_ktls_track(c->ktls, (const uint8_t *)p, (size_t)n); /* OpenSSL reads a record at a time: it stopped at the Finished's end */
}

/* OpenSSL has decrypted every record read so far and the stream is at a boundary: the socket takes
 * over whatever it can; the rest stays on the memory BIOs. Said once, in the call's counters and
 * the engine's. */
static void ktls_switch(dp_sstp_call *c) {
  dp_ktls_pending *p = c->ktls;
  bool rx_on = false, tx_on = false;
  int rc;
  if (p->key_update) rc = -EKEYEXPIRED;
  else if (SSL_has_pending(c->ssl) || BIO_ctrl_pending(c->rbio) > 0) rc = -EBUSY;
  else if (p->seen_records != p->rx_records) rc = -EPROTO; /* our count of the stream and OpenSSL's disagree: never guess a sequence number */
  else {
    uint64_t base = SSL_version(c->ssl) == TLS1_3_VERSION ? 0 : 1; /* TLS 1.2: each side's Finished was record 0 */
    uint8_t rx[DP_KTLS_INFO_MAX], tx[DP_KTLS_INFO_MAX];
    size_t rx_len = 0, tx_len = 0;
    flush(c); /* handshake messages still waiting: sent as they are, before the kernel seals */
    rc = dp_ktls_crypto_info(c->ssl, p, false, base + p->rx_records, rx, &rx_len);
    if (!rc) rc = dp_ktls_crypto_info(c->ssl, p, true, base + p->tx_records, tx, &tx_len);
    if (!rc) rc = dp_ktls_install(c->fd, rx, rx_len, tx, tx_len, BIO_ctrl_pending(c->wbio) == 0, &rx_on, &tx_on);
    OPENSSL_cleanse(rx, sizeof rx);
    OPENSSL_cleanse(tx, sizeof tx);
  }
  ktls_done(c);
  c->rx_kernel = rx_on;
  c->tx_kernel = tx_on;
  atomic_store(&c->stats.ktls_rx, rx_on);
  atomic_store(&c->stats.ktls_tx, tx_on);
  atomic_store(&c->stats.ktls_error, (uint64_t)(rc < 0 ? -rc : 0));
  dp_sstp_stats *es = &c->engine->stats;
  if (rx_on && tx_on) atomic_fetch_add(&es->ktls_calls, 1);
  else if (rx_on) atomic_fetch_add(&es->ktls_rx_only, 1);
  else atomic_fetch_add(&es->ktls_fallbacks, 1);
  if (rc < 0) atomic_store(&es->ktls_last_error, (uint64_t)-rc);
}

/* Plaintext the kernel decrypted: application data into the stream, other records by their meaning. */
static void take_plain(dp_sstp_call *c, uint8_t type, const uint8_t *d, size_t n) {
  if (type == SSL3_RT_APPLICATION_DATA) {
    if (dp_sstp_feed(&c->deframer, d, n, on_piece, c) != DP_SSTP_OK) end_call(c, DP_SSTP_END_BAD_STREAM);
    return;
  }
  switch (dp_ktls_control(type, d, n)) {
  case DP_KTLS_RECORD_IGNORE: break;
  case DP_KTLS_RECORD_CLOSED: end_call(c, DP_SSTP_END_PEER_CLOSED); break;
  case DP_KTLS_RECORD_KEY_UPDATE: end_call(c, DP_SSTP_END_KEY_UPDATE); break;
  case DP_KTLS_RECORD_FATAL: end_call(c, DP_SSTP_END_TLS_ERROR); break;
  }
}

/* One read from a kTLS socket; false when the turn's reading is over. */
static bool read_kernel(dp_sstp_call *c, uint8_t *chunk, size_t cap) {
  uint8_t type = 0;
  ssize_t n = dp_ktls_recv(c->fd, chunk, cap, &type);
  if (n > 0) {
    ADD(c, bytes_in, n);
    take_plain(c, type, chunk, (size_t)n);
    return true;
  }
  if (n == -EINTR) return true;
  if (n == 0) end_call(c, DP_SSTP_END_PEER_CLOSED);
  else if (n == -EBADMSG || n == -EMSGSIZE) end_call(c, DP_SSTP_END_TLS_ERROR); /* a record that does not authenticate */
  else if (n != -EAGAIN) end_call(c, DP_SSTP_END_SOCKET_ERROR);
  return false;
}

/* Records taken in: the handshake moved on, or plaintext cut into pieces. */
static void pump(dp_sstp_call *c) {
  static __thread uint8_t plain[PLAIN_CHUNK];
  if (!atomic_load_explicit(&c->established, memory_order_relaxed)) {
    int rc = SSL_do_handshake(c->ssl);
    if (rc != 1) {
      int e = SSL_get_error(c->ssl, rc);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        if (c->client) c->verify = SSL_get_verify_result(c->ssl);
        end_call(c, DP_SSTP_END_TLS_ERROR);
      }
      ERR_clear_error();
      return;
    }
    if (atomic_load_explicit(&c->engine->ktls_off, memory_order_relaxed)) ktls_done(c); /* the secrets go at once */
    else ktls_begin(c);
    atomic_store_explicit(&c->established, true, memory_order_release);
    c->engine->trim_at_ms = monotonic_ms() + TRIM_QUIET_MS;
    if (c->client && !hand_up_certificate(c)) {
      end_call(c, DP_SSTP_END_TLS_ERROR);
      return;
    }
  }
  for (;;) {
    int n = SSL_read(c->ssl, plain, sizeof plain);
    if (n <= 0) {
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_ZERO_RETURN) end_call(c, DP_SSTP_END_PEER_CLOSED);
      else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) end_call(c, DP_SSTP_END_TLS_ERROR);
      ERR_clear_error();
      /* Everything read is decrypted: at a record boundary the socket can take over. */
      if (c->ktls && e == SSL_ERROR_WANT_READ && !ended(c) && dp_ktls_to_boundary(c->ktls) == 0) ktls_switch(c);
      return;
    }
    if (dp_sstp_feed(&c->deframer, plain, (size_t)n, on_piece, c) != DP_SSTP_OK) {
      end_call(c, DP_SSTP_END_BAD_STREAM);
      return;
    }
  }
}

/* The engine thread: the socket is readable, writable, or gone. */
static void service(dp_sstp *e, dp_sstp_call *c, uint32_t events) {
  static __thread uint8_t chunk[READ_CHUNK];
  pthread_mutex_lock(&c->lock);
  /* Bytes JavaScript read before handing the call over; a dialed call's first turn writes its ClientHello. */
  if ((BIO_ctrl_pending(c->rbio) > 0 || (c->client && !atomic_load(&c->established))) && !ended(c)) pump(c);
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) { /* edge-triggered: read until empty; a reset or an end shows in read() */
    int reads = 0;
    while (!ended(c)) {
      if (++reads > READS_PER_TURN) {
        /* A fast client must not starve the others: modifying the registration re-arms the edge, so
         * the rest is read on a later turn. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        epoll_ctl(e->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
        break;
      }
      if (c->rx_kernel) {
        if (read_kernel(c, chunk, sizeof chunk)) continue;
        break;
      }
      /* Past the handshake, before the switch: never beyond the record being completed, so the
       * kernel's first record starts at its first byte. */
      size_t want = sizeof chunk;
      if (c->ktls && atomic_load_explicit(&c->established, memory_order_relaxed)) {
        want = dp_ktls_to_boundary(c->ktls);
        if (want == 0) {
          ktls_switch(c);
          continue;
        }
      }
      ssize_t n = read(c->fd, chunk, want);
      if (n > 0) {
        ADD(c, bytes_in, n);
        if (c->ktls && atomic_load_explicit(&c->established, memory_order_relaxed)) dp_ktls_track(c->ktls, chunk, (size_t)n);
        BIO_write(c->rbio, chunk, (int)n);
        if (BIO_ctrl_pending(c->rbio) > c->rbio_peak) c->rbio_peak = BIO_ctrl_pending(c->rbio);
        pump(c);
        continue;
      }
      if (n == 0) end_call(c, DP_SSTP_END_PEER_CLOSED);
      else if (errno != EAGAIN && errno != EINTR) end_call(c, DP_SSTP_END_SOCKET_ERROR);
      if (n < 0 && errno == EINTR) continue;
      break;
    }
  }
  flush_gro(e);
  if (!ended(c)) renew_rbio(c);
  /* Handshake messages, KeyUpdate answers, whatever waited for room, and a failed handshake's alert. */
  if (atomic_load(&c->stats.ended) != DP_SSTP_END_SOCKET_ERROR) flush(c);
  pthread_mutex_unlock(&c->lock);
}

/* A burst of handshakes is over: the arenas' free pages go back (glibc keeps them otherwise). */
static int trim_when_quiet(dp_sstp *e) {
  if (!e->trim_at_ms) return -1;
  uint64_t now = monotonic_ms();
  if (now < e->trim_at_ms) return (int)(e->trim_at_ms - now);
  e->trim_at_ms = 0;
  malloc_trim(0);
  atomic_fetch_add_explicit(&e->stats.memory_trims, 1, memory_order_relaxed);
  return -1;
}

static void *run(void *arg) {
  dp_sstp *e = arg;
  struct epoll_event ev[EVENTS];
  for (;;) {
    int n = epoll_wait(e->epoll_fd, ev, EVENTS, trim_when_quiet(e));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    bool stop = false;
    dp_epoch_enter(&e->epoch);
    for (int i = 0; i < n; i++) {
      if (ev[i].data.ptr == NULL) stop = true;
      else service(e, ev[i].data.ptr, ev[i].events);
    }
    dp_epoch_leave(&e->epoch);
    if (stop) break;
  }
  return NULL;
}

/* ---- the engine ---- */

dp_sstp *dp_sstp_open(dp_pipe *pipe, int *error) {
  dp_sstp *e = calloc(1, sizeof *e);
  if (!e) { *error = -ENOMEM; return NULL; }
  e->pipe = pipe;
  atomic_init(&e->key_update_records, DP_SSTP_KEY_UPDATE_RECORDS);
  e->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  e->stop_fd = eventfd(0, EFD_CLOEXEC);
  struct epoll_event stop = {.events = EPOLLIN, .data.ptr = NULL};
  *error = e->epoll_fd < 0 || e->stop_fd < 0 || epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, e->stop_fd, &stop) < 0 ? -errno : 0;
  if (!*error) *error = -pthread_create(&e->thread, NULL, run, e);
  if (*error) {
    if (e->epoll_fd >= 0) close(e->epoll_fd);
    if (e->stop_fd >= 0) close(e->stop_fd);
    free(e);
    return NULL;
  }
  e->running = true;
  pthread_setname_np(e->thread, "dp-sstp");
  return e;
}

void dp_sstp_close(dp_sstp *e) {
  if (!e) return;
  uint64_t one = 1;
  if (write(e->stop_fd, &one, sizeof one) < 0) { /* the thread would wait forever; nothing better to do */ }
  pthread_join(e->thread, NULL);
  free(e->gro);
  close(e->stop_fd);
  close(e->epoll_fd);
  free(e);
}

/* ---- calls ---- */

/* The name the server's certificate must carry, as Node's checkServerIdentity asks it: an address
 * among its IP SANs, a name among its DNS SANs (a wildcard only as a whole left label), the name
 * also sent as SNI. Without a name (or without a CA in the context) nothing is checked here. */
static bool expect_server(SSL *ssl, const char *name) {
  if (!name || !name[0]) return true;
  uint8_t addr[16];
  if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1;
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1;
}

static int seal(dp_sstp_call *c, const uint8_t *d, size_t len);

/* A hub thread's packets for one call, framed back to back and sealed as one record (up to 16 KB
 * of plaintext: eleven full-size packets) written with one system call: the hub flushes before it
 * turns to another target and at its batch's end (hub.h), this when the record is full. */
typedef struct {
  dp_sstp_call *owner; /* whose packets are held; NULL: none */
  size_t len;          /* plaintext held */
  unsigned packets;
  uint64_t ip_bytes;
  uint8_t plain[PLAIN_CHUNK];
} tx_batch;

static __thread tx_batch hub_batch;

static void send_batch(tx_batch *b) {
  dp_sstp_call *c = b->owner;
  dp_ppp_session *s = atomic_load_explicit(&c->ppp, memory_order_acquire);
  if (b->packets && s) {
    dp_ppp_stats *st = dp_ppp_session_counters(s);
    pthread_mutex_lock(&c->lock);
    if (ended(c)) {
      atomic_fetch_add_explicit(&st->drop_tx, b->packets, memory_order_relaxed);
    } else if (BIO_ctrl_pending(c->wbio) > DP_SSTP_TX_BACKLOG) {
      ADD(c, drop_backlog, b->packets);
    } else if (seal(c, b->plain, b->len) > 0) {
      ADD(c, data_out, b->packets);
      atomic_fetch_add_explicit(&st->tx_packets, b->packets, memory_order_relaxed);
      atomic_fetch_add_explicit(&st->tx_bytes, b->ip_bytes, memory_order_relaxed);
    }
    pthread_mutex_unlock(&c->lock);
  }
  b->owner = NULL;
  b->len = b->packets = 0;
  b->ip_bytes = 0;
}

static void sink_flush(dp_hub_sink *sink) {
  (void)sink;
  if (hub_batch.owner) send_batch(&hub_batch);
}

/* Frames one IP packet for the peer (SSTP data header, PPP header, MSS clamped) at `out`; its
 * length, or 0 when it cannot be framed. */
static size_t frame_ip(dp_ppp_session *s, const uint8_t *ip, size_t len, uint8_t *out) {
  if (len > DP_SSTP_MAX_PACKET - DP_SSTP_HEADER - 4 || !dp_ppp_header(ip, len, out + DP_SSTP_HEADER) || !dp_sstp_data_header(4 + len, out)) return 0;
  memcpy(out + DP_SSTP_HEADER + 4, ip, len);
  dp_clamp_mss(out + DP_SSTP_HEADER + 4, len, dp_ppp_session_config(s)->mtu);
  return DP_SSTP_HEADER + 4 + len;
}

static void sink_tx(dp_hub_sink *sink, const uint8_t *ip, size_t len) {
  dp_sstp_call *c = (dp_sstp_call *)sink;
  dp_ppp_session *s = atomic_load_explicit(&c->ppp, memory_order_acquire);
  if (!s) return;
  tx_batch *b = &hub_batch;
  if (b->owner != c || b->len + DP_SSTP_HEADER + 4 + len > sizeof b->plain) sink_flush(NULL); /* another's (only tests get here holding one), or full */
  size_t n = frame_ip(s, ip, len, b->plain + b->len);
  if (!n) {
    atomic_fetch_add_explicit(&dp_ppp_session_counters(s)->drop_tx, 1, memory_order_relaxed);
    return;
  }
  b->owner = c;
  b->len += n;
  b->packets++;
  b->ip_bytes += len;
}

static void call_free(dp_sstp_call *c) {
  if (c->ktls) OPENSSL_cleanse(c->ktls, sizeof *c->ktls);
  free(c->ktls);
  SSL_free(c->ssl); /* frees both BIOs */
  dp_sstp_deframer_free(&c->deframer);
  free(c->issuer_der);
  if (c->fd >= 0) close(c->fd);
  dp_ppp_session_free(atomic_load(&c->ppp));
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static dp_sstp_call *call_new(dp_sstp *e, dp_sstp_tls *tls, int fd, const uint8_t *already, size_t already_len, int tun_fd, bool offload, uint32_t tag,
                              const char *server_name, int *error) {
  dp_sstp_call *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    *error = -ENOMEM;
    return NULL;
  }
  c->sink.tx = sink_tx;
  c->sink.flush = sink_flush;
  c->engine = e;
  c->fd = fd;
  c->tun_fd = tun_fd;
  c->offload = offload;
  c->tag = tag;
  pthread_mutex_init(&c->lock, NULL);
  dp_sstp_deframer_init(&c->deframer);
  c->ssl = SSL_new(tls->ctx);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (!c->ssl || !c->rbio || !c->wbio) {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    c->rbio = c->wbio = NULL;
    call_free(c);
    *error = -ENOMEM;
    return NULL;
  }
  BIO_set_mem_eof_return(c->rbio, -1); /* an empty read BIO means "more later", not end of stream */
  /* Read by JavaScript: taken first. Registering a writable socket raises its first event at once, and
   * that turn reads them (service). */
  if (already_len > INT32_MAX || (already_len && BIO_write(c->rbio, already, (int)already_len) != (int)already_len)) {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    c->rbio = c->wbio = NULL;
    call_free(c);
    *error = -EINVAL;
    return NULL;
  }
  c->rbio_peak = already_len;
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_app_data(c->ssl, c); /* the keylog callback's way back to the call */
  /* From the start: OpenSSL 3.2+ wires it into each record layer as the layer is made (sstp_ktls.h). */
  SSL_set_msg_callback(c->ssl, on_message);
  SSL_set_msg_callback_arg(c->ssl, c);
  c->client = tls->client;
  if (!c->client) SSL_set_accept_state(c->ssl);
  else if (!expect_server(c->ssl, server_name)) {
    call_free(c);
    *error = -EINVAL;
    return NULL;
  } else SSL_set_connect_state(c->ssl);
  int flags = fcntl(fd, F_GETFL);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || epoll_ctl(e->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    *error = -errno;
    call_free(c);
    return NULL;
  }
  *error = 0;
  return c;
}

dp_sstp_call *dp_sstp_call_add(dp_sstp *e, dp_sstp_tls *tls, int fd, const uint8_t *already, size_t already_len, int tun_fd, bool offload, uint32_t tag,
                               int *error) {
  if (tls->client) {
    close(fd);
    *error = -EINVAL;
    return NULL;
  }
  return call_new(e, tls, fd, already, already_len, tun_fd, offload, tag, NULL, error);
}

dp_sstp_call *dp_sstp_call_dial(dp_sstp *e, dp_sstp_tls *tls, int fd, const char *server_name, uint32_t tag, int *error) {
  if (!tls->client) {
    close(fd);
    *error = -EINVAL;
    return NULL;
  }
  return call_new(e, tls, fd, NULL, 0, -1, false, tag, server_name, error);
}

void dp_sstp_call_remove(dp_sstp *e, dp_sstp_call *c) {
  if (c->hub) dp_hub_sink_routes_remove(c->hub, &c->sink); /* the hub's threads are done with it */
  epoll_ctl(e->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
  dp_epochs_wait(&e->epoch, 1); /* and so is the engine's */
  call_free(c);
}

/* Under the lock: plaintext sealed into records and sent (on kTLS the socket seals; the write BIO
 * holds what a full socket did not take). */
static int seal(dp_sstp_call *c, const uint8_t *d, size_t len) {
  if (c->tx_kernel) {
    if (len > INT32_MAX || BIO_write(c->wbio, d, (int)len) != (int)len) {
      end_call(c, DP_SSTP_END_SOCKET_ERROR);
      return -EPIPE;
    }
    flush(c);
    return (int)len;
  }
  /* Near the key's record limit: a KeyUpdate goes out ahead of these records, which are sealed on the new key.
   * The peer is asked to update its own only when OpenSSL opens its records: a kernel receiving them
   * (kTLS RX) cannot follow a new key before Linux 6.14 and would end the call. */
  if (c->records_on_key >= atomic_load_explicit(&c->engine->key_update_records, memory_order_relaxed) && SSL_version(c->ssl) == TLS1_3_VERSION) {
    if (SSL_key_update(c->ssl, c->rx_kernel ? SSL_KEY_UPDATE_NOT_REQUESTED : SSL_KEY_UPDATE_REQUESTED) != 1) ERR_clear_error();
    c->records_on_key = 0; /* tried: not again before another full allowance */
  }
  size_t written = 0;
  int rc = SSL_write_ex(c->ssl, d, len, &written);
  c->records_on_key += (written + SSL3_RT_MAX_PLAIN_LENGTH - 1) / SSL3_RT_MAX_PLAIN_LENGTH;
  if (rc != 1) {
    ERR_clear_error();
    end_call(c, DP_SSTP_END_TLS_ERROR);
    return -EPIPE;
  }
  flush(c);
  return (int)written;
}

int dp_sstp_call_send(dp_sstp_call *c, const uint8_t *d, size_t len) {
  if (len == 0 || len > INT32_MAX) return -EINVAL;
  pthread_mutex_lock(&c->lock);
  int rc = ended(c) ? -EPIPE : !atomic_load(&c->established) ? -EAGAIN : seal(c, d, len);
  pthread_mutex_unlock(&c->lock);
  if (rc > 0) COUNT(c, sent);
  return rc;
}

void dp_sstp_call_tx_ip(dp_sstp_call *c, const uint8_t *ip, size_t len) {
  static __thread uint8_t frame[DP_SSTP_MAX_PACKET];
  dp_ppp_session *s = atomic_load_explicit(&c->ppp, memory_order_acquire);
  if (!s) return;
  dp_ppp_stats *st = dp_ppp_session_counters(s);
  size_t n = frame_ip(s, ip, len, frame);
  if (!n) {
    atomic_fetch_add_explicit(&st->drop_tx, 1, memory_order_relaxed);
    return;
  }
  pthread_mutex_lock(&c->lock);
  if (ended(c)) {
    atomic_fetch_add_explicit(&st->drop_tx, 1, memory_order_relaxed);
  } else if (BIO_ctrl_pending(c->wbio) > DP_SSTP_TX_BACKLOG) {
    COUNT(c, drop_backlog);
  } else if (seal(c, frame, n) > 0) {
    COUNT(c, data_out);
    atomic_fetch_add_explicit(&st->tx_packets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->tx_bytes, len, memory_order_relaxed);
  }
  pthread_mutex_unlock(&c->lock);
}

int dp_sstp_call_start_data(dp_sstp_call *c, const dp_ppp_config *config, dp_hub *hub) {
  dp_ppp_config sc = *config;
  sc.lower = DP_PPP_LOWER_SSTP;
  dp_ppp_session *s = dp_ppp_session_new(&sc);
  if (!s) return -EINVAL;
  /* Again (IPV6CP opened after IPCP): the old session's routes go first, so no hub thread still
   * holds it; the engine thread reads it only under the lock. */
  if (c->hub) dp_hub_sink_routes_remove(c->hub, &c->sink);
  pthread_mutex_lock(&c->lock);
  if (c->tun_fd < 0 && hub) { /* a dialed call meets its TUN only now */
    c->tun_fd = dp_hub_queue_fd(hub, dp_hub_assign_queue(hub));
    c->offload = dp_hub_offload(hub);
  }
  dp_ppp_session *old = atomic_exchange_explicit(&c->ppp, s, memory_order_acq_rel);
  pthread_mutex_unlock(&c->lock);
  dp_ppp_session_free(old);
  if (!hub) return 0;
  c->hub = hub;
  for (unsigned i = 0; i < sc.sources.count; i++) {
    if (dp_hub_sink_route_add(hub, &sc.sources.items[i], &c->sink) < 0) {
      dp_hub_sink_routes_remove(hub, &c->sink);
      return -ENOMEM; /* the session stays (IP still comes in); JavaScript ends the call */
    }
  }
  return 0;
}

void dp_sstp_call_stop_data(dp_sstp_call *c) {
  if (c->hub) dp_hub_sink_routes_remove(c->hub, &c->sink);
  c->hub = NULL;
  pthread_mutex_lock(&c->lock);
  dp_ppp_session *old = atomic_exchange_explicit(&c->ppp, NULL, memory_order_acq_rel);
  c->tun_fd = -1;
  pthread_mutex_unlock(&c->lock);
  dp_ppp_session_free(old);
}

size_t dp_sstp_call_peer_issuer(dp_sstp_call *c, const uint8_t **der) {
  pthread_mutex_lock(&c->lock);
  *der = c->issuer_der;
  size_t n = c->issuer_len;
  pthread_mutex_unlock(&c->lock);
  return n;
}

const char *dp_sstp_call_verify_error(dp_sstp_call *c) {
  pthread_mutex_lock(&c->lock);
  long v = c->verify;
  pthread_mutex_unlock(&c->lock);
  return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
}

dp_hub_sink *dp_sstp_call_sink(dp_sstp_call *c) { return &c->sink; }

const dp_sstp_call_stats *dp_sstp_call_stats_of(const dp_sstp_call *c) { return &c->stats; }

void dp_sstp_set_key_update_records(dp_sstp *e, uint64_t records) {
  atomic_store(&e->key_update_records, records ? records : DP_SSTP_KEY_UPDATE_RECORDS);
}

void dp_sstp_set_ktls(dp_sstp *e, bool on) {
  atomic_store(&e->ktls_off, !on);
}

const dp_sstp_stats *dp_sstp_stats_of(const dp_sstp *e) { return &e->stats; }

const dp_ppp_stats *dp_sstp_call_ppp_stats(const dp_sstp_call *c) {
  dp_ppp_session *s = atomic_load(&c->ppp);
  return s ? dp_ppp_session_stats(s) : NULL;
}

void dp_sstp_call_tls_info(dp_sstp_call *c, char version[16], char cipher[64]) {
  version[0] = cipher[0] = 0;
  pthread_mutex_lock(&c->lock);
  if (atomic_load(&c->established)) {
    snprintf(version, 16, "%s", SSL_get_version(c->ssl));
    const SSL_CIPHER *suite = SSL_get_current_cipher(c->ssl);
    snprintf(cipher, 64, "%s", suite ? SSL_CIPHER_get_name(suite) : "");
  }
  pthread_mutex_unlock(&c->lock);
}
