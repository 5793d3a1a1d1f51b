"""The process model: gunicorn as the Procfile runs it, and a client per process."""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pymongo
import pytest

from app import db
from tests.test_config import SECRET, UNREACHABLE, service_env

ROOT = Path(__file__).resolve().parent.parent
BIN = str(Path(sys.executable).parent)


def procfile():
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_env(**settings):
    env = service_env(**settings)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


def fetch(url, headers=None, timeout=15, method="GET", body=None):
    """(status, headers, JSON body) of a request, also for error statuses."""
    data = None if body is None else json.dumps(body).encode()
    headers = dict(headers or {})
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, json.load(exc)


class Server:
    """The Procfile's web command in a process group of its own."""

    def __init__(self, *extra_args, **settings):
        self.port = free_port()
        args = shlex.split(procfile()["web"]) + list(extra_args)
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=run_env(PORT=str(self.port), **settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stderr = ""

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def wait_until_serving(self, deadline_s=30):
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.stop()}")
            try:
                return fetch(self.url + "/health", timeout=2)
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not serve in time: {self.stop()}")

    def stop(self):
        """Stop the server and its workers; return what they wrote to stderr."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            _, self.stderr = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            _, self.stderr = self.process.communicate(timeout=5)
        return self.stderr


@pytest.fixture
def serve():
    started = []

    def start(*extra_args, **settings):
        server = Server(*extra_args, **settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_procfile_names_web_and_release():
    commands = procfile()

    assert commands["web"].startswith("gunicorn ")
    assert "wsgi:app" in commands["web"]
    assert commands["release"] == "flask --app wsgi indexes create"


def test_gunicorn_refuses_two_workers_on_the_embedded_store(serve):
    server = serve("-w", "2")

    assert server.process.wait(timeout=30) != 0
    stderr = server.stop()
    assert "refusing to start: the embedded store is per process" in stderr
    assert "WEB_CONCURRENCY=1" in stderr
    assert "Traceback" not in stderr
    assert "Booting worker" not in stderr


def test_gunicorn_refuses_bad_settings_before_forking(serve):
    server = serve(MONGODB_URI=UNREACHABLE)

    assert server.process.wait(timeout=30) != 0
    stderr = server.stop()
    assert "refusing to start: JWT_SECRET" in stderr
    assert "Traceback" not in stderr
    assert "Booting worker" not in stderr


def test_one_worker_serves_health_on_the_embedded_store(serve):
    server = serve(WEB_CONCURRENCY="1")

    status, headers, body = server.wait_until_serving()
    assert status == 200
    assert body == {"success": True, "data": {"status": "ok"}}
    assert headers["X-Request-ID"]
    status, _, body = fetch(server.url + "/ready")
    assert status == 200 and body["data"]["store"] == "embedded"
    stderr = server.stop()
    assert "EMBEDDED" in stderr
    # Every line is one JSON object, gunicorn's own included; one line per
    # request from the service and none from gunicorn's access log.
    logged = [json.loads(x) for x in stderr.splitlines()]
    routes = [x["route"] for x in logged if x["logger"] == "app.requests"]
    assert routes == ["/health", "/ready"]
    assert any(x["logger"] == "gunicorn.error" for x in logged)
    assert "HTTP/1.1" not in stderr


def test_workers_answer_503_while_the_database_is_unreachable(serve):
    server = serve(
        "-w",
        "2",
        MONGODB_URI=UNREACHABLE,
        MONGODB_TIMEOUT_MS="300",
        JWT_SECRET=SECRET,
    )
    token = jwt.encode(
        {
            "sub": "user-1",
            "company_id": "company-a",
            "roles": ["viewer"],
            "exp": int(time.time()) + 600,
        },
        SECRET,
        algorithm="HS256",
    )
    bearer = {"Authorization": f"Bearer {token}"}

    assert server.wait_until_serving()[0] == 200
    for _ in range(4):  # spread over both workers
        status, _, body = fetch(server.url + "/ready")
        assert status == 503 and body["success"] is False
        status, _, body = fetch(server.url + "/flight/deployments", bearer)
        assert status == 503 and body["error"]["code"] == 503
    stderr = server.stop()
    assert "opened before fork" not in stderr
    assert "Traceback" not in stderr


def bearer_for(roles, secret=SECRET):
    token = jwt.encode(
        {
            "sub": "user-1",
            "company_id": "company-a",
            "roles": roles,
            "exp": int(time.time()) + 600,
        },
        secret,
        algorithm="HS256",
    )
    return {"Authorization": f"Bearer {token}"}


def timed(*args, **kwargs):
    started = time.monotonic()
    answer = fetch(*args, **kwargs)
    return answer, time.monotonic() - started


def test_an_outage_is_answered_within_the_promised_bounds(serve):
    """At the default MONGODB_TIMEOUT_MS: liveness at once, 503s, no hang.

    The bounds tell an answer from a hang (pymongo's own default would wait
    30 s); they are not performance targets.
    """
    server = serve("-w", "2", MONGODB_URI=UNREACHABLE, JWT_SECRET=SECRET)
    assert server.wait_until_serving()[0] == 200

    (status, _, _), took = timed(server.url + "/health")
    assert status == 200 and took < 1
    (status, _, body), took = timed(server.url + "/ready")
    assert status == 503 and body["error"]["code"] == 503 and took < 5
    (status, _, body), took = timed(
        server.url + "/flight/sessions", bearer_for(["viewer"])
    )
    assert status == 503 and body["error"]["code"] == 503 and took < 10


@pytest.mark.skipif(
    not os.environ.get("MONGODB_URI"), reason="needs a real MongoDB (MONGODB_URI)"
)
def test_two_workers_serve_a_real_database_without_fork_trouble(serve):
    name = f"flight_test_{os.urandom(6).hex()}"
    server = serve(
        "-w",
        "2",
        MONGODB_URI=os.environ["MONGODB_URI"],
        MONGODB_DB=name,
        JWT_SECRET=SECRET,
    )
    try:
        assert server.wait_until_serving()[0] == 200
        admin = bearer_for(["admin"])
        url = server.url + "/flight"
        _, _, dep = fetch(
            url + "/deployments", admin, method="POST", body={"name": "A1"}
        )
        dep = dep["data"]["deployment_id"]
        _, _, plan = fetch(
            url + "/plans", admin, method="POST", body={"deployment_id": dep}
        )
        plan = plan["data"]["flight_plan_id"]
        fetch(f"{url}/plans/{plan}", admin, method="PATCH", body={"status": "approved"})

        created = set()
        for i in range(20):
            assert fetch(server.url + "/ready")[0] == 200
            start = 1527469200000 + i * 100000
            status, _, body = fetch(
                f"{url}/deployments/{dep}/sessions",
                admin,
                method="POST",
                body={
                    "flight_plan_id": plan,
                    "start_date_time": start,
                    "end_date_time": start + 50000,
                },
            )
            assert status == 200, body
            created.add(body["data"]["flight_session_id"])
            status, _, body = fetch(url + "/sessions?page_size=100", admin)
            assert status == 200, body

        listed = {s["flight_session_id"] for s in body["data"]}
        assert listed == created and len(created) == 20
    finally:
        stderr = server.stop()
        with pymongo.MongoClient(os.environ["MONGODB_URI"]) as client:
            client.drop_database(name)
    for trouble in ("opened before fork", "AutoReconnect", "pool paused", "Traceback"):
        assert trouble not in stderr


def test_release_command_creates_the_indexes():
    result = subprocess.run(
        shlex.split(procfile()["release"]),
        cwd=ROOT,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "deployments: company_id_1_created_at_1__id_1" in result.stdout
    assert "flight_plans: " in result.stdout


def test_release_command_fails_in_one_line_when_the_database_is_away():
    result = subprocess.run(
        shlex.split(procfile()["release"]),
        cwd=ROOT,
        env=run_env(
            MONGODB_URI=UNREACHABLE, MONGODB_TIMEOUT_MS="300", JWT_SECRET=SECRET
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "Error: the database at 127.0.0.1:1 is unreachable" in result.stderr
    assert "Traceback" not in result.stderr


# The client per process.


def test_no_client_exists_until_first_use(remote_app):
    app = remote_app()
    handle = app.extensions["flight_db"]

    assert handle._client is None
    with app.app_context():
        first = handle.client()
        assert db.get_db().client is first
        assert handle.client() is first


def test_a_forked_process_makes_its_own_client(remote_app):
    handle = remote_app().extensions["flight_db"]
    parent_client = handle.client()
    read_end, write_end = os.pipe()

    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, then leave at once
        try:
            child_client = handle.client()
            fresh = child_client is not parent_client and handle._pid == os.getpid()
            os.write(write_end, b"new" if fresh else b"inherited")
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)

    assert answer == b"new"
    assert handle.client() is parent_client


def test_the_embedded_store_too_waits_for_first_use(app):
    assert app.extensions["flight_db"]._client is None
