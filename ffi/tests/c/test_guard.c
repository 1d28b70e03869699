/*
 * C tests of the guard (cg_guard, cg_check, cg_fetch), driven end to end as a C host drives it:
 * two Cryptr organizations (tests/vectors/multi_issuer.json), each its own issuer with its own
 * key set, fetched over plain HTTP from a real test issuer on 127.0.0.1 (ffi/tests/c/issuer.py,
 * started by scripts/test-ffi.sh, which passes its base URL in CG_TEST_ISSUER_URL) with a tiny
 * HTTP/1.0 client on plain sockets.
 *
 * Built with -std=c99 -Wall -Wextra -Wpedantic -Werror, linked against the static and the shared
 * library, run under ASan+UBSan and under valgrind by scripts/test-ffi.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cryptr_guard.h"
#include "fixtures.h"
#include "testing.h"

int passed = 0;
int failed = 0;

/* ------------------------------------------------------------------------------------------ */
/* A minimal HTTP/1.0 GET over a plain socket: what a host does with libcurl. */

struct response {
  int failure; /* -1: a response; else a cg_fetch_failure */
  unsigned status;
  char cache_control[256];
  int has_cache_control;
  uint8_t *body;
  size_t body_len;
};

/* Splits "http://127.0.0.1:PORT/path" into its port and path; 0 on success. */
static int parse_url(const char *url, struct sockaddr_in *addr, const char **path) {
  const char *host = url + 7, *colon, *slash;
  char ip[64];
  long port;
  if (strncmp(url, "http://", 7) != 0) return -1;
  colon = strchr(host, ':');
  slash = strchr(host, '/');
  if (colon == NULL || slash == NULL || colon > slash || (size_t)(colon - host) >= sizeof ip) {
    return -1;
  }
  memcpy(ip, host, (size_t)(colon - host));
  ip[colon - host] = 0;
  port = strtol(colon + 1, NULL, 10);
  if (port <= 0 || port > 65535) return -1;
  memset(addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &addr->sin_addr) != 1) return -1;
  *path = slash;
  return 0;
}

/* GETs `url`, giving up after `timeout` seconds per read and past `max_bytes` of body. */
static void http_get(const char *url, uint64_t timeout, size_t max_bytes, struct response *out) {
  struct sockaddr_in addr;
  const char *path = NULL;
  char request[512];
  struct timeval tv;
  uint8_t *data = NULL;
  size_t len = 0, cap = 0, limit = max_bytes + 8192;
  int fd, n;
  uint8_t *end = NULL;
  size_t i;

  memset(out, 0, sizeof *out);
  out->failure = CG_FETCH_FAILURE_NETWORK;
  if (parse_url(url, &addr, &path) != 0) return;
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  tv.tv_sec = (time_t)timeout;
  tv.tv_usec = 0;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return;
  }
  n = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  if (n <= 0 || (size_t)n >= sizeof request || send(fd, request, (size_t)n, 0) != n) {
    close(fd);
    return;
  }
  for (;;) {
    ssize_t got;
    if (len == cap) {
      uint8_t *grown;
      cap = cap ? cap * 2 : 4096;
      grown = realloc(data, cap);
      if (grown == NULL) break;
      data = grown;
    }
    got = recv(fd, data + len, cap - len, 0);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      out->failure = CG_FETCH_FAILURE_TIMEOUT;
      close(fd);
      free(data);
      return;
    }
    if (got <= 0) break;
    len += (size_t)got;
    if (len > limit) {
      out->failure = CG_FETCH_FAILURE_TOO_LARGE;
      close(fd);
      free(data);
      return;
    }
  }
  close(fd);
  for (i = 0; i + 4 <= len; i++) {
    if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
      end = data + i;
      break;
    }
  }
  if (end == NULL || len < 12 || memcmp(data, "HTTP/1.", 7) != 0) {
    free(data);
    return;
  }
  out->status = (unsigned)strtoul((const char *)data + 9, NULL, 10);
  /* Headers: one per line; Cache-Control is the one the guard reads. */
  {
    uint8_t *line = (uint8_t *)memchr(data, '\n', (size_t)(end - data));
    while (line != NULL && line < end) {
      uint8_t *next = (uint8_t *)memchr(line + 1, '\n', (size_t)(end - line));
      uint8_t *stop = next != NULL && next < end ? next : end;
      size_t line_len = (size_t)(stop - (line + 1));
      if (line_len > 14 && strncasecmp((const char *)line + 1, "cache-control:", 14) == 0) {
        size_t v = 15, w = line_len;
        while (v < w && line[v] == ' ') v++;
        while (w > v && (line[w] == '\r' || line[w] == ' ')) w--;
        if (w + 1 - v < sizeof out->cache_control) {
          memcpy(out->cache_control, line + v, w + 1 - v);
          out->cache_control[w + 1 - v] = 0;
          out->has_cache_control = 1;
        }
      }
      line = next != NULL && next < end ? next : NULL;
    }
  }
  out->body_len = len - (size_t)(end + 4 - data);
  if (out->body_len > max_bytes) {
    out->failure = CG_FETCH_FAILURE_TOO_LARGE;
    free(data);
    return;
  }
  out->body = malloc(out->body_len + 1);
  if (out->body == NULL) {
    free(data);
    return;
  }
  memcpy(out->body, end + 4, out->body_len);
  free(data);
  out->failure = -1;
}

