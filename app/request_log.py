"""Request ids and one log line per request."""

import logging
import re
import time
import uuid

from flask import g, request

log = logging.getLogger("app.requests")

_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdFilter(logging.Filter):
    """Stamps the current request id (or "-") on every record."""

    def filter(self, record):
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:  # outside a request
            record.request_id = "-"
        return True


def configure(level):
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        )
    )
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
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = g.get("started")
        duration_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        identity = g.get("identity")
        log.info(
            "%s %s %s %.1fms company=%s",
            request.method,
            request.url_rule.rule if request.url_rule else request.path,
            response.status_code,
            duration_ms,
            identity.company_id if identity else "-",
        )
        return response
