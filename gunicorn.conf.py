"""gunicorn settings, all from the environment (Heroku-style)."""

import os
import sys

# gunicorn reads this file before it puts the working directory on the path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from config import Config, ServerConfig  # noqa: E402

bind = f"0.0.0.0:{ServerConfig.PORT}"
workers = ServerConfig.WEB_CONCURRENCY
worker_class = "gthread"
threads = ServerConfig.THREADS
timeout = ServerConfig.TIMEOUT
graceful_timeout = ServerConfig.GRACEFUL_TIMEOUT
keepalive = ServerConfig.KEEPALIVE
# The app is created in each worker after the fork (no preload), so no
# MongoDB client ever crosses a fork.
preload_app = False
# The service logs one line per request itself; gunicorn's own errors go
# to stderr and its access log stays off so nothing is logged twice.
accesslog = None
errorlog = "-"
loglevel = Config.LOG_LEVEL.lower()
# gunicorn's own lines (start-up, worker restarts, shutdown) in the same
# one-JSON-object-a-line shape as the service's, on stderr.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.request_log.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": Config.LOG_LEVEL, "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {
            "level": Config.LOG_LEVEL,
            "handlers": ["stderr"],
            "propagate": False,
            "qualname": "gunicorn.error",
        },
        "gunicorn.access": {"level": "CRITICAL", "propagate": False},
    },
}
# Trust X-Forwarded-* from the platform's router.
forwarded_allow_ips = ServerConfig.FORWARDED_ALLOW_IPS


def _refuse(reason):
    raise SystemExit(f"flight-session-service: refusing to start: {reason}")


def on_starting(server):
    from app import check_settings
    from config import ConfigError

    # Checked once here, before any worker is forked.
    try:
        check_settings()
    except ConfigError as exc:
        _refuse(exc)
    # Each worker would hold its own embedded store and answer from it.
    if not Config.MONGODB_URI and server.cfg.workers > 1:
        _refuse(
            "the embedded store is per process and "
            f"{server.cfg.workers} workers were asked for. "
            "Set MONGODB_URI, or run one worker (WEB_CONCURRENCY=1)."
        )