/* ------------------------------------------------------------------------------------------ */
/* The host: runs fetches and drives checks, counting what it did. */

struct trace {
  int fetches;
  int discoveries;   /* fetches whose cg_fetch_kind is "discovery" */
  int verifies;
  int waits;
  int background;
  char reason[32];   /* cg_fetch_reason of the last fetch */
  char label[32];    /* the last fetch report's label */
  char message[CG_REPORT_MAX];
};

static const char *issuer_url(void);

/* Where the HTTP client sends requests for https://shark-academy.cryptr.eu: the test issuer's
 * OpenID paths (/oidc, or /impostor for configurations that name another issuer), as a test
 * resolver would. */
static const char *cryptr_route = "/oidc";
#define CRYPTR_ORIGIN "https://shark-academy.cryptr.eu"

/* Runs `fetch` with the HTTP client and reports it (consuming it). */
static void run_fetch(cg_guard *guard, cg_fetch *fetch, uint64_t now, struct trace *t) {
  const uint8_t *url = NULL;
  size_t url_len = 0;
  struct response r;
  const char *label = NULL;
  char resolved[512];
  const char *kind = cg_fetch_kind(fetch);
  t->fetches++;
  if (strcmp(kind, "discovery") == 0) {
    t->discoveries++;
  } else {
    CHECK(strcmp(kind, "key_set") == 0);
  }
  if (cg_fetch_is_background(fetch)) t->background++;
  snprintf(t->reason, sizeof t->reason, "%s", cg_fetch_reason(fetch));
  CHECK_STATUS(cg_fetch_url(fetch, &url, &url_len), CG_OK);
  CHECK(url != NULL && url[url_len] == 0); /* a C string too */
  if (strncmp((const char *)url, CRYPTR_ORIGIN "/", strlen(CRYPTR_ORIGIN) + 1) == 0) {
    snprintf(resolved, sizeof resolved, "%s%s%s", issuer_url(), cryptr_route,
             (const char *)url + strlen(CRYPTR_ORIGIN));
    url = u8(resolved);
  }
  http_get((const char *)url, cg_fetch_timeout(fetch), cg_fetch_max_bytes(fetch), &r);
  if (r.failure < 0) {
    CHECK_STATUS(cg_guard_fetch_done(guard, fetch, (uint16_t)r.status,
                                     r.has_cache_control ? u8(r.cache_control) : NULL,
                                     r.has_cache_control ? strlen(r.cache_control) : 0, r.body,
                                     r.body_len, now, &label, t->message, sizeof t->message),
                 CG_OK);
  } else {
    CHECK_STATUS(cg_guard_fetch_failed(guard, fetch, r.failure, now, &label, t->message,
                                       sizeof t->message),
                 CG_OK);
  }
  snprintf(t->label, sizeof t->label, "%s", label != NULL ? label : "<none>");
  free(r.body);
}

/* Drives a check of `(token, len)` to its answer, as a single-threaded host: the verified token
 * (`*verified`, when not NULL) or the refusal's HTTP answer (`*answer`, when not NULL). */
static cg_status drive(cg_guard *guard, const uint8_t *token, size_t len, uint64_t now,
                       struct trace *t, cg_verified **verified, cg_http_answer **answer) {
  cg_check *check = NULL;
  cg_status result = CG_PANIC;
  int step;
  memset(t, 0, sizeof *t);
  CHECK_STATUS(cg_check_new(token, len, &check), CG_OK);
  for (step = 0; step < 20; step++) {
    cg_action action;
    cg_fetch *fetch = (cg_fetch *)&action; /* must be overwritten */
    CHECK_STATUS(cg_guard_advance(guard, check, now, &action, &fetch), CG_OK);
    if (action != CG_ACTION_FETCH) CHECK(fetch == NULL);
    if (action == CG_ACTION_DONE) {
      cg_verified *v = NULL;
      result = cg_check_result(check, &v);
      if (result == CG_OK) {
        CHECK(v != NULL);
        CHECK_STATUS(cg_check_answer(check, answer != NULL ? answer : &(cg_http_answer *){NULL}),
                     CG_INVALID_ARGUMENT);
      } else {
        cg_http_answer *a = NULL;
        CHECK(v == NULL);
        CHECK_STATUS(cg_check_answer(check, &a), CG_OK);
        if (answer != NULL) {
          *answer = a;
        } else {
          cg_http_answer_free(a);
        }
      }
      if (verified != NULL) {
        *verified = v;
      } else {
        cg_verified_free(v);
      }
      break;
    } else if (action == CG_ACTION_VERIFY) {
      t->verifies++;
      CHECK_STATUS(cg_check_verify(check), CG_OK);
      /* Only once per VERIFY. */
      CHECK_STATUS(cg_check_verify(check), CG_INVALID_ARGUMENT);
    } else if (action == CG_ACTION_FETCH) {
      CHECK(fetch != NULL);
      run_fetch(guard, fetch, now, t);
    } else {
      t->waits++;
      CHECK(cg_check_wait_timeout(check) >= 1);
    }
  }
  CHECK(step < 20);
  cg_check_free(check);
  return result;
}

