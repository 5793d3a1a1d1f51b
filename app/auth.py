"""Identity: the bearer token names the user, the company and the roles."""

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import cachetools
import jwt
from flask import current_app, g, request
from flask_smorest import abort

from config import ConfigError

log = logging.getLogger(__name__)

# One algorithm per key source, never taken from the token alone: HS256 is
# verified only with the shared secret, RS256 only with the provider's keys.
ALGORITHM = "HS256"
PROVIDER_ALGORITHM = "RS256"
# RFC 7518 asks for an HS256 key of at least 256 bits.
MIN_SECRET_BYTES = 32
# A refused token never makes the provider's keys be fetched again sooner.
JWKS_REFRESH_COOLDOWN_S = 30
# Each role includes the ones before it.
ROLES = ("viewer", "pilot", "approver", "admin")
REQUIRED_CLAIMS = ("sub", "company_id", "roles", "exp")
# A token once verified is taken again for a while without checking its
# signature, the largest part of identifying a caller. The whole token,
# signature included, is the key, so only that exact token is taken; its
# expiry is checked on every use. Within this time a provider's key that
# is withdrawn keeps admitting the tokens it already signed, as its cached
# key set would (JWT_JWKS_CACHE_S).
VERIFIED_TOKENS_TTL_S = 60
VERIFIED_TOKENS_MAX = 4096
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
    """The HS256 key, or None when HS256 tokens are not accepted.

    The development secret stands in only on the embedded store.
    """
    config = (app or current_app).config
    if config.get("JWT_SECRET"):
        return config["JWT_SECRET"]
    return None if config.get("MONGODB_URI") else DEVELOPMENT_SECRET


