"""Request bodies: strict JSON holding only values MongoDB can store."""

import json

from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

# GeoJSON and plan bodies nest a handful of levels; far deeper is an attack
# on the parser or the encoder, both of which recurse.
MAX_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _no_constants(name):
    raise ValueError(f"{name} is not a JSON value")


def _unstorable(value):
    """(field, reason) for the first value BSON cannot hold, or None.

    Checked before any write: pymongo's encoder fails on these only while
    writing, and mongomock, unlike MongoDB, keeps the fields of a $set it
    applied before the failing one.
    """
    stack = [(value, 0, None)]
    while stack:
        item, depth, field = stack.pop()
        if depth > MAX_DEPTH:
            return field, f"Nested deeper than {MAX_DEPTH} levels."
        if isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        if isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                return field, "Integer outside the 64-bit range."
        elif isinstance(item, str):
            if not _encodable(item):
                return field, "Text holds an unpaired surrogate; it is not UTF-8."
        elif isinstance(item, list):
            stack.extend((v, depth + 1, field) for v in item)
        elif isinstance(item, dict):
            for key, v in item.items():
                here = key if field is None else field
                if not _encodable(key) or "\x00" in key:
                    return here, "Field names must be UTF-8 text without NUL."
                if depth > 0 and (key.startswith("$") or "." in key):
                    return (
                        here,
                        "Nested field names may not start with '$' or hold '.'.",
                    )
                stack.append((v, depth + 1, here))
    return None


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse(raw):
    """The body as Python values, or a 400 (not JSON) / 422 (not storable)."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        # Covers undecodable bytes, NaN/Infinity, integers past Python's
        # digit limit and nesting past the recursion limit.
        reason = "too deeply nested" if isinstance(exc, RecursionError) else exc
        abort(
            400,
            message="The request body is not valid JSON.",
            errors={"json": [f"Invalid JSON body: {reason}"[:300]]},
        )
    problem = _unstorable(value)
    if problem is not None:
        field, reason = problem
        abort(
            422,
            message=f"{field or 'body'}: {reason}",
            errors={field or "json": [reason]},
        )
    return value


class JsonArgumentsParser(FlaskParser):
    """webargs' Flask parser with the strict body rules above."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return parse(req.get_data(cache=True))
