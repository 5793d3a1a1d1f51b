"""Safe retries of creations: the Idempotency-Key request header.

A POST that carries `Idempotency-Key` reserves the key for the caller's
company in the `idempotency_keys` collection before anything is created:
an insert against a unique `_id` of company and key, so of two requests
racing with one key exactly one proceeds. The winner stores its answer
when it succeeds; a retry of the same request (same method, path, user and
body bytes) then gets that answer again and creates nothing. A failed
request releases the key, since an error changed nothing and the retry
may go ahead. Records expire through a TTL index on `expires_at`.
"""

import datetime
import hashlib
import logging
import re
import uuid
from functools import wraps

from flask import Response, current_app, request
from flask_smorest import abort
from pymongo.errors import DuplicateKeyError, PyMongoError

from app import auth, db

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
# Visible ASCII, as a UUID or any client-made token is.
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
# Reserving an expired or abandoned record races with other takers; a few
# rounds settle it, after which the caller is told to retry.
_ROUNDS = 3

HEADER_DOC = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: a repeat of this request (same path, user and "
        "body) with the same key, within the key's lifetime (24 h by default), "
        "answers what the first answered and creates nothing. The same key "
        "with another request answers 422; while the first is still running, "
        "409 with Retry-After. A request that fails releases its key."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def collection():
    return db.get_db()["idempotency_keys"]


def _now():
    return datetime.datetime.now(datetime.UTC)


def _utc(value):
    # mongomock hands datetimes back naive; MongoDB stores them in UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value


def _fingerprint():
    """What makes a retry the same request."""
    return {
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode("latin-1"),
        "user_id": auth.current().user_id,
        "body_sha256": hashlib.sha256(request.get_data(cache=True)).hexdigest(),
    }


def _replay(record):
    response = Response(
        record["response"]["body"],
        status=record["response"]["status"],
        mimetype="application/json",
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _reserve(record_id, fingerprint):
    """Our token once the key is ours, or the stored answer to replay."""
    config = current_app.config
    token = uuid.uuid4().hex
    for _ in range(_ROUNDS):
        now = _now()
        record = {
            "_id": record_id,
            "request": fingerprint,
            "state": "in_progress",
            "token": token,
            "locked_until": now
            + datetime.timedelta(seconds=config["IDEMPOTENCY_LEASE_S"]),
            "expires_at": now + datetime.timedelta(seconds=config["IDEMPOTENCY_TTL_S"]),
        }
        try:
            collection().insert_one(record)
            return token
        except DuplicateKeyError:
            pass
        existing = collection().find_one({"_id": record_id})
        if existing is None:
            continue  # released meanwhile
        # MongoDB's TTL monitor runs once a minute (mongomock never does), so
        # an expired record may still be there: it counts as absent. So does
        # a reservation whose holder died without releasing it.
        abandoned = existing["state"] == "in_progress" and (
            _utc(existing["locked_until"]) <= now
        )
        if _utc(existing["expires_at"]) <= now or abandoned:
            taken = collection().replace_one(
                {"_id": record_id, "token": existing["token"]}, record
            )
            if taken.matched_count == 1:
                return token
            continue
        if existing["request"] != fingerprint:
            abort(
                422,
                message=f"This {HEADER} was already used for a different request.",
                errors={
                    HEADER: [
                        "Already used with another method, path, user or body; "
                        "use a new key for a new request."
                    ]
                },
            )
        if existing["state"] == "done":
            return _replay(existing)
        break
    abort(
        409,
        message=f"A request with this {HEADER} is still in progress; retry shortly.",
        headers={"Retry-After": "1"},
    )


def _complete(record_id, token, response):
    result = collection().update_one(
        {"_id": record_id, "token": token},
        {
            "$set": {
                "state": "done",
                "response": {
                    "status": response.status_code,
                    "body": response.get_data(as_text=True),
                },
            }
        },
    )
    if result.matched_count == 0:
        # Only if this request outlived its lease and another took the key.
        log.warning("Idempotency record was taken over before completion")


def _settle(record_id, token, response):
    """Store the answer of a request whose creation is already made.

    The creation stands whatever happens here, so the client gets its 200
    even when the answer cannot be stored: a 503 would make it retry, and
    after the lease the retry would create a second record. The key stays
    reserved, so until the lease runs out a retry answers 409.
    """
    for _ in range(_ROUNDS):
        try:
            _complete(record_id, token, response)
            return
        except PyMongoError as exc:
            failure = exc.__class__.__name__
    # A known limit: if the client also lost this answer and retries after
    # the lease, the creation runs again; only storing the key with the
    # created record itself (or a transaction) would close that.
    log.error("Idempotency answer not stored after %d tries: %s", _ROUNDS, failure)


def _release(record_id, token):
    collection().delete_one({"_id": record_id, "token": token})


def idempotent(view):
    """Honour Idempotency-Key on a POST view (above its @blp.response)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY_RE.fullmatch(key):
            abort(
                422,
                message=f"The {HEADER} header is not valid.",
                errors={HEADER: ["Expected 1 to 255 visible ASCII characters."]},
            )
        record_id = {"company_id": auth.current().company_id, "key": key}
        reserved = _reserve(record_id, _fingerprint())
        if isinstance(reserved, Response):
            return reserved
        try:
            response = view(*args, **kwargs)
        except BaseException:
            _release(record_id, reserved)
            raise
        if 200 <= response.status_code < 300:
            _settle(record_id, reserved, response)
        else:
            _release(record_id, reserved)
        return response

    wrapper._apidoc = {**getattr(wrapper, "_apidoc", {}), "idempotent": True}
    return wrapper


def prepare_doc(doc, doc_info, **kwargs):
    """Blueprint doc callback: document the header on idempotent views."""
    if doc_info.get("idempotent"):
        doc.setdefault("parameters", []).append(HEADER_DOC)
        responses = doc.setdefault("responses", {})
        responses.setdefault(409, "CONFLICT")  # still in progress
        responses.setdefault(422, "UNPROCESSABLE_ENTITY")  # reused for another
    return doc