def check_config(config):
    """Refuse settings that would leave tokens unverifiable or forgeable."""
    real_db = bool(config.get("MONGODB_URI"))
    jwks_url = config.get("JWT_JWKS_URL")
    secret_ = config.get("JWT_SECRET")
    if real_db and not secret_ and not jwks_url:
        raise ConfigError(
            "JWT_SECRET (or JWT_JWKS_URL) must be set when MONGODB_URI is set; "
            "the development secret is only for the embedded store."
        )
    if real_db and secret_ and len(secret_.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long.")
    if jwks_url:
        parts = urlsplit(jwks_url)
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ConfigError(
                "JWT_JWKS_URL must be an https:// URL (http:// only for localhost)."
            )
        # Without both, a token the provider issued to another application
        # would be accepted here.
        if not config.get("JWT_ISSUER") or not config.get("JWT_AUDIENCE"):
            raise ConfigError(
                "JWT_ISSUER and JWT_AUDIENCE must be set with JWT_JWKS_URL."
            )


def make_jwks_client(config):
    """The provider's key set, fetched on first need and cached."""
    return jwt.PyJWKClient(
        config["JWT_JWKS_URL"],
        cache_jwk_set=True,
        lifespan=config["JWT_JWKS_CACHE_S"],
        timeout=config["JWT_JWKS_TIMEOUT_S"],
        cooldown_duration=JWKS_REFRESH_COOLDOWN_S,
        headers={"User-Agent": "flight-session-service"},
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
    key = secret(app)
    if key is None:
        raise ConfigError(
            "JWT_SECRET is not set: tokens come from the identity provider."
        )
    return jwt.encode(claims, key, algorithm=ALGORITHM)


class VerifiedTokens:
    """Identities of the tokens this process verified lately."""

    def __init__(self, ttl_s=VERIFIED_TOKENS_TTL_S):
        self._entries = cachetools.TTLCache(maxsize=VERIFIED_TOKENS_MAX, ttl=ttl_s)
        # cachetools caches are not safe to share between threads unguarded.
        self._lock = threading.Lock()

    def get(self, token, leeway_s):
        """The identity of `token` if it was verified and has not expired."""
        with self._lock:
            entry = self._entries.get(token)
        if entry is None:
            return None
        identity, expires = entry
        return identity if time.time() <= expires + leeway_s else None

    def add(self, token, identity, expires):
        with self._lock:
            self._entries[token] = (identity, expires)


def _unauthorized(message):
    abort(401, message=message, headers={"WWW-Authenticate": "Bearer"})


def _provider_unavailable(exc):
    log.warning("Identity provider keys unavailable: %s", exc.__class__.__name__)
    abort(
        503,
        message="The identity provider's keys cannot be fetched; try again shortly.",
        headers={"Retry-After": "5"},
    )


def _provider_key(jwks, kid):
    """The provider's RS256 key named `kid`; 401 if none, 503 if unreachable."""
    if not isinstance(kid, str) or not kid:
        _unauthorized("The token does not name its signing key (kid).")
    # A key set that cannot be fetched or read is the provider's fault (503);
    # only a readable set that lacks the key refuses the token (401).
    try:
        jwks.get_signing_keys()
    except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError) as exc:
        _provider_unavailable(exc)
    try:
        key = jwks.get_signing_key(kid)
    except jwt.PyJWKClientConnectionError as exc:
        _provider_unavailable(exc)
    except (jwt.PyJWKClientError, jwt.PyJWKSetError):
        _unauthorized("The token's signing key is not known.")
    if key.key_type != "RSA" or key.algorithm_name != PROVIDER_ALGORITHM:
        _unauthorized("The token's signing key is not an RS256 key.")
    return key.key


def _key_for(token):
    """The key and the one algorithm that may verify `token`, or a 401."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        _unauthorized("The token is not valid.")
    algorithm = header.get("alg")
    if algorithm == ALGORITHM and secret() is not None:
        return secret(), ALGORITHM
    jwks = current_app.extensions.get("jwks_client")
    if algorithm == PROVIDER_ALGORITHM and jwks is not None:
        return _provider_key(jwks, header.get("kid")), PROVIDER_ALGORITHM
    _unauthorized("The token's signing algorithm is not accepted.")


TIME_CLAIMS = ("exp", "nbf", "iat")


def decode(token):
    """Claims of a valid token, or a 401."""
    config = current_app.config
    key, algorithm = _key_for(token)
    options = {"require": list(REQUIRED_CLAIMS)}
    if config.get("JWT_ISSUER"):
        options["require"].append("iss")
    if config.get("JWT_AUDIENCE"):
        options["require"].append("aud")
    try:
        # The header only chose the key source; the algorithm is pinned to it.
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            options=options,
            issuer=config.get("JWT_ISSUER"),
            audience=config.get("JWT_AUDIENCE"),
            leeway=config["JWT_LEEWAY_S"],
        )
    except jwt.ExpiredSignatureError:
        _unauthorized("The token has expired.")
    except jwt.MissingRequiredClaimError as exc:
        _unauthorized(f"The token lacks the {exc.claim!r} claim.")
    except jwt.PyJWTError:
        _unauthorized("The token is not valid.")
    # PyJWT reads these with int(), so "9999999999" would pass; a
    # NumericDate is a JSON number (RFC 7519, section 2).
    for name in TIME_CLAIMS:
        value = claims.get(name)
        if name in claims and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            _unauthorized(f"The token's {name!r} claim must be a number of seconds.")
    return claims


def identity_from(claims):
    sub, company, roles = claims["sub"], claims["company_id"], claims["roles"]
    if not isinstance(sub, str) or not sub:
        _unauthorized("The token's 'sub' claim must be a non-empty string.")
    if not isinstance(company, str) or not company:
        _unauthorized("The token's 'company_id' claim must be a non-empty string.")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        _unauthorized("The token's 'roles' claim must be a list of strings.")
    return Identity(sub, company, frozenset(roles))


# The least role for each method; routes ask for more where a rule says so
# (approving a plan, a cascading delete).
READ_METHODS = {"GET", "HEAD"}


def authenticate():
    """before_request: every route but the public ones needs a bearer token.

    The role the method needs is checked here too, before the body is read,
    so that a caller without it learns nothing from validation errors.
    """
    if request.endpoint is None or request.method == "OPTIONS":
        # Unknown route or method: the router answers 404 or 405. OPTIONS
        # (a browser's preflight) carries no token and reveals no data.
        return
    if request.blueprint in PUBLIC_BLUEPRINTS or request.endpoint == "static":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _unauthorized("A bearer token is required (Authorization: Bearer <JWT>).")
    token = token.strip()
    verified = current_app.extensions["verified_tokens"]
    identity = verified.get(token, current_app.config["JWT_LEEWAY_S"])
    if identity is None:
        claims = decode(token)
        identity = identity_from(claims)
        verified.add(token, identity, claims["exp"])
    g.identity = identity
    require("viewer" if request.method in READ_METHODS else "pilot")


def current():
    """The caller's identity; authenticate() has already checked the role
    its HTTP method needs (viewer to read, pilot to write)."""
    return g.identity


def require(role):
    """The caller's identity, or a 403 when its roles are below `role`."""
    identity = g.identity
    if not identity.has(role):
        abort(403, message=f"This action needs the {role!r} role or higher.")
    return identity


def init_app(app):
    check_config(app.config)
    app.extensions["verified_tokens"] = VerifiedTokens()
    if app.config.get("JWT_JWKS_URL"):
        app.extensions["jwks_client"] = make_jwks_client(app.config)
    app.before_request(authenticate)
