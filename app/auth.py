"""Identity: the bearer token names the user, the company and the roles."""

import time
from dataclasses import dataclass
from functools import wraps

import jwt
from flask import current_app, g, request
from flask_smorest import abort

ALGORITHM = "HS256"
# Each role includes the ones before it.
ROLES = ("viewer", "pilot", "approver", "admin")
REQUIRED_CLAIMS = ("sub", "company_id", "roles", "exp")
# Used only on the embedded store, so that the quickstart works with no setup.
DEVELOPMENT_SECRET = "embedded-store-development-secret-change-me"
# Blueprints anyone may call: the probes and the API documentation.
PUBLIC_BLUEPRINTS = {"health", "api-docs"}


@dataclass(frozen=True)
class Identity:
    user_id: str
    company_id: str
    roles: frozenset

    @property
    def rank(self):
        return max((ROLES.index(r) for r in self.roles if r in ROLES), default=-1)

    def has(self, role):
        return self.rank >= ROLES.index(role)


def secret(app=None):
    app = app or current_app
    return app.config["JWT_SECRET"] or DEVELOPMENT_SECRET


def check_config(app):
    """Refuse a real database without a real secret."""
    from app.db import ConfigError

    if app.config.get("MONGODB_URI") and not app.config.get("JWT_SECRET"):
        raise ConfigError(
            "JWT_SECRET must be set when MONGODB_URI is set; "
            "the development secret is only for the embedded store."
        )


def mint_token(app, user_id, company_id, roles, ttl_s=3600):
    now = int(time.time())
    claims = {
        "sub": user_id,
        "company_id": company_id,
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl_s,
    }
    if app.config.get("JWT_ISSUER"):
        claims["iss"] = app.config["JWT_ISSUER"]
    if app.config.get("JWT_AUDIENCE"):
        claims["aud"] = app.config["JWT_AUDIENCE"]
    return jwt.encode(claims, secret(app), algorithm=ALGORITHM)


def _unauthorized(message):
    abort(401, message=message, headers={"WWW-Authenticate": "Bearer"})


def decode(token):
    """Claims of a valid token, or a 401."""
    config = current_app.config
    options = {"require": list(REQUIRED_CLAIMS)}
    if config.get("JWT_ISSUER"):
        options["require"].append("iss")
    if config.get("JWT_AUDIENCE"):
        options["require"].append("aud")
    try:
        # The algorithm is pinned: never taken from the token's own header.
        return jwt.decode(
            token,
            secret(),
            algorithms=[ALGORITHM],
            options=options,
            issuer=config.get("JWT_ISSUER"),
            audience=config.get("JWT_AUDIENCE"),
            leeway=config["JWT_LEEWAY_S"],
        )
    except jwt.ExpiredSignatureError:
        _unauthorized("The token has expired.")
    except jwt.MissingRequiredClaimError as exc:
        _unauthorized(f"The token lacks the {exc.claim!r} claim.")
    except jwt.InvalidTokenError:
        _unauthorized("The token is not valid.")


def identity_from(claims):
    sub, company, roles = claims["sub"], claims["company_id"], claims["roles"]
    if not isinstance(sub, str) or not sub:
        _unauthorized("The token's 'sub' claim must be a non-empty string.")
    if not isinstance(company, str) or not company:
        _unauthorized("The token's 'company_id' claim must be a non-empty string.")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        _unauthorized("The token's 'roles' claim must be a list of strings.")
    return Identity(sub, company, frozenset(roles))


def authenticate():
    """before_request: every route but the public ones needs a bearer token."""
    if request.endpoint is None:
        return  # unknown route or method: the router answers 404 or 405
    if request.blueprint in PUBLIC_BLUEPRINTS or request.endpoint == "static":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _unauthorized("A bearer token is required (Authorization: Bearer <JWT>).")
    g.identity = identity_from(decode(token.strip()))


def current():
    return g.identity


def require(role):
    """The caller's identity, or a 403 when its roles are below `role`."""
    identity = g.identity
    if not identity.has(role):
        abort(403, message=f"This action needs the {role!r} role or higher.")
    return identity


def role_required(role):
    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            require(role)
            return func(*args, **kwargs)

        return wrapper

    return decorator


def init_app(app):
    check_config(app)
    app.before_request(authenticate)
