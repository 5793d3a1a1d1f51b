"""The database handle: a MongoDB client per process, or the embedded store."""

import copy
import logging
import os
import threading
from collections import namedtuple
from contextlib import contextmanager

import bson
import pymongo
from flask import current_app
from pymongo import IndexModel, monitoring, uri_parser
from pymongo import errors as mongo_errors

from config import ConfigError

log = logging.getLogger(__name__)

DEFAULT_DB_NAME = "flight"

# Server codes for an index that exists with other options or other keys.
_INDEX_CONFLICT_CODES = {85, 86}
# MongoDB's rules for a database name, checked here rather than on first use.
_BAD_DB_NAME_CHARS = set('/\\. "$\0')


def _without_userinfo(text, uri):
    """`text` with the URI's user name and password cut out."""
    _, sep, rest = uri.partition("://")
    userinfo = rest.split("/", 1)[0].rpartition("@")[0]
    return text.replace(userinfo, "***") if sep and userinfo else text


class Database:
    """Hands out the database of this process.

    The real client is created on first use in each process, never before
    gunicorn forks its workers: a MongoClient must not cross a fork.
    """

    def __init__(self, config):
        self.uri = config.get("MONGODB_URI")
        self.timeout_ms = config["MONGODB_TIMEOUT_MS"]
        self.embedded = not self.uri
        # Whether find_one_and_update applies a positional $ to the matched
        # array element. MongoDB does; mongomock 4.3 applies it to the first
        # element (tests/test_embedded_store.py pins that), so on the
        # embedded store a session PATCH updates, then reads back.
        self.positional_find_and_modify = not self.embedded
        self._client = None
        self._pid = None
        self._lock = threading.Lock()
        # Off in a serving process: see CommandLog.
        self.command_log = CommandLog() if config.get("DB_COMMAND_LOG") else None
        if self.embedded:
            self.name = config.get("MONGODB_DB") or DEFAULT_DB_NAME
            self.host = "embedded"
        else:
            try:
                # A mongodb+srv:// URI is looked up in DNS here, as the
                # client would do on its first use.
                parsed = uri_parser.parse_uri(
                    self.uri, connect_timeout=self.timeout_ms / 1000
                )
            except (mongo_errors.PyMongoError, ValueError) as exc:
                reason = _without_userinfo(str(exc), self.uri)
                raise ConfigError(
                    f"MONGODB_URI is not a valid MongoDB URI: {reason}"
                ) from None
            self.name = (
                config.get("MONGODB_DB") or parsed.get("database") or DEFAULT_DB_NAME
            )
            # For logs: hosts and ports only, never the credentials.
            self.host = parsed.get("fqdn") or ",".join(
                f"{h}:{p}" for h, p in parsed["nodelist"]
            )
        if len(self.name) > 63 or _BAD_DB_NAME_CHARS.intersection(self.name):
            raise ConfigError(
                f"MONGODB_DB {self.name!r} is not a valid database name: at most "
                '63 characters, none of / \\ . " $ or a space.'
            )

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

            _unwind_linearly()
            return _SerializedClient(mongomock.MongoClient(), self.command_log)
        listeners = []
        if self.command_log is not None:
            listeners.append(_CommandListener(self.command_log))
        # Short timeouts so that a database that is down answers 503 quickly
        # instead of holding the request for pymongo's default 30 s.
        return pymongo.MongoClient(
            self.uri,
            serverSelectionTimeoutMS=self.timeout_ms,
            connectTimeoutMS=self.timeout_ms,
            socketTimeoutMS=max(10_000, self.timeout_ms),
            tz_aware=True,
            appname="flight-session-service",
            event_listeners=listeners,
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

    def __init__(self, target, lock, command_log=None):
        self._target = target
        self._lock = lock
        self._log = command_log

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def locked(*args, **kwargs):
            with self._lock:
                result = attr(*args, **kwargs)
                if hasattr(result, "__next__"):
                    result = list(result)
            if self._log is not None:
                self._log.record_call(name, args, kwargs, result)
            return result

        return locked

    def __getitem__(self, name):
        return _Serialized(self._target[name], self._lock, self._log)


class _SerializedClient(_Serialized):
    def __init__(self, client, command_log=None):
        super().__init__(client, threading.RLock(), command_log)


def _unwind_linearly():
    """Make the embedded store's $unwind cost grow with the array, not its square.

    mongomock 4.3 deep-copies the whole input document once per array
    element, array included, so unwinding a deployment of n sessions
    copies n * n sessions: 4,000 sessions took about 30 s, under the
    store's one lock. This stage copies each element once and the rest of
    the document once per element, with the same result
    (tests/test_embedded_store.py compares the two). Dotted paths and
    documents whose field is missing, null, empty or not an array go to
    mongomock's own stage.
    """
    from mongomock import aggregate, helpers

    handlers = aggregate._PIPELINE_HANDLERS
    original = handlers["$unwind"]
    if getattr(original, "replaces", None) is not None:
        return

    def unwind(in_collection, database, options):
        path = options.get("path") if isinstance(options, dict) else options
        if not isinstance(path, str) or not path.startswith("$") or "." in path:
            return original(in_collection, database, options)
        field = path[1:]
        index_field = isinstance(options, dict) and options.get("includeArrayIndex")
        unwound = []
        for doc in in_collection:
            array = doc.get(field)
            if not isinstance(array, list) or not array:
                unwound.extend(original([doc], database, options))
                continue
            for index, element in enumerate(array):
                one = {
                    key: copy.deepcopy(element if key == field else value)
                    for key, value in doc.items()
                }
                if index_field:
                    one = helpers.set_value_by_dot(one, index_field, index)
                unwound.append(one)
        return unwound

    unwind.replaces = original
    handlers["$unwind"] = unwind


Command = namedtuple("Command", "name projection reply_bytes")

# The server command behind each method of the embedded store, so that both
# stores name (and count) a round trip alike. count_documents is an
# aggregate on the wire.
_COMMAND_OF_METHOD = {
    "find": "find",
    "find_one": "find",
    "insert_one": "insert",
    "insert_many": "insert",
    "update_one": "update",
    "update_many": "update",
    "replace_one": "update",
    "delete_one": "delete",
    "delete_many": "delete",
    "find_one_and_update": "findAndModify",
    "find_one_and_replace": "findAndModify",
    "find_one_and_delete": "findAndModify",
    "count_documents": "aggregate",
    "aggregate": "aggregate",
    "create_index": "createIndexes",
}


def _bson_size(result):
    if isinstance(result, dict):
        return len(bson.encode(result))
    if isinstance(result, list) and all(isinstance(d, dict) for d in result):
        return sum(len(bson.encode(d)) for d in result)
    return None


class CommandLog:
    """The commands this process sends to its database, for round-trip counts.

    Kept only when the app is created with DB_COMMAND_LOG = True, as the
    round-trip test and the benchmark do; a serving process never records,
    and its store calls pay one `is None` test for this. Each entry names
    the command as MongoDB does, the projection it asked for, and the BSON
    size of what came back: the server's whole reply on MongoDB, the
    returned documents on the embedded store.
    """

    def __init__(self):
        self.commands = []

    def clear(self):
        self.commands.clear()

    @property
    def names(self):
        return [command.name for command in self.commands]

    def record_call(self, method, args, kwargs, result):
        """One call of the embedded store, as the command MongoDB would get."""
        name = _COMMAND_OF_METHOD.get(method, method)
        if method == "command" and args and isinstance(args[0], str):
            name = args[0]
        projection = kwargs.get("projection")
        if projection is None and method in ("find", "find_one") and len(args) > 1:
            projection = args[1]
        self.commands.append(Command(name, projection, _bson_size(result)))


class _CommandListener(monitoring.CommandListener):
    """Feeds a CommandLog from pymongo's command monitoring."""

    def __init__(self, log):
        self._log = log
        self._started = {}

    def started(self, event):
        command = event.command
        # find names it "projection", findAndModify "fields".
        projection = command.get("projection", command.get("fields"))
        self._started[event.request_id] = (event.command_name, projection)

    def succeeded(self, event):
        name, projection = self._started.pop(event.request_id, (None, None))
        size = len(bson.encode(event.reply)) if event.reply else None
        self._log.commands.append(Command(name or event.command_name, projection, size))

    def failed(self, event):
        name, projection = self._started.pop(event.request_id, (None, None))
        self._log.commands.append(Command(name or event.command_name, projection, None))


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


@contextmanager
def undone_on_failure(undo):
    """Run the block; should the database fail in it, run `undo`, then re-raise.

    For the later step of a change made in two writes, so that the 503
    which follows the failure has changed nothing. When `undo` fails too
    (the database has gone altogether), that is logged and the first
    failure raised.
    """
    try:
        yield
    except mongo_errors.PyMongoError:
        try:
            undo()
        except mongo_errors.PyMongoError as exc:
            log.error(
                "The first write of a failed change could not be undone: %s",
                exc.__class__.__name__,
            )
        raise


def ping():
    """Ask the server for a round trip; raises a pymongo error when it is down."""
    get_db().command("ping")


# Every index the queries need, and the only place to declare one. An entry
# is a list of (field, direction) pairs, or an IndexModel when the index
# needs options, for example:
#     IndexModel([("created_at", 1)], expireAfterSeconds=86_400)
#     IndexModel([("company_id", 1), ("key", 1)], unique=True)
INDEXES = {
    "deployments": [
        # Every query is scoped by company; lists sort by creation, then _id.
        [("company_id", 1), ("created_at", 1), ("_id", 1)],
        # Company-wide session queries: by plan, and by time window.
        [("company_id", 1), ("flight_sessions.flight_plan_id", 1)],
        [("company_id", 1), ("flight_sessions.start_date_time", 1)],
        # A time window bounds the start from above and the end from below;
        # for a recent window the end is the selective side.
        [("company_id", 1), ("flight_sessions.end_date_time", 1)],
    ],
    "flight_plans": [
        # Plans of one deployment (list filter, cascade delete) and of all.
        [("company_id", 1), ("deployment_id", 1), ("created_at", 1), ("_id", 1)],
        [("company_id", 1), ("created_at", 1), ("_id", 1)],
    ],
    # The TTL monitor removes each record at its expires_at.
    "idempotency_keys": [IndexModel([("expires_at", 1)], expireAfterSeconds=0)],
}


class IndexConflict(Exception):
    """An index of that name or those keys exists with other options."""


def _models(specs):
    return [s if isinstance(s, IndexModel) else IndexModel(s) for s in specs]


def ensure_indexes(indexes=None):
    """Create every index the queries need; safe to run again.

    Returns (collection, index name) pairs. An index that exists with other
    options (a changed TTL, say) is not replaced: IndexConflict says which.
    """
    db = get_db()
    created = []
    for collection, specs in (indexes or INDEXES).items():
        try:
            names = db[collection].create_indexes(_models(specs))
        except mongo_errors.OperationFailure as exc:
            # mongomock raises the same conflict with no code.
            if exc.code not in _INDEX_CONFLICT_CODES and exc.code is not None:
                raise
            detail = (exc.details or {}).get("errmsg") or str(exc)
            raise IndexConflict(f"{collection}: {detail}") from exc
        created.extend((collection, name) for name in names)
    return created


def describe_indexes(indexes=None):
    """(collection, name, keys, options) of each index the collections hold."""
    db = get_db()
    found = []
    for collection in indexes or INDEXES:
        info = db[collection].index_information()
        for name, spec in sorted(info.items()):
            keys = [tuple(pair) for pair in spec["key"]]
            options = {k: v for k, v in spec.items() if k not in ("key", "v", "ns")}
            found.append((collection, name, keys, options))
    return found