/* The test issuer's base URL, "http://127.0.0.1:PORT". */
static const char *issuer_url(void) {
  const char *base = getenv("CG_TEST_ISSUER_URL");
  return base != NULL ? base : "";
}

struct setting {
  const char *name;
  const char *value;
};

struct settings {
  struct setting items[16];
  size_t count;
  char urls[1024];
  int lookups;
};

/* The settings lookup: the host's configuration as name/value pairs. */
static const char *lookup(void *userdata, const char *name) {
  struct settings *s = userdata;
  size_t i;
  s->lookups++;
  for (i = 0; i < s->count; i++) {
    if (strcmp(s->items[i].name, name) == 0) return s->items[i].value;
  }
  return NULL;
}

static void set(struct settings *s, const char *name, const char *value) {
  size_t i;
  for (i = 0; i < s->count; i++) {
    if (strcmp(s->items[i].name, name) == 0) {
      s->items[i].value = value;
      return;
    }
  }
  if (s->count < sizeof s->items / sizeof s->items[0]) {
    s->items[s->count].name = name;
    s->items[s->count].value = value;
    s->count++;
  }
}

/* The two organizations' settings, A's JWKS at `path_a` (B's at /t/b/.well-known). */
static void two_orgs(struct settings *s, const char *path_a) {
  memset(s, 0, sizeof *s);
  snprintf(s->urls, sizeof s->urls, "%s%s, %s/t/b/.well-known", issuer_url(), path_a,
           issuer_url());
  set(s, "CRYPTR_ISSUER", FX_MI_ISSUER_A_STR "," FX_MI_ISSUER_B_STR);
  set(s, "CRYPTR_JWKS_URL", s->urls);
  set(s, "CRYPTR_AUDIENCE", FX_MI_AUDIENCE_STR);
  set(s, "CRYPTR_CLIENT_IDS", FX_MI_CLIENT_ID_STR);
  set(s, "CRYPTR_ALLOW_HTTP", "1");
}

static cg_guard *guard_for(struct settings *s) {
  cg_guard *g = NULL;
  cg_config_error error;
  cg_status status = cg_guard_from_settings(lookup, s, &g, &error);
  CHECK_STATUS(status, CG_OK);
  if (status != CG_OK) {
    fprintf(stderr, "settings: %.*s: %.*s\n", (int)error.key_len, (const char *)error.key,
            (int)error.problem_len, (const char *)error.problem);
  }
  return g;
}

static cg_guard *two_org_guard(const char *path_a) {
  struct settings s;
  two_orgs(&s, path_a);
  return guard_for(&s);
}

#define MI(name) FX_MI_TOKEN_##name, FX_MI_TOKEN_##name##_LEN

static int text_eq(cg_status (*get)(const cg_verified *, const uint8_t **, size_t *),
                   const cg_verified *v, const char *expected) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (get(v, &p, &n) != CG_OK) return 0;
  if (expected == NULL) return p == NULL && n == 0;
  return bytes_eq(p, n, expected);
}

static int answer_eq(cg_status (*get)(const cg_http_answer *, const uint8_t **, size_t *),
                     const cg_http_answer *a, const char *expected) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (get(a, &p, &n) != CG_OK) return 0;
  if (expected == NULL) return p == NULL && n == 0;
  return bytes_eq(p, n, expected);
}

/* ------------------------------------------------------------------------------------------ */

