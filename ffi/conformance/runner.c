/*
 * The C conformance runner: runs every vector case through the public C API (cryptr_guard.h)
 * and prints the outcomes in the "Runner output" format of tests/vectors/FORMAT.md.
 *
 *   flatten.py VECTORS... | runner
 *
 * Input: the line format written by flatten.py (hex fields; see there). Output: one JSON object
 * per case on stdout, nothing else; a malformed input line is reported on stderr (exit 2).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptr_guard.h"

#define MAX_FIELDS 12

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

/* Applies a comma-separated list of hex strings with `add`. */
static cg_status add_list(cg_options *o, char *list,
                          cg_status (*add)(cg_options *, const uint8_t *, size_t), long line) {
  char *save = NULL, *item;
  if (strcmp(list, "-") == 0) return CG_OK;
  for (item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
    struct buf b = unhex(item, line);
    cg_status s = add(o, b.data, b.len);
    free(b.data);
    if (s != CG_OK) return s;
  }
  return CG_OK;
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

static void token_case(char **f, const cg_keyset *keys, cg_status keys_status, long line) {
  struct buf name = unhex(f[1], line), token = unhex(f[2], line), typ = unhex(f[8], line);
  uint64_t now = number(f[3], line);
  cg_options *o = NULL;
  cg_validator *v = NULL;
  cg_verified *r = NULL;
  cg_status s;

  if (cg_options_new(&o) != CG_OK) fail("cg_options_new", line);
  if (add_list(o, f[4], cg_options_add_issuer, line) != CG_OK ||
      add_list(o, f[5], cg_options_add_audience, line) != CG_OK ||
      cg_options_set_leeway(o, number(f[6], line)) != CG_OK ||
      cg_options_set_required_claims(o, claim_bits(f[7], line)) != CG_OK ||
      (typ.present && cg_options_set_typ(o, typ.data, typ.len) != CG_OK) ||
      cg_options_set_max_token_len(o, (size_t)number(f[9], line)) != CG_OK ||
      cg_validator_new(o, &v) != CG_OK) {
    fail("options rejected", line);
  }
  if (keys == NULL) {
    print_error(&name, keys_status);
  } else {
    s = cg_validator_validate(v, keys, token.data, token.len, now, &r);
    if (s != CG_OK) {
      print_error(&name, s);
    } else {
      const uint8_t *p = NULL;
      size_t n = 0;
      print_name(&name);
      printf(",\"valid\":true,\"kid\":");
      if (cg_verified_kid(r, &p, &n) != CG_OK) fail("cg_verified_kid", line);
      if (p == NULL) {
        printf("null");
      } else {
        json_string(p, n);
      }
      printf(",\"claims\":");
      if (cg_verified_payload(r, &p, &n) != CG_OK) fail("cg_verified_payload", line);
      json_minified(p, n);
      printf("}\n");
    }
  }
  cg_verified_free(r);
  cg_validator_free(v);
  cg_options_free(o);
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
  cg_keyset *keys = NULL;
  cg_status keys_status = CG_OK;

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
      cg_keyset_free(keys);
      keys = NULL;
      keys_status =
          cg_keyset_from_jwks_with(doc.data, doc.len, (uint32_t)number(f[2], line), 0, &keys);
      free(doc.data);
    } else if (strcmp(f[0], "T") == 0 && count == 10) {
      token_case(f, keys, keys_status, line);
    } else if (strcmp(f[0], "J") == 0 && count == 4) {
      jwks_case(f, line);
    } else if (strcmp(f[0], "R") == 0 && count == 6) {
      raw_case(f, line);
    } else {
      fail("unknown record", line);
    }
  }
  cg_keyset_free(keys);
  free(text);
  if (fflush(stdout) != 0) return 2;
  return 0;
}
