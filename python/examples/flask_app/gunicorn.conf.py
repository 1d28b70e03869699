"""gunicorn settings for the tutorial app, read by ``gunicorn server:app`` run from this folder
(or ``gunicorn -c path/to/gunicorn.conf.py --chdir path/to server:app``).

What a multi-worker deployment of cryptr_guard needs (python/README.md, "Under gunicorn"):

- **No cold worker.** ``preload_app`` builds the app once in the master, which fetches every key
  set before the first worker is forked (``when_ready``): every worker, a replacement forked after
  a crash or a timeout included, starts with the master's key sets. ``post_worker_init`` then
  fetches, in the worker before it takes a request, whatever is still due (every key set when
  ``preload_app`` is off or the master's fetch failed).
- **Long tokens reach the app.** gunicorn refuses a header line over ``limit_request_field_size``
  (default 8190 bytes) with its own error page. ``Authorization: Bearer <token>`` for SPEC's
  longest token (``CRYPTR_MAX_TOKEN_LEN``, default 8192) is 8,214 bytes plus the line end: the
  limit must be at least ``CRYPTR_MAX_TOKEN_LEN + 24``. 16384 lets tokens up to 16,360 bytes get
  the app's own JSON answer (``malformed_token`` past the length limit).
- **No worker killed by gunicorn.** A request that needs a key set blocks at most one JWKS fetch
  deadline (``CRYPTR_JWKS_TIMEOUT``, default 5 s, at most 30): keep ``timeout`` above it.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
timeout = 30
preload_app = True
limit_request_field_size = 16384


def when_ready(server):
    """In the master, before the first fork: fetch every key set (preload_app only)."""
    if server.cfg.preload_app:
        _fetch_due(server.app.wsgi(), server.log)


def post_worker_init(worker):
    """In each worker, before its first request: fetch what is still due."""
    _fetch_due(worker.wsgi, worker.log)


def _fetch_due(app, log):
    from cryptr_guard.flask import current_guard

    for report in current_guard(app).fetch_due():
        log.info("cryptr_guard: %s: %s (%s)", report["issuer"], report["message"], report["outcome"])
