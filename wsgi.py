"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import sys

from app import create_app
from app.db import ConfigError

try:
    app = create_app()
except (ConfigError, ValueError) as exc:
    sys.exit(f"flight-session-service: refusing to start: {exc}")
