/*
 * Checks driven to their answers: two organizations, each its own issuer and key set, a token
 * of an issuer that is not configured (SPEC §8), and the check's arguments and states.
 * One file of the test_guard program (see test_guard.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "test_guard.h"

/* Two organizations, each its own issuer with its own key set, fetched on first use. */
void test_two_organizations(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  struct trace t;
  cg_verified *v = NULL;
  cg_http_answer *a = NULL;
  const uint8_t *p = NULL;
  size_t n = 0;
  bool ready = true;
  uint64_t now = FX_MI_NOW;

  CHECK(cg_guard_issuer_count(g) == 2);
  CHECK_STATUS(cg_guard_issuer_name(g, 0, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, FX_MI_ISSUER_A_STR));
  CHECK(!cg_guard_is_ready(g, now));

  /* Organization A: one fetch of A's set, then the RSA work. */
  CHECK_STATUS(drive(g, MI(ORG_A), now, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.verifies == 1 && t.background == 0);
  CHECK(strcmp(t.reason, "no_usable_set") == 0);
  CHECK(strcmp(t.label, "ok") == 0);
  CHECK(strcmp(t.message, "key set installed: 1 usable key(s), 0 skipped") == 0);
  CHECK(text_eq(cg_verified_issuer, v, FX_MI_ISSUER_A_STR));
  CHECK(text_eq(cg_verified_client_id, v, FX_MI_CLIENT_ID_STR));
  CHECK(text_eq(cg_verified_tenant, v, "shark-academy"));
  CHECK(text_eq(cg_verified_kid, v, "kid-a"));
  CHECK(text_eq(cg_verified_iss, v, NULL)); /* v3: the issuer is only in the header */
  CHECK(cg_verified_scope_count(v) == 3);
  CHECK_STATUS(cg_verified_scope(v, 1, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "email"));
  cg_verified_free(v);
  v = NULL;
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, now, &ready), CG_OK);
  CHECK(ready);
  CHECK_STATUS(cg_guard_issuer_ready(g, 1, now, &ready), CG_OK);
  CHECK(!ready);
  CHECK(!cg_guard_is_ready(g, now)); /* B was never fetched */

  /* Organization B: its own set. */
  CHECK_STATUS(drive(g, MI(ORG_B), now, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.verifies == 1);
  CHECK(text_eq(cg_verified_issuer, v, FX_MI_ISSUER_B_STR));
  CHECK(text_eq(cg_verified_tenant, v, "blue-whale"));
  CHECK(text_eq(cg_verified_kid, v, "kid-b"));
  cg_verified_free(v);
  v = NULL;
  CHECK(cg_guard_is_ready(g, now));

  /* A again: the verified-token cache answers, no fetch and no RSA work. */
  CHECK_STATUS(drive(g, MI(ORG_A), now + 1, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 0 && t.verifies == 0);
  CHECK(text_eq(cg_verified_tenant, v, "shark-academy"));
  cg_verified_free(v);
  v = NULL;

  /* B's key under A's issuer: A's set has no kid-b; one refetch (A's set again), then refused. */
  CHECK_STATUS(drive(g, MI(B_KEY_CLAIMS_A), now + 2, &t, NULL, &a), CG_UNKNOWN_KEY);
  CHECK(t.fetches == 1 && t.verifies == 2);
  CHECK(strcmp(t.reason, "unknown_key") == 0);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "no_rsa_key"));
  CHECK(answer_eq(cg_http_answer_error, a, "unknown_key"));
  cg_http_answer_free(a);
  a = NULL;
  /* Forged with kid-a: the signature. */
  CHECK_STATUS(drive(g, MI(B_KEY_AS_KID_A), now + 2, &t, NULL, &a), CG_INVALID_SIGNATURE);
  CHECK(t.fetches == 0);
  CHECK(answer_eq(cg_http_answer_code, a, "invalid_header"));
  CHECK(answer_eq(cg_http_answer_error, a, "invalid_signature"));
  cg_http_answer_free(a);
  a = NULL;

  /* Sets go stale (A's came with max-age=3600 and was refetched at now + 2, B's without
   * Cache-Control: 10 min) and are refreshed in the background while still in use. */
  CHECK_STATUS(drive(g, MI(ORG_B), now + 3700, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.background == 1);
  CHECK(strcmp(t.reason, "stale") == 0);
  CHECK(strcmp(t.label, "ok") == 0);
  CHECK_STATUS(drive(g, MI(ORG_A), now + 3600, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 0); /* still fresh */
  CHECK_STATUS(drive(g, MI(ORG_A), now + 3700, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.background == 1);
  CHECK(strcmp(t.reason, "stale") == 0);

  /* The clock is never skipped: the cached token expires (exp 1700036000). */
  CHECK_STATUS(drive(g, MI(ORG_A), 1700036000u, &t, NULL, &a), CG_TOKEN_EXPIRED);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "token_expired"));
  CHECK(answer_eq(cg_http_answer_www_authenticate, a,
                  "Bearer error=\"invalid_token\", error_description=\"the token has expired\""));
  CHECK(cg_http_answer_retry_after(a) == 0);
  cg_http_answer_free(a);

  cg_guard_free(g);
}

