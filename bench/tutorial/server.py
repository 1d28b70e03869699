"""The Cryptr Flask tutorial's API as the tutorial writes it (python-jose, the JWKS fetched on
every request), kept as the benchmark baseline. Changed only as far as Flask 3 requires:
`_request_ctx_stack.top.current_user` became `g.current_user`, and `six.moves.urllib` the
standard library's `urllib`. Its logic (and its 500s on bad input) are untouched on purpose.

Configuration from the environment: CRYPTR_BASE_URL, CRYPTR_TENANT_DOMAIN, CRYPTR_AUDIENCE.
"""

import json
import os
from functools import wraps
from urllib.request import urlopen

from flask import Flask, g, jsonify, request
from flask_cors import cross_origin
from jose import jwt

CRYPTR_BASE_URL = os.environ.get("CRYPTR_BASE_URL", "https://auth.cryptr.eu")
CRYPTR_TENANT_DOMAIN = os.environ.get("CRYPTR_TENANT_DOMAIN", "shark-academy")
API_AUDIENCE = os.environ.get("CRYPTR_AUDIENCE", "http://localhost:8081")
ALGORITHMS = ["RS256"]

APP = Flask(__name__)

COURSES = json.loads(open(os.path.join(os.path.dirname(__file__), "courses.json")).read())


# Error handler
class AuthError(Exception):
    def __init__(self, error, status_code):
        self.error = error
        self.status_code = status_code


@APP.errorhandler(AuthError)
def handle_auth_error(ex):
    response = jsonify(ex.error)
    response.status_code = ex.status_code
    return response


# Format error response and append status code
def get_token_auth_header():
    """Obtains the Access Token from the Authorization Header"""
    auth = request.headers.get("Authorization", None)
    if not auth:
        raise AuthError({"code": "authorization_header_missing", "description": "Authorization header is expected"}, 401)

    parts = auth.split()

    if parts[0].lower() != "bearer":
        raise AuthError({"code": "invalid_header", "description": "Authorization header must start with Bearer"}, 401)
    elif len(parts) == 1:
        raise AuthError({"code": "invalid_header", "description": "Token not found"}, 401)
    elif len(parts) > 2:
        raise AuthError({"code": "invalid_header", "description": "Authorization header must be Bearer token"}, 401)

    token = parts[1]
    return token


def requires_auth(f):
    """Determines if the Access Token is valid"""

    @wraps(f)
    def decorated(*args, **kwargs):
        token = get_token_auth_header()
        jsonurl = urlopen(CRYPTR_BASE_URL + "/t/" + CRYPTR_TENANT_DOMAIN + "/.well-known")
        jwks = json.loads(jsonurl.read())
        unverified_header = jwt.get_unverified_header(token)
        rsa_key = {}
        for key in jwks["keys"]:
            if key["kid"] == unverified_header["kid"]:
                rsa_key = {"kty": key["kty"], "kid": key["kid"], "use": key["use"], "n": key["n"], "e": key["e"]}
        if rsa_key:
            try:
                payload = jwt.decode(
                    token,
                    rsa_key,
                    algorithms=ALGORITHMS,
                    audience=API_AUDIENCE,
                    issuer=CRYPTR_BASE_URL + "/t/" + CRYPTR_TENANT_DOMAIN,
                )
            except jwt.ExpiredSignatureError:
                raise AuthError({"code": "token_expired", "description": "token is expired"}, 401)
            except jwt.JWTClaimsError:
                raise AuthError(
                    {"code": "invalid_claims", "description": "incorrect claims, please check the audience and issuer"},
                    401,
                )
            except Exception:
                raise AuthError({"code": "invalid_header", "description": "Unable to parse authentication token."}, 401)

            g.current_user = payload
            return f(*args, **kwargs)
        raise AuthError({"code": "invalid_header", "description": "Unable to find appropriate key"}, 401)

    return decorated


# Controllers API
@APP.route("/api/v1/courses")
@cross_origin(headers=["Content-Type", "Authorization"])
@requires_auth
def courses():
    return jsonify(COURSES)


@APP.route("/api/v1/public")
def public():
    return jsonify(COURSES)


app = APP
