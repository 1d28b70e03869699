/*
 * C tests of the cryptr-guard C API, through the committed header only: one program, test_api,
 * built from test_api.c (this file: main(), the shared helpers, what holds for the whole API) and
 * test_api_*.c, one file per part of the API, declared in test_api.h.
 *
 * Built with -std=c99 -Wall -Wextra -Wpedantic -Werror, linked against the static and the shared
 * library, run under ASan+UBSan and under valgrind by scripts/test-ffi.sh. Fixtures (tokens and
 * key sets from tests/vectors/examples.json) come from gen_fixtures.py; what each must give is
 * written in the tests.
 */
#include <stdio.h>
#include <string.h>

#include "test_api.h"

int passed = 0;
int failed = 0;

/* A validator with the examples group's default options. */
cg_validator *default_validator(void) {
  cg_options *o = NULL;
  cg_validator *v = NULL;
  if (cg_options_new(&o) != CG_OK) return NULL;
  if (cg_options_add_issuer(o, FX_ISSUER, FX_ISSUER_LEN) != CG_OK ||
      cg_options_add_audience(o, FX_AUDIENCE, FX_AUDIENCE_LEN) != CG_OK ||
      cg_validator_new(o, &v) != CG_OK) {
    v = NULL;
  }
  cg_options_free(o);
  return v;
}

cg_keyset *default_keyset(void) {
  cg_keyset *k = NULL;
  if (cg_keyset_from_jwks(FX_JWKS, FX_JWKS_LEN, &k) != CG_OK) return NULL;
  return k;
}

/* ------------------------------------------------------------------------------------------ */

void test_version(void) {
  char expected[64];
  snprintf(expected, sizeof expected, "%d.%d.%d", CG_VERSION_MAJOR, CG_VERSION_MINOR,
           CG_VERSION_PATCH);
  CHECK(strcmp(expected, CG_VERSION) == 0);
  CHECK(strcmp(cg_version(), CG_VERSION) == 0);
}

void test_status_codes(void) {
  static const struct {
    cg_status status;
    const char *code;
  } all[] = {
      {CG_OK, "ok"},
      {CG_MALFORMED_TOKEN, "malformed_token"},
      {CG_UNSUPPORTED_ALGORITHM, "unsupported_algorithm"},
      {CG_UNKNOWN_KEY, "unknown_key"},
      {CG_INVALID_SIGNATURE, "invalid_signature"},
      {CG_INVALID_CLAIM, "invalid_claim"},
      {CG_MISSING_CLAIM, "missing_claim"},
      {CG_TOKEN_EXPIRED, "token_expired"},
      {CG_TOKEN_NOT_YET_VALID, "token_not_yet_valid"},
      {CG_INVALID_ISSUER, "invalid_issuer"},
      {CG_INVALID_AUDIENCE, "invalid_audience"},
      {CG_INVALID_JWKS, "invalid_jwks"},
      {CG_JWKS_UNAVAILABLE, "jwks_unavailable"},
      {CG_AUTHORIZATION_HEADER_MISSING, "authorization_header_missing"},
      {CG_INVALID_HEADER, "invalid_header"},
      {CG_NULL_ARGUMENT, "null_argument"},
      {CG_BUFFER_TOO_SMALL, "buffer_too_small"},
      {CG_INVALID_ARGUMENT, "invalid_argument"},
      {CG_PANIC, "panic"},
  };
  size_t i;
  char buf[CG_MESSAGE_MAX];
  size_t n = 12345;
  CHECK(CG_OK == 0);
  for (i = 0; i < sizeof all / sizeof all[0]; i++) {
    CHECK(strcmp(cg_status_code((int)all[i].status), all[i].code) == 0);
    n = 0;
    CHECK_STATUS(cg_status_message((int)all[i].status, buf, sizeof buf, &n), CG_OK);
    CHECK(n > 0 && n == strlen(buf));
  }
  CHECK(strcmp(cg_status_code(-1), "unknown_status") == 0);
  CHECK(strcmp(cg_status_code(999), "unknown_status") == 0);
  /* Too small: nothing written. */
  memset(buf, 'x', sizeof buf);
  n = 777;
  CHECK_STATUS(cg_status_message(CG_TOKEN_EXPIRED, buf, 3, &n), CG_BUFFER_TOO_SMALL);
  CHECK(buf[0] == 'x' && n == 777);
  CHECK_STATUS(cg_status_message(CG_TOKEN_EXPIRED, buf, 0, &n), CG_BUFFER_TOO_SMALL);
  CHECK_STATUS(cg_status_message(CG_TOKEN_EXPIRED, NULL, 10, &n), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_status_message(CG_TOKEN_EXPIRED, buf, sizeof buf, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_status_message(4242, buf, sizeof buf, &n), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_status_message(CG_TOKEN_EXPIRED, buf, sizeof buf, &n), CG_OK);
  CHECK(strcmp(buf, "the token has expired") == 0);
  CHECK_STATUS(cg_status_message(CG_INVALID_HEADER, buf, sizeof buf, &n), CG_OK);
  CHECK(strcmp(buf, "Wrong Bearer Authorization header syntax") == 0);
  /* One value per SPEC §3 code: the validation codes, then the host codes. */
  CHECK(CG_JWKS_UNAVAILABLE == 12 && CG_AUTHORIZATION_HEADER_MISSING == 13 &&
        CG_INVALID_HEADER == 14);
}

void test_free_null(void) {
  cg_keyset_free(NULL);
  cg_options_free(NULL);
  cg_validator_free(NULL);
  cg_verified_free(NULL);
  cg_token_cache_free(NULL);
  cg_keyset_cache_free(NULL);
  cg_http_answer_free(NULL);
  cg_fetch_free(NULL);
  cg_check_free(NULL);
  cg_guard_free(NULL);
  CHECK(cg_verified_scope_count(NULL) == 0);
  CHECK(cg_http_answer_status(NULL) == 0);
  CHECK(cg_http_answer_retry_after(NULL) == 0);
  CHECK(cg_fetch_timeout(NULL) == 0);
  CHECK(cg_fetch_max_bytes(NULL) == 0);
  CHECK(!cg_fetch_is_background(NULL));
  CHECK(cg_fetch_issuer(NULL) == 0);
  CHECK(strcmp(cg_fetch_reason(NULL), "unknown") == 0);
  CHECK(!cg_guard_is_ready(NULL, 0));
  CHECK(cg_guard_issuer_count(NULL) == 0);
  CHECK(cg_check_wait_timeout(NULL) == 0);
  CHECK(cg_keyset_len(NULL) == 0);
  CHECK(cg_keyset_skipped_len(NULL) == 0);
  CHECK(cg_verified_aud_len(NULL) == 0);
  CHECK(cg_keyset_cache_generation(NULL) == 0);
  CHECK(cg_keyset_cache_retry_after(NULL, 0) == 0);
}

/* ------------------------------------------------------------------------------------------ */

int main(void) {
  test_version();
  test_status_codes();
  test_free_null();
  test_keyset();
  test_oversized_jwks();
  test_options();
  test_validate_statuses();
  test_validate_arguments();
  test_verified();
  test_raw();
  test_token_cache();
  test_keyset_cache();
  test_options_profiles();
  test_cryptr_profile();
  test_validate_by_issuer();
  test_bearer();
  test_http_answers();
  test_threads();
  printf("c api (%s): %d passed, %d failed\n", CG_VERSION, passed, failed);
  return failed == 0 ? 0 : 1;
}