static void test_settings(void) {
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

static void test_settings_from_environment(void) {
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

/* Two organizations, each its own issuer with its own key set, fetched on first use. */
static void test_two_organizations(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  struct trace t;
  cg_verified *v = NULL;
  cg_http_answer *a = NULL;
  const uint8_t *p = NULL;
  size_t n = 0;
  bool ready = true;
  uint64_t now = FX_MI_NOW;

  CHECK(cg_guard_issuer_count(g) == 2);
  CHECK_STATUS(cg_guard_issuer_name(g, 0, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, FX_MI_ISSUER_A_STR));
  CHECK(!cg_guard_is_ready(g, now));

  /* Organization A: one fetch of A's set, then the RSA work. */
  CHECK_STATUS(drive(g, MI(ORG_A), now, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.verifies == 1 && t.background == 0);
  CHECK(strcmp(t.reason, "no_usable_set") == 0);
  CHECK(strcmp(t.label, "ok") == 0);
  CHECK(strcmp(t.message, "key set installed: 1 usable key(s), 0 skipped") == 0);
  CHECK(text_eq(cg_verified_issuer, v, FX_MI_ISSUER_A_STR));
  CHECK(text_eq(cg_verified_client_id, v, FX_MI_CLIENT_ID_STR));
  CHECK(text_eq(cg_verified_tenant, v, "shark-academy"));
  CHECK(text_eq(cg_verified_kid, v, "kid-a"));
  CHECK(text_eq(cg_verified_iss, v, NULL)); /* v3: the issuer is only in the header */
  CHECK(cg_verified_scope_count(v) == 3);
  CHECK_STATUS(cg_verified_scope(v, 1, &p, &n), CG_OK);
  CHECK(bytes_eq(p, n, "email"));
  cg_verified_free(v);
  v = NULL;
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, now, &ready), CG_OK);
  CHECK(ready);
  CHECK_STATUS(cg_guard_issuer_ready(g, 1, now, &ready), CG_OK);
  CHECK(!ready);
  CHECK(!cg_guard_is_ready(g, now)); /* B was never fetched */

  /* Organization B: its own set. */
  CHECK_STATUS(drive(g, MI(ORG_B), now, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.verifies == 1);
  CHECK(text_eq(cg_verified_issuer, v, FX_MI_ISSUER_B_STR));
  CHECK(text_eq(cg_verified_tenant, v, "blue-whale"));
  CHECK(text_eq(cg_verified_kid, v, "kid-b"));
  cg_verified_free(v);
  v = NULL;
  CHECK(cg_guard_is_ready(g, now));

  /* A again: the verified-token cache answers, no fetch and no RSA work. */
  CHECK_STATUS(drive(g, MI(ORG_A), now + 1, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 0 && t.verifies == 0);
  CHECK(text_eq(cg_verified_tenant, v, "shark-academy"));
  cg_verified_free(v);
  v = NULL;

  /* B's key under A's issuer: A's set has no kid-b; one refetch (A's set again), then refused. */
  CHECK_STATUS(drive(g, MI(B_KEY_CLAIMS_A), now + 2, &t, NULL, &a), CG_UNKNOWN_KEY);
  CHECK(t.fetches == 1 && t.verifies == 2);
  CHECK(strcmp(t.reason, "unknown_key") == 0);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "no_rsa_key"));
  CHECK(answer_eq(cg_http_answer_error, a, "unknown_key"));
  cg_http_answer_free(a);
  a = NULL;
  /* Forged with kid-a: the signature. */
  CHECK_STATUS(drive(g, MI(B_KEY_AS_KID_A), now + 2, &t, NULL, &a), CG_INVALID_SIGNATURE);
  CHECK(t.fetches == 0);
  CHECK(answer_eq(cg_http_answer_code, a, "invalid_header"));
  CHECK(answer_eq(cg_http_answer_error, a, "invalid_signature"));
  cg_http_answer_free(a);
  a = NULL;

  /* Sets go stale (A's came with max-age=3600 and was refetched at now + 2, B's without
   * Cache-Control: 10 min) and are refreshed in the background while still in use. */
  CHECK_STATUS(drive(g, MI(ORG_B), now + 3700, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.background == 1);
  CHECK(strcmp(t.reason, "stale") == 0);
  CHECK(strcmp(t.label, "ok") == 0);
  CHECK_STATUS(drive(g, MI(ORG_A), now + 3600, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 0); /* still fresh */
  CHECK_STATUS(drive(g, MI(ORG_A), now + 3700, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 1 && t.background == 1);
  CHECK(strcmp(t.reason, "stale") == 0);

  /* The clock is never skipped: the cached token expires (exp 1700036000). */
  CHECK_STATUS(drive(g, MI(ORG_A), 1700036000u, &t, NULL, &a), CG_TOKEN_EXPIRED);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "token_expired"));
  CHECK(answer_eq(cg_http_answer_www_authenticate, a,
                  "Bearer error=\"invalid_token\", error_description=\"the token has expired\""));
  CHECK(cg_http_answer_retry_after(a) == 0);
  cg_http_answer_free(a);

  cg_guard_free(g);
}

/* SPEC §8: a token from an issuer that is not configured never makes the host fetch. */
static void test_not_configured(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  struct trace t;
  cg_http_answer *a = NULL;
  static const char garbage[] = "not a token";

  CHECK_STATUS(drive(g, MI(NOT_CONFIGURED), FX_MI_NOW, &t, NULL, &a), CG_INVALID_ISSUER);
  CHECK(t.fetches == 0 && t.verifies == 0);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "invalid_claims"));
  CHECK(answer_eq(cg_http_answer_error, a, "invalid_issuer"));
  cg_http_answer_free(a);
  CHECK_STATUS(drive(g, MI(NO_HINT), FX_MI_NOW, &t, NULL, NULL), CG_MISSING_CLAIM);
  CHECK(t.fetches == 0);
  CHECK_STATUS(drive(g, MI(HS256), FX_MI_NOW, &t, NULL, NULL), CG_UNSUPPORTED_ALGORITHM);
  CHECK(t.fetches == 0);
  CHECK_STATUS(drive(g, MI(PAYLOAD_UNDECODABLE), FX_MI_NOW, &t, NULL, NULL), CG_MALFORMED_TOKEN);
  CHECK(t.fetches == 0);
  a = NULL;
  CHECK_STATUS(drive(g, u8(garbage), strlen(garbage), FX_MI_NOW, &t, NULL, &a),
               CG_MALFORMED_TOKEN);
  CHECK(cg_http_answer_status(a) == 401);
  CHECK(answer_eq(cg_http_answer_code, a, "invalid_header"));
  CHECK(answer_eq(cg_http_answer_error, a, "malformed_token"));
  {
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_STATUS(cg_http_answer_body(a, &p, &n), CG_OK);
    CHECK(n > 40 && memcmp(p, "{\"code\":\"invalid_header\",\"description\":\"", 39) == 0);
    CHECK(strstr((const char *)p, "\"error\":\"malformed_token\"}") != NULL); /* NUL-terminated */
  }
  cg_http_answer_free(a);
  CHECK(!cg_guard_is_ready(g, FX_MI_NOW)); /* nothing was fetched */
  cg_guard_free(g);
}

