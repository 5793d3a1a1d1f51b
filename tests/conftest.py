"""Fixtures: a fresh store per test, tokens, and data made through the API.

With MONGODB_URI set, every test runs against that server in a database of
its own (flight_test_<random>), dropped afterwards. Without it, each test
gets a new embedded store.
"""

import os
import uuid

import pytest
from werkzeug.http import HTTP_STATUS_CODES

from app import auth, create_app, db
from config import TestConfig

COMPANY_A = "company-a"
COMPANY_B = "company-b"
T0, T1 = 1527469200000, 1527479200000


def _config_class(**overrides):
    attrs = dict(overrides)
    if os.environ.get("MONGODB_URI"):
        attrs.setdefault("MONGODB_URI", os.environ["MONGODB_URI"])
        attrs.setdefault("MONGODB_DB", f"flight_test_{uuid.uuid4().hex[:12]}")
    return type("PerTestConfig", (TestConfig,), attrs)


@pytest.fixture
def make_app():
    """Build apps with config overrides; their databases go afterwards."""
    made = []

    def make(**overrides):
        app = create_app(_config_class(**overrides))
        made.append(app)
        return app

    yield make
    for app in made:
        handle = app.extensions["flight_db"]
        if not handle.embedded:
            handle.client().drop_database(handle.name)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token_for(app):
    def make(roles=("admin",), company=COMPANY_A, user="user-1"):
        if isinstance(roles, str):
            roles = (roles,)
        return auth.mint_token(app, user, company, list(roles))

    return make


class Caller:
    """A test client that sends one company's token with a given role."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def _headers(self, headers):
        merged = {"Authorization": f"Bearer {self.token}"}
        merged.update(headers or {})
        return merged

    def get(self, url, headers=None, **kwargs):
        return self.client.get(url, headers=self._headers(headers), **kwargs)

    def post(self, url, json=None, headers=None, **kwargs):
        return self.client.post(
            url, json=json, headers=self._headers(headers), **kwargs
        )

    def patch(self, url, json=None, headers=None, **kwargs):
        return self.client.patch(
            url, json=json, headers=self._headers(headers), **kwargs
        )

    def delete(self, url, headers=None, **kwargs):
        return self.client.delete(url, headers=self._headers(headers), **kwargs)


@pytest.fixture
def as_(client, token_for):
    """as_("pilot") or as_("admin", COMPANY_B): a caller with that token."""

    def make(roles="admin", company=COMPANY_A, user="user-1"):
        return Caller(client, token_for(roles, company, user))

    return make


def ok(response):
    """The data of a documented success, after checking the envelope."""
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    return body["data"]


def error(response, status):
    """The error of an enveloped failure, after checking its shape."""
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["success"] is False
    assert body["error"]["code"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["status"] == HTTP_STATUS_CODES[status]
    return body["error"]


@pytest.fixture
def factory(as_):
    return Factory(as_)


class Factory:
    """Makes deployments, plans and sessions through the API."""

    def __init__(self, as_):
        self.as_ = as_

    def deployment(self, company=COMPANY_A, **fields):
        fields.setdefault("name", "Site")
        return ok(self.as_("admin", company).post("/flight/deployments", fields))

    def plan(self, deployment_id, company=COMPANY_A, status="approved", **fields):
        fields.setdefault("plan_type", "ardupilot")
        fields.setdefault("description", "test plan")
        caller = self.as_("admin", company)
        plan = ok(
            caller.post("/flight/plans", {"deployment_id": deployment_id, **fields})
        )
        if status != "draft":
            url = f"/flight/plans/{plan['flight_plan_id']}"
            plan = ok(caller.patch(url, {"status": status}))
        return plan

    def session(self, deployment_id, plan_id, company=COMPANY_A, start=T0, end=T1):
        body = {
            "flight_plan_id": plan_id,
            "start_date_time": start,
            "end_date_time": end,
        }
        url = f"/flight/deployments/{deployment_id}/sessions"
        return ok(self.as_("pilot", company).post(url, body))

    def flying(self, company=COMPANY_A, sessions=1):
        """A deployment with an approved plan and `sessions` sessions."""
        dep = self.deployment(company)["deployment_id"]
        plan = self.plan(dep, company)["flight_plan_id"]
        made = [
            self.session(
                dep, plan, company, T0 + i * 100_000, T0 + i * 100_000 + 50_000
            )
            for i in range(sessions)
        ]
        return dep, plan, made


@pytest.fixture
def stored(app):
    """Raw documents as MongoDB holds them."""

    def read(collection, _id):
        with app.app_context():
            return db.get_db()[collection].find_one({"_id": _id})

    return read


UNREACHABLE_URI = "mongodb://127.0.0.1:1/"


@pytest.fixture
def remote_app():
    """Apps on a MongoDB address of the test's choosing, by default one
    where nothing listens (short timeouts, so failures come quickly).

    They hold no data of their own, so unlike make_app there is no
    database to drop afterwards; their clients are closed.
    """
    made = []

    def make(uri=UNREACHABLE_URI, timeout_ms=300, **overrides):
        attrs = {"MONGODB_URI": uri, "MONGODB_TIMEOUT_MS": timeout_ms, **overrides}
        app = create_app(type("RemoteConfig", (TestConfig,), attrs))
        made.append(app)
        return app

    yield make
    for app in made:
        handle = app.extensions["flight_db"]
        if handle._client is not None:
            handle._client.close()


@pytest.fixture(autouse=True)
def _close_database_clients(monkeypatch):
    """Close every MongoDB client a test opened once the test is done.

    Being autouse, this is torn down after make_app has dropped the test's
    database, so against a real server each test leaves no pool or monitor
    threads behind (pymongo warns about unclosed clients).
    """
    opened = []
    make_client = db.Database._make_client

    def recording(self):
        client = make_client(self)
        opened.append(client)
        return client

    monkeypatch.setattr(db.Database, "_make_client", recording)
    yield
    for client in opened:
        client.close()
