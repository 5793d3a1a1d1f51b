"""Liveness and readiness."""

import logging

from flask.views import MethodView
from flask_smorest import abort
from pymongo import errors as mongo_errors

from app import db
from app.envelope import Blueprint

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Liveness and readiness probes.")


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200)
    def get(self):
        """Liveness: the process answers

        Never touches the database.
        """
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.doc(security=[])
    @blp.response(200)
    def get(self):
        """Readiness: the database answers a ping

        503 when it does not, within the configured server-selection timeout.
        """
        handle = db.handle()
        try:
            db.ping()
        except mongo_errors.PyMongoError as exc:
            log.warning(
                "Not ready: database at %s: %s", handle.host, exc.__class__.__name__
            )
            abort(503, message="The database is unreachable.")
        return {
            "status": "ready",
            "store": "embedded" if handle.embedded else "mongodb",
        }
