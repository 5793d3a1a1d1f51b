"""Service configuration: the only module that reads the environment."""

import os


def _int(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {value!r}") from exc


class Config:
    # Storage: a real MongoDB when MONGODB_URI is set, else the embedded store.
    MONGODB_URI = os.environ.get("MONGODB_URI") or None
    MONGODB_DB = os.environ.get("MONGODB_DB") or None
    MONGODB_TIMEOUT_MS = _int("MONGODB_TIMEOUT_MS", 2000)

    # Identity: HS256 with a shared secret. The development secret is only
    # ever accepted on the embedded store (see app/auth.py).
    JWT_SECRET = os.environ.get("JWT_SECRET") or None
    JWT_ISSUER = os.environ.get("JWT_ISSUER") or None
    JWT_AUDIENCE = os.environ.get("JWT_AUDIENCE") or None
    JWT_LEEWAY_S = _int("JWT_LEEWAY_S", 30)

    # Limits.
    MAX_CONTENT_LENGTH = _int("MAX_BODY_BYTES", 1024 * 1024)
    MAX_SESSIONS_PER_DEPLOYMENT = _int("MAX_SESSIONS_PER_DEPLOYMENT", 10_000)

    # Idempotency-Key: how long a key is remembered, and how long a request
    # still running may hold it before a retry counts it as abandoned.
    IDEMPOTENCY_TTL_S = _int("IDEMPOTENCY_TTL_S", 24 * 3600)
    IDEMPOTENCY_LEASE_S = _int("IDEMPOTENCY_LEASE_S", 60)

    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()

    # OpenAPI and the interactive docs page.
    API_TITLE = "Flight session service"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"
    # Pagination metadata goes to the X-Pagination header; bodies keep the
    # documented envelope.
    PAGINATION_PAGE_SIZE_MAX = 100


class TestConfig(Config):
    TESTING = True
    JWT_SECRET = "test-secret-not-for-production-0123456789"
    LOG_LEVEL = "WARNING"
