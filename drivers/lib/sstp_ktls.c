#define _GNU_SOURCE
#include "sstp_ktls.h"

#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

#define RECORD_HEADER 5
#define TYPE_ALERT 21
#define TYPE_HANDSHAKE 22
#define TYPE_APPLICATION_DATA 23
#define HANDSHAKE_NEW_SESSION_TICKET 4
#define HANDSHAKE_KEY_UPDATE 24

/* ---- secrets ---- */

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Hex up to the end of the line into out (at most cap bytes); the byte count, or 0 when malformed. */
static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (; s[0] && s[0] != '\n'; s += 2) {
    int hi = hex_value(s[0]), lo = hi < 0 ? -1 : hex_value(s[1]);
    if (lo < 0 || n == cap) return 0;
    out[n++] = (uint8_t)(hi << 4 | lo);
  }
  return n;
}

void dp_ktls_keylog(dp_ktls_pending *p, const char *line) {
  static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ", server[] = "SERVER_TRAFFIC_SECRET_0 ";
  bool is_client = strncmp(line, client, sizeof client - 1) == 0;
  if (!is_client && strncmp(line, server, sizeof server - 1) != 0) return;
  const char *random = line + sizeof client - 1, *secret = strchr(random, ' '); /* both labels have the same length */
  if (!secret) return;
  uint8_t *out = is_client ? p->client_secret : p->server_secret;
  size_t n = unhex(secret + 1, out, DP_TLS_MAX_SECRET);
  if (is_client) p->client_len = (uint8_t)n;
  else p->server_len = (uint8_t)n;
}

/* ---- the stream's record boundary ---- */

void dp_ktls_track(dp_ktls_pending *p, const uint8_t *d, size_t n) {
  while (n > 0) {
    if (p->hdr_have < RECORD_HEADER) {
      /* The length is the header's last two bytes (type, version, length). */
      if (p->hdr_have == 3) p->body_left = (uint16_t)(d[0] << 8);
      if (p->hdr_have == 4) p->body_left |= d[0];
      p->hdr_have++;
      d++;
      n--;
    } else {
      size_t take = n < p->body_left ? n : p->body_left;
      p->body_left -= (uint16_t)take;
      d += take;
      n -= take;
    }
    if (p->hdr_have == RECORD_HEADER && p->body_left == 0) {
      p->seen_records++;
      p->hdr_have = 0;
    }
  }
}

size_t dp_ktls_to_boundary(const dp_ktls_pending *p) {
  if (p->hdr_have == 0) return 0;
  return p->hdr_have < RECORD_HEADER ? (size_t)(RECORD_HEADER - p->hdr_have) : p->body_left;
}

/* ---- crypto_info ---- */

static void put_be64(uint8_t out[8], uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) out[i] = (uint8_t)v;
}

