/*
 * Making a guard: from the host's settings (their errors name the setting; getenv as the
 * lookup) and from options with explicit JWKS URLs (cg_guard_new).
 * One file of the test_guard program (see test_guard.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_guard.h"

void test_settings(void) {
  struct settings s;
  cg_guard *g = NULL;
  cg_config_error error;
  static const char not_utf8[] = {'x', (char)0xff, 0};

  memset(&s, 0, sizeof s);
  memset(&error, 0, sizeof error);
  /* Nothing configured: the error names the setting to give. */
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(g == NULL);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_BASE_URL"));
  CHECK(error.problem != NULL && error.problem_len > 10);
  CHECK(s.lookups > 0);

  /* A bad value of one setting. */
  two_orgs(&s, "/t/a/.well-known");
  set(&s, "CRYPTR_LEEWAY", "ten");
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_LEEWAY"));
  CHECK(bytes_eq(error.problem, error.problem_len, "must be a whole number of seconds, 0 or more"));
  /* An older name (alias) still works; the error names the current one. */
  set(&s, "CRYPTR_LEEWAY", "");
  set(&s, "CRYPTR_GUARD_LEEWAY", "-1");
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_LEEWAY"));
  set(&s, "CRYPTR_GUARD_LEEWAY", "5");
  /* Plain http JWKS URLs only when allowed. */
  set(&s, "CRYPTR_ALLOW_HTTP", "0");
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_JWKS_URL"));
  set(&s, "CRYPTR_ALLOW_HTTP", "maybe");
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_ALLOW_HTTP"));
  set(&s, "CRYPTR_ALLOW_HTTP", "yes");
  /* Neither an audience nor a client id. */
  set(&s, "CRYPTR_AUDIENCE", NULL);
  set(&s, "CRYPTR_CLIENT_IDS", NULL);
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_AUDIENCE"));
  set(&s, "CRYPTR_CLIENT_IDS", FX_MI_CLIENT_ID_STR);
  /* A value that is not UTF-8. */
  set(&s, "CRYPTR_PROFILE", not_utf8);
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_PROFILE"));
  CHECK(bytes_eq(error.problem, error.problem_len, "is not UTF-8 text"));
  set(&s, "CRYPTR_PROFILE", "RFC");
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_PROFILE"));
  /* One JWKS URL per issuer. */
  set(&s, "CRYPTR_PROFILE", "cryptr");
  set(&s, "CRYPTR_JWKS_URL", "http://127.0.0.1:1/only-one");
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_JWKS_URL"));
  /* The error report is optional; outputs stay untouched on failure. */
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, NULL), CG_INVALID_ARGUMENT);
  CHECK(g == NULL);
  set(&s, "CRYPTR_JWKS_URL", s.urls);
  CHECK_STATUS(cg_guard_from_settings(NULL, &s, &g, &error), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, NULL, &error), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_from_settings(lookup, &s, &g, NULL), CG_OK);
  CHECK(g != NULL);
  CHECK(cg_guard_issuer_count(g) == 2);
  cg_guard_free(g);
}

/* getenv is a lookup as it is (the userdata ignored). */
static const char *env_lookup(void *userdata, const char *name) {
  (void)userdata;
  return getenv(name);
}

