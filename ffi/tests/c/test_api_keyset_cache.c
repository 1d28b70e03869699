/*
 * The key-set cache policy (SPEC §4), driven as a C service with its own HTTP client would.
 * One file of the test_api program (see test_api.c).
 */
#include <string.h>

#include "test_api.h"

void test_keyset_cache(void) {
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
