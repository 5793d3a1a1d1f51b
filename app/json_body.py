"""Request bodies: strict JSON, limited to what MongoDB can store as sent.

Python's json module accepts more than JSON (NaN, Infinity, 1e400 as
infinity), recurses without a limit of its own, and hands back integers of
any size and strings with lone surrogates. Each of those either turns into
a 500 when pymongo encodes the document or comes back out as invalid JSON,
so they are refused here, before any schema or store sees the body.
"""

import json
import math

from flask_smorest import abort

# Deep enough for GeoJSON multipolygons and nested plan commands, far below
# MongoDB's own limit of 100 levels per document.
MAX_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class _Refused(Exception):
    def __init__(self, status, field, message):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _refuse_constant(name):
    raise _Refused(400, "json", f"{name} is not a JSON value.")


def _unique_keys(pairs):
    # With a key twice, parsers disagree on which one counts; refuse both.
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _Refused(400, "json", f"The key {twice!r} appears twice in one object.")
    return document


def _check_string(text, field, what):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Refused(
            422, field, f"The {what} holds an unpaired surrogate (\\ud800-\\udfff)."
        ) from None


def _check_key(key, field, nested):
    _check_string(key, field, "key")
    # MongoDB reads a leading $ as an operator and cannot store NUL in a key;
    # a dot inside a nested key reads as a path in every later query.
    if key.startswith("$") or "\x00" in key or (nested and "." in key):
        raise _Refused(
            422,
            field,
            f"Keys may not start with '$' or hold NUL characters, nor nested "
            f"keys dots: {key!r}",
        )


def _check_scalar(value, field):
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise _Refused(422, field, "Integers must fit in 64 bits.")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(422, field, "Numbers must be finite.")
    if isinstance(value, str):
        _check_string(value, field, "text")


def _check(document):
    """Walk the parsed body without recursion; _Refused names the top field."""
    stack = [(document, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise _Refused(422, field or "json", "The body is nested too deeply.")
            for key, item in value.items():
                _check_key(key, field or key, nested=depth > 1)
                stack.append((item, depth + 1, field or key))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise _Refused(422, field or "json", "The body is nested too deeply.")
            stack.extend((item, depth + 1, field or "json") for item in value)
        else:
            _check_scalar(value, field or "json")


def load(raw):
    """The parsed body of a JSON request, or an enveloped 400 / 422."""
    try:
        text = raw.decode("utf-8")
        document = json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys
        )
        _check(document)
    except UnicodeDecodeError as exc:
        abort(
            400,
            message="The request body is not valid UTF-8.",
            errors={"json": [f"Invalid UTF-8 at byte {exc.start}."]},
        )
    except ValueError as exc:
        # JSONDecodeError, and the ValueError of an integer past Python's
        # digit limit (4300 digits), which the decoder does not wrap.
        abort(
            400,
            message="The request body is not valid JSON.",
            errors={"json": [f"Invalid JSON body: {exc}"[:300]]},
        )
    except RecursionError:
        abort(
            400,
            message="The request body is nested too deeply.",
            errors={"json": ["The body is nested too deeply."]},
        )
    except _Refused as exc:
        message = (
            "The request body is not valid JSON." if exc.status == 400 else exc.message
        )
        abort(exc.status, message=message, errors={exc.field: [exc.message]})
    return document
