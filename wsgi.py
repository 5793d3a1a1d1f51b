"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

import sys

from app import create_app
from config import ConfigError

# gunicorn stops instead of restarting a worker that exits with this code.
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigError as exc:
    print(f"flight-session-service: refusing to start: {exc}", file=sys.stderr)
    sys.exit(APP_LOAD_ERROR)
