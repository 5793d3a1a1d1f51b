"""The flight session service: create_app wires the parts together."""

import logging

from flask import Flask

import config
from config import Config


def check_settings(config_class=Config):
    """Raise config.ConfigError for settings the service cannot start with.

    create_app makes the same checks; gunicorn's master calls this before
    forking, so that a bad setting stops it once instead of every worker.
    """
    from app import auth, db

    config.check()
    settings = {k: getattr(config_class, k) for k in dir(config_class) if k.isupper()}
    db.Database(settings)
    auth.check_config(settings)


def create_app(config_class=Config):
    # Bad settings stop the start here, in one line, before anything is logged.
    check_settings(config_class)
    app = Flask(__name__)
    app.config.from_object(config_class)
    # werkzeug reads at most one byte more than a body may hold, so that a
    # body of unknown length (chunked) just past the limit shows as such.
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"] + 1
    # Fields in the order the published documentation shows them.
    app.json.sort_keys = False

    from app import request_log

    request_log.configure(app.config["LOG_LEVEL"])

    # URL converter for 32-hex IDs, before any blueprint uses it.
    from app.fields import IdConverter

    app.url_map.converters["id"] = IdConverter
    # No redirect from /path/ to /path: a redirected POST loses its body.
    app.url_map.strict_slashes = False
    # Nor from //path to /path: the redirect would be HTML, built from the
    # client's Host header, and answered before any token check.
    app.url_map.merge_slashes = False

    # before_request hooks run in this order: request id, identity, body.
    # Storage and identity refuse to start on bad settings.
    from app import auth, db, envelope, fields

    request_log.init_app(app)
    db.init_app(app)
    auth.init_app(app)

    api = envelope.Api(app, spec_kwargs={"security": [{"bearerAuth": []}]})
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    fields.register(api)
    envelope.init_app(app, api)

    # One blueprint per resource.
    from app.deployments.routes import blp as deployments_blp
    from app.flight_log.routes import blp as flight_log_blp
    from app.flight_plans.routes import blp as flight_plans_blp
    from app.flight_sessions.routes import blp as flight_sessions_blp
    from app.health import blp as health_blp

    api.register_blueprint(health_blp)
    api.register_blueprint(deployments_blp)
    api.register_blueprint(flight_plans_blp)
    api.register_blueprint(flight_sessions_blp)
    api.register_blueprint(flight_log_blp)

    from app import cli

    cli.init_app(app)
    logging.getLogger(__name__).debug("Application created")
    return app
