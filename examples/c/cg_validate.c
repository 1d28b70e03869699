/*
 * cg_validate: validates an access token with the cryptr-guard C library.
 *
 *   cg_validate [--now SECONDS] JWKS_FILE ISSUER AUDIENCE TOKEN
 *
 * Prints the token's claims (its payload JSON) on stdout and exits 0, or prints the SPEC error
 * code (e.g. "token_expired") on stderr and exits 1. Usage and I/O errors exit 2. TOKEN "-" reads
 * the token from standard input. Without --now, the current time is used.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cryptr_guard.h>

static unsigned char *read_all(FILE *f, size_t *len) {
  size_t cap = 4096, n = 0, got;
  unsigned char *data = malloc(cap), *bigger;
  if (data == NULL) return NULL;
  while ((got = fread(data + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      if (cap > ((size_t)16 << 20)) break; /* 16 MiB is plenty */
      bigger = realloc(data, cap *= 2);
      if (bigger == NULL) {
        free(data);
        return NULL;
      }
      data = bigger;
    }
  }
  *len = n;
  return data;
}

static int usage(void) {
  fprintf(stderr, "usage: cg_validate [--now SECONDS] JWKS_FILE ISSUER AUDIENCE TOKEN|-\n");
  return 2;
}

int main(int argc, char **argv) {
  uint64_t now = (uint64_t)time(NULL);
  unsigned char *jwks = NULL, *token = NULL;
  size_t jwks_len = 0, token_len = 0;
  const char *issuer, *audience;
  cg_keyset *keys = NULL;
  cg_options *options = NULL;
  cg_validator *validator = NULL;
  cg_verified *verified = NULL;
  cg_status status;
  FILE *f;
  int arg = 1, exit_code = 1;

  if (argc > 2 && strcmp(argv[1], "--now") == 0) {
    char *end = NULL;
    now = strtoull(argv[2], &end, 10);
    if (end == argv[2] || *end != 0) return usage();
    arg = 3;
  }
  if (argc - arg != 4) return usage();
  issuer = argv[arg + 1];
  audience = argv[arg + 2];

  f = fopen(argv[arg], "rb");
  if (f == NULL) {
    perror(argv[arg]);
    return 2;
  }
  jwks = read_all(f, &jwks_len);
  fclose(f);
  if (strcmp(argv[arg + 3], "-") == 0) {
    token = read_all(stdin, &token_len);
    while (token != NULL && token_len > 0 &&
           (token[token_len - 1] == '\n' || token[token_len - 1] == '\r')) {
      token_len--;
    }
  } else {
    token_len = strlen(argv[arg + 3]);
    token = malloc(token_len + 1);
    if (token != NULL) memcpy(token, argv[arg + 3], token_len + 1);
  }
  if (jwks == NULL || token == NULL) {
    fprintf(stderr, "cg_validate: out of memory\n");
    free(jwks);
    free(token);
    return 2;
  }

  status = cg_keyset_from_jwks(jwks, jwks_len, &keys);
  if (status == CG_OK) status = cg_options_new(&options);
  if (status == CG_OK)
    status = cg_options_add_issuer(options, (const uint8_t *)issuer, strlen(issuer));
  if (status == CG_OK)
    status = cg_options_add_audience(options, (const uint8_t *)audience, strlen(audience));
  if (status == CG_OK) status = cg_validator_new(options, &validator);
  if (status == CG_OK)
    status = cg_validator_validate(validator, keys, token, token_len, now, &verified);
  if (status == CG_OK) {
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    status = cg_verified_payload(verified, &payload, &payload_len);
    if (status == CG_OK) {
      fwrite(payload, 1, payload_len, stdout);
      putchar('\n');
      exit_code = 0;
    }
  }
  if (status != CG_OK) fprintf(stderr, "%s\n", cg_status_code((int)status));

  cg_verified_free(verified);
  cg_validator_free(validator);
  cg_options_free(options);
  cg_keyset_free(keys);
  free(jwks);
  free(token);
  return exit_code;
}
