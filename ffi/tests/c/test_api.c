/*
 * C tests of the cryptr-guard C API, through the committed header only.
 *
 * Built with -std=c99 -Wall -Wextra -Wpedantic -Werror, linked against the static and the shared
 * library, run under ASan+UBSan and under valgrind by scripts/test-ffi.sh. Fixtures (tokens and
 * key sets from tests/vectors/examples.json) come from gen_fixtures.py; what each must give is
 * written here.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptr_guard.h"
#include "fixtures.h"
#include "testing.h"

/* A validator with the examples group's default options. */
static cg_validator *default_validator(void) {
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

static cg_keyset *default_keyset(void) {
  cg_keyset *k = NULL;
  if (cg_keyset_from_jwks(FX_JWKS, FX_JWKS_LEN, &k) != CG_OK) return NULL;
  return k;
}

/* ------------------------------------------------------------------------------------------ */

static void test_version(void) {
  char expected[64];
  snprintf(expected, sizeof expected, "%d.%d.%d", CG_VERSION_MAJOR, CG_VERSION_MINOR,
           CG_VERSION_PATCH);
  CHECK(strcmp(expected, CG_VERSION) == 0);
  CHECK(strcmp(cg_version(), CG_VERSION) == 0);
}

static void test_status_codes(void) {
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

static void test_free_null(void) {
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

static void test_keyset(void) {
  cg_keyset *k = NULL;
  const uint8_t *kid = NULL;
  size_t kid_len = 0, position = 0;
  const char *reason = NULL;
  static const char mixed[] =
      "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec\"},{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}],"
      "\"other\":1}";
  static const char garbage[] = "{\"keys\":[1]}";

  k = default_keyset();
  CHECK(k != NULL);
  CHECK(cg_keyset_len(k) == 3);
  CHECK(cg_keyset_skipped_len(k) == 0);
  CHECK_STATUS(cg_keyset_kid(k, 0, &kid, &kid_len), CG_OK);
  CHECK(bytes_eq(kid, kid_len, "k2048"));
  CHECK_STATUS(cg_keyset_kid(k, 2, &kid, &kid_len), CG_OK);
  CHECK(bytes_eq(kid, kid_len, "k4096"));
  kid = NULL;
  CHECK_STATUS(cg_keyset_kid(k, 3, &kid, &kid_len), CG_INVALID_ARGUMENT);
  CHECK(kid == NULL);
  CHECK_STATUS(cg_keyset_kid(k, 0, NULL, &kid_len), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_kid(NULL, 0, &kid, &kid_len), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_skipped(k, 0, &position, &reason), CG_INVALID_ARGUMENT);
  cg_keyset_free(k);

  /* Unusable keys are skipped with a reason, never an error. */
  k = NULL;
  CHECK_STATUS(cg_keyset_from_jwks(u8(mixed), strlen(mixed), &k), CG_OK);
  CHECK(cg_keyset_len(k) == 0);
  CHECK(cg_keyset_skipped_len(k) == 2);
  CHECK_STATUS(cg_keyset_skipped(k, 0, &position, &reason), CG_OK);
  CHECK(position == 0 && strcmp(reason, "kty is not RSA") == 0);
  CHECK_STATUS(cg_keyset_skipped_kid(k, 0, &kid, &kid_len), CG_OK);
  CHECK(bytes_eq(kid, kid_len, "ec"));
  CHECK_STATUS(cg_keyset_skipped(k, 1, &position, &reason), CG_OK);
  CHECK(position == 1 && strcmp(reason, "the modulus size is out of the accepted range") == 0);
  CHECK_STATUS(cg_keyset_skipped_kid(k, 1, &kid, &kid_len), CG_OK);
  CHECK(kid == NULL && kid_len == 0);
  CHECK_STATUS(cg_keyset_skipped(k, 2, &position, &reason), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_keyset_skipped(k, 0, NULL, &reason), CG_NULL_ARGUMENT);
  cg_keyset_free(k);

  /* Invalid documents, NULL and empty inputs. */
  k = NULL;
  CHECK_STATUS(cg_keyset_from_jwks(u8(garbage), strlen(garbage), &k), CG_INVALID_JWKS);
  CHECK(k == NULL);
  CHECK_STATUS(cg_keyset_from_jwks(NULL, 0, &k), CG_INVALID_JWKS);
  CHECK_STATUS(cg_keyset_from_jwks(u8(""), 0, &k), CG_INVALID_JWKS);
  CHECK_STATUS(cg_keyset_from_jwks(NULL, 10, &k), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_from_jwks(FX_JWKS, FX_JWKS_LEN, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_from_jwks(FX_JWKS, (size_t)-1, &k), CG_INVALID_ARGUMENT);
  CHECK(k == NULL);

  /* Key-set options. */
  CHECK_STATUS(cg_keyset_from_jwks_with(FX_JWKS, FX_JWKS_LEN, 512, 0, &k), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_keyset_from_jwks_with(FX_JWKS, FX_JWKS_LEN, 8193, 0, &k), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_keyset_from_jwks_with(FX_JWKS, FX_JWKS_LEN, 3072, 0, &k), CG_OK);
  CHECK(cg_keyset_len(k) == 2 && cg_keyset_skipped_len(k) == 1);
  cg_keyset_free(k);
  k = NULL;
  CHECK_STATUS(cg_keyset_from_jwks_with(FX_JWKS, FX_JWKS_LEN, 0, 2, &k), CG_INVALID_JWKS);
  CHECK_STATUS(cg_keyset_from_jwks_with(FX_JWKS, FX_JWKS_LEN, 1024, 3, &k), CG_OK);
  CHECK(cg_keyset_len(k) == 3);
  cg_keyset_free(k);
}

static void test_oversized_jwks(void) {
  /* A 2 MiB document of whitespace around an empty key list, and one with 65 keys. */
  size_t size = (size_t)2 << 20, i, at = 0;
  char *doc = malloc(size);
  cg_keyset *k = NULL;
  CHECK(doc != NULL);
  if (doc == NULL) return;
  memset(doc, ' ', size);
  memcpy(doc + size / 2, "{\"keys\":[]}", 11);
  CHECK_STATUS(cg_keyset_from_jwks(u8(doc), size, &k), CG_OK);
  CHECK(cg_keyset_len(k) == 0);
  cg_keyset_free(k);
  k = NULL;
  at = (size_t)sprintf(doc, "{\"keys\":[");
  for (i = 0; i < 65; i++) at += (size_t)sprintf(doc + at, "%s{\"kty\":\"EC\"}", i ? "," : "");
  at += (size_t)sprintf(doc + at, "]}");
  CHECK_STATUS(cg_keyset_from_jwks(u8(doc), at, &k), CG_INVALID_JWKS);
  CHECK(k == NULL);
  free(doc);
}

static void test_options(void) {
  cg_options *o = NULL;
  cg_validator *v = NULL;
  static const uint8_t not_utf8[] = {0x66, 0xff, 0x66};
  CHECK_STATUS(cg_options_new(NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_new(&o), CG_OK);
  /* No issuer, no audience: a configuration error. */
  CHECK_STATUS(cg_validator_new(o, &v), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_options_add_issuer(o, FX_ISSUER, FX_ISSUER_LEN), CG_OK);
  CHECK_STATUS(cg_validator_new(o, &v), CG_INVALID_ARGUMENT);
  CHECK(v == NULL);
  CHECK_STATUS(cg_options_add_audience(o, not_utf8, sizeof not_utf8), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_options_add_issuer(o, NULL, 5), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_add_issuer(NULL, FX_ISSUER, FX_ISSUER_LEN), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_add_audience(o, FX_AUDIENCE, FX_AUDIENCE_LEN), CG_OK);
  CHECK_STATUS(cg_options_set_required_claims(o, 1u << 7), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_options_set_required_claims(o, CG_CLAIMS_DEFAULT | CG_CLAIM_SUB), CG_OK);
  CHECK_STATUS(cg_options_set_leeway(o, 60), CG_OK);
  CHECK_STATUS(cg_options_set_max_token_len(o, 4096), CG_OK);
  CHECK_STATUS(cg_options_set_typ(o, u8("at+jwt"), 6), CG_OK);
  CHECK_STATUS(cg_options_set_typ(o, NULL, 0), CG_OK);
  CHECK_STATUS(cg_options_set_typ(o, not_utf8, 3), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_options_set_leeway(NULL, 1), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_set_required_claims(NULL, 0), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_set_max_token_len(NULL, 0), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_set_typ(NULL, NULL, 0), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_new(NULL, &v), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_new(o, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_new(o, &v), CG_OK);
  cg_options_free(o); /* the validator keeps its own copy */
  CHECK(v != NULL);
  cg_validator_free(v);
}

/* Validates `token` with `v` and `k` at FX_NOW; returns the status, frees any result. */
static cg_status run(const cg_validator *v, const cg_keyset *k, const uint8_t *token, size_t len) {
  cg_verified *r = NULL;
  cg_status s = cg_validator_validate(v, k, token, len, FX_NOW, &r);
  if (s != CG_OK && r != NULL) {
    fprintf(stderr, "output written on failure\n");
    failed++;
  }
  cg_verified_free(r);
  return s;
}

static cg_validator *validator_with(void (*tweak)(cg_options *)) {
  cg_options *o = NULL;
  cg_validator *v = NULL;
  if (cg_options_new(&o) != CG_OK) return NULL;
  cg_options_add_issuer(o, FX_ISSUER, FX_ISSUER_LEN);
  cg_options_add_audience(o, FX_AUDIENCE, FX_AUDIENCE_LEN);
  tweak(o);
  if (cg_validator_new(o, &v) != CG_OK) v = NULL;
  cg_options_free(o);
  return v;
}

static void typ_at_jwt(cg_options *o) { cg_options_set_typ(o, u8("application/at+jwt"), 18); }
static void typ_strict(cg_options *o) { cg_options_set_typ(o, u8("at+jwt"), 6); }
static void max_554(cg_options *o) { cg_options_set_max_token_len(o, 554); }
static void require_sub(cg_options *o) {
  cg_options_set_required_claims(o, CG_CLAIMS_DEFAULT | CG_CLAIM_SUB);
}
static void leeway_60(cg_options *o) { cg_options_set_leeway(o, 60); }
static void two_audiences(cg_options *o) {
  cg_options_add_audience(o, u8("https://reports.example.com"), 27);
}

static void test_validate_statuses(void) {
  cg_validator *v = default_validator();
  cg_keyset *k = default_keyset();
  cg_validator *w;
  CHECK(v != NULL && k != NULL);

#define TOKEN(name) FX_TOKEN_##name, FX_TOKEN_##name##_LEN
  CHECK_STATUS(run(v, k, TOKEN(VALID_2048)), CG_OK);
  CHECK_STATUS(run(v, k, TOKEN(VALID_4096)), CG_OK);
  CHECK_STATUS(run(v, k, TOKEN(VALID_EXP_MINUS_ONE)), CG_OK);
  CHECK_STATUS(run(v, k, TOKEN(MALFORMED_TWO_SEGMENTS)), CG_MALFORMED_TOKEN);
  CHECK_STATUS(run(v, k, TOKEN(MALFORMED_HEADER_NOT_JSON)), CG_MALFORMED_TOKEN);
  CHECK_STATUS(run(v, k, TOKEN(MALFORMED_DUPLICATE_ALG)), CG_MALFORMED_TOKEN);
  CHECK_STATUS(run(v, k, TOKEN(MALFORMED_CRIT)), CG_MALFORMED_TOKEN);
  CHECK_STATUS(run(v, k, TOKEN(MALFORMED_PAYLOAD_NOT_JSON)), CG_MALFORMED_TOKEN);
  CHECK_STATUS(run(v, k, TOKEN(UNSUPPORTED_NONE)), CG_UNSUPPORTED_ALGORITHM);
  CHECK_STATUS(run(v, k, TOKEN(UNSUPPORTED_HS256_PUBLIC_KEY)), CG_UNSUPPORTED_ALGORITHM);
  CHECK_STATUS(run(v, k, TOKEN(UNKNOWN_KID)), CG_UNKNOWN_KEY);
  CHECK_STATUS(run(v, k, TOKEN(UNKNOWN_NO_KID)), CG_UNKNOWN_KEY);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_SIGNATURE_ATTACKER)), CG_INVALID_SIGNATURE);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_SIGNATURE_SHORT)), CG_INVALID_SIGNATURE);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_SIGNATURE_TAMPERED_PAYLOAD)), CG_INVALID_SIGNATURE);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_CLAIM_EXP_STRING)), CG_INVALID_CLAIM);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_CLAIM_AUD_NUMBER)), CG_INVALID_CLAIM);
  CHECK_STATUS(run(v, k, TOKEN(MISSING_CLAIM_AUD)), CG_MISSING_CLAIM);
  CHECK_STATUS(run(v, k, TOKEN(EXPIRED_AT_EXP)), CG_TOKEN_EXPIRED);
  CHECK_STATUS(run(v, k, TOKEN(EXPIRED_HOUR_AGO)), CG_TOKEN_EXPIRED);
  CHECK_STATUS(run(v, k, TOKEN(NOT_YET_VALID_NBF)), CG_TOKEN_NOT_YET_VALID);
  CHECK_STATUS(run(v, k, TOKEN(NOT_YET_VALID_IAT)), CG_TOKEN_NOT_YET_VALID);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_ISSUER_TRAILING_SLASH)), CG_INVALID_ISSUER);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_AUDIENCE)), CG_INVALID_AUDIENCE);
  CHECK_STATUS(run(v, k, TOKEN(INVALID_AUDIENCE_EMPTY_ARRAY)), CG_INVALID_AUDIENCE);
  /* The aud-array token names another accepted audience. */
  CHECK_STATUS(run(v, k, TOKEN(VALID_AUD_ARRAY)), CG_INVALID_AUDIENCE);

  /* Options that change the answer. */
  w = validator_with(two_audiences);
  CHECK_STATUS(run(w, k, TOKEN(VALID_AUD_ARRAY)), CG_OK);
  cg_validator_free(w);
  w = validator_with(typ_at_jwt);
  CHECK_STATUS(run(w, k, TOKEN(VALID_TYP_AT_JWT)), CG_OK);
  CHECK_STATUS(run(w, k, TOKEN(VALID_2048)), CG_MALFORMED_TOKEN); /* no typ at all */
  cg_validator_free(w);
  w = validator_with(typ_strict);
  CHECK_STATUS(run(w, k, TOKEN(MALFORMED_TYP_MISMATCH)), CG_MALFORMED_TOKEN);
  cg_validator_free(w);
  w = validator_with(max_554);
  CHECK_STATUS(run(w, k, TOKEN(MALFORMED_TOO_LONG)), CG_MALFORMED_TOKEN);
  cg_validator_free(w);
  w = validator_with(require_sub);
  CHECK_STATUS(run(w, k, TOKEN(MISSING_CLAIM_SUB_REQUIRED)), CG_MISSING_CLAIM);
  CHECK_STATUS(run(w, k, TOKEN(VALID_2048)), CG_OK);
  cg_validator_free(w);
  w = validator_with(leeway_60);
  CHECK_STATUS(run(w, k, TOKEN(VALID_LEEWAY)), CG_OK);
  cg_validator_free(w);
  CHECK_STATUS(run(v, k, TOKEN(VALID_LEEWAY)), CG_TOKEN_EXPIRED);
