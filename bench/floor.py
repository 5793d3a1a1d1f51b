"""The floor: a bare Flask app that answers one JSON document, nothing else.

gunicorn runs it with the service's own gunicorn.conf.py, so the gap
between its throughput and a route's is what the service adds on top of
Flask, gunicorn and the JSON encoder: routing, auth, validation, the store,
the envelope and the request log. BENCH_FLOOR_DOCUMENT names a file holding
the document, a real response of the service, so both encode the same
fields and send the same number of bytes.
"""

import json
import os

from flask import Flask

app = Flask(__name__)
app.json.sort_keys = False

with open(os.environ["BENCH_FLOOR_DOCUMENT"], encoding="utf-8") as source:
    DOCUMENT = json.load(source)


@app.get("/floor")
def floor():
    return DOCUMENT
