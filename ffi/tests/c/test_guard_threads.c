/*
 * Threads: one guard behind the host's mutex, the RSA work and the HTTP outside it.
 * One file of the test_guard program (see test_guard.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_guard.h"

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

void test_threads(void) {
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
