"""Logs: one JSON line per request, a request id, and nothing secret."""

import io
import json
import logging

import pytest

from app import auth, db
from config import TestConfig
from tests.conftest import COMPANY_A, T0, T1

REQUEST_KEYS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "company",
}


@pytest.fixture
def app(make_app):
    return make_app(LOG_LEVEL="INFO")


@pytest.fixture
def logged(app):
    """The JSON lines the service writes from now on, parsed."""
    handler = logging.getLogger("app").handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(previous)


def request_lines(lines):
    return [line for line in lines if line["logger"] == "app.requests"]


def test_one_json_line_per_request(as_, logged):
    response = as_("viewer").get("/flight/deployments")

    (line,) = request_lines(logged())
    assert set(line) == REQUEST_KEYS
    assert line["level"] == "INFO"
    assert line["time"].endswith("Z")
    assert line["method"] == "GET"
    assert line["route"] == "/flight/deployments"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["company"] == COMPANY_A
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_the_route_rule_is_logged_not_the_ids(as_, factory, logged):
    dep = factory.deployment()["deployment_id"]

    as_("viewer").get(f"/flight/deployments/{dep}")

    line = request_lines(logged())[-1]
    assert line["route"] == "/flight/deployments/<id:deployment_id>"
    assert dep not in json.dumps(line)


def test_refused_and_unknown_requests_are_logged_too(client, logged):
    client.get("/flight/deployments")
    client.get("/no/such/page")

    refused, unknown = request_lines(logged())
    assert (refused["status"], refused["company"]) == (401, None)
    assert (unknown["status"], unknown["route"], unknown["path"]) == (
        404,
        None,
        "/no/such/page",
    )


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("req-42.a:b_C", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("two words", False),
        ('{"forged": "json"}', False),
        ("", False),
    ],
)
def test_request_id_is_kept_when_short_and_plain(client, logged, sent, kept):
    response = client.get("/health", headers={"X-Request-ID": sent})

    echoed = response.headers["X-Request-ID"]
    assert (echoed == sent) is kept
    if not kept:
        assert len(echoed) == 32 and echoed.isalnum()
    assert request_lines(logged())[0]["request_id"] == echoed


def test_records_during_a_request_carry_its_id(remote_app, capsys):
    app = remote_app(LOG_LEVEL="INFO")
    response = app.test_client().get("/ready", headers={"X-Request-ID": "probe-1"})

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    warning, request = [line for line in lines if line["request_id"] == "probe-1"]
    assert response.status_code == 503
    assert (warning["level"], warning["logger"]) == ("WARNING", "app.health")
    assert request["status"] == 503


def test_no_token_secret_or_body_is_logged(app, client, token_for, logged):
    token = token_for("pilot")
    marker = "body-marker-7f3a"

    client.post(
        "/flight/deployments",
        json={"name": marker},
        headers={"Authorization": f"Bearer {token}"},
    )
    client.post(
        "/flight/deployments",
        json={"name": marker, "bogus": marker},
        headers={"Authorization": f"Bearer {token}x"},
    )
    client.get("/health", headers={"Authorization": f"Bearer {token}"})

    text = json.dumps(logged())
    assert len(request_lines(logged())) == 3
    for secret in (token, token.split(".")[2], marker, TestConfig.JWT_SECRET, "Bearer"):
        assert secret not in text


def test_the_database_password_is_never_logged(remote_app, capsys):
    uri = "mongodb://flight:hunter2secret@127.0.0.1:1/flightdb?authSource=admin"

    app = remote_app(uri, LOG_LEVEL="INFO")
    app.test_client().get("/ready")
    token = auth.mint_token(app, "user-1", COMPANY_A, ["admin"])
    app.test_client().get(
        "/flight/deployments", headers={"Authorization": f"Bearer {token}"}
    )

    err = capsys.readouterr().err
    assert "127.0.0.1:1" in err
    assert "hunter2" not in err and "flight:" not in err


def test_start_up_names_the_store(make_app, capsys):
    make_app(LOG_LEVEL="INFO")

    (line,) = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert line["logger"] == "app.db"
    if line["level"] == "WARNING":
        assert "EMBEDDED" in line["message"]
    else:
        assert line["message"].startswith("Using MongoDB at ")


def test_an_unexpected_error_is_logged_with_its_traceback(app, monkeypatch, logged):
    app.config["TESTING"] = False  # Flask re-raises under TESTING

    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(db, "deployments", broken)
    token = auth.mint_token(app, "user-1", COMPANY_A, ["viewer"])

    response = app.test_client().get(
        "/flight/deployments", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 500
    assert "disk on fire" not in response.get_data(as_text=True)
    lines = logged()
    (failure,) = [line for line in lines if line["level"] == "ERROR"]
    assert "RuntimeError: disk on fire" in failure["exception"]
    assert failure["request_id"] == response.headers["X-Request-ID"]
    assert request_lines(lines)[0]["status"] == 500


def test_session_writes_are_logged_by_route(as_, factory, logged):
    dep, plan, _ = factory.flying(sessions=0)
    body = {"flight_plan_id": plan, "start_date_time": T0, "end_date_time": T1}

    as_("pilot").post(f"/flight/deployments/{dep}/sessions", body)

    line = request_lines(logged())[-1]
    assert line["route"] == "/flight/deployments/<id:deployment_id>/sessions"
    assert (line["method"], line["status"]) == ("POST", 200)


def test_a_newline_in_the_path_cannot_forge_a_log_line(client, logged):
    client.get("/x%0a2026-12-03 INFO app.requests DELETE /flight/deployments 200")
    (line,) = request_lines(logged())
    assert line["path"].startswith("/x\n2026-12-03")
