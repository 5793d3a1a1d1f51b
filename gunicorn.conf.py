"""gunicorn settings, all from the environment (Heroku-style)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
_real_db = bool(os.environ.get("MONGODB_URI"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2" if _real_db else "1"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# The app is created in each worker after the fork (no preload), so no
# MongoDB client ever crosses a fork.
preload_app = False
# The service logs one line per request itself; gunicorn's own errors go
# to stderr and its access log stays off so nothing is logged twice.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Trust X-Forwarded-* from the platform's router.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")


def on_starting(server):
    # Each worker would hold its own embedded store and answer from it.
    if not os.environ.get("MONGODB_URI") and server.cfg.workers > 1:
        raise SystemExit(
            "flight-session-service: refusing to start: the embedded store is "
            f"per process and {server.cfg.workers} workers were asked for. "
            "Set MONGODB_URI, or run one worker (WEB_CONCURRENCY=1)."
        )
