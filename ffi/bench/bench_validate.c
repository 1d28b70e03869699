/*
 * Times cg_validator_validate in a loop (the FFI side of bench/ffi_overhead.sh).
 *
 *   bench_validate JWKS_FILE TOKEN_FILE ISSUER AUDIENCE NOW ITERATIONS BATCHES
 *
 * Prints the median over BATCHES of the mean nanoseconds per call within a batch of ITERATIONS
 * calls (each call validates and frees its result), after one warm-up batch. Same method as
 * ffi/examples/bench_core.rs, which times the core directly.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptr_guard.h"

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  unsigned char *data;
  long size;
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) return NULL;
  rewind(f);
  data = malloc((size_t)size + 1);
  if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *len = (size_t)size;
  return data;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  size_t jwks_len = 0, token_len = 0;
  unsigned char *jwks, *token;
  cg_keyset *keys = NULL;
  cg_options *o = NULL;
  cg_validator *v = NULL;
  uint64_t now;
  long iterations, batches, b, i;
  double *samples;

  if (argc != 8) {
    fprintf(stderr, "usage: bench_validate JWKS TOKEN ISSUER AUDIENCE NOW ITERATIONS BATCHES\n");
    return 2;
  }
  jwks = slurp(argv[1], &jwks_len);
  token = slurp(argv[2], &token_len);
  now = strtoull(argv[5], NULL, 10);
  iterations = strtol(argv[6], NULL, 10);
  batches = strtol(argv[7], NULL, 10);
  samples = malloc(sizeof(double) * (size_t)(batches > 0 ? batches : 1));
  if (jwks == NULL || token == NULL || samples == NULL || iterations <= 0 || batches <= 0 ||
      cg_keyset_from_jwks(jwks, jwks_len, &keys) != CG_OK || cg_options_new(&o) != CG_OK ||
      cg_options_add_issuer(o, (const uint8_t *)argv[3], strlen(argv[3])) != CG_OK ||
      cg_options_add_audience(o, (const uint8_t *)argv[4], strlen(argv[4])) != CG_OK ||
      cg_validator_new(o, &v) != CG_OK) {
    fprintf(stderr, "bench_validate: setup failed\n");
    return 2;
  }
  for (b = -1; b < batches; b++) {
    double start = now_ns();
    for (i = 0; i < iterations; i++) {
      cg_verified *r = NULL;
      if (cg_validator_validate(v, keys, token, token_len, now, &r) != CG_OK) {
        fprintf(stderr, "bench_validate: the token does not validate\n");
        return 1;
      }
      cg_verified_free(r);
    }
    if (b >= 0) samples[b] = (now_ns() - start) / (double)iterations;
  }
  qsort(samples, (size_t)batches, sizeof(double), cmp);
  printf("%.0f\n", samples[batches / 2]);
  cg_validator_free(v);
  cg_options_free(o);
  cg_keyset_free(keys);
  free(samples);
  free(jwks);
  free(token);
  return 0;
}
