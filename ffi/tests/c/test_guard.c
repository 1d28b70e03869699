/*
 * C tests of the guard (cg_guard, cg_check, cg_fetch), driven end to end as a C host drives it:
 * two Cryptr organizations (tests/vectors/multi_issuer.json), each its own issuer with its own
 * key set, fetched over plain HTTP from a real test issuer on 127.0.0.1 (ffi/tests/c/issuer.py,
 * started by scripts/test-ffi.sh, which passes its base URL in CG_TEST_ISSUER_URL) with a tiny
 * HTTP/1.0 client on plain sockets. One program, test_guard, built from test_guard.c (this file:
 * main() and the host that runs fetches and drives checks) and test_guard_*.c, one file per
 * concern (the HTTP client, settings, checks, fetches, discovery, threads), declared in
 * test_guard.h.
 *
 * Built with -std=c99 -Wall -Wextra -Wpedantic -Werror, linked against the static and the shared
 * library, run under ASan+UBSan and under valgrind by scripts/test-ffi.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_guard.h"

int passed = 0;
int failed = 0;

/* ------------------------------------------------------------------------------------------ */
/* The host: runs fetches and drives checks, counting what it did. */

/* Where the HTTP client sends requests for https://shark-academy.cryptr.eu: the test issuer's
 * OpenID paths (/oidc, or /impostor for configurations that name another issuer), as a test
 * resolver would. */
const char *cryptr_route = "/oidc";

/* Runs `fetch` with the HTTP client and reports it (consuming it). */
void run_fetch(cg_guard *guard, cg_fetch *fetch, uint64_t now, struct trace *t) {
  const uint8_t *url = NULL;
  size_t url_len = 0;
  struct response r;
  const char *label = NULL;
  char resolved[512];
  const char *kind = cg_fetch_kind(fetch);
  t->fetches++;
  if (strcmp(kind, "discovery") == 0) {
    t->discoveries++;
  } else {
    CHECK(strcmp(kind, "key_set") == 0);
  }
  if (cg_fetch_is_background(fetch)) t->background++;
  snprintf(t->reason, sizeof t->reason, "%s", cg_fetch_reason(fetch));
  CHECK_STATUS(cg_fetch_url(fetch, &url, &url_len), CG_OK);
  CHECK(url != NULL && url[url_len] == 0); /* a C string too */
  if (strncmp((const char *)url, CRYPTR_ORIGIN "/", strlen(CRYPTR_ORIGIN) + 1) == 0) {
    snprintf(resolved, sizeof resolved, "%s%s%s", issuer_url(), cryptr_route,
             (const char *)url + strlen(CRYPTR_ORIGIN));
    url = u8(resolved);
  }
  http_get((const char *)url, cg_fetch_timeout(fetch), cg_fetch_max_bytes(fetch), &r);
  if (r.failure < 0) {
    CHECK_STATUS(cg_guard_fetch_done(guard, fetch, (uint16_t)r.status,
                                     r.has_cache_control ? u8(r.cache_control) : NULL,
                                     r.has_cache_control ? strlen(r.cache_control) : 0, r.body,
                                     r.body_len, now, &label, t->message, sizeof t->message),
                 CG_OK);
  } else {
    CHECK_STATUS(cg_guard_fetch_failed(guard, fetch, r.failure, now, &label, t->message,
                                       sizeof t->message),
                 CG_OK);
  }
  snprintf(t->label, sizeof t->label, "%s", label != NULL ? label : "<none>");
  free(r.body);
}

/* Drives a check of `(token, len)` to its answer, as a single-threaded host: the verified token
 * (`*verified`, when not NULL) or the refusal's HTTP answer (`*answer`, when not NULL). */
cg_status drive(cg_guard *guard, const uint8_t *token, size_t len, uint64_t now, struct trace *t,
                cg_verified **verified, cg_http_answer **answer) {
  cg_check *check = NULL;
  cg_status result = CG_PANIC;
  int step;
  memset(t, 0, sizeof *t);
  CHECK_STATUS(cg_check_new(token, len, &check), CG_OK);
  for (step = 0; step < 20; step++) {
    cg_action action;
    cg_fetch *fetch = (cg_fetch *)&action; /* must be overwritten */
    CHECK_STATUS(cg_guard_advance(guard, check, now, &action, &fetch), CG_OK);
    if (action != CG_ACTION_FETCH) CHECK(fetch == NULL);
    if (action == CG_ACTION_DONE) {
      cg_verified *v = NULL;
      result = cg_check_result(check, &v);
      if (result == CG_OK) {
        CHECK(v != NULL);
        CHECK_STATUS(cg_check_answer(check, answer != NULL ? answer : &(cg_http_answer *){NULL}),
                     CG_INVALID_ARGUMENT);
      } else {
        cg_http_answer *a = NULL;
        CHECK(v == NULL);
        CHECK_STATUS(cg_check_answer(check, &a), CG_OK);
        if (answer != NULL) {
          *answer = a;
        } else {
          cg_http_answer_free(a);
        }
      }
      if (verified != NULL) {
        *verified = v;
      } else {
        cg_verified_free(v);
      }
      break;
    } else if (action == CG_ACTION_VERIFY) {
      t->verifies++;
      CHECK_STATUS(cg_check_verify(check), CG_OK);
      /* Only once per VERIFY. */
      CHECK_STATUS(cg_check_verify(check), CG_INVALID_ARGUMENT);
    } else if (action == CG_ACTION_FETCH) {
      CHECK(fetch != NULL);
      run_fetch(guard, fetch, now, t);
    } else {
      t->waits++;
      CHECK(cg_check_wait_timeout(check) >= 1);
    }
  }
  CHECK(step < 20);
  cg_check_free(check);
  return result;
}

