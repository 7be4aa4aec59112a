/* Outer addresses between JavaScript strings and dp_addr: IPv4 or IPv6 (issue 24). */
#ifndef POSTERN_NAPI_ADDR_H
#define POSTERN_NAPI_ADDR_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "addr.h"

/* "192.0.2.1" or "2001:db8::1" with a port (host order) into `out`; false for anything else. */
static inline bool dp_napi_parse_addr(const char *text, uint32_t port, dp_addr *out) {
  memset(out, 0, sizeof *out);
  if (port > 65535) return false;
  if (inet_pton(AF_INET, text, &out->v4.sin_addr) == 1) {
    out->v4.sin_family = AF_INET;
    out->v4.sin_port = htons((uint16_t)port);
    return true;
  }
  if (inet_pton(AF_INET6, text, &out->v6.sin6_addr) == 1) {
    out->v6.sin6_family = AF_INET6;
    out->v6.sin6_port = htons((uint16_t)port);
    return true;
  }
  return false;
}

/* The address as text (INET6_ADDRSTRLEN bytes), and its port in host order. */
static inline uint16_t dp_napi_format_addr(const dp_addr *a, char *text) {
  if (dp_addr_is_v6(a)) inet_ntop(AF_INET6, &a->v6.sin6_addr, text, INET6_ADDRSTRLEN);
  else inet_ntop(AF_INET, &a->v4.sin_addr, text, INET6_ADDRSTRLEN);
  return ntohs(dp_addr_port(a));
}

#endif