/* SPEC §8: a token from an issuer that is not configured never makes the host fetch. */
void test_not_configured(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  struct trace t;
  cg_http_answer *a = NULL;
  static const char garbage[] = "not a token";

  CHECK_STATUS(drive(g, MI(NOT_CONFIGURED), FX_MI_NOW, &t, NULL, &a), CG_INVALID_ISSUER);
  CHECK(t.fetches == 0 && t.verifies == 0);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "invalid_claims"));
  CHECK(answer_eq(cg_http_answer_error, a, "invalid_issuer"));
  cg_http_answer_free(a);
  CHECK_STATUS(drive(g, MI(NO_HINT), FX_MI_NOW, &t, NULL, NULL), CG_MISSING_CLAIM);
  CHECK(t.fetches == 0);
  CHECK_STATUS(drive(g, MI(HS256), FX_MI_NOW, &t, NULL, NULL), CG_UNSUPPORTED_ALGORITHM);
  CHECK(t.fetches == 0);
  CHECK_STATUS(drive(g, MI(PAYLOAD_UNDECODABLE), FX_MI_NOW, &t, NULL, NULL), CG_MALFORMED_TOKEN);
  CHECK(t.fetches == 0);
  a = NULL;
  CHECK_STATUS(drive(g, u8(garbage), strlen(garbage), FX_MI_NOW, &t, NULL, &a),
               CG_MALFORMED_TOKEN);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "invalid_header"));
  CHECK(answer_eq(cg_http_answer_error, a, "malformed_token"));
  {
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_STATUS(cg_http_answer_body(a, &p, &n), CG_OK);
    CHECK(n > 40 && memcmp(p, "{\"code\":\"invalid_header\",\"description\":\"", 39) == 0);
    CHECK(strstr((const char *)p, "\"error\":\"malformed_token\"}") != NULL); /* NUL-terminated */
  }
  cg_http_answer_free(a);
  CHECK(!cg_guard_is_ready(g, FX_MI_NOW)); /* nothing was fetched */
  cg_guard_free(g);
}


/* The check's arguments and states. */
void test_check_arguments(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  cg_check *check = NULL;
  cg_action action = CG_ACTION_WAIT;
  cg_fetch *f = NULL;
  cg_verified *v = NULL;
  cg_http_answer *a = NULL;
  size_t index = 99;

  CHECK_STATUS(cg_check_new(NULL, 5, &check), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_A, FX_MI_TOKEN_ORG_A_LEN, NULL), CG_NULL_ARGUMENT);
  CHECK(check == NULL);
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_A, FX_MI_TOKEN_ORG_A_LEN, &check), CG_OK);
  CHECK_STATUS(cg_check_result(check, &v), CG_INVALID_ARGUMENT); /* not done */
  CHECK_STATUS(cg_check_answer(check, &a), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_check_issuer(check, &index), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_check_verify(check), CG_INVALID_ARGUMENT); /* nothing to verify */
  CHECK_STATUS(cg_guard_advance(NULL, check, FX_MI_NOW, &action, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, NULL, FX_MI_NOW, &action, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, NULL, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, NULL), CG_NULL_ARGUMENT);
  CHECK(action == CG_ACTION_WAIT && f == NULL && v == NULL && a == NULL && index == 99);
  /* The first step of a check for A: fetch A's set; the issuer is chosen. */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH && f != NULL);
  CHECK_STATUS(cg_check_issuer(check, &index), CG_OK);
  CHECK(index == 0 && cg_fetch_issuer(f) == 0);
  CHECK(!cg_fetch_is_background(f));
  {
    struct trace t;
    memset(&t, 0, sizeof t);
    run_fetch(g, f, FX_MI_NOW, &t);
  }
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_VERIFY && f == NULL);
  /* Advancing without running the verification answers the check with a refusal. */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_DONE);
  CHECK_STATUS(cg_check_result(check, &v), CG_JWKS_UNAVAILABLE);
  CHECK_STATUS(cg_check_verify(check), CG_INVALID_ARGUMENT);
  /* A done check stays done. */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_DONE);
  CHECK_STATUS(cg_check_result(check, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_answer(check, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_result(NULL, &v), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_verify(NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_issuer(check, NULL), CG_NULL_ARGUMENT);
  cg_check_free(check);
  CHECK(!cg_guard_is_ready(NULL, FX_MI_NOW));
  cg_guard_free(g);
}
