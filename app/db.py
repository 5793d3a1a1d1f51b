"""The database handle: a MongoDB client per process, or the embedded store."""

import logging
import os
import threading

import pymongo
from flask import current_app
from pymongo import uri_parser

log = logging.getLogger(__name__)

DEFAULT_DB_NAME = "flight"


class ConfigError(Exception):
    """A setting that the service cannot start with."""


class Database:
    """Hands out the database of this process.

    The real client is created on first use in each process, never before
    gunicorn forks its workers: a MongoClient must not cross a fork.
    """

    def __init__(self, config):
        self.uri = config.get("MONGODB_URI")
        self.timeout_ms = config["MONGODB_TIMEOUT_MS"]
        self.embedded = not self.uri
        self._client = None
        self._pid = None
        self._lock = threading.Lock()
        if self.embedded:
            self.name = config.get("MONGODB_DB") or DEFAULT_DB_NAME
            self.host = "embedded"
        else:
            try:
                parsed = uri_parser.parse_uri(self.uri)
            except Exception as exc:
                raise ConfigError(
                    f"MONGODB_URI is not a valid MongoDB URI: {exc}"
                ) from None
            self.name = (
                config.get("MONGODB_DB") or parsed.get("database") or DEFAULT_DB_NAME
            )
            self.host = ",".join(f"{h}:{p}" for h, p in parsed["nodelist"]) or "srv"

    def client(self):
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    self._client = self._make_client()
                    self._pid = os.getpid()
        return self._client

    def _make_client(self):
        if self.embedded:
            import mongomock

            return _SerializedClient(mongomock.MongoClient())
        # Short timeouts so that a database that is down answers 503 quickly
        # instead of holding the request for pymongo's default 30 s.
        return pymongo.MongoClient(
            self.uri,
            serverSelectionTimeoutMS=self.timeout_ms,
            connectTimeoutMS=self.timeout_ms,
            socketTimeoutMS=max(10_000, self.timeout_ms),
            tz_aware=True,
            appname="flight-session-service",
        )

    def get(self):
        return self.client()[self.name]


class _Serialized:
    """Runs each call of the wrapped mongomock object under one process lock.

    MongoDB applies an update's filter and its change atomically for one
    document; mongomock 4.3 matches and then modifies in place with no lock,
    so two threads can both pass a conditional filter (a size limit, a time
    guard) before either writes. One lock per store restores the
    single-document atomicity the service relies on. Cursors are read to
    the end under the same lock, hence find() and aggregate() return lists:
    callers pass sort, skip and limit to find() itself.
    """

    def __init__(self, target, lock):
        self._target = target
        self._lock = lock

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def locked(*args, **kwargs):
            with self._lock:
                result = attr(*args, **kwargs)
                if hasattr(result, "__next__"):
                    result = list(result)
                return result

        return locked

    def __getitem__(self, name):
        return _Serialized(self._target[name], self._lock)


class _SerializedClient(_Serialized):
    def __init__(self, client):
        super().__init__(client, threading.RLock())


def init_app(app):
    database = Database(app.config)
    app.extensions["flight_db"] = database
    if database.embedded:
        log.warning(
            "MONGODB_URI is not set: running on the EMBEDDED in-memory store. "
            "Nothing it holds survives a restart, and each process has its own."
        )
    else:
        log.info("Using MongoDB at %s, database %r", database.host, database.name)


def handle():
    return current_app.extensions["flight_db"]


def get_db():
    return handle().get()


def deployments():
    return get_db()["deployments"]


def flight_plans():
    return get_db()["flight_plans"]


def ping():
    """Ask the server for a round trip; raises a pymongo error when it is down."""
    get_db().command("ping")


INDEXES = {
    # Every query is scoped by company; lists sort by creation.
    "deployments": [
        [("company_id", 1), ("created_at", 1)],
        # Company-wide session queries unwind from here; filtering by plan.
        [("company_id", 1), ("flight_sessions.flight_plan_id", 1)],
        [("company_id", 1), ("flight_sessions.start_date_time", 1)],
    ],
    "flight_plans": [
        [("company_id", 1), ("deployment_id", 1), ("created_at", 1)],
        [("company_id", 1), ("created_at", 1)],
    ],
    # (keys, options): the TTL monitor removes each record at its expires_at.
    "idempotency_keys": [([("expires_at", 1)], {"expireAfterSeconds": 0})],
}


def ensure_indexes():
    """Create every index the queries need; safe to run again."""
    db = get_db()
    created = []
    for collection, specs in INDEXES.items():
        for spec in specs:
            keys, options = spec if isinstance(spec, tuple) else (spec, {})
            created.append((collection, db[collection].create_index(keys, **options)))
    return created