void test_settings_from_environment(void) {
  cg_guard *g = NULL;
  cg_config_error error;
  const uint8_t *p = NULL;
  size_t n = 0;
  char url[256];
  snprintf(url, sizeof url, "%s/t/a/.well-known", issuer_url());
  /* Cryptr's own form: the issuers and JWKS URLs derived from the base URL and the tenants. */
  setenv("CRYPTR_BASE_URL", "https://auth.cryptr.eu/", 1);
  setenv("CRYPTR_TENANT_DOMAIN", "shark-academy, blue-whale", 1);
  setenv("CRYPTR_AUDIENCE", FX_MI_AUDIENCE_STR, 1);
  CHECK_STATUS(cg_guard_from_settings(env_lookup, NULL, &g, &error), CG_OK);
  CHECK(cg_guard_issuer_count(g) == 2);
  CHECK_STATUS(cg_guard_issuer_name(g, 1, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "https://auth.cryptr.eu/t/blue-whale"));
  CHECK_STATUS(cg_guard_issuer_jwks_url(g, 1, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "https://auth.cryptr.eu/t/blue-whale/.well-known"));
  CHECK_STATUS(cg_guard_issuer_name(g, 2, &p, &n), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_guard_issuer_jwks_url(g, 2, &p, &n), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_guard_issuer_name(NULL, 0, &p, &n), CG_NULL_ARGUMENT);
  cg_guard_free(g);
  g = NULL;
  setenv("CRYPTR_TENANT_DOMAIN", "shark academy", 1);
  CHECK_STATUS(cg_guard_from_settings(env_lookup, NULL, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(bytes_eq(error.key, error.key_len, "CRYPTR_TENANT_DOMAIN"));
  unsetenv("CRYPTR_BASE_URL");
  unsetenv("CRYPTR_TENANT_DOMAIN");
  unsetenv("CRYPTR_AUDIENCE");
}

/* A guard from options and explicit JWKS URLs. */
void test_guard_new(void) {
  cg_options *o = NULL;
  cg_guard *g = NULL;
  cg_guard_settings settings;
  cg_config_error error;
  char url_a[256], url_b[256];
  const uint8_t *urls[2];
  size_t lens[2];
  struct trace t;
  cg_verified *v = NULL;

  snprintf(url_a, sizeof url_a, "%s/t/a/.well-known", issuer_url());
  snprintf(url_b, sizeof url_b, "%s/t/b/.well-known", issuer_url());
  urls[0] = u8(url_a);
  urls[1] = u8(url_b);
  lens[0] = strlen(url_a);
  lens[1] = strlen(url_b);
  CHECK_STATUS(cg_guard_settings_default(&settings), CG_OK);
  CHECK(settings.min_rsa_bits == 2048 && settings.max_keys == 64 &&
        settings.token_cache_capacity == 10000 && !settings.allow_http &&
        settings.fetch_timeout == 5 && settings.max_jwks_bytes == 1048576);
  CHECK_STATUS(cg_guard_settings_default(NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_options_new(&o), CG_OK);
  cg_options_set_profile(o, CG_PROFILE_CRYPTR);
  cg_options_add_issuer(o, FX_MI_ISSUER_A, FX_MI_ISSUER_A_LEN);
  cg_options_add_issuer(o, FX_MI_ISSUER_B, FX_MI_ISSUER_B_LEN);
  cg_options_add_audience(o, FX_MI_AUDIENCE, FX_MI_AUDIENCE_LEN);
  cg_options_add_client_id(o, FX_MI_CLIENT_ID, FX_MI_CLIENT_ID_LEN);

  /* Plain http is refused by default; one URL per issuer; settings in range. */
  memset(&error, 0, sizeof error);
  CHECK_STATUS(cg_guard_new(o, urls, lens, 2, NULL, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(error.key == NULL && error.key_len == 0 && error.problem_len > 0);
  CHECK(g == NULL);
  settings.allow_http = true;
  CHECK_STATUS(cg_guard_new(o, urls, lens, 1, &settings, &g, &error), CG_INVALID_ARGUMENT);
  settings.min_rsa_bits = 512;
  CHECK_STATUS(cg_guard_new(o, urls, lens, 2, &settings, &g, &error), CG_INVALID_ARGUMENT);
  settings.min_rsa_bits = 2048;
  settings.fetch_timeout = 0;
  CHECK_STATUS(cg_guard_new(o, urls, lens, 2, &settings, &g, &error), CG_INVALID_ARGUMENT);
  settings.fetch_timeout = 5;
  urls[1] = u8("http://127.0.0.1:1/\xff");
  lens[1] = 20;
  memset(&error, 0, sizeof error);
  CHECK_STATUS(cg_guard_new(o, urls, lens, 2, &settings, &g, &error), CG_INVALID_ARGUMENT);
  CHECK(error.key == NULL &&
        bytes_eq(error.problem, error.problem_len, "a JWKS URL is not UTF-8 text"));
  urls[1] = u8(url_b);
  lens[1] = strlen(url_b);
  CHECK_STATUS(cg_guard_new(NULL, urls, lens, 2, &settings, &g, &error), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_new(o, NULL, lens, 2, &settings, &g, &error), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_new(o, urls, lens, 2, &settings, NULL, &error), CG_NULL_ARGUMENT);
  CHECK(g == NULL);
  CHECK_STATUS(cg_guard_new(o, urls, lens, 2, &settings, &g, NULL), CG_OK);
  cg_options_free(o); /* the guard keeps its own copy */
  CHECK_STATUS(drive(g, MI(ORG_B), FX_MI_NOW, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 1);
  CHECK(text_eq(cg_verified_tenant, v, "blue-whale"));
  cg_verified_free(v);
  cg_guard_free(g);
}
