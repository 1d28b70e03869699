/*
 * The C conformance runner: runs every vector case through the public C API (cryptr_guard.h)
 * and prints the outcomes in the "Runner output" format of tests/vectors/FORMAT.md.
 *
 *   flatten.py VECTORS... | runner
 *
 * Input: the line format written by flatten.py (hex fields; see there). Output: one JSON object
 * per case on stdout, nothing else; a malformed input line is reported on stderr (exit 2).
 * A token group with one key set is validated the SPEC §2 way (cg_validator_validate), a group
 * with a key set per issuer (`jwks_by_issuer`) the SPEC §8 way (cg_validator_validate_by_issuer);
 * every valid case prints the SPEC §7 derived values.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptr_guard.h"

#define MAX_FIELDS 16
#define MAX_ISSUERS 64

struct buf {
  uint8_t *data;
  size_t len;
  int present;
};

static void fail(const char *what, long line) {
  fprintf(stderr, "run-c: input line %ld: %s\n", line, what);
  exit(2);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* "-": absent; "=": empty; else hex. */
static struct buf unhex(const char *field, long line) {
  struct buf b = {NULL, 0, 1};
  size_t n = strlen(field), i;
  if (strcmp(field, "-") == 0) {
    b.present = 0;
    return b;
  }
  b.data = malloc(n / 2 + 1);
  if (b.data == NULL) fail("out of memory", line);
  if (strcmp(field, "=") == 0) return b;
  if (n % 2 != 0) fail("odd-length hex", line);
  for (i = 0; i < n; i += 2) {
    int hi = hexval(field[i]), lo = hexval(field[i + 1]);
    if (hi < 0 || lo < 0) fail("bad hex", line);
    b.data[b.len++] = (uint8_t)(hi * 16 + lo);
  }
  return b;
}

static unsigned long long number(const char *field, long line) {
  char *end = NULL;
  unsigned long long v = strtoull(field, &end, 10);
  if (end == field || *end != 0) fail("bad number", line);
  return v;
}

/* Writes `(p, n)` (UTF-8) as a JSON string. */
static void json_string(const uint8_t *p, size_t n) {
  size_t i;
  putchar('"');
  for (i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c == '"' || c == '\\') {
      putchar('\\');
      putchar(c);
    } else if (c < 0x20 || c == 0x7f) {
      printf("\\u%04x", c);
    } else {
      putchar(c);
    }
  }
  putchar('"');
}

/* Writes a valid JSON text without its insignificant whitespace (so it fits on one line),
 * every value kept exactly as written. */
static void json_minified(const uint8_t *p, size_t n) {
  size_t i;
  int in_string = 0, escaped = 0;
  for (i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (in_string) {
      putchar(c);
      if (escaped) {
        escaped = 0;
      } else if (c == '\\') {
        escaped = 1;
      } else if (c == '"') {
        in_string = 0;
      }
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      in_string = c == '"';
      putchar(c);
    }
  }
}

static void print_name(const struct buf *name) {
  printf("{\"name\":");
  json_string(name->data, name->len);
}

static void print_error(const struct buf *name, cg_status status) {
  print_name(name);
  printf(",\"valid\":false,\"error\":\"%s\"}\n", cg_status_code((int)status));
}

/* A comma-separated list of hex strings ("-": empty), decoded into `items` (at most `cap`). */
static size_t parse_list(char *list, struct buf *items, size_t cap, long line) {
  char *save = NULL, *item;
  size_t n = 0;
  if (strcmp(list, "-") == 0) return 0;
  for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    if (n == cap) fail("list too long", line);
    items[n++] = unhex(item, line);
  }
  return n;
}

static void free_list(struct buf *items, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) free(items[i].data);
}

/* Applies a comma-separated list of hex strings with `add`. */
static cg_status add_list(cg_options *o, char *list,
                          cg_status (*add)(cg_options *, const uint8_t *, size_t), long line) {
  struct buf items[MAX_ISSUERS];
  size_t n = parse_list(list, items, MAX_ISSUERS, line), i;
  cg_status s = CG_OK;
  for (i = 0; i < n && s == CG_OK; i++) s = add(o, items[i].data, items[i].len);
  free_list(items, n);
  return s;
}

static uint32_t claim_bits(char *list, long line) {
  static const char *names[] = {"exp", "nbf", "iat", "iss", "sub", "aud", "jti"};
  static const uint32_t bits[] = {CG_CLAIM_EXP, CG_CLAIM_NBF, CG_CLAIM_IAT, CG_CLAIM_ISS,
                                  CG_CLAIM_SUB, CG_CLAIM_AUD, CG_CLAIM_JTI};
  uint32_t out = 0;
  char *save = NULL, *item;
  size_t i;
  if (strcmp(list, "-") == 0) return 0;
  for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    struct buf b = unhex(item, line);
    int found = 0;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
      if (b.len == strlen(names[i]) && memcmp(b.data, names[i], b.len) == 0) {
        out |= bits[i];
        found = 1;
      }
    }
    free(b.data);
    if (!found) fail("unknown required claim", line);
  }
  return out;
}