/* Key rotation: A's first answer lacks kid-a (it serves B's set); the unknown key triggers one
 * refetch, and the token is retried against the new set. */
static void test_unknown_key_refetch(void) {
  char path[64];
  cg_guard *g;
  struct trace t;
  cg_verified *v = NULL;
  snprintf(path, sizeof path, "/rotate/%ld-%ld/.well-known", (long)getpid(), (long)time(NULL));
  g = two_org_guard(path);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, &v, NULL), CG_OK);
  CHECK(t.fetches == 2 && t.verifies == 2);
  CHECK(strcmp(t.reason, "unknown_key") == 0);
  CHECK(text_eq(cg_verified_tenant, v, "shark-academy"));
  cg_verified_free(v);
  /* A kid A never had: the refetch cools down for 30 s, so no fetch. */
  CHECK_STATUS(drive(g, MI(B_KEY_CLAIMS_A), FX_MI_NOW + 5, &t, NULL, NULL), CG_UNKNOWN_KEY);
  CHECK(t.fetches == 0 && t.verifies == 1);
  /* After the cooldown: one refetch again. */
  CHECK_STATUS(drive(g, MI(B_KEY_CLAIMS_A), FX_MI_NOW + 31, &t, NULL, NULL), CG_UNKNOWN_KEY);
  CHECK(t.fetches == 1 && t.verifies == 2);
  cg_guard_free(g);
}

/* An issuer answering 500: 503 jwks_unavailable with Retry-After, and a backoff. */
static void test_issuer_down(void) {
  cg_guard *g = two_org_guard("/t/down/.well-known");
  struct trace t;
  cg_http_answer *a = NULL;
  bool ready = true;
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, &a), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1);
  CHECK(strcmp(t.label, "http_status") == 0);
  CHECK(strcmp(t.message, "JWKS fetch failed: the issuer answered HTTP 500") == 0);
  CHECK(cg_http_answer_status(a) == 503);
  CHECK(cg_http_answer_retry_after(a) >= 1);
  CHECK(answer_eq(cg_http_answer_code, a, "jwks_unavailable"));
  CHECK(answer_eq(cg_http_answer_error, a, "jwks_unavailable"));
  CHECK(answer_eq(cg_http_answer_www_authenticate, a, NULL));
  {
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_STATUS(cg_http_answer_body(a, &p, &n), CG_OK);
    CHECK(n > 30 && memcmp(p, "{\"code\":\"jwks_unavailable\"", 26) == 0);
  }
  cg_http_answer_free(a);
  a = NULL;
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, &ready), CG_OK);
  CHECK(!ready);
  /* During the backoff: no fetch at all, still 503. */
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, &a), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 0);
  CHECK(cg_http_answer_status(a) == 503 && cg_http_answer_retry_after(a) >= 1);
  cg_http_answer_free(a);
  /* B is unaffected. */
  CHECK_STATUS(drive(g, MI(ORG_B), FX_MI_NOW, &t, NULL, NULL), CG_OK);
  /* After the backoff: fetched again (and still down). */
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW + 2, &t, NULL, NULL), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1);
  cg_guard_free(g);
}

