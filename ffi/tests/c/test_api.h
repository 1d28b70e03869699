/*
 * What the files of the test_api program share: the fixtures, the check macros, the default
 * validator and key set of the examples group, and each file's tests (run in this order by main()
 * in test_api.c).
 */
#ifndef CG_TEST_API_H
#define CG_TEST_API_H

#include "cryptr_guard.h"
#include "fixtures.h"
#include "testing.h"

/* test_api.c: the helpers, and what holds for the whole API. */
cg_validator *default_validator(void);
cg_keyset *default_keyset(void);
void test_version(void);
void test_status_codes(void);
void test_free_null(void);

/* test_api_keys.c: key sets from JWKS documents, the raw RS256 verify. */
void test_keyset(void);
void test_oversized_jwks(void);
void test_raw(void);

/* test_api_validate.c: options, SPEC §2 statuses, arguments, the verified token, its cache. */
void test_options(void);
void test_validate_statuses(void);
void test_validate_arguments(void);
void test_verified(void);
void test_token_cache(void);

/* test_api_keyset_cache.c: the key-set cache policy (SPEC §4). */
void test_keyset_cache(void);

/* test_api_profiles.c: profiles, client ids, derived values (SPEC §7), several issuers (§8). */
void test_options_profiles(void);
void test_cryptr_profile(void);
void test_validate_by_issuer(void);

/* test_api_http.c: the host rules, the Bearer parser and the HTTP answers (SPEC §3). */
void test_bearer(void);
void test_http_answers(void);

/* test_api_threads.c: handles shared between threads. */
void test_threads(void);

#endif
