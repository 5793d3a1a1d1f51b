"""Liveness, readiness, and a JSON 503 for every request while the database is away."""

import time

import pytest
from pymongo import errors as mongo_errors

from app import auth, db
from tests.conftest import COMPANY_A, T0, T1, error, ok
from tests.fake_mongo import FakeMongo
from tests.test_process import free_port

SOME_ID = "0" * 32

# Every data route, with a body where it needs one.
DATA_ROUTES = [
    ("get", "/flight/deployments", None),
    ("post", "/flight/deployments", {"name": "Site"}),
    ("get", f"/flight/deployments/{SOME_ID}", None),
    ("patch", f"/flight/deployments/{SOME_ID}", {"name": "Renamed"}),
    ("delete", f"/flight/deployments/{SOME_ID}", None),
    ("get", "/flight/plans", None),
    ("post", "/flight/plans", {"deployment_id": SOME_ID, "plan_type": "ardupilot"}),
    ("get", f"/flight/plans/{SOME_ID}", None),
    ("patch", f"/flight/plans/{SOME_ID}", {"description": "v2"}),
    ("delete", f"/flight/plans/{SOME_ID}", None),
    ("get", f"/flight/deployments/{SOME_ID}/sessions", None),
    ("get", f"/flight/deployments/{SOME_ID}/sessions/summary", None),
    ("get", f"/flight/deployments/{SOME_ID}/sessions/{SOME_ID}", None),
    (
        "post",
        f"/flight/deployments/{SOME_ID}/sessions",
        {"flight_plan_id": SOME_ID, "start_date_time": T0, "end_date_time": T1},
    ),
    (
        "patch",
        f"/flight/deployments/{SOME_ID}/sessions/{SOME_ID}",
        {"end_date_time": T1},
    ),
    ("delete", f"/flight/deployments/{SOME_ID}/sessions/{SOME_ID}", None),
    ("get", "/flight/sessions", None),
    ("get", "/flight/sessions/summary?group_by=deployment", None),
]

# remote_app's server-selection timeout is 300 ms. A request may take a few
# such waits (a write and the read that explains it), but pymongo's default
# of 30 s would mean the setting was lost: this bound tells a hang from a
# slow machine without timing anything finely.
HANG_MS = 10_000


def bearer(app, roles=("admin",)):
    token = auth.mint_token(app, "user-1", COMPANY_A, list(roles))
    return {"Authorization": f"Bearer {token}"}


def timed(call):
    started = time.perf_counter()
    response = call()
    return response, (time.perf_counter() - started) * 1000


def test_health_answers_without_a_token(client):
    assert ok(client.get("/health")) == {"status": "ok"}


def test_ready_names_the_store(client):
    data = ok(client.get("/ready"))

    assert data["status"] == "ready"
    assert data["store"] in ("embedded", "mongodb")


def test_health_never_touches_the_database(remote_app):
    app = remote_app()

    response, took = timed(lambda: app.test_client().get("/health"))

    print(f"/health with the database away: {took:.0f} ms")
    assert ok(response) == {"status": "ok"}
    assert took < HANG_MS
    assert app.extensions["flight_db"]._client is None


def test_ready_is_503_when_the_database_is_unreachable(remote_app):
    app = remote_app()

    response, took = timed(lambda: app.test_client().get("/ready"))

    print(f"/ready with the database away: {took:.0f} ms")
    assert "unreachable" in error(response, 503)["message"]
    assert took < HANG_MS


@pytest.mark.parametrize(("method", "url", "body"), DATA_ROUTES)
def test_data_routes_are_503_when_the_database_is_unreachable(
    remote_app, method, url, body
):
    app = remote_app()
    call = getattr(app.test_client(), method)

    response, took = timed(lambda: call(url, json=body, headers=bearer(app)))

    print(f"{method.upper()} {url} with the database away: {took:.0f} ms")
    error(response, 503)
    assert took < HANG_MS


@pytest.mark.parametrize(
    "exc",
    [
        mongo_errors.ServerSelectionTimeoutError("no server"),
        mongo_errors.AutoReconnect("connection reset"),
        mongo_errors.NetworkTimeout("timed out"),
        mongo_errors.NotPrimaryError("stepped down"),
        mongo_errors.WaitQueueTimeoutError("pool exhausted"),
        mongo_errors.ConnectionFailure("refused"),
        mongo_errors.ExecutionTimeout("operation exceeded time limit", 50),
        mongo_errors.WTimeoutError("waiting for replication timed out", 64),
    ],
    ids=lambda exc: exc.__class__.__name__,
)
def test_every_driver_outage_error_is_a_503(app, monkeypatch, exc):
    def unavailable():
        raise exc

    monkeypatch.setattr(db, "deployments", unavailable)

    response = app.test_client().get("/flight/deployments", headers=bearer(app))

    body = error(response, 503)
    assert "Traceback" not in body["message"] and str(exc) not in body["message"]


def test_a_server_side_time_limit_is_a_503(remote_app):
    port = free_port()
    timeout = {"code": 50, "codeName": "MaxTimeMSExpired", "errmsg": "time limit"}
    server = FakeMongo(port, errors={"find": timeout}).start()
    try:
        app = remote_app(f"mongodb://127.0.0.1:{port}/")
        response = app.test_client().get("/flight/deployments", headers=bearer(app))
    finally:
        server.stop()

    assert "in time" in error(response, 503)["message"]


def wait_for(client, url, status, headers=None, deadline_s=20):
    """The first response to `url` with `status`, polling until the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        response = client.get(url, headers=headers)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_recovers_without_a_restart_when_the_database_returns(remote_app):
    port = free_port()
    app = remote_app(f"mongodb://127.0.0.1:{port}/")
    client, headers = app.test_client(), bearer(app)

    error(client.get("/ready"), 503)
    error(client.get("/flight/deployments", headers=headers), 503)

    server = FakeMongo(port).start()
    try:
        assert ok(wait_for(client, "/ready", 200))["store"] == "mongodb"
        assert ok(client.get("/flight/deployments", headers=headers)) == []
        assert ok(client.get("/flight/sessions", headers=headers)) == []
    finally:
        server.stop()

    # Connections the server dropped fail once as AutoReconnect, then
    # server selection times out: both are 503s, neither is remembered.
    error(wait_for(client, "/flight/deployments", 503, headers), 503)
    error(client.get("/ready"), 503)

    server = FakeMongo(port).start()
    try:
        ok(wait_for(client, "/ready", 200))
        ok(client.get("/flight/deployments", headers=headers))
        ok(client.get("/flight/sessions", headers=headers))
    finally:
        server.stop()
