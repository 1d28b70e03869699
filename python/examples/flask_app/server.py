"""The Cryptr Flask tutorial's API (step 04: CORS on /api/v1/courses), on cryptr_guard.

Run: ``flask --app server run --port 5000`` from this folder (settings in .env / config.py).
"""

from typing import Any, Mapping, Optional

from flask import Blueprint, Flask, g, jsonify
from flask_cors import CORS

from cryptr_guard.flask import CryptrGuard, requires_auth, requires_scope

api = Blueprint("api", __name__)

COURSES = [
    {
        "id": 1,
        "user_id": "eba25511-afce-4c8e-8cab-f82822434648",
        "title": "learn git",
        "tags": ["collaborative", "git"],
        "img": "https://cdn.cryptr.tech/course/git.svg",
        "desc": "Learn how to create, manage, fork, and collaborate on a project. Git stays a major part of all companies projects. Learn git to be able to manage your project and collaborate with your team.",
        "date": "5 Nov",
        "timestamp": 1604577600,
        "teacher": {"name": "Max", "picture": "https://images.unsplash.com/photo-1558531304-a4773b7e3a9c"},
    },
    {
        "id": 2,
        "user_id": "eba25511-afce-4c8e-8cab-f82822434648",
        "title": "learn rust",
        "tags": ["systems", "rust"],
        "img": "https://cdn.cryptr.tech/course/rust.svg",
        "desc": "Learn the ownership model, traits and lifetimes, and build a fast and safe command-line tool.",
        "date": "12 Nov",
        "timestamp": 1605182400,
        "teacher": {"name": "Clara", "picture": "https://images.unsplash.com/photo-1573496359142-b8d87734a5a2"},
    },
    {
        "id": 3,
        "user_id": "eba25511-afce-4c8e-8cab-f82822434648",
        "title": "secure an api",
        "tags": ["security", "oauth2"],
        "img": "https://cdn.cryptr.tech/course/api.svg",
        "desc": "Validate access tokens, read their claims and answer the right HTTP errors.",
        "date": "19 Nov",
        "timestamp": 1605787200,
        "teacher": {"name": "Leo", "picture": "https://images.unsplash.com/photo-1500648767791-00dcc994a43e"},
    },
]


@api.route("/api/v1/courses")
@requires_auth
def courses():
    """The courses, for any valid Cryptr access token (claims in g.current_user)."""
    return jsonify(COURSES)


@api.route("/api/v1/me")
@requires_scope("openid")
def me():
    """The caller's own claims, for a token with the ``openid`` scope."""
    return jsonify({"sub": g.current_user.get("sub")})


@api.route("/api/v1/public")
def public():
    """An unprotected route (the framework's ceiling in the benchmarks)."""
    return jsonify(COURSES)


def create_app(overrides: Optional[Mapping[str, Any]] = None) -> Flask:
    """The app, configured from config.py (environment and .env), then ``overrides``."""
    app = Flask(__name__)
    app.config.from_object("config")
    if overrides:
        app.config.update(overrides)
    # The tutorial's step 04: CORS on the API routes (errors included, see cryptr_guard.flask).
    CORS(app, resources={r"/api/v1/*": {"origins": "*"}}, expose_headers=["WWW-Authenticate"])
    CryptrGuard(app)
    app.register_blueprint(api)
    return app


app = create_app()

if __name__ == "__main__":
    app.run(port=5000)
