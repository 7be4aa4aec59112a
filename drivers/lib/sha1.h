/* SHA-1 (FIPS 180-4) for MPPE's key changes (issue 22): stateless MPPE hashes 96 or 112 bytes
 * before every packet, and OpenSSL's EVP_Digest cost more in its fetch, locks and allocation than
 * in the hash itself. One call, no context, no allocation; not for anything but MPPE's keys. */
#ifndef POSTERN_SHA1_H
#define POSTERN_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define DP_SHA1_LEN 20

void dp_sha1(const uint8_t *data, size_t len, uint8_t out[DP_SHA1_LEN]);

#endif