/* The test issuer's base URL, "http://127.0.0.1:PORT". */
const char *issuer_url(void) {
  const char *base = getenv("CG_TEST_ISSUER_URL");
  return base != NULL ? base : "";
}

/* The settings lookup: the host's configuration as name/value pairs. */
const char *lookup(void *userdata, const char *name) {
  struct settings *s = userdata;
  size_t i;
  s->lookups++;
  for (i = 0; i < s->count; i++) {
    if (strcmp(s->items[i].name, name) == 0) return s->items[i].value;
  }
  return NULL;
}

void set(struct settings *s, const char *name, const char *value) {
  size_t i;
  for (i = 0; i < s->count; i++) {
    if (strcmp(s->items[i].name, name) == 0) {
      s->items[i].value = value;
      return;
    }
  }
  if (s->count < sizeof s->items / sizeof s->items[0]) {
    s->items[s->count].name = name;
    s->items[s->count].value = value;
    s->count++;
  }
}

/* The two organizations' settings, A's JWKS at `path_a` (B's at /t/b/.well-known). */
void two_orgs(struct settings *s, const char *path_a) {
  memset(s, 0, sizeof *s);
  snprintf(s->urls, sizeof s->urls, "%s%s, %s/t/b/.well-known", issuer_url(), path_a,
           issuer_url());
  set(s, "CRYPTR_ISSUER", FX_MI_ISSUER_A_STR "," FX_MI_ISSUER_B_STR);
  set(s, "CRYPTR_JWKS_URL", s->urls);
  set(s, "CRYPTR_AUDIENCE", FX_MI_AUDIENCE_STR);
  set(s, "CRYPTR_CLIENT_IDS", FX_MI_CLIENT_ID_STR);
  set(s, "CRYPTR_ALLOW_HTTP", "1");
}

cg_guard *guard_for(struct settings *s) {
  cg_guard *g = NULL;
  cg_config_error error;
  cg_status status = cg_guard_from_settings(lookup, s, &g, &error);
  CHECK_STATUS(status, CG_OK);
  if (status != CG_OK) {
    fprintf(stderr, "settings: %.*s: %.*s\n", (int)error.key_len, (const char *)error.key,
            (int)error.problem_len, (const char *)error.problem);
  }
  return g;
}

cg_guard *two_org_guard(const char *path_a) {
  struct settings s;
  two_orgs(&s, path_a);
  return guard_for(&s);
}

int text_eq(cg_status (*get)(const cg_verified *, const uint8_t **, size_t *),
            const cg_verified *v, const char *expected) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (get(v, &p, &n) != CG_OK) return 0;
  if (expected == NULL) return p == NULL && n == 0;
  return bytes_eq(p, n, expected);
}

int answer_eq(cg_status (*get)(const cg_http_answer *, const uint8_t **, size_t *),
              const cg_http_answer *a, const char *expected) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (get(a, &p, &n) != CG_OK) return 0;
  if (expected == NULL) return p == NULL && n == 0;
  return bytes_eq(p, n, expected);
}

/* ------------------------------------------------------------------------------------------ */

int main(void) {
  if (strncmp(issuer_url(), "http://127.0.0.1:", 17) != 0) {
    fprintf(stderr,
            "test_guard: set CG_TEST_ISSUER_URL=http://127.0.0.1:PORT (ffi/tests/c/issuer.py; "
            "scripts/test-ffi.sh does it)\n");
    return 2;
  }
  test_settings();
  test_settings_from_environment();
  test_two_organizations();
  test_not_configured();
  test_unknown_key_refetch();
  test_issuer_down();
  test_no_usable_key();
  test_due_fetches();
  test_fetch_failures();
  test_guard_new();
  test_discovery();
  test_check_arguments();
  test_threads();
  printf("c guard (%s): %d passed, %d failed\n", CG_VERSION, passed, failed);
  return failed == 0 ? 0 : 1;
}
