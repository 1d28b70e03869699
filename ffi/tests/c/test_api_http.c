/*
 * The host rules: the Bearer parser and the HTTP answers (SPEC §3).
 * One file of the test_api program (see test_api.c).
 */
#include <stdio.h>
#include <string.h>

#include "test_api.h"

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

void test_bearer(void) {
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

void test_http_answers(void) {
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