int dp_ktls_crypto_info(SSL *ssl, const dp_ktls_pending *p, bool tx, uint64_t seq, uint8_t info[DP_KTLS_INFO_MAX], size_t *len) {
  const SSL_CIPHER *suite = SSL_get_current_cipher(ssl);
  const EVP_MD *md = suite ? SSL_CIPHER_get_handshake_digest(suite) : NULL;
  int version = SSL_version(ssl), nid = suite ? SSL_CIPHER_get_cipher_nid(suite) : NID_undef;
  if (!md || (version != TLS1_3_VERSION && version != TLS1_2_VERSION)) return -EOPNOTSUPP;
  uint16_t type;
  size_t key_len, salt_len;
  switch (nid) {
  case NID_aes_128_gcm: type = TLS_CIPHER_AES_GCM_128, key_len = 16, salt_len = 4; break;
  case NID_aes_256_gcm: type = TLS_CIPHER_AES_GCM_256, key_len = 32, salt_len = 4; break;
  case NID_chacha20_poly1305: type = TLS_CIPHER_CHACHA20_POLY1305, key_len = 32, salt_len = 0; break;
  default: return -EOPNOTSUPP; /* CBC and the rest: the kernel's interface has them not, or not everywhere */
  }
  /* Our write side is the server's on a server, the client's on a dialer. */
  bool writer_is_client = SSL_is_server(ssl) ? !tx : tx;
  uint8_t key[DP_TLS_MAX_KEY], iv[DP_TLS_MAX_IV];
  bool ok;
  if (version == TLS1_3_VERSION) {
    const uint8_t *secret = writer_is_client ? p->client_secret : p->server_secret;
    size_t secret_len = writer_is_client ? p->client_len : p->server_len;
    ok = secret_len == (size_t)EVP_MD_get_size(md) && dp_tls13_traffic_keys(md, secret, secret_len, key, key_len, iv);
  } else {
    /* TLS 1.2 GCM: a 4-byte implicit salt (RFC 5288); ChaCha20: a 12-byte IV (RFC 7905). */
    uint8_t master[48], client_random[32], server_random[32];
    ok = SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof master) == sizeof master &&
         SSL_get_client_random(ssl, client_random, sizeof client_random) == sizeof client_random &&
         SSL_get_server_random(ssl, server_random, sizeof server_random) == sizeof server_random &&
         dp_tls12_write_keys(md, master, client_random, server_random, key_len, salt_len ? salt_len : 12, writer_is_client, key, iv);
    OPENSSL_cleanse(master, sizeof master);
  }
  if (!ok) {
    OPENSSL_cleanse(key, sizeof key);
    return -EINVAL;
  }
  /* Every layout is: the common header, iv, key, salt, rec_seq. TLS 1.3's GCM nonce is salt | iv
   * (the derived 12 bytes); TLS 1.2 GCM's explicit nonce starts at the sequence number, as the
   * kernel then counts it up. */
  struct tls_crypto_info head = {.version = version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION, .cipher_type = type};
  size_t iv_len = salt_len ? 8 : 12, n = 0;
  memcpy(info, &head, sizeof head);
  n += sizeof head;
  if (salt_len && version == TLS1_2_VERSION) put_be64(info + n, seq);
  else memcpy(info + n, iv + salt_len, iv_len);
  n += iv_len;
  memcpy(info + n, key, key_len);
  n += key_len;
  memcpy(info + n, iv, salt_len);
  n += salt_len;
  put_be64(info + n, seq);
  n += 8;
  *len = n;
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(iv, sizeof iv);
  return 0;
}

/* ---- the socket ---- */

int dp_ktls_install(int fd, const uint8_t *rx, size_t rx_len, const uint8_t *tx, size_t tx_len, bool try_tx, bool *rx_on, bool *tx_on) {
  *rx_on = *tx_on = false;
  if (setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls") < 0) return -errno;
  /* Until TLS_RX or TLS_TX takes, the ULP passes bytes through: failing here changes nothing. */
  if (setsockopt(fd, SOL_TLS, TLS_RX, rx, (socklen_t)rx_len) < 0) return -errno;
  *rx_on = true;
  if (!try_tx) return -EBUSY;
  if (setsockopt(fd, SOL_TLS, TLS_TX, tx, (socklen_t)tx_len) < 0) return -errno;
  *tx_on = true;
  return 0;
}

ssize_t dp_ktls_recv(int fd, uint8_t *buf, size_t cap, uint8_t *type) {
  union {
    char buf[CMSG_SPACE(sizeof(uint8_t))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {.iov_base = buf, .iov_len = cap};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t n = recvmsg(fd, &msg, 0);
  if (n < 0) return -errno;
  *type = TYPE_APPLICATION_DATA;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_TLS && c->cmsg_type == TLS_GET_RECORD_TYPE) *type = *CMSG_DATA(c);
  return n;
}

dp_ktls_record dp_ktls_control(uint8_t type, const uint8_t *d, size_t n) {
  if (type == TYPE_ALERT) return n == 2 && d[1] == 0 ? DP_KTLS_RECORD_CLOSED : DP_KTLS_RECORD_FATAL; /* close_notify, else an error */
  if (type != TYPE_HANDSHAKE) return DP_KTLS_RECORD_FATAL;
  /* Post-handshake messages (RFC 8446 section 4.6): tickets are of no use to a call; a KeyUpdate
   * needs keys only OpenSSL's state could give (this kernel cannot be rekeyed): the call ends cleanly
   * rather than decrypting garbage. Anything else breaks the protocol. */
  bool any = false;
  while (n >= 4) {
    size_t body = (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
    if (d[0] == HANDSHAKE_KEY_UPDATE) return DP_KTLS_RECORD_KEY_UPDATE;
    if (d[0] != HANDSHAKE_NEW_SESSION_TICKET) return DP_KTLS_RECORD_FATAL;
    any = true;
    if (body > n - 4) break; /* a ticket continued in the next record */
    d += 4 + body;
    n -= 4 + body;
  }
  return any || n == 0 ? DP_KTLS_RECORD_IGNORE : DP_KTLS_RECORD_FATAL;
}
