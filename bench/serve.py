"""gunicorn entry point for the benchmark: the service's own app, plus data.

The embedded store lives inside the gunicorn worker, so the benchmark's
data has to be loaded there: BENCH_SEED names a JSON file of raw documents
(see bench/seed.py), inserted once when the worker imports this module.
With MONGODB_URI set the benchmark seeds the database itself beforehand and
leaves BENCH_SEED unset; nothing is loaded here then.
"""

import os

from bench import seed
from wsgi import app

if os.environ.get("BENCH_SEED"):
    seed.load(app, seed.read(os.environ["BENCH_SEED"]))