#undef TOKEN

  cg_keyset_free(k);
  cg_validator_free(v);
}

static void test_validate_arguments(void) {
  cg_validator *v = default_validator();
  cg_keyset *k = default_keyset();
  cg_verified *r = NULL;
  size_t big = (size_t)1 << 20;
  uint8_t *huge = malloc(big);

  /* Zero-length and NULL tokens. */
  CHECK_STATUS(cg_validator_validate(v, k, NULL, 0, FX_NOW, &r), CG_MALFORMED_TOKEN);
  CHECK_STATUS(cg_validator_validate(v, k, u8(""), 0, FX_NOW, &r), CG_MALFORMED_TOKEN);
  CHECK_STATUS(cg_validator_validate(v, k, NULL, 5, FX_NOW, &r), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_validate(NULL, k, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN,
                                     FX_NOW, &r),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_validate(v, NULL, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN,
                                     FX_NOW, &r),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_validate(v, k, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN, FX_NOW,
                                     NULL),
               CG_NULL_ARGUMENT);
  CHECK(r == NULL);
  /* Oversized: 1 MiB (a valid token followed by junk, and all 'a'). */
  CHECK(huge != NULL);
  if (huge != NULL) {
    memset(huge, 'a', big);
    CHECK_STATUS(cg_validator_validate(v, k, huge, big, FX_NOW, &r), CG_MALFORMED_TOKEN);
    memcpy(huge, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN);
    CHECK_STATUS(cg_validator_validate(v, k, huge, big, FX_NOW, &r), CG_MALFORMED_TOKEN);
    /* The exact token inside a larger buffer: only `len` bytes are read. */
    CHECK_STATUS(cg_validator_validate(v, k, huge, FX_TOKEN_VALID_2048_LEN, FX_NOW, &r), CG_OK);
    cg_verified_free(r);
    r = NULL;
    free(huge);
  }
  CHECK_STATUS(cg_validator_validate(v, k, FX_TOKEN_VALID_2048, (size_t)-1, FX_NOW, &r),
               CG_INVALID_ARGUMENT);
  CHECK(r == NULL);
  cg_keyset_free(k);
  cg_validator_free(v);
}

