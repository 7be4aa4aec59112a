/* Kernel TLS for a call's records (issue 23; the design is in sstp_call.h): what OpenSSL knows after
 * the handshake becomes the socket's TLS_RX and TLS_TX state, and the engine then reads and writes
 * plaintext on the fd.
 *
 * The switch must land on a record boundary with the sequence numbers OpenSSL is at:
 *   - the application keys start at record 0 (TLS 1.3) or 1 (TLS 1.2: each side's Finished was
 *     record 0 under the new keys), plus every record OpenSSL read or wrote after the handshake
 *     completed (counted from OpenSSL's message callback, which also sees a KeyUpdate: its keys are no
 *     longer the handshake's, so such a call stays in userspace). The callback is set from the call's
 *     start: OpenSSL 3.2+ wires it into a record layer when the layer is made (at each key change),
 *     so one set at the handshake's end would never hear of the application records;
 *   - records read from the socket past the handshake are decrypted by OpenSSL first; a record cut
 *     by a read is completed by reads of exactly its remaining bytes (dp_ktls_to_boundary), so the
 *     kernel's first record starts at its first byte;
 *   - nothing may wait in OpenSSL's write BIO (it is flushed first; if the socket refuses, TX stays in
 *     userspace).
 * RX is installed first: if TX then fails, OpenSSL's write state is untouched and keeps sealing (a
 * call on kernel RX only). If RX fails, nothing changed and the whole call stays in userspace. */
#ifndef POSTERN_SSTP_KTLS_H
#define POSTERN_SSTP_KTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "tls_keys.h"

/* From the handshake to the switch (then freed): TLS 1.3's traffic secrets from OpenSSL's keylog
 * callback, the records counted since the handshake completed, and where the socket's stream is. */
typedef struct {
  uint8_t client_secret[DP_TLS_MAX_SECRET], server_secret[DP_TLS_MAX_SECRET];
  uint8_t client_len, server_len;
  uint64_t tx_records, rx_records; /* by OpenSSL's message callback, once the handshake completed */
  uint64_t seen_records;           /* complete records in the bytes read past the handshake (dp_ktls_track) */
  bool counting;                   /* the handshake completed: records count from here */
  bool key_update;                 /* OpenSSL read or wrote a KeyUpdate after the handshake */
  uint8_t hdr_have;                /* the current record's header bytes seen (0..5) */
  uint16_t body_left;              /* and its body bytes still to come */
} dp_ktls_pending;

/* A keylog line ("SERVER_TRAFFIC_SECRET_0 <client random> <secret>", NSS's format) into `p`; other
 * lines are ignored. */
void dp_ktls_keylog(dp_ktls_pending *p, const char *line);

/* Bytes of the stream read past the handshake, in order: records counted, the boundary followed. */
void dp_ktls_track(dp_ktls_pending *p, const uint8_t *d, size_t n);
/* Bytes to read before the stream is at a record boundary (0: it is). */
size_t dp_ktls_to_boundary(const dp_ktls_pending *p);

/* One direction's crypto_info for the negotiated suite: its bytes in `info` (room for the largest)
 * and length in *len. 0, -EOPNOTSUPP (a suite or version the kernel interface lacks) or -EINVAL
 * (secrets missing, derivation failed). `tx`: our write side. */
#define DP_KTLS_INFO_MAX 64
int dp_ktls_crypto_info(SSL *ssl, const dp_ktls_pending *p, bool tx, uint64_t seq, uint8_t info[DP_KTLS_INFO_MAX], size_t *len);

/* The switch on `fd`: TCP_ULP "tls", then TLS_RX, then TLS_TX (when `try_tx`). *rx_on / *tx_on say
 * what took; the return is 0 or the first failure's -errno (-ENOENT: no tls module). */
int dp_ktls_install(int fd, const uint8_t *rx, size_t rx_len, const uint8_t *tx, size_t tx_len, bool try_tx, bool *rx_on, bool *tx_on);

/* Plaintext from a kTLS socket: bytes, 0 at the end of the stream, or -errno. `*type` is the record
 * type (23 application data; 21 alert, 22 handshake come alone, one record per call). */
ssize_t dp_ktls_recv(int fd, uint8_t *buf, size_t cap, uint8_t *type);

/* What a non-data record received under kTLS means for the call. */
typedef enum { DP_KTLS_RECORD_IGNORE, DP_KTLS_RECORD_CLOSED, DP_KTLS_RECORD_KEY_UPDATE, DP_KTLS_RECORD_FATAL } dp_ktls_record;
dp_ktls_record dp_ktls_control(uint8_t type, const uint8_t *d, size_t n);

#endif
