"""The Flask host of the cross-host table: the same settings as the server, from the environment."""

import os

from flask import Flask, jsonify

from cryptr_guard.flask import CryptrGuard, requires_auth, requires_scope

app = Flask(__name__)
app.config.update({k: v for k, v in os.environ.items() if k.startswith("CRYPTR_")})
CryptrGuard(app)


@app.route("/api/v1/courses")
@requires_auth
def courses():  # type: ignore[no-untyped-def]
    return jsonify([])


@app.route("/api/v1/me")
@requires_scope("admin")
def me():  # type: ignore[no-untyped-def]
    return jsonify([])