static void test_verified(void) {
  cg_validator *v = validator_with(two_audiences);
  cg_keyset *k = default_keyset();
  cg_verified *r = NULL;
  const uint8_t *p = NULL;
  size_t n = 0;
  int64_t t = 0;
  bool present = false;
  const char *expected_payload = "\"sub\":\"user-1\"";

  CHECK_STATUS(cg_validator_validate(v, k, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN, FX_NOW,
                                     &r),
               CG_OK);
  CHECK(r != NULL);
  CHECK_STATUS(cg_verified_kid(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "k2048"));
  CHECK_STATUS(cg_verified_iss(r, &p, &n), CG_OK);
  CHECK(p != NULL && n == FX_ISSUER_LEN && memcmp(p, FX_ISSUER, n) == 0);
  CHECK_STATUS(cg_verified_sub(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "user-1"));
  CHECK_STATUS(cg_verified_jti(r, &p, &n), CG_OK);
  CHECK(p == NULL && n == 0);
  CHECK(cg_verified_aud_len(r) == 1);
  CHECK_STATUS(cg_verified_aud(r, 0, &p, &n), CG_OK);
  CHECK(p != NULL && n == FX_AUDIENCE_LEN && memcmp(p, FX_AUDIENCE, n) == 0);
  CHECK_STATUS(cg_verified_aud(r, 1, &p, &n), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_verified_exp(r, &t, &present), CG_OK);
  CHECK(present && t == 1700003600);
  CHECK_STATUS(cg_verified_iat(r, &t, &present), CG_OK);
  CHECK(present && t == 1699999940);
  CHECK_STATUS(cg_verified_nbf(r, &t, &present), CG_OK);
  CHECK(!present && t == 0);
  CHECK_STATUS(cg_verified_payload(r, &p, &n), CG_OK);
  CHECK(p != NULL && n > 2 && p[0] == '{' && p[n - 1] == '}');
  {
    char *copy = malloc(n + 1);
    if (copy != NULL) {
      memcpy(copy, p, n);
      copy[n] = 0;
      CHECK(strstr(copy, expected_payload) != NULL);
      free(copy);
    }
  }
  CHECK_STATUS(cg_verified_payload(r, NULL, &n), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_verified_payload(NULL, &p, &n), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_verified_exp(NULL, &t, &present), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_verified_kid(r, &p, NULL), CG_NULL_ARGUMENT);
  cg_verified_free(r);

  r = NULL;
  CHECK_STATUS(cg_validator_validate(v, k, FX_TOKEN_VALID_AUD_ARRAY, FX_TOKEN_VALID_AUD_ARRAY_LEN,
                                     FX_NOW, &r),
               CG_OK);
  CHECK(cg_verified_aud_len(r) == 2);
  CHECK_STATUS(cg_verified_aud(r, 0, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "x"));
  CHECK_STATUS(cg_verified_aud(r, 1, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "https://reports.example.com"));
  cg_verified_free(r);

  r = NULL;
  CHECK_STATUS(cg_validator_validate(v, k, FX_TOKEN_VALID_4096, FX_TOKEN_VALID_4096_LEN, FX_NOW,
                                     &r),
               CG_OK);
  CHECK_STATUS(cg_verified_kid(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "k4096"));
  cg_verified_free(r);
  cg_keyset_free(k);
  cg_validator_free(v);
}

static void test_raw(void) {
  uint8_t sig[1024];
  CHECK(FX_RAW_SIG_LEN <= sizeof sig);
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, FX_RAW_N_LEN, FX_RAW_E, FX_RAW_E_LEN, FX_RAW_MSG,
                                   FX_RAW_MSG_LEN, FX_RAW_SIG, FX_RAW_SIG_LEN),
               CG_OK);
  memcpy(sig, FX_RAW_SIG, FX_RAW_SIG_LEN);
  sig[FX_RAW_SIG_LEN - 1] ^= 1;
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, FX_RAW_N_LEN, FX_RAW_E, FX_RAW_E_LEN, FX_RAW_MSG,
                                   FX_RAW_MSG_LEN, sig, FX_RAW_SIG_LEN),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, FX_RAW_N_LEN, FX_RAW_E, FX_RAW_E_LEN, FX_RAW_MSG,
                                   FX_RAW_MSG_LEN - 1, FX_RAW_SIG, FX_RAW_SIG_LEN),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_verify_rs256_raw(NULL, 0, NULL, 0, NULL, 0, NULL, 0), CG_INVALID_SIGNATURE);
  /* e = 1 would make the encoded message itself a valid "signature" of any message: refused,
   * as are an even e and a modulus under 1024 bits (the core's verify_raw). */
  CHECK(FX_RAW_E1_SIG_LEN == FX_RAW_SIG_LEN);
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, FX_RAW_N_LEN, u8("AQ"), 2, FX_RAW_MSG,
                                   FX_RAW_MSG_LEN, FX_RAW_E1_SIG, FX_RAW_E1_SIG_LEN),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, FX_RAW_N_LEN, u8("AAAAAQ"), 6, FX_RAW_MSG,
                                   FX_RAW_MSG_LEN, FX_RAW_E1_SIG, FX_RAW_E1_SIG_LEN),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, FX_RAW_N_LEN, u8("Ag"), 2, FX_RAW_MSG,
                                   FX_RAW_MSG_LEN, FX_RAW_E1_SIG, FX_RAW_E1_SIG_LEN),
               CG_INVALID_SIGNATURE);
  /* A 512-bit modulus with e = 65537: under the 1024-bit floor. */
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, 86, FX_RAW_E, FX_RAW_E_LEN, FX_RAW_MSG,
                                   FX_RAW_MSG_LEN, FX_RAW_SIG, 64),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_verify_rs256_raw(FX_RAW_N, FX_RAW_N_LEN, FX_RAW_E, FX_RAW_E_LEN, NULL, 3,
                                   FX_RAW_SIG, FX_RAW_SIG_LEN),
               CG_NULL_ARGUMENT);
}

