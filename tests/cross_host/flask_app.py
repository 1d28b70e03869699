"""The cross-host table's Flask app (gunicorn flask_app:app): settings from the environment."""

import os

from flask import Flask, g, jsonify

from cryptr_guard.flask import CryptrGuard, requires_auth, requires_scope

app = Flask(__name__)
app.config.update({k: v for k, v in os.environ.items() if k.startswith("CRYPTR_")})
CryptrGuard(app)


@app.route("/api/v1/courses")
@requires_auth
def courses():
    return jsonify(sub=g.current_user.get("sub"), tenant=g.cryptr_token.tenant)


@app.route("/api/v1/me")
@requires_scope("admin")
def admin():
    return jsonify(sub=g.current_user.get("sub"))


@app.route("/api/v1/public")
def public():
    return jsonify(ok=True)