/* A valid set with no usable key: installed, the issuer not ready, 503, refetched on backoff. */
static void test_no_usable_key(void) {
  cg_guard *g = two_org_guard("/t/nokeys/.well-known");
  struct trace t;
  cg_http_answer *a = NULL;
  cg_fetch *f = NULL;
  bool ready = true;
  int seen_a = 0;
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, &a), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1);
  CHECK(strcmp(t.label, "no_usable_key") == 0);
  CHECK(strstr(t.message, "NOT READY") != NULL);
  CHECK(cg_http_answer_status(a) == 503 && cg_http_answer_retry_after(a) >= 1);
  cg_http_answer_free(a);
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, &ready), CG_OK);
  CHECK(!ready);
  CHECK(!cg_guard_is_ready(g, FX_MI_NOW));
  /* The policy asks for A again once the backoff lifts (and for B, never fetched). */
  for (;;) {
    CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW + 1, &f), CG_OK);
    if (f == NULL) break;
    if (cg_fetch_issuer(f) == 0) seen_a++;
    run_fetch(g, f, FX_MI_NOW + 1, &t);
  }
  CHECK(seen_a == 1);
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW + 1, &ready), CG_OK);
  CHECK(!ready);
  CHECK_STATUS(cg_guard_issuer_ready(g, 1, FX_MI_NOW + 1, &ready), CG_OK);
  CHECK(ready);
  CHECK_STATUS(cg_guard_issuer_ready(g, 2, FX_MI_NOW, &ready), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_guard_issuer_ready(g, 0, FX_MI_NOW, NULL), CG_NULL_ARGUMENT);
  cg_guard_free(g);
}

/* At start-up the host fetches every key set before the first request. */
static void test_due_fetches(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  struct trace t;
  cg_fetch *f = NULL;
  int count = 0, issuers = 0;
  memset(&t, 0, sizeof t);
  for (;;) {
    CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW, &f), CG_OK);
    if (f == NULL) break;
    count++;
    issuers |= 1 << cg_fetch_issuer(f);
    CHECK(cg_fetch_timeout(f) == 5 && cg_fetch_max_bytes(f) == 1048576);
    run_fetch(g, f, FX_MI_NOW, &t);
  }
  CHECK(count == 2 && issuers == 3);
  CHECK(cg_guard_is_ready(g, FX_MI_NOW));
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, NULL), CG_OK);
  CHECK(t.fetches == 0);
  /* Nothing more is due until a set goes stale; fetches handed out and never reported can be
   * freed (the guard abandons them after 30 s). */
  CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW + 1, &f), CG_OK);
  CHECK(f == NULL);
  CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW + 3601, &f), CG_OK);
  CHECK(f != NULL && cg_fetch_issuer(f) == 0 && cg_fetch_is_background(f));
  cg_fetch_free(f);
  CHECK_STATUS(cg_guard_due_fetches(NULL, FX_MI_NOW, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_due_fetches(g, FX_MI_NOW, NULL), CG_NULL_ARGUMENT);
  cg_guard_free(g);
}

/* Failures without a response: too large, network, and the report's arguments. */
static void test_fetch_failures(void) {
  struct settings s;
  cg_guard *g;
  struct trace t;
  cg_check *check = NULL;
  cg_action action;
  cg_fetch *f = NULL;
  const char *label = NULL;
  char small[8];

  /* A body over CRYPTR_JWKS_MAX_BYTES: the host stops reading and reports it. */
  two_orgs(&s, "/t/a/.well-known");
  set(&s, "CRYPTR_JWKS_MAX_BYTES", "100");
  g = guard_for(&s);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, NULL), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1 && strcmp(t.label, "too_large") == 0);
  CHECK(strcmp(t.message, "JWKS fetch failed: the document is over the size limit") == 0);
  cg_guard_free(g);

  /* Nobody listening (port 1): a network failure. */
  two_orgs(&s, "/t/a/.well-known");
  snprintf(s.urls, sizeof s.urls, "http://127.0.0.1:1/jwks, %s/t/b/.well-known", issuer_url());
  g = guard_for(&s);
  CHECK_STATUS(drive(g, MI(ORG_A), FX_MI_NOW, &t, NULL, NULL), CG_JWKS_UNAVAILABLE);
  CHECK(t.fetches == 1 && strcmp(t.label, "network") == 0);

  /* The report's arguments; a fetch is consumed whatever the status. */
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH && f != NULL);
  CHECK_STATUS(cg_guard_fetch_failed(g, f, 42, FX_MI_NOW, &label, NULL, 0), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_DONE);
  CHECK_STATUS(cg_check_result(check, &(cg_verified *){NULL}), CG_JWKS_UNAVAILABLE);
  cg_check_free(check);
  check = NULL;
  /* A message cut to the buffer, as snprintf does. */
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 2, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH);
  memset(small, 'x', sizeof small);
  CHECK_STATUS(cg_guard_fetch_failed(g, f, CG_FETCH_FAILURE_TIMEOUT, FX_MI_NOW + 2, &label, small,
                                     sizeof small),
               CG_OK);
  CHECK(strcmp(label, "timeout") == 0 && strcmp(small, "JWKS fe") == 0);
  cg_check_free(check);
  check = NULL;
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 10, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH);
  CHECK_STATUS(cg_guard_fetch_done(NULL, f, 200, NULL, 0, FX_MI_JWKS_B, FX_MI_JWKS_B_LEN,
                                   FX_MI_NOW + 10, &label, NULL, 0),
               CG_NULL_ARGUMENT); /* f is freed: valgrind and ASan see no leak */
  CHECK_STATUS(cg_guard_fetch_done(g, NULL, 200, NULL, 0, FX_MI_JWKS_B, FX_MI_JWKS_B_LEN,
                                   FX_MI_NOW + 10, &label, NULL, 0),
               CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_fetch_failed(g, NULL, CG_FETCH_FAILURE_NETWORK, FX_MI_NOW, &label, NULL,
                                     0),
               CG_NULL_ARGUMENT);
  /* The abandoned fetch holds B back until the guard gives it up (30 s). */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 10, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_WAIT && f == NULL && cg_check_wait_timeout(check) == 5);
  cg_check_free(check);
  /* The body of a 200 need not be a JWKS: an invalid document is a failed fetch. */
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, &check), CG_OK);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW + 100, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH);
  CHECK_STATUS(cg_guard_fetch_done(g, f, 200, u8("max-age=60"), 10, u8("<html>"), 6,
                                   FX_MI_NOW + 100, &label, NULL, 0),
               CG_OK);
  CHECK(strcmp(label, "invalid_jwks") == 0);
  cg_check_free(check);
  cg_guard_free(g);
}

