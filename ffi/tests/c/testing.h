/*
 * The check macros of the C test programs (test_api.c with test_api_*.c, test_guard.c with
 * test_guard_*.c): each counts a pass or reports the failed line on stderr. A program is several
 * translation units: the counters are defined once, in the file that has main().
 */
#ifndef CG_TESTING_H
#define CG_TESTING_H

#include <stdio.h>
#include <string.h>

#include "cryptr_guard.h"

extern int passed;
extern int failed;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (cond) {                                                              \
      passed++;                                                              \
    } else {                                                                 \
      failed++;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                        \
  } while (0)

#define CHECK_STATUS(expr, expected)                                           \
  do {                                                                         \
    cg_status got_ = (expr);                                                   \
    if (got_ == (expected)) {                                                  \
      passed++;                                                                \
    } else {                                                                   \
      failed++;                                                                \
      fprintf(stderr, "%s:%d: %s: got %s, expected %s\n", __FILE__, __LINE__, \
              #expr, cg_status_code(got_), cg_status_code(expected));          \
    }                                                                          \
  } while (0)

static inline const uint8_t *u8(const char *s) { return (const uint8_t *)s; }

/* Whether `(p, n)` holds exactly the text `s`. */
static inline int bytes_eq(const uint8_t *p, size_t n, const char *s) {
  return p != NULL && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* Whether `(p, n)` holds exactly the bytes `(q, m)`. */
static inline int bytes_eq2(const uint8_t *p, size_t n, const uint8_t *q, size_t m) {
  return p != NULL && n == m && memcmp(p, q, n) == 0;
}

#endif
