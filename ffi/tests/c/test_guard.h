/*
 * What the files of the test_guard program share: the host's HTTP client, the host that runs
 * fetches and drives checks, the settings of the two organizations, and each file's tests (main()
 * in test_guard.c runs them).
 */
#ifndef CG_TEST_GUARD_H
#define CG_TEST_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "cryptr_guard.h"
#include "fixtures.h"
#include "testing.h"

/* test_guard_http.c: a minimal HTTP/1.0 GET over a plain socket, what a host does with libcurl. */

struct response {
  int failure; /* -1: a response; else a cg_fetch_failure */
  unsigned status;
  char cache_control[256];
  int has_cache_control;
  uint8_t *body;
  size_t body_len;
};

/* GETs `url`, giving up after `timeout` seconds per read and past `max_bytes` of body. */
void http_get(const char *url, uint64_t timeout, size_t max_bytes, struct response *out);

/* test_guard.c: the host, which runs fetches and drives checks, counting what it did. */

struct trace {
  int fetches;
  int discoveries;   /* fetches whose cg_fetch_kind is "discovery" */
  int verifies;
  int waits;
  int background;
  char reason[32];   /* cg_fetch_reason of the last fetch */
  char label[32];    /* the last fetch report's label */
  char message[CG_REPORT_MAX];
};

/* Where the HTTP client sends requests for https://shark-academy.cryptr.eu (see test_guard.c). */
extern const char *cryptr_route;
#define CRYPTR_ORIGIN "https://shark-academy.cryptr.eu"

/* The test issuer's base URL, "http://127.0.0.1:PORT". */
const char *issuer_url(void);
/* Runs `fetch` with the HTTP client and reports it (consuming it). */
void run_fetch(cg_guard *guard, cg_fetch *fetch, uint64_t now, struct trace *t);
/* Drives a check of `(token, len)` to its answer (see test_guard.c). */
cg_status drive(cg_guard *guard, const uint8_t *token, size_t len, uint64_t now, struct trace *t,
                cg_verified **verified, cg_http_answer **answer);

/* The host's settings, as name/value pairs. */

struct setting {
  const char *name;
  const char *value;
};

struct settings {
  struct setting items[16];
  size_t count;
  char urls[1024];
  int lookups;
};

/* The settings lookup: the host's configuration as name/value pairs. */
const char *lookup(void *userdata, const char *name);
void set(struct settings *s, const char *name, const char *value);
/* The two organizations' settings, A's JWKS at `path_a` (B's at /t/b/.well-known). */
void two_orgs(struct settings *s, const char *path_a);
cg_guard *guard_for(struct settings *s);
cg_guard *two_org_guard(const char *path_a);

/* A token of multi_issuer.json as its (pointer, length) arguments. */
#define MI(name) FX_MI_TOKEN_##name, FX_MI_TOKEN_##name##_LEN

/* Whether a text of the verified token, or of the HTTP answer, is `expected` (NULL: absent). */
int text_eq(cg_status (*get)(const cg_verified *, const uint8_t **, size_t *),
            const cg_verified *v, const char *expected);
int answer_eq(cg_status (*get)(const cg_http_answer *, const uint8_t **, size_t *),
              const cg_http_answer *a, const char *expected);

/* test_guard_settings.c: a guard from the settings (and getenv), and from cg_guard_new. */
void test_settings(void);
void test_settings_from_environment(void);
void test_guard_new(void);

/* test_guard_checks.c: two organizations, an issuer not configured, the check's arguments. */
void test_two_organizations(void);
void test_not_configured(void);
void test_check_arguments(void);

/* test_guard_fetch.c: unknown keys, an issuer down, no usable key, start-up fetches, failures. */
void test_unknown_key_refetch(void);
void test_issuer_down(void);
void test_no_usable_key(void);
void test_due_fetches(void);
void test_fetch_failures(void);

/* test_guard_discovery.c: issuers without a JWKS URL (OpenID discovery). */
void test_discovery(void);

/* test_guard_threads.c: one guard served by several threads. */
void test_threads(void);

#endif
