/*
 * Threads: shared validator, key set, verified-token cache and key-set cache.
 * One file of the test_api program (see test_api.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stddef.h>

#include "test_api.h"

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

void test_threads(void) {
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