static void test_token_cache(void) {
  cg_validator *v = default_validator();
  cg_keyset *k = default_keyset();
  cg_token_cache *c = NULL;
  cg_verified *r = NULL;
  uint64_t hits = 0, misses = 0, evictions = 0;
  const uint8_t *p;
  size_t n;

  CHECK_STATUS(cg_token_cache_new(2, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_token_cache_new(2, &c), CG_OK);
  CHECK_STATUS(cg_validator_validate_cached(v, c, k, FX_TOKEN_VALID_2048,
                                            FX_TOKEN_VALID_2048_LEN, FX_NOW, &r),
               CG_OK);
  cg_verified_free(r);
  r = NULL;
  CHECK_STATUS(cg_validator_validate_cached(v, c, k, FX_TOKEN_VALID_2048,
                                            FX_TOKEN_VALID_2048_LEN, FX_NOW + 1, &r),
               CG_OK);
  CHECK_STATUS(cg_verified_sub(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "user-1"));
  cg_verified_free(r);
  r = NULL;
  /* A hit still checks the clock: exp is 1700003600. */
  CHECK_STATUS(cg_validator_validate_cached(v, c, k, FX_TOKEN_VALID_2048,
                                            FX_TOKEN_VALID_2048_LEN, 1700003600u, &r),
               CG_TOKEN_EXPIRED);
  CHECK(r == NULL);
  /* Failures are not cached. */
  CHECK_STATUS(cg_validator_validate_cached(v, c, k, FX_TOKEN_INVALID_SIGNATURE_ATTACKER,
                                            FX_TOKEN_INVALID_SIGNATURE_ATTACKER_LEN, FX_NOW, &r),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_validator_validate_cached(v, c, k, FX_TOKEN_INVALID_SIGNATURE_ATTACKER,
                                            FX_TOKEN_INVALID_SIGNATURE_ATTACKER_LEN, FX_NOW, &r),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_token_cache_stats(c, &hits, &misses, &evictions), CG_OK);
  CHECK(hits == 2 && misses == 3 && evictions == 0);
  CHECK_STATUS(cg_token_cache_stats(c, NULL, &misses, &evictions), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_validate_cached(v, NULL, k, FX_TOKEN_VALID_2048,
                                            FX_TOKEN_VALID_2048_LEN, FX_NOW, &r),
               CG_NULL_ARGUMENT);
  cg_token_cache_free(c);
  cg_keyset_free(k);
  cg_validator_free(v);
}

/* ------------------------------------------------------------------------------------------ */
/* The key-set cache policy (SPEC §4), driven as a C service with its own HTTP client would. */

static void test_keyset_cache(void) {
  cg_validator *v = default_validator();
  cg_keyset_cache *c = NULL;
  cg_keyset *current = NULL;
  cg_verified *r = NULL;
  cg_decision d;
  cg_set_state state;
  uint64_t ticket = 0, second = 0, fresh_until = 0, t = FX_NOW;
  bool flag = false;
  static const char not_jwks[] = "<html>502</html>";

  CHECK_STATUS(cg_keyset_cache_new(100, 0, &c), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_new(0, 0, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_new(0, 0, &c), CG_OK);

  /* Nothing yet: fetch now; until then, jwks_unavailable. */
  CHECK_STATUS(cg_keyset_cache_state(c, t, &state, &fresh_until), CG_OK);
  CHECK(state == CG_SET_MISSING && fresh_until == 0);
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN, t,
                                        &r),
               CG_JWKS_UNAVAILABLE);
  CHECK_STATUS(cg_keyset_cache_current(c, t, &current), CG_JWKS_UNAVAILABLE);
  CHECK(current == NULL);
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, &ticket), CG_OK);
  CHECK(d == CG_DECISION_FETCH && ticket != 0);
  /* One fetch at a time: another caller waits. */
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, &second), CG_OK);
  CHECK(d == CG_DECISION_WAIT && second == 0);

  /* The issuer is down: counted, then a backoff (1 s). */
  CHECK_STATUS(cg_keyset_cache_fetch_failed(c, ticket, t, &flag), CG_OK);
  CHECK(flag);
  CHECK_STATUS(cg_keyset_cache_fetch_failed(c, ticket, t, &flag), CG_OK);
  CHECK(!flag); /* a second report changes nothing */
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, &ticket), CG_OK);
  CHECK(d == CG_DECISION_UNAVAILABLE && ticket == 0);
  CHECK(cg_keyset_cache_retry_after(c, t) >= 1);

  /* A body that is not a JWKS is a failed fetch: backoff 2 s. */
  t += 1;
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, &ticket), CG_OK);
  CHECK(d == CG_DECISION_FETCH && ticket != 0);
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(c, ticket, t, u8(not_jwks), strlen(not_jwks),
                                               NULL, 0, &flag),
               CG_INVALID_JWKS);
  CHECK_STATUS(cg_keyset_cache_poll(c, t + 1, &d, &ticket), CG_OK);
  CHECK(d == CG_DECISION_UNAVAILABLE);
  CHECK(cg_keyset_cache_retry_after(c, t + 1) == 1);

  /* It answers with only k4096 and max-age=3600. */
  t += 2;
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, &ticket), CG_OK);
  CHECK(d == CG_DECISION_FETCH);
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(c, ticket, t, NULL, 5, NULL, 0, &flag),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(c, ticket, t, FX_JWKS_ONLY_K4096,
                                               FX_JWKS_ONLY_K4096_LEN, u8("public, max-age=3600"),
                                               20, &flag),
               CG_OK);
  CHECK(flag);
  CHECK(cg_keyset_cache_generation(c) == 1);
  CHECK_STATUS(cg_keyset_cache_state(c, t, &state, &fresh_until), CG_OK);
  CHECK(state == CG_SET_FRESH && fresh_until == t + 3600);
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, &ticket), CG_OK);
  CHECK(d == CG_DECISION_USE_CURRENT && ticket == 0);
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_VALID_4096, FX_TOKEN_VALID_4096_LEN, t,
                                        &r),
               CG_OK);
  cg_verified_free(r);
  r = NULL;
  CHECK_STATUS(cg_keyset_cache_current(c, t, &current), CG_OK);
  CHECK(cg_keyset_len(current) == 1);

  /* Key rotation: a k2048 token is unknown; refetch once, then retry it once. */
  t += 10;
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN, t,
                                        &r),
               CG_UNKNOWN_KEY);
  CHECK_STATUS(cg_keyset_cache_unknown_key(c, t, &ticket), CG_OK);
  CHECK(ticket != 0);
  CHECK_STATUS(cg_keyset_cache_unknown_key(c, t, &second), CG_OK);
  CHECK(second == 0); /* a fetch is in flight */
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(c, ticket, t, FX_JWKS, FX_JWKS_LEN, NULL, 0, &flag),
               CG_OK);
  CHECK(flag && cg_keyset_cache_generation(c) == 2);
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN, t,
                                        &r),
               CG_OK);
  cg_verified_free(r);
  r = NULL;
  /* The old handle still holds the old set, safely. */
  CHECK(cg_keyset_len(current) == 1);
  cg_keyset_free(current);
  current = NULL;
  /* Without Cache-Control: fresh for 10 min. */
  CHECK_STATUS(cg_keyset_cache_state(c, t, &state, &fresh_until), CG_OK);
  CHECK(fresh_until == t + 600);

  /* A really unknown kid: the cooldown (30 s) stops a second refetch. */
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_UNKNOWN_KID, FX_TOKEN_UNKNOWN_KID_LEN,
                                        t + 5, &r),
               CG_UNKNOWN_KEY);
  CHECK_STATUS(cg_keyset_cache_unknown_key(c, t + 5, &ticket), CG_OK);
  CHECK(ticket == 0);
  CHECK_STATUS(cg_keyset_cache_unknown_key(c, t + 31, &ticket), CG_OK);
  CHECK(ticket != 0);
  CHECK_STATUS(cg_keyset_cache_fetch_failed(c, ticket, t + 31, &flag), CG_OK);
  CHECK(flag);
  /* A failure keeps the last good set in use. */
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN,
                                        t + 32, &r),
               CG_OK);
  cg_verified_free(r);
  r = NULL;

  /* Stale after 10 min: use it and refresh in the background. */
  t += 700;
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, &ticket), CG_OK);
  CHECK(d == CG_DECISION_REFRESH && ticket != 0);
  CHECK_STATUS(cg_keyset_cache_state(c, t, &state, &fresh_until), CG_OK);
  CHECK(state == CG_SET_STALE);
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_VALID_4096, FX_TOKEN_VALID_4096_LEN,
                                        FX_NOW, &r),
               CG_OK);
  cg_verified_free(r);
  r = NULL;
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(c, ticket, t, FX_JWKS, FX_JWKS_LEN,
                                               u8("max-age=5"), 9, &flag),
               CG_OK);
  CHECK(flag);
  CHECK_STATUS(cg_keyset_cache_state(c, t, &state, &fresh_until), CG_OK);
  CHECK(state == CG_SET_FRESH && fresh_until == t + 60); /* clamped to 60 s */
  /* A ticket this cache never issued changes nothing. */
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(c, 999999, t, FX_JWKS, FX_JWKS_LEN, NULL, 0,
                                               &flag),
               CG_OK);
  CHECK(!flag);
  CHECK_STATUS(cg_keyset_cache_fetch_failed(c, 999999, t, &flag), CG_OK);
  CHECK(!flag);

  /* Past the 24 h grace with a failing issuer: unusable. */
  t += 60 + 86400 + 1;
  CHECK_STATUS(cg_keyset_cache_state(c, t, &state, &fresh_until), CG_OK);
  CHECK(state == CG_SET_EXPIRED);
  CHECK_STATUS(cg_keyset_cache_validate(c, v, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN, t,
                                        &r),
               CG_JWKS_UNAVAILABLE);

  /* NULL arguments. */
  CHECK_STATUS(cg_keyset_cache_poll(NULL, t, &d, &ticket), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_poll(c, t, NULL, &ticket), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_poll(c, t, &d, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_unknown_key(c, t, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_fetch_failed(c, 1, t, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(c, 1, t, FX_JWKS, FX_JWKS_LEN, NULL, 0, NULL),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_validate(c, NULL, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN, t,
                                        &r),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_keyset_cache_state(c, t, NULL, &fresh_until), CG_NULL_ARGUMENT);
  CHECK(r == NULL);
  cg_keyset_cache_free(c);
  cg_validator_free(v);
}

/* ------------------------------------------------------------------------------------------ */
/* SPEC §7: profiles, client ids, max_lifetime, derived values. */

static void test_options_profiles(void) {
  cg_options *o = NULL;
  cg_validator *v = NULL;
  cg_profile profile = CG_PROFILE_CRYPTR;
  uint32_t claims = 0;
  uint64_t seconds = 7;
  bool present = true;

  CHECK_STATUS(cg_options_new(&o), CG_OK);
  /* Defaults: the rfc profile, exp+iss+aud, no max_lifetime. */
  CHECK_STATUS(cg_options_profile(o, &profile), CG_OK);
  CHECK(profile == CG_PROFILE_RFC);
  CHECK_STATUS(cg_options_required_claims(o, &claims), CG_OK);
  CHECK(claims == CG_CLAIMS_DEFAULT);
  CHECK_STATUS(cg_options_max_lifetime(o, &seconds, &present), CG_OK);
  CHECK(!present && seconds == 0);
  /* The cryptr profile's defaults follow the profile until set. */
  CHECK_STATUS(cg_options_set_profile(o, CG_PROFILE_CRYPTR), CG_OK);
  CHECK_STATUS(cg_options_profile(o, &profile), CG_OK);
  CHECK(profile == CG_PROFILE_CRYPTR);
  CHECK_STATUS(cg_options_required_claims(o, &claims), CG_OK);
  CHECK(claims == CG_CLAIMS_CRYPTR_DEFAULT);
  CHECK_STATUS(cg_options_max_lifetime(o, &seconds, &present), CG_OK);
  CHECK(present && seconds == CG_CRYPTR_MAX_LIFETIME);
  CHECK_STATUS(cg_options_set_max_lifetime(o, 3600), CG_OK);
  CHECK_STATUS(cg_options_max_lifetime(o, &seconds, &present), CG_OK);
  CHECK(present && seconds == 3600);
  CHECK_STATUS(cg_options_set_max_lifetime_none(o), CG_OK);
  CHECK_STATUS(cg_options_max_lifetime(o, &seconds, &present), CG_OK);
  CHECK(!present && seconds == 0);
  /* Set explicitly: kept whatever the profile. */
  CHECK_STATUS(cg_options_set_required_claims(o, CG_CLAIM_EXP), CG_OK);
  CHECK_STATUS(cg_options_set_profile(o, CG_PROFILE_RFC), CG_OK);
  CHECK_STATUS(cg_options_required_claims(o, &claims), CG_OK);
  CHECK(claims == CG_CLAIM_EXP);
  CHECK_STATUS(cg_options_max_lifetime(o, &seconds, &present), CG_OK);
  CHECK(!present);
  /* Unknown profiles, NULL arguments. */
  CHECK_STATUS(cg_options_set_profile(o, 2), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_options_set_profile(o, -1), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_options_set_profile(NULL, CG_PROFILE_RFC), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_set_max_lifetime(NULL, 1), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_set_max_lifetime_none(NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_add_client_id(NULL, FX_CP_CLIENT_ID, FX_CP_CLIENT_ID_LEN),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_add_client_id(o, NULL, 3), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_profile(o, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_required_claims(NULL, &claims), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_max_lifetime(o, &seconds, NULL), CG_NULL_ARGUMENT);

  /* A validator needs an issuer and an audience or a client id; max_lifetime 0 is an error. */
  CHECK_STATUS(cg_options_add_issuer(o, FX_CP_ISSUER, FX_CP_ISSUER_LEN), CG_OK);
  CHECK_STATUS(cg_validator_new(o, &v), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_options_add_client_id(o, FX_CP_CLIENT_ID, FX_CP_CLIENT_ID_LEN), CG_OK);
  CHECK_STATUS(cg_validator_new(o, &v), CG_OK);
  cg_validator_free(v);
  v = NULL;
  CHECK_STATUS(cg_options_set_max_lifetime(o, 0), CG_OK);
  CHECK_STATUS(cg_validator_new(o, &v), CG_INVALID_ARGUMENT);
  CHECK(v == NULL);
  cg_options_free(o);
}

/* A cryptr-profile validator for the cryptr_profile group; `client_id`: accept the v3 client. */
static cg_validator *cryptr_validator(int profile, int client_id, int no_max_lifetime) {
  cg_options *o = NULL;
  cg_validator *v = NULL;
  if (cg_options_new(&o) != CG_OK) return NULL;
  cg_options_set_profile(o, profile);
  cg_options_add_issuer(o, FX_CP_ISSUER, FX_CP_ISSUER_LEN);
  cg_options_add_audience(o, FX_CP_AUDIENCE, FX_CP_AUDIENCE_LEN);
  if (client_id) cg_options_add_client_id(o, FX_CP_CLIENT_ID, FX_CP_CLIENT_ID_LEN);
  if (no_max_lifetime) cg_options_set_max_lifetime_none(o);
  if (cg_validator_new(o, &v) != CG_OK) v = NULL;
  cg_options_free(o);
  return v;
}

static cg_status cp_run(const cg_validator *v, const cg_keyset *k, const uint8_t *token,
                        size_t len) {
  cg_verified *r = NULL;
  cg_status s = cg_validator_validate(v, k, token, len, FX_CP_NOW, &r);
  cg_verified_free(r);
  return s;
}

static void test_cryptr_profile(void) {
  cg_keyset *k = NULL;
  cg_validator *v = cryptr_validator(CG_PROFILE_CRYPTR, 1, 0);
  cg_validator *w;
  cg_verified *r = NULL;
  const uint8_t *p = NULL;
  size_t n = 0;

  CHECK_STATUS(cg_keyset_from_jwks(FX_CP_JWKS, FX_CP_JWKS_LEN, &k), CG_OK);
  CHECK(v != NULL);
#define CP(name) FX_CP_TOKEN_##name, FX_CP_TOKEN_##name##_LEN
  /* A Cryptr v3 token: the issuer only in the header, aud [], client_id, org, scope. */
  CHECK_STATUS(cg_validator_validate(v, k, CP(V3_ACCESS_TOKEN), FX_CP_NOW, &r), CG_OK);
  CHECK_STATUS(cg_verified_issuer(r, &p, &n), CG_OK);
  CHECK(bytes_eq2(p, n, FX_CP_ISSUER, FX_CP_ISSUER_LEN));
  CHECK_STATUS(cg_verified_iss(r, &p, &n), CG_OK);
  CHECK(p == NULL && n == 0); /* no payload iss */
  CHECK_STATUS(cg_verified_client_id(r, &p, &n), CG_OK);
  CHECK(bytes_eq2(p, n, FX_CP_CLIENT_ID, FX_CP_CLIENT_ID_LEN));
  CHECK_STATUS(cg_verified_tenant(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "shark-academy"));
  CHECK(cg_verified_scope_count(r) == 3);
  CHECK_STATUS(cg_verified_scope(r, 0, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "openid"));
  CHECK_STATUS(cg_verified_scope(r, 2, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "profile"));
  p = NULL;
  CHECK_STATUS(cg_verified_scope(r, 3, &p, &n), CG_INVALID_ARGUMENT);
  CHECK(p == NULL);
  CHECK(cg_verified_aud_len(r) == 0);
  CHECK_STATUS(cg_verified_scope(r, 0, NULL, &n), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_verified_tenant(NULL, &p, &n), CG_NULL_ARGUMENT);
  cg_verified_free(r);
  r = NULL;

  /* v1: payload iss, cid, tnt, scp (a space-separated string in very old tokens). */
  CHECK_STATUS(cg_validator_validate(v, k, CP(V1_ACCESS_TOKEN), FX_CP_NOW, &r), CG_OK);
  CHECK_STATUS(cg_verified_client_id(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "d3b07384-d113-4ec6-a1a4-5e2f8c9b7a60"));
  CHECK_STATUS(cg_verified_tenant(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "shark-academy"));
  cg_verified_free(r);
  r = NULL;
  CHECK_STATUS(cg_validator_validate(v, k, CP(V1_SCP_STRING), FX_CP_NOW, &r), CG_OK);
  CHECK(cg_verified_scope_count(r) == 2);
  CHECK_STATUS(cg_verified_scope(r, 0, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "read:courses"));
  CHECK_STATUS(cg_verified_scope(r, 1, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "write"));
  cg_verified_free(r);
  r = NULL;

  /* The refusals of the profile. */
  CHECK_STATUS(cp_run(v, k, CP(V3_OTHER_CLIENT)), CG_INVALID_AUDIENCE);
  CHECK_STATUS(cp_run(v, k, CP(V3_ID_TOKEN)), CG_INVALID_CLAIM);
  CHECK_STATUS(cp_run(v, k, CP(V3_HEADER_ISS_OTHER_TENANT)), CG_INVALID_ISSUER);
  CHECK_STATUS(cp_run(v, k, CP(V3_EXPIRED)), CG_TOKEN_EXPIRED);
  CHECK_STATUS(cp_run(v, k, CP(V3_NO_ISS_ANYWHERE)), CG_MISSING_CLAIM);
  CHECK_STATUS(cp_run(v, k, CP(V3_HEADER_ISS_NUMBER)), CG_INVALID_CLAIM);
  CHECK_STATUS(cp_run(v, k, CP(V3_SCOPE_NOT_STRINGS)), CG_INVALID_CLAIM);
  /* exp in milliseconds: beyond the 30-day max_lifetime of the profile... */
  CHECK_STATUS(cp_run(v, k, CP(V1_EXP_MILLISECONDS)), CG_INVALID_CLAIM);
  w = cryptr_validator(CG_PROFILE_CRYPTR, 1, 1);
  /* ... and accepted when the limit is lifted. */
  CHECK_STATUS(cp_run(w, k, CP(V1_EXP_MILLISECONDS)), CG_OK);
  cg_validator_free(w);
  /* Without the client id, an empty aud accepts nothing. */
  w = cryptr_validator(CG_PROFILE_CRYPTR, 0, 0);
  CHECK_STATUS(cp_run(w, k, CP(V3_NO_CLIENT_IDS)), CG_INVALID_AUDIENCE);
  cg_validator_free(w);
  /* The rfc profile refuses every v3 token. */
  w = cryptr_validator(CG_PROFILE_RFC, 1, 0);
  CHECK_STATUS(cp_run(w, k, CP(V3_RFC_PROFILE)), CG_MISSING_CLAIM);
  CHECK_STATUS(cp_run(w, k, CP(V1_ACCESS_TOKEN)), CG_OK);
  r = NULL;
  CHECK_STATUS(cg_validator_validate(w, k, CP(V1_ACCESS_TOKEN), FX_CP_NOW, &r), CG_OK);
  /* rfc: cid is no client id and there is no tenant. */
  CHECK_STATUS(cg_verified_client_id(r, &p, &n), CG_OK);
  CHECK(p == NULL && n == 0);
  CHECK_STATUS(cg_verified_tenant(r, &p, &n), CG_OK);
  CHECK(p == NULL && n == 0);
  CHECK_STATUS(cg_verified_issuer(r, &p, &n), CG_OK);
  CHECK(bytes_eq2(p, n, FX_CP_ISSUER, FX_CP_ISSUER_LEN));
  cg_verified_free(r);
  cg_validator_free(w);
#undef CP
  cg_validator_free(v);
  cg_keyset_free(k);
}

/* SPEC §8 without the guard: one key set per accepted issuer, chosen by the issuer hint. */
static void test_validate_by_issuer(void) {
  cg_options *o = NULL;
  cg_validator *v = NULL;
  cg_keyset *a = NULL, *b = NULL;
  const cg_keyset *sets[2];
  cg_verified *r = NULL;
  const uint8_t *p = NULL;
  size_t n = 0;

  CHECK_STATUS(cg_keyset_from_jwks(FX_MI_JWKS_A, FX_MI_JWKS_A_LEN, &a), CG_OK);
  CHECK_STATUS(cg_keyset_from_jwks(FX_MI_JWKS_B, FX_MI_JWKS_B_LEN, &b), CG_OK);
  CHECK_STATUS(cg_options_new(&o), CG_OK);
  CHECK_STATUS(cg_options_set_profile(o, CG_PROFILE_CRYPTR), CG_OK);
  CHECK_STATUS(cg_options_add_issuer(o, FX_MI_ISSUER_A, FX_MI_ISSUER_A_LEN), CG_OK);
  CHECK_STATUS(cg_options_add_issuer(o, FX_MI_ISSUER_B, FX_MI_ISSUER_B_LEN), CG_OK);
  CHECK_STATUS(cg_options_add_audience(o, FX_MI_AUDIENCE, FX_MI_AUDIENCE_LEN), CG_OK);
  CHECK_STATUS(cg_options_add_client_id(o, FX_MI_CLIENT_ID, FX_MI_CLIENT_ID_LEN), CG_OK);
  CHECK_STATUS(cg_validator_new(o, &v), CG_OK);
  cg_options_free(o);
  sets[0] = a;
  sets[1] = b;
#define MI(name) FX_MI_TOKEN_##name, FX_MI_TOKEN_##name##_LEN
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(ORG_B), FX_MI_NOW, &r), CG_OK);
  CHECK_STATUS(cg_verified_tenant(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "blue-whale"));
  CHECK_STATUS(cg_verified_issuer(r, &p, &n), CG_OK);
  CHECK(bytes_eq2(p, n, FX_MI_ISSUER_B, FX_MI_ISSUER_B_LEN));
  cg_verified_free(r);
  r = NULL;
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(ORG_A), FX_MI_NOW, &r), CG_OK);
  CHECK_STATUS(cg_verified_tenant(r, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "shark-academy"));
  cg_verified_free(r);
  r = NULL;
  /* B's key in a token that claims A: A's set has no kid-b. */
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(B_KEY_CLAIMS_A), FX_MI_NOW, &r),
               CG_UNKNOWN_KEY);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(B_KEY_AS_KID_A), FX_MI_NOW, &r),
               CG_INVALID_SIGNATURE);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(NOT_CONFIGURED), FX_MI_NOW, &r),
               CG_INVALID_ISSUER);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(NO_HINT), FX_MI_NOW, &r),
               CG_MISSING_CLAIM);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(PAYLOAD_UNDECODABLE), FX_MI_NOW,
                                               &r),
               CG_MALFORMED_TOKEN);
  /* With §2 and A's set alone, the B token fails on the key instead. */
  CHECK_STATUS(cg_validator_validate(v, a, MI(ORG_B), FX_MI_NOW, &r), CG_UNKNOWN_KEY);
  /* No set held yet for B: jwks_unavailable, and A still works. */
  sets[1] = NULL;
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(ORG_B), FX_MI_NOW, &r),
               CG_JWKS_UNAVAILABLE);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(ORG_A), FX_MI_NOW, &r), CG_OK);
  cg_verified_free(r);
  r = NULL;
  /* One set per accepted issuer, no more, no less. */
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 1, MI(ORG_A), FX_MI_NOW, &r),
               CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, NULL, 2, MI(ORG_A), FX_MI_NOW, &r),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, NULL, 0, MI(ORG_A), FX_MI_NOW, &r),
               CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_validator_validate_by_issuer(NULL, sets, 2, MI(ORG_A), FX_MI_NOW, &r),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_validator_validate_by_issuer(v, sets, 2, MI(ORG_A), FX_MI_NOW, NULL),
               CG_NULL_ARGUMENT);
  CHECK(r == NULL);
