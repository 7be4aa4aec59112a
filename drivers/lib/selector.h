/* Traffic-selector address checks (RFC 4301 §5.2): after decryption, a tunnel-mode packet's inner
 * source must lie in the SA's remote selectors and its destination in the local ones. */
#ifndef POSTERN_SELECTOR_H
#define POSTERN_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_MAX_PREFIXES 16

typedef struct {
  uint8_t family; /* 4 or 6 */
  uint8_t length;
  uint8_t addr[16];
} dp_prefix;

typedef struct {
  dp_prefix items[DP_MAX_PREFIXES];
  unsigned count; /* 0: any address */
} dp_prefix_set;

/* "10.1.0.0/24", "2001:db8::/32" or a bare address; false when malformed or the set is full. */
bool dp_prefix_set_add(dp_prefix_set *set, const char *text);

/* One prefix from text; false when malformed. */
bool dp_prefix_parse(const char *text, dp_prefix *out);
/* Is the address (4 or 16 bytes, of the prefix's family) inside the prefix? */
bool dp_prefix_contains(const dp_prefix *p, const uint8_t *addr);

/* Does the packet's source (or destination) address lie in the set? Malformed packets never do. */
bool dp_prefix_set_matches(const dp_prefix_set *set, const uint8_t *packet, size_t len, bool source);

#endif
