#include "selector.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

bool dp_prefix_set_add(dp_prefix_set *set, const char *text) {
  if (set->count >= DP_MAX_PREFIXES) return false;
  dp_prefix p;
  if (!dp_prefix_parse(text, &p)) return false;
  set->items[set->count++] = p;
  return true;
}

bool dp_prefix_parse(const char *text, dp_prefix *out) {
  char buf[64];
  size_t n = strlen(text);
  if (n == 0 || n >= sizeof buf) return false;
  memcpy(buf, text, n + 1);
  char *slash = strchr(buf, '/');
  if (slash) *slash = '\0';
  dp_prefix p;
  memset(&p, 0, sizeof p);
  if (inet_pton(AF_INET, buf, p.addr) == 1) p.family = 4;
  else if (inet_pton(AF_INET6, buf, p.addr) == 1) p.family = 6;
  else return false;
  unsigned max = p.family == 4 ? 32 : 128;
  unsigned long length = max;
  if (slash) {
    char *end;
    length = strtoul(slash + 1, &end, 10);
    if (*end != '\0' || end == slash + 1 || length > max) return false;
  }
  p.length = (uint8_t)length;
  *out = p;
  return true;
}

bool dp_prefix_contains(const dp_prefix *p, const uint8_t *addr) {
  unsigned full = p->length / 8, rest = p->length % 8;
  if (memcmp(p->addr, addr, full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (p->addr[full] & mask) == (addr[full] & mask);
}

bool dp_prefix_set_matches(const dp_prefix_set *set, const uint8_t *packet, size_t len, bool source) {
  if (len < 1) return false;
  int version = packet[0] >> 4;
  const uint8_t *addr;
  if (version == 4 && len >= 20) addr = packet + (source ? 12 : 16);
  else if (version == 6 && len >= 40) addr = packet + (source ? 8 : 24);
  else return false;
  if (set->count == 0) return true;
  for (unsigned i = 0; i < set->count; i++) {
    if (set->items[i].family == version && dp_prefix_contains(&set->items[i], addr)) return true;
  }
  return false;
}