#undef MI
  cg_validator_free(v);
  cg_keyset_free(a);
  cg_keyset_free(b);
}

/* ------------------------------------------------------------------------------------------ */
/* The host rules: the Bearer parser and the HTTP answers (SPEC §3). */

static cg_status bearer(const char *const *values, size_t count, const uint8_t **token,
                        size_t *token_len) {
  const uint8_t *ptrs[4];
  size_t lens[4], i;
  for (i = 0; i < count && i < 4; i++) {
    ptrs[i] = u8(values[i]);
    lens[i] = strlen(values[i]);
  }
  return cg_bearer_token(count ? ptrs : NULL, count ? lens : NULL, count, token, token_len);
}

static void test_bearer(void) {
  static const struct {
    const char *value;
    cg_status status;
    const char *token;
  } one[] = {
      {"Bearer t", CG_OK, "t"},
      {"bearer abc.def.ghi", CG_OK, "abc.def.ghi"},
      {"BEARER t", CG_OK, "t"},
      {"  bearer   t  ", CG_OK, "t"},
      {"", CG_AUTHORIZATION_HEADER_MISSING, NULL},
      {"   ", CG_AUTHORIZATION_HEADER_MISSING, NULL},
      {"Basic dXNlcjpwYXNz", CG_INVALID_HEADER, NULL},
      {"Bearer", CG_INVALID_HEADER, NULL},
      {"Bearer ", CG_INVALID_HEADER, NULL},
      {"Bearer a b", CG_INVALID_HEADER, NULL},
      {"Bearer\tt", CG_INVALID_HEADER, NULL},
      {"Bearer\xc2\xa0t", CG_INVALID_HEADER, NULL},
      {"Bearer\xa0t", CG_INVALID_HEADER, NULL},
      {"Token t", CG_INVALID_HEADER, NULL},
  };
  static const char *const two[] = {"Bearer a", "Bearer b"};
  const uint8_t *token = NULL;
  size_t token_len = 0, i;
  const uint8_t *ptrs[1];
  size_t lens[1];

  for (i = 0; i < sizeof one / sizeof one[0]; i++) {
    const char *values[1];
    values[0] = one[i].value;
    token = NULL;
    token_len = 99;
    CHECK_STATUS(bearer(values, 1, &token, &token_len), one[i].status);
    if (one[i].token != NULL) {
      CHECK(bytes_eq(token, token_len, one[i].token));
      /* Borrowed from the header value. */
      CHECK(token >= u8(one[i].value) && token < u8(one[i].value) + strlen(one[i].value));
    } else {
      CHECK(token == NULL && token_len == 99);
    }
  }
  /* No header at all, and two headers (even both valid). */
  CHECK_STATUS(bearer(NULL, 0, &token, &token_len), CG_AUTHORIZATION_HEADER_MISSING);
  CHECK_STATUS(bearer(two, 2, &token, &token_len), CG_INVALID_HEADER);
  /* Arguments. */
  ptrs[0] = NULL;
  lens[0] = 3;
  CHECK_STATUS(cg_bearer_token(ptrs, lens, 1, &token, &token_len), CG_NULL_ARGUMENT);
  lens[0] = 0;
  CHECK_STATUS(cg_bearer_token(ptrs, lens, 1, &token, &token_len),
               CG_AUTHORIZATION_HEADER_MISSING);
  CHECK_STATUS(cg_bearer_token(NULL, lens, 1, &token, &token_len), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_bearer_token(ptrs, NULL, 1, &token, &token_len), CG_NULL_ARGUMENT);
  ptrs[0] = u8("Bearer t");
  lens[0] = 8;
  CHECK_STATUS(cg_bearer_token(ptrs, lens, 1, NULL, &token_len), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_bearer_token(ptrs, lens, 1, &token, NULL), CG_NULL_ARGUMENT);
}

