"""The contract's envelopes: {"success": true, "data": ...} and its error twin."""

import logging
from functools import wraps
from http import HTTPStatus

import apispec
import flask_smorest
import marshmallow as ma
from flask import current_app, request
from flask_smorest import abort
from flask_smorest import etag as smorest_etag
from flask_smorest import pagination as smorest_pagination
from flask_smorest.exceptions import NotModified, PreconditionFailed
from pymongo import errors as mongo_errors
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import quote_etag

from app import idempotency, json_body

log = logging.getLogger(__name__)

# Server error codes for a document that would outgrow MongoDB's 16 MiB limit.
_DOCUMENT_TOO_LARGE_CODES = {10334, 17419, 17420}


# Documentation only: required fields make the published schema as strict
# as the bodies the error handler builds, so clients and checks can rely on it.
class ErrorDetailSchema(ma.Schema):
    code = ma.fields.Integer(required=True, metadata={"example": 404})
    status = ma.fields.String(required=True, metadata={"example": "Not Found"})
    message = ma.fields.String(
        required=True, metadata={"example": "Flight session not found."}
    )
    errors = ma.fields.Dict(
        metadata={
            "description": "Field name -> list of messages, when a field is at fault"
        }
    )


class ErrorEnvelopeSchema(ma.Schema):
    success = ma.fields.Boolean(
        required=True, validate=ma.validate.OneOf([False]), metadata={"example": False}
    )
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


# Where webargs files the errors of each part of a request.
_LOCATIONS = {"json", "query", "querystring", "path", "view_args", "headers", "form"}


def _flatten(errors):
    """webargs nests field errors under their location; the contract does not.

    {"json": {"end_time": [...]}} becomes {"end_time": [...]}. Errors a
    route passed itself are already by field and stay as they are.
    """
    if not isinstance(errors, dict):
        return errors
    flat = {}
    for key, detail in errors.items():
        if key in _LOCATIONS and isinstance(detail, dict):
            flat.update(detail)
        else:
            flat[key] = detail
    return flat


def _summary(errors):
    """One readable line out of field errors: 'end_time: Unknown field.'"""
    parts = []
    for field, detail in errors.items():
        while isinstance(detail, (list, dict)) and detail:
            detail = (
                detail[0] if isinstance(detail, list) else next(iter(detail.values()))
            )
        parts.append(f"{field}: {detail}")
    return "; ".join(parts)[:500] or "The request is not valid."