/* The key sets of the current token group: one (SPEC §2), or one per issuer (SPEC §8). */
struct group {
  int by_issuer;
  uint32_t min_rsa_bits;
  cg_keyset *keys; /* one set: NULL when the document was refused */
  cg_status keys_status;
  size_t issuers;
  struct buf issuer[MAX_ISSUERS];
  cg_keyset *issuer_keys[MAX_ISSUERS]; /* NULL when refused */
};

static void group_clear(struct group *g) {
  size_t i;
  cg_keyset_free(g->keys);
  for (i = 0; i < g->issuers; i++) {
    free(g->issuer[i].data);
    cg_keyset_free(g->issuer_keys[i]);
  }
  memset(g, 0, sizeof *g);
}

/* Writes an optional string as JSON (null when absent). */
static void json_optional(cg_status (*get)(const cg_verified *, const uint8_t **, size_t *),
                          const cg_verified *r, long line) {
  const uint8_t *p = NULL;
  size_t n = 0;
  if (get(r, &p, &n) != CG_OK) fail("a cg_verified accessor", line);
  if (p == NULL) {
    printf("null");
  } else {
    json_string(p, n);
  }
}

static void print_valid(const struct buf *name, const cg_verified *r, long line) {
  const uint8_t *p = NULL;
  size_t n = 0, i, count;
  print_name(name);
  printf(",\"valid\":true,\"kid\":");
  json_optional(cg_verified_kid, r, line);
  printf(",\"claims\":");
  if (cg_verified_payload(r, &p, &n) != CG_OK) fail("cg_verified_payload", line);
  json_minified(p, n);
  /* The SPEC §7 derived values, as the C API hands them to its user. */
  printf(",\"derived\":{\"issuer\":");
  json_optional(cg_verified_issuer, r, line);
  printf(",\"client_id\":");
  json_optional(cg_verified_client_id, r, line);
  printf(",\"tenant\":");
  json_optional(cg_verified_tenant, r, line);
  printf(",\"scopes\":[");
  count = cg_verified_scope_count(r);
  for (i = 0; i < count; i++) {
    if (cg_verified_scope(r, i, &p, &n) != CG_OK) fail("cg_verified_scope", line);
    if (i > 0) putchar(',');
    json_string(p, n);
  }
  printf("]}}\n");
}

static void token_case(char **f, const struct group *g, long line) {
  struct buf name = unhex(f[1], line), token = unhex(f[2], line), typ = unhex(f[8], line);
  struct buf issuers[MAX_ISSUERS];
  size_t issuer_count = parse_list(f[4], issuers, MAX_ISSUERS, line), i;
  uint64_t now = number(f[3], line);
  cg_options *o = NULL;
  cg_validator *v = NULL;
  cg_verified *r = NULL;
  cg_status s = CG_OK;

  if (cg_options_new(&o) != CG_OK) fail("cg_options_new", line);
  for (i = 0; i < issuer_count && s == CG_OK; i++) {
    s = cg_options_add_issuer(o, issuers[i].data, issuers[i].len);
  }
  /* Options a case leaves out ("~") keep the profile's default. */
  if (s == CG_OK && strcmp(f[10], "~") != 0) {
    struct buf profile = unhex(f[10], line);
    int value = -1;
    if (profile.len == 3 && memcmp(profile.data, "rfc", 3) == 0) value = CG_PROFILE_RFC;
    if (profile.len == 6 && memcmp(profile.data, "cryptr", 6) == 0) value = CG_PROFILE_CRYPTR;
    free(profile.data);
    s = cg_options_set_profile(o, value);
  }
  if (s == CG_OK && strcmp(f[11], "~") != 0) {
    s = add_list(o, f[11], cg_options_add_client_id, line);
  }
  if (s == CG_OK && strcmp(f[12], "-") == 0) {
    s = cg_options_set_max_lifetime_none(o);
  } else if (s == CG_OK && strcmp(f[12], "~") != 0) {
    s = cg_options_set_max_lifetime(o, number(f[12], line));
  }
  if (s != CG_OK || add_list(o, f[5], cg_options_add_audience, line) != CG_OK ||
      cg_options_set_leeway(o, number(f[6], line)) != CG_OK ||
      (strcmp(f[7], "~") != 0 &&
       cg_options_set_required_claims(o, claim_bits(f[7], line)) != CG_OK) ||
      (typ.present && cg_options_set_typ(o, typ.data, typ.len) != CG_OK) ||
      cg_options_set_max_token_len(o, (size_t)number(f[9], line)) != CG_OK ||
      cg_validator_new(o, &v) != CG_OK) {
    fail("options rejected", line);
  }
  if (g->by_issuer) {
    /* SPEC §8: the case's accepted issuers, each with the group's set for it (if any). */
    const cg_keyset *sets[MAX_ISSUERS];
    for (i = 0; i < issuer_count; i++) {
      size_t j;
      sets[i] = NULL;
      for (j = 0; j < g->issuers; j++) {
        if (g->issuer[j].len == issuers[i].len &&
            memcmp(g->issuer[j].data, issuers[i].data, issuers[i].len) == 0) {
          sets[i] = g->issuer_keys[j];
        }
      }
    }
    s = cg_validator_validate_by_issuer(v, sets, issuer_count, token.data, token.len, now, &r);
  } else if (g->keys == NULL) {
    s = g->keys_status;
  } else {
    s = cg_validator_validate(v, g->keys, token.data, token.len, now, &r);
  }
  if (s == CG_OK) {
    print_valid(&name, r, line);
  } else {
    print_error(&name, s);
  }
  cg_verified_free(r);
  cg_validator_free(v);
  cg_options_free(o);
  free_list(issuers, issuer_count);
  free(name.data);
  free(token.data);
  free(typ.data);
}

