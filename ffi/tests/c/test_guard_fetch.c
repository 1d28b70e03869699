/*
 * Fetching the key sets: an unknown key refetched, an issuer down, a set without a usable key,
 * the start-up fetches, and failures without a response.
 * One file of the test_guard program (see test_guard.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_guard.h"

/* Key rotation: A's first answer lacks kid-a (it serves B's set); the unknown key triggers one
 * refetch, and the token is retried against the new set. */
void test_unknown_key_refetch(void) {
  char path[64];
  cg_guard *g;
  struct trace t;
  cg_verified *v = NULL;
  snprintf(path, sizeof path, "/rotate/%ld-%ld/.well-known", (long)getpid(), (long)time(NULL));
  g = two_org_guard(path);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 2 && t.verifies == 2);
  CHECK(strcmp(t.reason, "unknown_key") == 0);
  CHECK(text_eq(cg_verified_tenant, v, "shark-academy"));
  cg_verified_free(v);
  /* A kid A never had: the refetch cools down for 30 s, so no fetch. */
  CHECK_STATUS(drive(g, MI(B_KEY_CLAIMS_A), FX_MI_NOW + 5, &t, NULL, NULL), CG_UNKNOWN_KEY);
  CHECK(t.fetches == 0 && t.verifies == 1);
  /* After the cooldown: one refetch again. */
  CHECK_STATUS(drive(g, MI(B_KEY_CLAIMS_A), FX_MI_NOW + 31, &t, NULL, NULL), CG_UNKNOWN_KEY);
  CHECK(t.fetches == 1 && t.verifies == 2);
  cg_guard_free(g);
}

/* An issuer answering 500: 503 jwks_unavailable with Retry-After, and a backoff. */
void test_issuer_down(void) {
  cg_guard *g = two_org_guard("/t/down/.well-known");
  struct trace t;
  cg_http_answer *a = NULL;
  bool ready = true;
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, &a), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1);
  CHECK(strcmp(t.label, "http_status") == 0);
  CHECK(strcmp(t.message, "JWKS fetch failed: the issuer answered HTTP 500") == 0);
  CHECK(cg_http_answer_status(a) == 503);
  CHECK(cg_http_answer_retry_after(a) >= 1);
  CHECK(answer_eq(cg_http_answer_code, a, "jwks_unavailable"));
  CHECK(answer_eq(cg_http_answer_error, a, "jwks_unavailable"));
  CHECK(answer_eq(cg_http_answer_www_authenticate, a, NULL));
  {
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_STATUS(cg_http_answer_body(a, &p, &n), CG_OK);
    CHECK(n > 30 && memcmp(p, "{\"code\":\"jwks_unavailable\"", 26) == 0);
  }
  cg_http_answer_free(a);
  a = NULL;
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, &ready), CG_OK);
  CHECK(!ready);
  /* During the backoff: no fetch at all, still 503. */
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, &a), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 0);
  CHECK(cg_http_answer_status(a) == 503 && cg_http_answer_retry_after(a) >= 1);
  cg_http_answer_free(a);
  /* B is unaffected. */
  CHECK_STATUS(drive(g, MI(ORG_B), FX_MI_NOW, &t, NULL, NULL), CG_OK);
  /* After the backoff: fetched again (and still down). */
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW + 2, &t, NULL, NULL), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1);
  cg_guard_free(g);
}

/* A valid set with no usable key: installed, the issuer not ready, 503, refetched on backoff. */
void test_no_usable_key(void) {
  cg_guard *g = two_org_guard("/t/nokeys/.well-known");
  struct trace t;
  cg_http_answer *a = NULL;
  cg_fetch *f = NULL;
  bool ready = true;
  int seen_a = 0;
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, &a), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1);
  CHECK(strcmp(t.label, "no_usable_key") == 0);
  CHECK(strstr(t.message, "NOT READY") != NULL);
  CHECK(cg_http_answer_status(a) == 503 && cg_http_answer_retry_after(a) >= 1);
  cg_http_answer_free(a);
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, &ready), CG_OK);
  CHECK(!ready);
  CHECK(!cg_guard_is_ready(g, FX_MI_NOW));
  /* The policy asks for A again once the backoff lifts (and for B, never fetched). */
  for (;;) {
    CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW + 1, &f), CG_OK);
    if (f == NULL) break;
    if (cg_fetch_issuer(f) == 0) seen_a++;
    run_fetch(g, f, FX_MI_NOW + 1, &t);
  }
  CHECK(seen_a == 1);
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW + 1, &ready), CG_OK);
  CHECK(!ready);
  CHECK_STATUS(cg_guard_issuer_ready(g, 1, FX_MI_NOW + 1, &ready), CG_OK);
  CHECK(ready);
  CHECK_STATUS(cg_guard_issuer_ready(g, 2, FX_MI_NOW, &ready), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, NULL), CG_NULL_ARGUMENT);
  cg_guard_free(g);
}