/* A guard from options and explicit JWKS URLs. */
static void test_guard_new(void) {
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

/* The check's arguments and states. */
static void test_check_arguments(void) {
  cg_guard *g = two_org_guard("/t/a/.well-known");
  cg_check *check = NULL;
  cg_action action = CG_ACTION_WAIT;
  cg_fetch *f = NULL;
  cg_verified *v = NULL;
  cg_http_answer *a = NULL;
  size_t index = 99;

  CHECK_STATUS(cg_check_new(NULL, 5, &check), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_A, FX_MI_TOKEN_ORG_A_LEN, NULL), CG_NULL_ARGUMENT);
  CHECK(check == NULL);
  CHECK_STATUS(cg_check_new(FX_MI_TOKEN_ORG_A, FX_MI_TOKEN_ORG_A_LEN, &check), CG_OK);
  CHECK_STATUS(cg_check_result(check, &v), CG_INVALID_ARGUMENT); /* not done */
  CHECK_STATUS(cg_check_answer(check, &a), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_check_issuer(check, &index), CG_INVALID_ARGUMENT);
  CHECK_STATUS(cg_check_verify(check), CG_INVALID_ARGUMENT); /* nothing to verify */
  CHECK_STATUS(cg_guard_advance(NULL, check, FX_MI_NOW, &action, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, NULL, FX_MI_NOW, &action, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, NULL, &f), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, NULL), CG_NULL_ARGUMENT);
  CHECK(action == CG_ACTION_WAIT && f == NULL && v == NULL && a == NULL && index == 99);
  /* The first step of a check for A: fetch A's set; the issuer is chosen. */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_FETCH && f != NULL);
  CHECK_STATUS(cg_check_issuer(check, &index), CG_OK);
  CHECK(index == 0 && cg_fetch_issuer(f) == 0);
  CHECK(!cg_fetch_is_background(f));
  {
    struct trace t;
    memset(&t, 0, sizeof t);
    run_fetch(g, f, FX_MI_NOW, &t);
  }
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_VERIFY && f == NULL);
  /* Advancing without running the verification answers the check with a refusal. */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_DONE);
  CHECK_STATUS(cg_check_result(check, &v), CG_JWKS_UNAVAILABLE);
  CHECK_STATUS(cg_check_verify(check), CG_INVALID_ARGUMENT);
  /* A done check stays done. */
  CHECK_STATUS(cg_guard_advance(g, check, FX_MI_NOW, &action, &f), CG_OK);
  CHECK(action == CG_ACTION_DONE);
  CHECK_STATUS(cg_check_result(check, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_answer(check, NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_result(NULL, &v), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_verify(NULL), CG_NULL_ARGUMENT);
  CHECK_STATUS(cg_check_issuer(check, NULL), CG_NULL_ARGUMENT);
  cg_check_free(check);
  CHECK(!cg_guard_is_ready(NULL, FX_MI_NOW));
  cg_guard_free(g);
}

/* ------------------------------------------------------------------------------------------ */
/* Threads: one guard behind the host's mutex, the RSA work and the HTTP outside it. */

#define THREADS 4
#define ROUNDS 6

struct shared {
  cg_guard *guard;
  pthread_mutex_t lock;
  pthread_cond_t reported; /* broadcast after every fetch report */
  unsigned long reports[2]; /* fetch reports per issuer */
  int fetches;
  int waits;
};

struct worker_arg {
  struct shared *shared;
  int id;
};

/* A request as a multi-threaded host serves it. */
static int serve(struct shared *s, const uint8_t *token, size_t len, const char *tenant) {
  cg_check *check = NULL;
  cg_verified *v = NULL;
  int step, errors = 0;
  if (cg_check_new(token, len, &check) != CG_OK) return 1;
  for (step = 0; step < 50; step++) {
    cg_action action;
    cg_fetch *fetch = NULL;
    cg_status st;
    size_t issuer = 0;
    unsigned long seen = 0;
    pthread_mutex_lock(&s->lock);
    st = cg_guard_advance(s->guard, check, FX_MI_NOW, &action, &fetch);
    if (cg_check_issuer(check, &issuer) == CG_OK && issuer < 2) seen = s->reports[issuer];
    pthread_mutex_unlock(&s->lock);
    if (st != CG_OK) {
      errors++;
      break;
    }
    if (action == CG_ACTION_DONE) break;
    if (action == CG_ACTION_VERIFY) {
      if (cg_check_verify(check) != CG_OK) errors++; /* no lock: touches only the check */
    } else if (action == CG_ACTION_FETCH) {
      const uint8_t *url = NULL;
      size_t url_len = 0, index = cg_fetch_issuer(fetch);
      struct response r;
      const char *label = NULL;
      cg_fetch_url(fetch, &url, &url_len);
      http_get((const char *)url, cg_fetch_timeout(fetch), cg_fetch_max_bytes(fetch), &r);
      pthread_mutex_lock(&s->lock);
      s->fetches++;
      if (r.failure >= 0 ||
          cg_guard_fetch_done(s->guard, fetch, (uint16_t)r.status, NULL, 0, r.body, r.body_len,
                              FX_MI_NOW, &label, NULL, 0) != CG_OK ||
          strcmp(label, "ok") != 0) {
        errors++;
      }
      if (index < 2) s->reports[index]++;
      pthread_cond_broadcast(&s->reported);
      pthread_mutex_unlock(&s->lock);
      free(r.body);
    } else {
      /* Another request's fetch of this issuer's set is in flight: wait for its report. */
      struct timespec deadline;
      clock_gettime(CLOCK_REALTIME, &deadline);
      deadline.tv_sec += (time_t)cg_check_wait_timeout(check);
      pthread_mutex_lock(&s->lock);
      s->waits++;
      while (issuer < 2 && s->reports[issuer] == seen) {
        if (pthread_cond_timedwait(&s->reported, &s->lock, &deadline) != 0) break;
      }
      pthread_mutex_unlock(&s->lock);
    }
  }
  if (cg_check_result(check, &v) != CG_OK || !text_eq(cg_verified_tenant, v, tenant)) errors++;
  cg_verified_free(v);
  cg_check_free(check);
  return errors;
}

static void *worker(void *arg) {
  struct worker_arg *w = arg;
  int i, errors = 0;
  for (i = 0; i < ROUNDS; i++) {
    if ((i + w->id) % 2) {
      errors += serve(w->shared, FX_MI_TOKEN_ORG_B, FX_MI_TOKEN_ORG_B_LEN, "blue-whale");
    } else {
      errors += serve(w->shared, FX_MI_TOKEN_ORG_A, FX_MI_TOKEN_ORG_A_LEN, "shark-academy");
    }
  }
  return (void *)(size_t)errors;
}

/* Issuers without a JWKS URL (NULL in cg_guard_new, CRYPTR_ISSUER alone in the settings): the
 * guard asks for each one's OpenID configuration first, then for the key set at its jwks_uri. */
static void test_discovery(void) {
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

static void test_threads(void) {
  struct shared s;
  struct worker_arg args[THREADS];
  pthread_t threads[THREADS];
  int i, errors = 0;
  memset(&s, 0, sizeof s);
  s.guard = two_org_guard("/t/a/.well-known");
  pthread_mutex_init(&s.lock, NULL);
  pthread_cond_init(&s.reported, NULL);
  for (i = 0; i < THREADS; i++) {
    args[i].shared = &s;
    args[i].id = i;
    CHECK(pthread_create(&threads[i], NULL, worker, &args[i]) == 0);
  }
  for (i = 0; i < THREADS; i++) {
    void *result = NULL;
    CHECK(pthread_join(threads[i], &result) == 0);
    errors += (int)(size_t)result;
  }
  CHECK(errors == 0);
  /* One fetch per issuer, however many requests asked at once. */
  CHECK(s.fetches == 2);
  CHECK(cg_guard_is_ready(s.guard, FX_MI_NOW));
  pthread_cond_destroy(&s.reported);
  pthread_mutex_destroy(&s.lock);
  cg_guard_free(s.guard);
}

int main(void) {
  if (strncmp(issuer_url(), "http://127.0.0.1:", 17) != 0) {
    fprintf(stderr,
            "test_guard: set CG_TEST_ISSUER_URL=http://127.0.0.1:PORT (ffi/tests/c/issuer.py; "
            "scripts/test-ffi.sh does it)\n");
    return 2;
  }
  test_settings();
  test_settings_from_environment();
  test_two_organizations();
  test_not_configured();
  test_unknown_key_refetch();
  test_issuer_down();
  test_no_usable_key();
  test_due_fetches();
  test_fetch_failures();
  test_guard_new();
  test_discovery();
  test_check_arguments();
  test_threads();
  printf("c guard (%s): %d passed, %d failed\n", CG_VERSION, passed, failed);
  return failed == 0 ? 0 : 1;
}
