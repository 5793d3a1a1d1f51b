"""Benchmark data, shaped by the service itself.

One deployment, one approved plan and one session are made through the API
on a throwaway embedded store; every document the benchmark loads is a copy
of those raw documents with new IDs and times. A change to what the service
stores reaches the benchmark without editing it, and 10,000 sessions load
in one insert: through the API they would take minutes on the embedded
store, where each POST copies the whole deployment document.
"""

import copy
import json
from dataclasses import dataclass

from app import auth, create_app, db
from app.fields import new_id
from config import Config

COMPANY = "bench-company"
USER = "bench-user"
T0 = 1527469200000
STEP_MS = 100_000
LENGTH_MS = 50_000


def make_app(**overrides):
    """An in-process app with the service's config and quiet logs."""
    attrs = {"LOG_LEVEL": "ERROR", **overrides}
    return create_app(type("BenchConfig", (Config,), attrs))


def token(app, roles=("pilot",), ttl_s=3600):
    return auth.mint_token(app, USER, COMPANY, list(roles), ttl_s)


def session_body(flight_plan_id, start=T0):
    return {
        "flight_plan_id": flight_plan_id,
        "start_date_time": start,
        "end_date_time": start + LENGTH_MS,
    }


@dataclass
class Templates:
    deployment: dict
    plan: dict
    session: dict
    # The whole body of GET session, envelope included: the floor's document.
    get_response: dict


def make_templates():
    """Raw documents as the service writes them, made through its API."""
    app = make_app(MONGODB_URI=None, MONGODB_DB=None)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token(app, ('admin',))}"}

    def call(method, url, body):
        response = client.open(url, method=method, json=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(
                f"{method} {url} answered {response.status_code}: "
                f"{response.get_data(as_text=True)[:300]}"
            )
        return response.get_json()["data"]

    dep = call("POST", "/flight/deployments", {"name": "Benchmark site"})
    dep_id = dep["deployment_id"]
    plan = call(
        "POST",
        "/flight/plans",
        {"deployment_id": dep_id, "description": "Benchmark grid"},
    )
    plan_id = plan["flight_plan_id"]
    call("PATCH", f"/flight/plans/{plan_id}", {"status": "approved"})
    sessions_url = f"/flight/deployments/{dep_id}/sessions"
    made = call("POST", sessions_url, session_body(plan_id))
    response = client.get(
        f"{sessions_url}/{made['flight_session_id']}", headers=headers
    )
    with app.app_context():
        deployment = db.deployments().find_one({"_id": dep_id})
        plan_doc = db.flight_plans().find_one({"_id": plan_id})
    session = deployment.pop("flight_sessions")[0]
    return Templates(deployment, plan_doc, session, response.get_json())


@dataclass
class Deployment:
    """What a scenario aims at: IDs, and each session's start time."""

    deployment_id: str
    flight_plan_id: str
    sessions: list  # (flight_session_id, start_date_time), in stored order

    @property
    def sessions_url(self):
        return f"/flight/deployments/{self.deployment_id}/sessions"

    def session_url(self, flight_session_id):
        return f"{self.sessions_url}/{flight_session_id}"


class Seed:
    """Raw documents for one scenario's store."""

    def __init__(self, templates):
        self.templates = templates
        self.deployments = []
        self.flight_plans = []

    def deployment(self, sessions):
        """A deployment with an approved plan and `sessions` sessions."""
        deployment_id, plan_id = new_id(), new_id()
        plan = copy.deepcopy(self.templates.plan)
        plan.update(_id=plan_id, deployment_id=deployment_id)
        elements = []
        for i in range(sessions):
            element = copy.deepcopy(self.templates.session)
            start = T0 + i * STEP_MS
            element.update(
                flight_session_id=new_id(),
                flight_plan_id=plan_id,
                start_date_time=start,
                end_date_time=start + LENGTH_MS,
            )
            elements.append(element)
        doc = copy.deepcopy(self.templates.deployment)
        number = len(self.deployments)
        doc.update(
            _id=deployment_id,
            name=f"Benchmark site {number + 1}",
            created_at=doc["created_at"] + number,
            flight_sessions=elements,
        )
        self.deployments.append(doc)
        self.flight_plans.append(plan)
        return Deployment(
            deployment_id,
            plan_id,
            [(e["flight_session_id"], e["start_date_time"]) for e in elements],
        )

    def documents(self):
        return {"deployments": self.deployments, "flight_plans": self.flight_plans}

    @property
    def session_count(self):
        return sum(len(d["flight_sessions"]) for d in self.deployments)


def write(path, documents):
    with open(path, "w", encoding="utf-8") as target:
        json.dump(documents, target)


def read(path):
    with open(path, encoding="utf-8") as source:
        return json.load(source)


def load(app, documents):
    """Insert the raw documents into the app's store, as they are."""
    with app.app_context():
        if documents["deployments"]:
            db.deployments().insert_many(documents["deployments"])
        if documents["flight_plans"]:
            db.flight_plans().insert_many(documents["flight_plans"])
