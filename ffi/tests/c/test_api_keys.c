/*
 * Key sets from JWKS documents (usable and skipped keys, invalid and oversized documents, the
 * key-set options) and the raw RS256 verify from a modulus and an exponent.
 * One file of the test_api program (see test_api.c).
 */
#include <stdlib.h>
#include <string.h>

#include "test_api.h"

void test_keyset(void) {
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

void test_oversized_jwks(void) {
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

void test_raw(void) {
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
