/*
 * OpenID discovery: issuers without a JWKS URL, their configuration fetched first, then the
 * key set at its jwks_uri.
 * One file of the test_guard program (see test_guard.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "test_guard.h"

/* Issuers without a JWKS URL (NULL in cg_guard_new, CRYPTR_ISSUER alone in the settings): the
 * guard asks for each one's OpenID configuration first, then for the key set at its jwks_uri. */
void test_discovery(void) {
  cg_options *o = NULL;
  cg_guard *g = NULL;
  cg_config_error error;
  const uint8_t *urls[2] = {NULL, NULL};
  size_t lens[2] = {0, 0};
  const uint8_t *p = NULL;
  size_t n = 0;
  struct trace t;
  struct settings s;
  cg_verified *v = NULL;
  cg_http_answer *a = NULL;
  bool ready = true;

  CHECK_STATUS(cg_options_new(&o), CG_OK);
  cg_options_set_profile(o, CG_PROFILE_CRYPTR);
  cg_options_add_issuer(o, FX_MI_ISSUER_A, FX_MI_ISSUER_A_LEN);
  cg_options_add_issuer(o, FX_MI_ISSUER_B, FX_MI_ISSUER_B_LEN);
  cg_options_add_audience(o, FX_MI_AUDIENCE, FX_MI_AUDIENCE_LEN);
  cg_options_add_client_id(o, FX_MI_CLIENT_ID, FX_MI_CLIENT_ID_LEN);
  memset(&error, 0, sizeof error);
  CHECK_STATUS(cg_guard_new(o, urls, lens, 2, NULL, &g, &error), CG_OK);
  CHECK_STATUS(cg_guard_issuer_jwks_url(g, 0, &p, &n), CG_OK);
  CHECK(n == 0);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 2 && t.discoveries == 1 && t.background == 0);
  CHECK(strcmp(t.label, "ok") == 0);
  CHECK(text_eq(cg_verified_tenant, v, "shark-academy"));
  cg_verified_free(v);
  CHECK_STATUS(cg_guard_issuer_jwks_url(g, 0, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, CRYPTR_ORIGIN "/t/shark-academy/keys"));
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, &ready), CG_OK);
  CHECK(ready);
  CHECK(!cg_guard_is_ready(g, FX_MI_NOW)); /* B is not discovered yet */
  CHECK_STATUS(drive(g, MI(ORG_B), FX_MI_NOW, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 2 && t.discoveries == 1);
  CHECK(text_eq(cg_verified_tenant, v, "blue-whale"));
  cg_verified_free(v);
  CHECK(cg_guard_is_ready(g, FX_MI_NOW));
  /* Both documents cached; a token of another issuer never fetches anything. */
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW + 1, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 0);
  CHECK_STATUS(drive(g, MI(NOT_CONFIGURED), FX_MI_NOW, &t, NULL, NULL), CG_INVALID_ISSUER);
  CHECK(t.fetches == 0);
  cg_guard_free(g);

  /* An issuer that is not an https URL cannot be discovered. */
  cg_options_free(o);
  CHECK_STATUS(cg_options_new(&o), CG_OK);
  cg_options_add_issuer(o, u8("shark-academy"), 13);
  cg_options_add_audience(o, FX_MI_AUDIENCE, FX_MI_AUDIENCE_LEN);
  g = NULL;
  CHECK_STATUS(cg_guard_new(o, urls, lens, 1, NULL, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(g == NULL && error.key == NULL && error.problem_len > 0);
  /* NULL with a length is not "none". */
  lens[0] = 3;
  CHECK_STATUS(cg_guard_new(o, urls, lens, 1, NULL, &g, &error), CG_NULL_ARGUMENT);
  cg_options_free(o);

  /* From the settings: CRYPTR_ISSUER alone. */
  memset(&s, 0, sizeof s);
  set(&s, "CRYPTR_ISSUER", FX_MI_ISSUER_A_STR "," FX_MI_ISSUER_B_STR);
  set(&s, "CRYPTR_AUDIENCE", FX_MI_AUDIENCE_STR);
  set(&s, "CRYPTR_CLIENT_IDS", FX_MI_CLIENT_ID_STR);
  g = guard_for(&s);
  CHECK_STATUS(drive(g, MI(ORG_B), FX_MI_NOW, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 2 && t.discoveries == 1);
  cg_guard_free(g);

  /* A configuration that names another issuer (one more slash): a failed fetch, 503, and the
   * key set is never asked for. */
  cryptr_route = "/impostor";
  g = guard_for(&s);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, &a), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1 && t.discoveries == 1);
  CHECK(strcmp(t.label, "invalid_discovery") == 0);
  CHECK(strstr(t.message, "not the configured issuer") != NULL);
  CHECK(cg_http_answer_status(a) == 503 && cg_http_answer_retry_after(a) >= 1);
  CHECK(answer_eq(cg_http_answer_error, a, "jwks_unavailable"));
  cg_http_answer_free(a);
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, &ready), CG_OK);
  CHECK(!ready);
  cg_guard_free(g);
  cryptr_route = "/oidc";
}
