"""Service configuration: the only module that reads the environment."""

import os


class ConfigError(Exception):
    """A setting that the service cannot start with."""


# Settings that could not be read. Reading never raises, so that importing
# this module always works; create_app and gunicorn's start-up hook call
# check() and refuse to start with one line naming every problem.
PROBLEMS = []

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _str(name, default=None):
    value = os.environ.get(name, "").strip()
    return value or default


def _int(name, default, minimum=1, maximum=None):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    # int() would also take "1_000", "+5" and non-ASCII digits.
    upper = f" and {maximum}" if maximum is not None else ""
    bound = f"between {minimum}{upper}" if upper else f"at least {minimum}"
    if not (text.isascii() and text.isdigit()):
        PROBLEMS.append(f"{name} must be a whole number {bound}, got {raw!r}")
        return default
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        PROBLEMS.append(f"{name} must be {bound}, got {value}")
        return default
    return value


def _level(name, default):
    value = _str(name, default).upper()
    if value not in LOG_LEVELS:
        PROBLEMS.append(f"{name} must be one of {', '.join(LOG_LEVELS)}")
        return default
    return value


def check():
    """Raise ConfigError naming every setting that could not be read."""
    if PROBLEMS:
        raise ConfigError("; ".join(PROBLEMS))


class Config:
    # Storage: a real MongoDB when MONGODB_URI is set, else the embedded store.
    MONGODB_URI = _str("MONGODB_URI")
    MONGODB_DB = _str("MONGODB_DB")
    MONGODB_TIMEOUT_MS = _int("MONGODB_TIMEOUT_MS", 2000, maximum=60_000)

    # Identity: HS256 with a shared secret, RS256 with the keys an identity
    # provider publishes, or both. The development secret is only ever
    # accepted on the embedded store (see app/auth.py).
    JWT_SECRET = _str("JWT_SECRET")
    JWT_JWKS_URL = _str("JWT_JWKS_URL")
    JWT_JWKS_CACHE_S = _int("JWT_JWKS_CACHE_S", 300)
    JWT_JWKS_TIMEOUT_S = _int("JWT_JWKS_TIMEOUT_S", 5, maximum=60)
    JWT_ISSUER = _str("JWT_ISSUER")
    JWT_AUDIENCE = _str("JWT_AUDIENCE")
    JWT_LEEWAY_S = _int("JWT_LEEWAY_S", 30, minimum=0, maximum=300)

    # Limits.
    MAX_BODY_BYTES = _int("MAX_BODY_BYTES", 1024 * 1024)
    MAX_SESSIONS_PER_DEPLOYMENT = _int("MAX_SESSIONS_PER_DEPLOYMENT", 10_000)

    # Idempotency-Key: how long a key is remembered, and how long a request
    # still running may hold it before a retry counts it as abandoned.
    IDEMPOTENCY_TTL_S = _int("IDEMPOTENCY_TTL_S", 24 * 3600)
    IDEMPOTENCY_LEASE_S = _int("IDEMPOTENCY_LEASE_S", 60)

    LOG_LEVEL = _level("LOG_LEVEL", "INFO")

    # OpenAPI and the interactive docs page.
    API_TITLE = "Flight session service"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"


class ServerConfig:
    """The process model, read by gunicorn.conf.py (not part of the app)."""

    PORT = _int("PORT", 8080, maximum=65535)
    # More than one worker needs a real database: see gunicorn.conf.py.
    WEB_CONCURRENCY = _int("WEB_CONCURRENCY", 2 if Config.MONGODB_URI else 1)
    THREADS = _int("GUNICORN_THREADS", 4)
    TIMEOUT = _int("GUNICORN_TIMEOUT", 30)
    GRACEFUL_TIMEOUT = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
    KEEPALIVE = _int("GUNICORN_KEEPALIVE", 5)
    # The platform's router sets X-Forwarded-*; its address is not fixed.
    FORWARDED_ALLOW_IPS = _str("FORWARDED_ALLOW_IPS", "*")


class TestConfig(Config):
    TESTING = True
    JWT_SECRET = "test-secret-not-for-production-0123456789"
    LOG_LEVEL = "WARNING"
