"""Start-up settings: every bad one stops the service with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import config

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s" * 40
UNREACHABLE = "mongodb://127.0.0.1:1/"

# Everything the service reads, cleared so that the caller's own
# environment (a MONGODB_URI for the suite, say) cannot leak in.
SETTINGS = (
    "MONGODB_URI",
    "MONGODB_DB",
    "MONGODB_TIMEOUT_MS",
    "JWT_SECRET",
    "JWT_JWKS_URL",
    "JWT_JWKS_CACHE_S",
    "JWT_JWKS_TIMEOUT_S",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_LEEWAY_S",
    "MAX_BODY_BYTES",
    "MAX_SESSIONS_PER_DEPLOYMENT",
    "LOG_LEVEL",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "FORWARDED_ALLOW_IPS",
)


def service_env(**settings):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(settings)
    return env


def import_wsgi(**settings):
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=service_env(**settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


REFUSED = [
    pytest.param({"MONGODB_URI": "http://db.example"}, "MONGODB_URI", id="uri-scheme"),
    pytest.param(
        {
            "MONGODB_URI": "mongodb://admin:hunter2secret@db:99999/",
            "JWT_SECRET": SECRET,
        },
        "MONGODB_URI",
        id="uri-port",
    ),
    pytest.param(
        {"MONGODB_URI": "mongodb://db/?serverSelectionTimeoutMS=soon"},
        "MONGODB_URI",
        id="uri-option",
    ),
    pytest.param(
        {"MONGODB_URI": UNREACHABLE, "MONGODB_DB": "a.b", "JWT_SECRET": SECRET},
        "MONGODB_DB",
        id="db-name",
    ),
    pytest.param({"MONGODB_TIMEOUT_MS": "2s"}, "MONGODB_TIMEOUT_MS", id="timeout"),
    pytest.param({"JWT_LEEWAY_S": "1.5"}, "JWT_LEEWAY_S", id="float"),
    pytest.param({"MAX_BODY_BYTES": "1_000"}, "MAX_BODY_BYTES", id="underscore"),
    pytest.param({"MONGODB_TIMEOUT_MS": "0"}, "MONGODB_TIMEOUT_MS", id="zero"),
    pytest.param({"PORT": "http"}, "PORT", id="port"),
    pytest.param({"LOG_LEVEL": "loud"}, "LOG_LEVEL", id="log-level"),
    pytest.param({"MONGODB_URI": UNREACHABLE}, "JWT_SECRET", id="no-secret"),
    pytest.param(
        {"MONGODB_URI": UNREACHABLE, "JWT_SECRET": "short"},
        "JWT_SECRET",
        id="short-secret",
    ),
    pytest.param(
        {"JWT_JWKS_URL": "https://idp.example/jwks.json"},
        "JWT_AUDIENCE",
        id="jwks-without-audience",
    ),
    pytest.param(
        {
            "JWT_JWKS_URL": "http://idp.example/jwks.json",
            "JWT_ISSUER": "https://idp.example/",
            "JWT_AUDIENCE": "flight",
        },
        "JWT_JWKS_URL",
        id="jwks-plain-http",
    ),
]


@pytest.mark.parametrize(("settings", "named"), REFUSED)
def test_bad_setting_refuses_to_start_in_one_line(settings, named):
    result = import_wsgi(**settings)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flight-session-service: refusing to start: ")
    assert named in lines[0]
    assert "hunter2" not in result.stderr


def test_every_problem_is_named_in_the_one_line():
    result = import_wsgi(JWT_LEEWAY_S="x", GUNICORN_TIMEOUT="-1")

    (line,) = result.stderr.strip().splitlines()
    assert "JWT_LEEWAY_S" in line and "GUNICORN_TIMEOUT" in line


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="embedded"),
        # No connection is made at start-up, so nothing need listen.
        pytest.param({"MONGODB_URI": UNREACHABLE, "JWT_SECRET": SECRET}, id="mongodb"),
        pytest.param(
            {
                "MONGODB_URI": UNREACHABLE,
                "JWT_JWKS_URL": "https://idp.example/.well-known/jwks.json",
                "JWT_ISSUER": "https://idp.example/",
                "JWT_AUDIENCE": "flight",
            },
            id="provider-keys-only",
        ),
    ],
)
def test_good_settings_start(settings):
    result = import_wsgi(**settings)

    assert result.returncode == 0, result.stderr
    assert "refusing" not in result.stderr


def test_embedded_store_is_announced_loudly():
    result = import_wsgi(LOG_LEVEL="INFO")

    assert "EMBEDDED" in result.stderr


def test_database_host_is_announced_without_credentials():
    uri = "mongodb://flight:hunter2secret@127.0.0.1:1/flightdb"
    result = import_wsgi(MONGODB_URI=uri, JWT_SECRET=SECRET, LOG_LEVEL="INFO")

    assert result.returncode == 0, result.stderr
    assert "127.0.0.1:1" in result.stderr
    assert "hunter2" not in result.stderr


def test_numbers_are_read_strictly(monkeypatch):
    problems = []
    monkeypatch.setattr(config, "PROBLEMS", problems)
    for value in ("12", " 12 "):
        monkeypatch.setenv("X_TEST_NUMBER", value)
        assert config._int("X_TEST_NUMBER", 5) == 12
    for value in ("+12", "١٢", "12.0", "1e3", "-4"):
        monkeypatch.setenv("X_TEST_NUMBER", value)
        assert config._int("X_TEST_NUMBER", 5) == 5
    monkeypatch.delenv("X_TEST_NUMBER")
    assert config._int("X_TEST_NUMBER", 5) == 5

    assert len(problems) == 5
    assert all(p.startswith("X_TEST_NUMBER must be") for p in problems)
