/* A few lines of TAP for the C tests: `ok N - name` / `not ok N - name # why`, exit status = failures. */
#ifndef POSTERN_TEST_TAP_H
#define POSTERN_TEST_TAP_H

#include <stdio.h>
#include <string.h>

extern int tap_count, tap_failed; /* defined in test_main.c */

#define CHECK(cond, name)                                                          \
  do {                                                                             \
    tap_count++;                                                                   \
    if (cond) printf("ok %d - %s\n", tap_count, name);                             \
    else { tap_failed++; printf("not ok %d - %s # %s:%d\n", tap_count, name, __FILE__, __LINE__); } \
  } while (0)

static inline size_t unhex(const char *hex, unsigned char *out) {
  size_t n = strlen(hex) / 2;
  for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
  return n;
}

#endif
