/*
 * SPEC §7: profiles, client ids, max_lifetime, derived values on the cryptr_profile.json tokens;
 * SPEC §8 without the guard: one key set per accepted issuer (multi_issuer.json).
 * One file of the test_api program (see test_api.c).
 */
#include <stdbool.h>

#include "test_api.h"

void test_options_profiles(void) {
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

void test_cryptr_profile(void) {
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
void test_validate_by_issuer(void) {
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
