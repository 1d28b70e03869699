/*
 * The validator: its options, every SPEC §2 outcome with the examples.json tokens and the options
 * that change it, NULL, empty and oversized arguments, the verified token's accessors and the
 * verified-token cache.
 * One file of the test_api program (see test_api.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_api.h"

void test_options(void) {
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

void test_validate_statuses(void) {
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

void test_validate_arguments(void) {
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

void test_verified(void) {
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

void test_token_cache(void) {
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