/* Reads a string accessor of an answer into a NUL-terminated static buffer ("<NULL>" if absent;
 * the next call overwrites it). */
static const char *answer_text(cg_status (*get)(const cg_http_answer *, const uint8_t **,
                                                size_t *),
                               const cg_http_answer *a) {
  static char buf[512];
  const uint8_t *p = NULL;
  size_t n = 0;
  if (get(a, &p, &n) != CG_OK) return "<error>";
  if (p == NULL) return "<NULL>";
  if (n >= sizeof buf) return "<too long>";
  memcpy(buf, p, n);
  buf[n] = 0;
  /* The strings are NUL-terminated as well. */
  if (p[n] != 0) return "<not NUL-terminated>";
  return buf;
}

static void test_http_answers(void) {
  static const struct {
    cg_status status;
    unsigned http;
    const char *code;
  } table[] = {
      {CG_MALFORMED_TOKEN, 401, "invalid_header"},
      {CG_UNSUPPORTED_ALGORITHM, 401, "invalid_header"},
      {CG_UNKNOWN_KEY, 401, "no_rsa_key"},
      {CG_INVALID_SIGNATURE, 401, "invalid_header"},
      {CG_INVALID_CLAIM, 401, "invalid_claims"},
      {CG_MISSING_CLAIM, 401, "invalid_claims"},
      {CG_TOKEN_EXPIRED, 401, "token_expired"},
      {CG_TOKEN_NOT_YET_VALID, 401, "invalid_claims"},
      {CG_INVALID_ISSUER, 401, "invalid_claims"},
      {CG_INVALID_AUDIENCE, 401, "invalid_claims"},
      {CG_INVALID_JWKS, 503, "jwks_unavailable"},
      {CG_JWKS_UNAVAILABLE, 503, "jwks_unavailable"},
      {CG_AUTHORIZATION_HEADER_MISSING, 401, "authorization_header_missing"},
      {CG_INVALID_HEADER, 401, "invalid_header"},
  };
  static const int not_refusals[] = {CG_OK, CG_NULL_ARGUMENT, CG_BUFFER_TOO_SMALL,
                                     CG_INVALID_ARGUMENT, CG_PANIC, -1, 15, 99, 104};
  size_t i;
  char expected[512], description[256];
  cg_http_answer *a = NULL;

  for (i = 0; i < sizeof table / sizeof table[0]; i++) {
    const char *fine = cg_status_code((int)table[i].status);
    a = NULL;
    CHECK_STATUS(cg_http_answer_for_status((int)table[i].status, 7, &a), CG_OK);
    CHECK(cg_http_answer_status(a) == table[i].http);
    CHECK(strcmp(answer_text(cg_http_answer_code, a), table[i].code) == 0);
    /* The body's error is the fine code; invalid_jwks is one answer with jwks_unavailable. */
    CHECK(strcmp(answer_text(cg_http_answer_error, a),
                 table[i].status == CG_INVALID_JWKS ? "jwks_unavailable" : fine) == 0);
    CHECK(strlen(answer_text(cg_http_answer_description, a)) > 0);
    snprintf(description, sizeof description, "%s", answer_text(cg_http_answer_description, a));
    snprintf(expected, sizeof expected, "{\"code\":\"%s\",\"description\":\"%s\",\"error\":\"%s\"}",
             table[i].code, description, answer_text(cg_http_answer_error, a));
    CHECK(strcmp(answer_text(cg_http_answer_body, a), expected) == 0);
    if (table[i].http == 503) {
      CHECK(cg_http_answer_retry_after(a) == 7);
      CHECK(strcmp(answer_text(cg_http_answer_www_authenticate, a), "<NULL>") == 0);
    } else if (table[i].status == CG_AUTHORIZATION_HEADER_MISSING) {
      /* RFC 6750 §3.1: no error code without credentials. */
      CHECK(cg_http_answer_retry_after(a) == 0);
      CHECK(strcmp(answer_text(cg_http_answer_www_authenticate, a), "Bearer") == 0);
    } else {
      CHECK(cg_http_answer_retry_after(a) == 0);
      snprintf(expected, sizeof expected,
               "Bearer error=\"invalid_token\", error_description=\"%s\"",
               answer_text(cg_http_answer_description, a));
      CHECK(strcmp(answer_text(cg_http_answer_www_authenticate, a), expected) == 0);
    }
    cg_http_answer_free(a);
  }
  /* Retry-After is at least 1. */
  a = NULL;
  CHECK_STATUS(cg_http_answer_for_status(CG_JWKS_UNAVAILABLE, 0, &a), CG_OK);
  CHECK(cg_http_answer_retry_after(a) == 1);
  CHECK(strcmp(answer_text(cg_http_answer_body, a),
               "{\"code\":\"jwks_unavailable\",\"description\":\"no key set could be fetched "
               "from the issuer\",\"error\":\"jwks_unavailable\"}") == 0);
  cg_http_answer_free(a);
  a = NULL;
  CHECK_STATUS(cg_http_answer_for_status(CG_TOKEN_EXPIRED, 0, &a), CG_OK);
  CHECK(strcmp(answer_text(cg_http_answer_description, a), "the token has expired") == 0);
  cg_http_answer_free(a);
  /* Statuses that are no refusal of a request. */
  for (i = 0; i < sizeof not_refusals / sizeof not_refusals[0]; i++) {
    a = NULL;
    CHECK_STATUS(cg_http_answer_for_status(not_refusals[i], 1, &a), CG_INVALID_ARGUMENT);
    CHECK(a == NULL);
  }
  CHECK_STATUS(cg_http_answer_for_status(CG_TOKEN_EXPIRED, 0, NULL), CG_NULL_ARGUMENT);
  {
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_STATUS(cg_http_answer_code(NULL, &p, &n), CG_NULL_ARGUMENT);
    CHECK_STATUS(cg_http_answer_body(NULL, &p, &n), CG_NULL_ARGUMENT);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Threads: shared validator, key set, verified-token cache and key-set cache. */

#define THREADS 4
#define ROUNDS 25

struct shared {
  const cg_validator *validator;
  const cg_keyset *keys;
  const cg_token_cache *tokens;
  const cg_keyset_cache *cache;
  int errors;
};

static void *worker(void *arg) {
  struct shared *s = arg;
  int i, errors = 0;
  for (i = 0; i < ROUNDS; i++) {
    cg_verified *r = NULL;
    cg_decision d;
    uint64_t ticket = 1;
    const uint8_t *p;
    size_t n;
    if (cg_validator_validate(s->validator, s->keys, FX_TOKEN_VALID_2048, FX_TOKEN_VALID_2048_LEN,
                              FX_NOW, &r) != CG_OK ||
        cg_verified_sub(r, &p, &n) != CG_OK || !bytes_eq(p, n, "user-1")) {
      errors++;
    }
    cg_verified_free(r);
    r = NULL;
    if (cg_validator_validate(s->validator, s->keys, FX_TOKEN_INVALID_SIGNATURE_ATTACKER,
                              FX_TOKEN_INVALID_SIGNATURE_ATTACKER_LEN, FX_NOW,
                              &r) != CG_INVALID_SIGNATURE) {
      errors++;
    }
    if (cg_validator_validate_cached(s->validator, s->tokens, s->keys,
                                     (i % 2) ? FX_TOKEN_VALID_2048 : FX_TOKEN_VALID_4096,
                                     (i % 2) ? FX_TOKEN_VALID_2048_LEN : FX_TOKEN_VALID_4096_LEN,
                                     FX_NOW, &r) != CG_OK) {
      errors++;
    }
    cg_verified_free(r);
    r = NULL;
    if (cg_keyset_cache_poll(s->cache, FX_NOW, &d, &ticket) != CG_OK ||
        d != CG_DECISION_USE_CURRENT || ticket != 0) {
      errors++;
    }
    if (cg_keyset_cache_validate(s->cache, s->validator, FX_TOKEN_VALID_4096,
                                 FX_TOKEN_VALID_4096_LEN, FX_NOW, &r) != CG_OK) {
      errors++;
    }
    cg_verified_free(r);
  }
  return (void *)(size_t)errors;
}

static void test_threads(void) {
  struct shared s;
  pthread_t threads[THREADS];
  cg_token_cache *tokens = NULL;
  cg_keyset_cache *cache = NULL;
  cg_validator *v = default_validator();
  cg_keyset *k = default_keyset();
  cg_decision d;
  uint64_t ticket = 0, hits = 0, misses = 0, evictions = 0;
  bool installed = false;
  int i, errors = 0;

  CHECK_STATUS(cg_token_cache_new(16, &tokens), CG_OK);
  CHECK_STATUS(cg_keyset_cache_new(0, 0, &cache), CG_OK);
  CHECK_STATUS(cg_keyset_cache_poll(cache, FX_NOW, &d, &ticket), CG_OK);
  CHECK_STATUS(cg_keyset_cache_fetch_succeeded(cache, ticket, FX_NOW, FX_JWKS, FX_JWKS_LEN, NULL,
                                               0, &installed),
               CG_OK);
  s.validator = v;
  s.keys = k;
  s.tokens = tokens;
  s.cache = cache;
  s.errors = 0;
  for (i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, worker, &s) == 0);
  for (i = 0; i < THREADS; i++) {
    void *result = NULL;
    CHECK(pthread_join(threads[i], &result) == 0);
    errors += (int)(size_t)result;
  }
  CHECK(errors == 0);
  CHECK_STATUS(cg_token_cache_stats(tokens, &hits, &misses, &evictions), CG_OK);
  CHECK(hits + misses == THREADS * ROUNDS);
  CHECK(misses >= 2 && hits >= THREADS * ROUNDS - 2 * THREADS);
  cg_token_cache_free(tokens);
  cg_keyset_cache_free(cache);
  cg_keyset_free(k);
  cg_validator_free(v);
}

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