class JsonArgumentsParser(FlaskParser):
    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        return json_body.load(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(
            400,
            message="The request body is not valid JSON.",
            errors={"json": [f"Invalid JSON body: {error}"[:300]]},
        )


class ErrorResponses(apispec.BasePlugin):
    """Documents the errors each operation can answer, all in the envelope."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for code in _errors_of(path, method, operation):
                if code not in responses and str(code) not in responses:
                    responses[code] = HTTPStatus(code).name


def _errors_of(path, method, operation):
    codes = set()
    if operation.get("security") != []:
        codes |= {401, 403}
    if path != "/health":  # the liveness probe never touches the database
        codes.add(503)
    if "{" in path:
        codes.add(404)
    if "requestBody" in operation:
        codes |= {400, 413, 415, 422}
    if method in ("post", "patch", "delete"):
        # Conflicts: a full deployment, a plan in use, sessions in the way,
        # an Idempotency-Key still in progress.
        codes.add(409)
    return sorted(codes)


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorEnvelopeSchema
    # No catch-all "default" response: each operation lists the errors it
    # can answer (ErrorResponses), so an unlisted status is a contract break.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _init_spec(self, *, extra_plugins=None, **options):
        plugins = [*(extra_plugins or ()), ErrorResponses()]
        super()._init_spec(extra_plugins=plugins, **options)

    def _register_etag_headers(self):
        # As smorest's, except that If-Match is optional: the published
        # clients send none (see Blueprint._check_precondition).
        if_match = {
            **smorest_etag.IF_MATCH_HEADER,
            "required": False,
            "description": "Change only this version (its ETag); 412 if stale.",
        }
        components = self.spec.components
        components.parameter(
            "IF_NONE_MATCH", "header", smorest_etag.IF_NONE_MATCH_HEADER, lazy=True
        )
        components.parameter("IF_MATCH", "header", if_match, lazy=True)
        components.header("ETAG", smorest_etag.ETAG_HEADER, lazy=True)

    def _register_pagination_header(self):
        # X-Pagination holds JSON text. OpenAPI 3 describes that with
        # `content`; a bare `schema` would mean comma-separated name,value
        # pairs, which is not what the header carries.
        header = dict(smorest_pagination.PAGINATION_HEADER)
        header["content"] = {"application/json": {"schema": header.pop("schema")}}
        self.spec.components.header("PAGINATION", header, lazy=True)

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", error.description or HTTPStatus(code).phrase)
        if "errors" in payload:
            payload["errors"] = _flatten(payload["errors"])
            if payload["message"] == error.description:
                payload["message"] = _summary(payload["errors"])
        payload = {
            k: payload[k]
            for k in ("code", "status", "message", "errors")
            if k in payload
        }
        # Keep what werkzeug itself puts on the error (Allow on a 405).
        merged = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        merged.update(headers or {})
        return {"success": False, "error": payload}, code, merged


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonArgumentsParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(idempotency.prepare_doc)

    def arguments(self, schema, *args, **kwargs):
        # Given a schema class, webargs builds a new instance of it for every
        # request; one instance made here serves them all, as loading keeps
        # no state on the schema.
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    @staticmethod
    def _prepare_response_content(data):
        return {"success": True, "data": data}

    @staticmethod
    def _make_doc_response_schema(schema):
        if schema is None:
            return None
        if isinstance(schema, type):
            schema = schema()
        return _envelope_schema(schema.__class__, getattr(schema, "many", False))

    def paginate(self, *args, **kwargs):
        """smorest's paginate, with `page` bounded and both values plain.

        smorest only requires page >= 1; the skip computed from a page past
        64 bits makes pymongo fail to encode the query (a 500 on MongoDB).
        Its integer fields also take "+2", " 2", "1_0" and other digit
        systems; here only the digits 0-9 are a number, as for times.
        """
        paginated = super().paginate(*args, **kwargs)

        def decorator(func):
            @wraps(func)
            def bounded(*f_args, pagination_parameters, **f_kwargs):
                if pagination_parameters.page > MAX_PAGE:
                    abort(
                        422,
                        errors={"page": [f"Must be at most {MAX_PAGE}."]},
                    )
                return func(
                    *f_args, pagination_parameters=pagination_parameters, **f_kwargs
                )

            parsed = paginated(bounded)

            @wraps(parsed)
            def plain(*f_args, **f_kwargs):
                loose = [
                    name
                    for name in ("page", "page_size")
                    if not all(
                        v.isascii() and v.isdigit() for v in request.args.getlist(name)
                    )
                ]
                if loose:
                    abort(422, errors={name: [PLAIN_NUMBER] for name in loose})
                return parsed(*f_args, **f_kwargs)

            return plain

        return decorator

    def _check_not_modified(self, etag):
        """smorest's, with what RFC 9110 asks of If-None-Match: the weak
        comparison (W/"x" matches "x"), and the current ETag on the 304."""
        if request.method in self.METHODS_CHECKING_NOT_MODIFIED and (
            request.if_none_match.contains_weak(etag)
        ):
            not_modified = NotModified()
            not_modified.data = {"headers": {"ETag": quote_etag(etag)}}
            raise not_modified

    def _check_precondition(self):
        # smorest answers 428 to a PATCH or DELETE that sends no If-Match.
        # The published clients never send one and expect 200, so If-Match
        # is honoured when present and never required.
        return None

    def _prepare_etag_doc(self, doc, doc_info, **kwargs):
        doc = super()._prepare_etag_doc(doc, doc_info, **kwargs)
        doc.get("responses", {}).pop(428, None)  # never answered, as above
        return doc

    def _verify_check_etag(self):
        # Without If-Match there is nothing to check, hence nothing to warn of.
        if request.if_match:
            super()._verify_check_etag()

    def check_if_match(self, read_current, etag_schema):
        """Check If-Match, if sent, against the resource `read_current()` returns.

        A stale tag answers 412. Returns the resource read when the tag named
        one version of it: the write must then be conditioned on the stored
        resource still equalling it, or a change landing between this check
        and the write would be overwritten. Returns None without If-Match or
        with `If-Match: *`, which any existing resource satisfies.
        """
        if "If-Match" not in request.headers:
            return None
        if not request.if_match:
            # Sent, but naming no tag at all (empty, or only commas): no
            # version can match it, and it must not pass for an absent one.
            abort(412, message=NO_TAG_MESSAGE)
        current = read_current()
        try:
            self.check_etag(current, etag_schema)
        except PreconditionFailed:
            abort(412, message=STALE_MESSAGE)
        return None if request.if_match.star_tag else current


MAX_PAGE = 2**31 - 1
PLAIN_NUMBER = "Must be a whole number written with the digits 0-9."

NO_TAG_MESSAGE = "If-Match names no entity tag; send the ETag a GET returned, or *."

STALE_MESSAGE = (
    "The resource has changed since the If-Match ETag was read; "
    "read it again and retry with its current ETag."
)

_ENVELOPES = {}


def _envelope_schema(inner, many):
    """The documented {"success": true, "data": ...} schema around `inner`."""
    key = (inner, many)
    if key not in _ENVELOPES:
        name = inner.__name__.removesuffix("Schema")
        data = ma.fields.Nested(inner, many=many, required=True)
        _ENVELOPES[key] = type(
            f"{name}{'List' if many else ''}Envelope",
            (ma.Schema,),
            {
                "success": ma.fields.Boolean(
                    required=True,
                    validate=ma.validate.OneOf([True]),
                    metadata={"example": True},
                ),
                "data": data,
            },
        )
    return _ENVELOPES[key]


def _abort_from(status, message, exc):
    try:
        abort(status, message=message)
    except HTTPException as http_error:
        http_error.__cause__ = exc
        return http_error


def _read_chunked_body():
    """Read a body of unknown length now, refusing what reading reveals.

    werkzeug stops reading such a body at MAX_CONTENT_LENGTH without
    complaint, so an oversized one would reach the parser cut short; that
    is one byte past MAX_BODY_BYTES, so reaching it means too large. A
    malformed chunk makes the server's reader raise its own exception,
    which is the client's fault, not ours.
    """
    try:
        size = len(request.get_data(cache=True))
    except HTTPException:
        raise
    except Exception:
        abort(400, message="The chunked request body is malformed.")
    _within_limit(size)
    return size


def _within_limit(size):
    limit = current_app.config["MAX_BODY_BYTES"]
    if size > limit:
        abort(413, message=f"The request body exceeds {limit} bytes.")


def _codings(header):
    """The codings a header lists, lower-cased, without empty entries."""
    listed = (c.strip().lower() for c in request.headers.get(header, "").split(","))
    return {c for c in listed if c}


def init_app(app, api):
    @app.before_request
    def each_parameter_once():
        """A repeated query parameter is refused rather than half-read."""
        repeated = sorted(k for k, values in request.args.lists() if len(values) > 1)
        if repeated:
            abort(
                422,
                message="Each query parameter may be given once.",
                errors={name: ["Given more than once."] for name in repeated},
            )

    @app.before_request
    def require_json_body():
        """A write carries a JSON body, or is told why not."""
        if request.method not in ("POST", "PUT", "PATCH") or request.endpoint is None:
            return
        transfer = _codings("Transfer-Encoding")
        chunked = "chunked" in transfer
        if chunked:
            chunked = _read_chunked_body() > 0
        _within_limit(request.content_length or 0)
        if not request.content_length and not chunked:
            abort(400, message="The request body is empty; a JSON object is expected.")
        if not request.is_json:
            abort(
                415,
                message="The body must be JSON (Content-Type: application/json).",
            )
        charset = request.mimetype_params.get("charset", "utf-8").strip().lower()
        if charset not in ("utf-8", "utf8"):
            abort(415, message="JSON bodies are read as UTF-8 (charset=utf-8).")
        # The body is read as sent: a compressed one would be taken for
        # malformed JSON, and a plain one labelled compressed is not what
        # its sender meant (RFC 9110, 15.5.16: 415 for a content coding).
        # gunicorn undoes only the chunked transfer coding, so any other
        # one, like gzip before chunked, would leave the body encoded too.
        if _codings("Content-Encoding") - {"identity"} or transfer - {"chunked"}:
            abort(
                415,
                message="Request bodies are read uncompressed; "
                "send no Content-Encoding and no Transfer-Encoding but chunked.",
                headers={"Accept-Encoding": "identity"},
            )

    @app.errorhandler(mongo_errors.ConnectionFailure)
    def database_unreachable(exc):
        log.warning("Database unreachable: %s", exc.__class__.__name__)
        return api.handle_http_exception(
            _abort_from(503, "The database is unreachable; try again shortly.", exc)
        )

    # Server-side time limits and write-concern waits are OperationFailures,
    # not ConnectionFailures, but they too mean: the database, try later.
    @app.errorhandler(mongo_errors.ExecutionTimeout)
    @app.errorhandler(mongo_errors.WTimeoutError)
    def database_too_slow(exc):
        log.warning("Database too slow: %s", exc.__class__.__name__)
        return api.handle_http_exception(
            _abort_from(503, "The database did not answer in time; try again.", exc)
        )

    @app.errorhandler(mongo_errors.DuplicateKeyError)
    def duplicate_key(exc):
        return api.handle_http_exception(
            _abort_from(409, "A record with this identity already exists.", exc)
        )

    @app.errorhandler(mongo_errors.DocumentTooLarge)
    def document_too_large(exc):
        return api.handle_http_exception(
            _abort_from(
                409, "The deployment document is full; no more can be added.", exc
            )
        )

    @app.errorhandler(mongo_errors.WriteError)
    def write_error(exc):
        if exc.code in _DOCUMENT_TOO_LARGE_CODES:
            return document_too_large(exc)
        log.exception("Unexpected database write error")
        return api.handle_http_exception(InternalServerError(original_exception=exc))