/* At start-up the host fetches every key set before the first request. */
void test_due_fetches(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  struct trace t;
  cg_fetch *f = NULL;
  int count = 0, issuers = 0;
  memset(&t, 0, sizeof t);
  for (;;) {
    CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW, &f), CG_OK);
    if (f == NULL) break;
    count++;
    issuers |= 1 << cg_fetch_issuer(f);
    CHECK(cg_fetch_timeout(f) == 5 && cg_fetch_max_bytes(f) == 1048576);
    run_fetch(g, f, FX_MI_NOW, &t);
  }
  CHECK(count == 2 && issuers == 3);
  CHECK(cg_guard_is_ready(g, FX_MI_NOW));
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 0);
  /* Nothing more is due until a set goes stale; fetches handed out and never reported can be
   * freed (the guard abandons them after 30 s). */
  CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW + 1, &f), CG_OK);
  CHECK(f == NULL);
  CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW + 3601, &f), CG_OK);
  CHECK(f != NULL && cg_fetch_issuer(f) == 0 && cg_fetch_is_background(f));
  cg_fetch_free(f);
  CHECK_STATUS(cg_guard_due_fetches(NULL, FX_MI_NOW, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW, NULL), CG_NULL_ARGUMENT);
  cg_guard_free(g);
}

/* Failures without a response: too large, network, and the report's arguments. */
void test_fetch_failures(void) {
  struct settings s;
  cg_guard *g;
  struct trace t;
  cg_check *check = NULL;
  cg_action action;
  cg_fetch *f = NULL;
  const char *label = NULL;
  char small[8];

  /* A body over CRYPTR_JWKS_MAX_BYTES: the host stops reading and reports it. */
  two_orgs(&s, "/t/a/.well-known");
  set(&s, "CRYPTR_JWKS_MAX_BYTES", "100");
  g = guard_for(&s);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, NULL), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1 && strcmp(t.label, "too_large") == 0);
  CHECK(strcmp(t.message, "JWKS fetch failed: the document is over the size limit") == 0);
  cg_guard_free(g);

  /* Nobody listening (port 1): a network failure. */
  two_orgs(&s, "/t/a/.well-known");
  snprintf(s.urls, sizeof s.urls, "http://127.0.0.1:1/jwks, %s/t/b/.well-known", issuer_url());
  g = guard_for(&s);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, NULL), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1 && strcmp(t.label, "network") == 0);

  /* The report's arguments; a fetch is consumed whatever the status. */
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH && f != NULL);
  CHECK_STATUS(cg_guard_fetch_failed(g, f, 42, FX_MI_NOW, &label, NULL, 0), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_DONE);
  CHECK_STATUS(cg_check_result(check, &(cg_verified *){NULL}), CG_JWKS_UNAVAILABLE);
  cg_check_free(check);
  check = NULL;
  /* A message cut to the buffer, as snprintf does. */
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 2, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH);
  memset(small, 'x', sizeof small);
  CHECK_STATUS(cg_guard_fetch_failed(g, f, CG_FETCH_FAILURE_TIMEOUT, FX_MI_NOW + 2, &label, small,
                                     sizeof small),
               CG_OK);
  CHECK(strcmp(label, "timeout") == 0 && strcmp(small, "JWKS fe") == 0);
  cg_check_free(check);
  check = NULL;
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 10, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH);
  CHECK_STATUS(cg_guard_fetch_done(NULL, f, 200, NULL, 0, FX_MI_JWKS_B, FX_MI_JWKS_B_LEN,
                                   FX_MI_NOW + 10, &label, NULL, 0),
               CG_NULL_ARGUMENT); /* f is freed: valgrind and ASan see no leak */
  CHECK_STATUS(cg_guard_fetch_done(g, NULL, 200, NULL, 0, FX_MI_JWKS_B, FX_MI_JWKS_B_LEN,
                                   FX_MI_NOW + 10, &label, NULL, 0),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_fetch_failed(g, NULL, CG_FETCH_FAILURE_NETWORK, FX_MI_NOW, &label, NULL,
                                     0),
               CG_NULL_ARGUMENT);
  /* The abandoned fetch holds B back until the guard gives it up (30 s). */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 10, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_WAIT && f == NULL && cg_check_wait_timeout(check) == 5);
  cg_check_free(check);
  /* The body of a 200 need not be a JWKS: an invalid document is a failed fetch. */
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 100, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH);
  CHECK_STATUS(cg_guard_fetch_done(g, f, 200, u8("max-age=60"), 10, u8("<html>"), 6,
                                   FX_MI_NOW + 100, &label, NULL, 0),
               CG_OK);
  CHECK(strcmp(label, "invalid_jwks") == 0);
  cg_check_free(check);
  cg_guard_free(g);
}