static void jwks_case(char **f, long line) {
  struct buf name = unhex(f[1], line), doc = unhex(f[2], line);
  cg_keyset *k = NULL;
  cg_status s = cg_keyset_from_jwks_with(doc.data, doc.len, (uint32_t)number(f[3], line), 0, &k);
  print_name(&name);
  if (s == CG_OK) {
    size_t i, count = cg_keyset_len(k);
    printf(",\"usable_kids\":[");
    for (i = 0; i < count; i++) {
      const uint8_t *kid = NULL;
      size_t kid_len = 0;
      if (cg_keyset_kid(k, i, &kid, &kid_len) != CG_OK) fail("cg_keyset_kid", line);
      if (i > 0) putchar(',');
      if (kid == NULL) {
        printf("null");
      } else {
        json_string(kid, kid_len);
      }
    }
    printf("],\"skipped\":%lu}\n", (unsigned long)cg_keyset_skipped_len(k));
  } else {
    printf(",\"error\":\"%s\"}\n", cg_status_code((int)s));
  }
  cg_keyset_free(k);
  free(name.data);
  free(doc.data);
}

static void raw_case(char **f, long line) {
  struct buf name = unhex(f[1], line), n = unhex(f[2], line), e = unhex(f[3], line),
             msg = unhex(f[4], line), sig = unhex(f[5], line);
  cg_status s = cg_verify_rs256_raw(n.data, n.len, e.data, e.len, msg.data, msg.len, sig.data,
                                    sig.len);
  if (s != CG_OK && s != CG_INVALID_SIGNATURE) fail("cg_verify_rs256_raw", line);
  print_name(&name);
  printf(",\"valid\":%s}\n", s == CG_OK ? "true" : "false");
  free(name.data);
  free(n.data);
  free(e.data);
  free(msg.data);
  free(sig.data);
}

int main(void) {
  char *text = NULL;
  size_t cap = 0;
  long line = 0;
  struct group group;
  memset(&group, 0, sizeof group);

  while (getline(&text, &cap, stdin) != -1) {
    char *f[MAX_FIELDS], *save = NULL, *tok;
    int count = 0;
    line++;
    text[strcspn(text, "\n")] = 0;
    for (tok = strtok_r(text, " ", &save); tok != NULL && count < MAX_FIELDS;
         tok = strtok_r(NULL, " ", &save)) {
      f[count++] = tok;
    }
    if (count == 0) continue;
    if (strcmp(f[0], "G") == 0 && count == 3) {
      struct buf doc = unhex(f[1], line);
      group_clear(&group);
      group.keys_status = cg_keyset_from_jwks_with(doc.data, doc.len,
                                                   (uint32_t)number(f[2], line), 0, &group.keys);
      free(doc.data);
    } else if (strcmp(f[0], "M") == 0 && count == 2) {
      group_clear(&group);
      group.by_issuer = 1;
      group.min_rsa_bits = (uint32_t)number(f[1], line);
    } else if (strcmp(f[0], "I") == 0 && count == 3 && group.by_issuer) {
      struct buf doc = unhex(f[2], line);
      if (group.issuers == MAX_ISSUERS) fail("too many issuers", line);
      group.issuer[group.issuers] = unhex(f[1], line);
      /* A set that is refused stays NULL: its issuer's tokens answer jwks_unavailable. */
      if (cg_keyset_from_jwks_with(doc.data, doc.len, group.min_rsa_bits, 0,
                                   &group.issuer_keys[group.issuers]) != CG_OK) {
        group.issuer_keys[group.issuers] = NULL;
      }
      group.issuers++;
      free(doc.data);
    } else if (strcmp(f[0], "T") == 0 && count == 13) {
      token_case(f, &group, line);
    } else if (strcmp(f[0], "J") == 0 && count == 4) {
      jwks_case(f, line);
    } else if (strcmp(f[0], "R") == 0 && count == 6) {
      raw_case(f, line);
    } else {
      fail("unknown record", line);
    }
  }
  group_clear(&group);
  free(text);
  if (fflush(stdout) != 0) return 2;
  return 0;
}
