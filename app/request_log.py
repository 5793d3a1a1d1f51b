"""Request ids, JSON log lines, and one log line per request."""

import datetime
import json
import logging
import re
import time
import uuid

from flask import g, has_request_context, request

log = logging.getLogger("app.requests")

_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Record attributes a log call may pass with extra=...; nothing else of a
# request (headers, tokens, bodies) can reach a log line.
REQUEST_FIELDS = ("method", "route", "path", "status", "duration_ms", "company")


class RequestIdFilter(logging.Filter):
    """Stamps the current request id (or None) on every record."""

    def filter(self, record):
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so that a log pipeline needs no parser."""

    def format(self, record):
        created = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        entry = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level):
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger("app")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def init_app(app):
    @app.before_request
    def start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _PLAIN_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response):
        # A request refused before start() ran still gets an id.
        g.request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = g.request_id
        started = g.get("started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        identity = g.get("identity")
        fields = {
            "method": request.method,
            # The rule, not the URL: IDs stay out and lines group by route.
            "route": request.url_rule.rule if request.url_rule else None,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 1),
            "company": identity.company_id if identity else None,
        }
        if request.url_rule is None:
            fields["path"] = request.path[:200]
        log.info(
            "%s %s %s",
            fields["method"],
            fields["route"] or fields["path"],
            fields["status"],
            extra=fields,
        )
        return response
